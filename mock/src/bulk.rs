//! Bulk calls: tasks on the fake's clock, the site's limit of unfinished tasks, idempotency keys,
//! and every record applied when its task finishes, with the failures the API would list.
//!
//! One job, the bulk calls; a little longer than 500 lines because the rules that apply each
//! entity's records read best side by side.

use crate::call::strings;
use crate::config::FakeCsmBuilder;
use crate::records::{
    add_field, apply_customer_profile, apply_organization_profile, link_members, link_memberships,
};
use crate::reply::{error, Reply};
use crate::rules::set_values;
use crate::state::{self, Customer, Details, Entity, Organization, State, Task};
use crate::tasks::timestamp;
use serde_json::{json, Value};
use std::time::Instant;

/// Detail operations one customer-details request may carry, counted across its customers.
const MAX_DETAIL_OPERATIONS: usize = 1000;

/// Accepts a bulk call that arrived at `arrived`: a new task (its clock starts then), the task its
/// key already started, or a refusal.
pub(crate) fn submit(
    state: &mut State,
    config: &FakeCsmBuilder,
    operation: &'static str,
    key: &str,
    body: Value,
    arrived: Instant,
) -> Reply {
    let now = Instant::now();
    let scoped_key = format!("{operation} {key}");
    let fingerprint = fingerprint(&body);
    if let Some((first_body, task_id)) = state.keys.get(&scoped_key) {
        // "Reusing the idempotency key with a different request will result in an error": the
        // document names no status for it, and lists 400 for every bulk operation.
        return if *first_body == fingerprint {
            accepted(task_id)
        } else {
            error(
                400,
                "This Idempotency-Key was used with a different request body",
            )
        };
    }
    if operation == "bulk-update-customer-details" {
        let operations: usize = body["customers"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| c["operations"].as_array().map_or(0, Vec::len))
            .sum();
        if operations > MAX_DETAIL_OPERATIONS {
            return error(
                400,
                format!("At most {MAX_DETAIL_OPERATIONS} detail operations per request ({operations} sent)"),
            );
        }
    }
    if crate::tasks::unfinished(state, config, now) >= config.task_limit {
        return task_limit_reached();
    }
    let id = uuid::Uuid::new_v4().to_string();
    let (starts_at, runs_for) = crate::tasks::schedule(state, config, arrived, &body);
    let created_at = timestamp();
    state.submitted_tasks += 1;
    let ends_failed = config
        .failed_although_written
        .is_some_and(|every| state.submitted_tasks.is_multiple_of(every));
    let task = Task {
        id: id.clone(),
        ends_failed,
        kind: task_kind(operation),
        operation,
        body,
        submitted_at: arrived,
        starts_at,
        applies_at: starts_at + runs_for / 2,
        finishes_at: starts_at + runs_for,
        failures: Vec::new(),
        applied: false,
        updated_at: created_at.clone(),
        created_at,
    };
    state.schedule().add(&task);
    state.tasks.insert(id.clone(), task);
    state.keys.insert(scoped_key, (fingerprint, id.clone()));
    state.peak_unfinished_tasks = state
        .peak_unfinished_tasks
        .max(crate::tasks::unfinished(state, config, now));
    accepted(&id)
}

/// What a key remembers of the body it came with: a hash of its JSON, so a site holding a
/// million imported records does not also hold every request that brought them.
fn fingerprint(body: &Value) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    body.to_string().hash(&mut hasher);
    hasher.finish()
}

/// The API's answer to a bulk call beyond the site's unfinished tasks, as the document gives it
/// (the example of its `BadRequest` answer).
fn task_limit_reached() -> Reply {
    let example = crate::validate::document().pointer(
        "/components/responses/BadRequest/content/application~1json/examples/taskLimitReached/value",
    );
    match example {
        Some(body) => (400, body.clone()),
        None => error(400, "Maximum number of tasks reached"),
    }
}

fn accepted(task_id: &str) -> Reply {
    (
        202,
        json!({"id": task_id, "statusUrl": format!("/api/v1/tasks/{task_id}")}),
    )
}

fn task_kind(operation: &str) -> Option<&'static str> {
    Some(match operation {
        "bulk-manage-multiple-customer-profiles" => "BULK_CUSTOMER_PROFILE_CREATE_UPDATE",
        "bulk-create-customer-accounts" => "BULK_CUSTOMER_ACCOUNT_CREATE_UPDATE",
        "bulk-update-customer-details" => "BULK_CUSTOMER_DETAIL",
        "bulk-manage-organization-profiles" => "BULK_ORGANIZATION_PROFILE_CREATE_UPDATE",
        "bulk-manage-organizations" => "BULK_ORGANIZATION_CREATE_UPDATE",
        "bulk-manage-organization-details" => "BULK_ORGANIZATION_DETAIL",
        _ => return None,
    })
}

impl State {
    /// Forgets every task and the idempotency keys that started them, as the site does once
    /// their results expire (kept 3 days): polls of them answer 404, and a key may start a task
    /// again. A task not applied yet is forgotten unapplied (its records are not written).
    pub fn expire_tasks(&mut self) {
        self.tasks.clear();
        self.keys.clear();
    }
}

/// Applies every task whose time has come (half-way through `IN_PROGRESS`, in the order they
/// were submitted) and forgets the results older than the retention.
pub(crate) fn settle(state: &mut State, config: &FakeCsmBuilder) {
    let now = Instant::now();
    let due: Vec<String> = {
        let mut schedule = state.schedule();
        let mut due = Vec::new();
        while let Some((applies_at, id)) = schedule.unapplied.first().cloned() {
            if applies_at > now {
                break;
            }
            schedule.unapplied.pop_first();
            due.push(id);
        }
        due
    };
    for id in due {
        let Some(task) = state.tasks.get_mut(&id) else {
            continue;
        };
        // Applied, the records are in the state: the task no longer holds them.
        let (operation, body) = (task.operation, std::mem::take(&mut task.body));
        let failures = apply(state, config, operation, &body);
        let task = state.tasks.get_mut(&id).expect("still there");
        task.failures = failures;
        task.applied = true;
        task.updated_at = timestamp();
    }
    let expired: Vec<String> = {
        let mut schedule = state.schedule();
        let mut expired = Vec::new();
        while let Some((finishes_at, id)) = schedule.finishing.first().cloned() {
            if finishes_at + config.retention > now {
                break;
            }
            schedule.finishing.pop_first();
            schedule.unapplied.retain(|(_, unapplied)| *unapplied != id);
            schedule.tasks -= 1;
            expired.push(id);
        }
        expired
    };
    for id in &expired {
        state.tasks.remove(id);
    }
    if !expired.is_empty() {
        state.keys.retain(|_, (_, task)| !expired.contains(task));
    }
}

/// One record the API failed.
fn failure(
    entity: &str,
    entity_id: &str,
    operation: &str,
    operated_on: &str,
    ids: Vec<String>,
    message: &str,
) -> Value {
    let mut failure = json!({
        "entity": entity, "entityId": entity_id, "operation": operation,
        "operatedOn": operated_on, "error": message
    });
    if !ids.is_empty() {
        failure["operatedOnIds"] = json!(ids);
    }
    failure
}

const RULE_FAILURE: &str = "Rejected by the fake's failure rule";

/// Applies a task's records; returns the failures.
fn apply(state: &mut State, config: &FakeCsmBuilder, operation: &str, body: &Value) -> Vec<Value> {
    let rejected = |identity: &str| config.failing.as_ref().is_some_and(|rule| rule(identity));
    let records = |field: &str| body[field].as_array().cloned().unwrap_or_default();
    let mut failures = Vec::new();
    match operation {
        "bulk-manage-multiple-customer-profiles" | "bulk-create-customer-accounts" => {
            let field = if operation == "bulk-create-customer-accounts" {
                "customerAccounts"
            } else {
                "customerProfiles"
            };
            for record in records(field) {
                let kind = record["operationType"].as_str().unwrap_or("UPSERT");
                let payload = &record["payload"];
                // An empty value identifies no one (the schema refuses it before this).
                let email = payload["email"].as_str().filter(|e| !e.is_empty());
                let id = payload["customerId"].as_str().filter(|id| !id.is_empty());
                let identity = email.or(id).unwrap_or_default().to_string();
                let fail = |on: &str, ids: Vec<String>, message: &str| {
                    failure("CUSTOMER", &identity, kind, on, ids, message)
                };
                if rejected(&identity) {
                    failures.push(fail("CUSTOMER_ACCOUNT", vec![], RULE_FAILURE));
                    continue;
                }
                let existing = id
                    .and_then(|id| state.customers.get(id))
                    .or_else(|| email.and_then(|e| state.customer_by_email(e)))
                    .cloned();
                let mut customer = match (kind, existing) {
                    ("CREATE", Some(_)) => {
                        failures.push(fail(
                            "CUSTOMER_ACCOUNT",
                            vec![],
                            "The customer already exists",
                        ));
                        continue;
                    }
                    ("UPDATE", None) => {
                        failures.push(fail(
                            "CUSTOMER_ACCOUNT",
                            vec![],
                            "The customer does not exist",
                        ));
                        continue;
                    }
                    (_, Some(customer)) => customer,
                    (_, None) => match email {
                        Some(email) => Customer {
                            id: state::new_customer_id(),
                            email: Some(email.to_string()),
                            display_name: email.to_string(),
                            ..Customer::default()
                        },
                        None => {
                            failures.push(fail(
                                "CUSTOMER_ACCOUNT",
                                vec![],
                                "An email is needed to create a customer",
                            ));
                            continue;
                        }
                    },
                };
                if let Err((on, message, ids)) =
                    apply_customer_profile(state, &mut customer, payload)
                {
                    failures.push(fail(on, ids, &message));
                    continue;
                }
                let id = customer.id.clone();
                state.insert_customer(customer);
                link_memberships(state, &id);
            }
        }
        "bulk-update-customer-details" => {
            failures =
                apply_detail_records(state, &rejected, Entity::Customer, &records("customers"));
        }
        "bulk-create-customer-detail-fields" | "bulk-create-organization-detail-fields" => {
            let (entity, entity_name) = if operation == "bulk-create-customer-detail-fields" {
                (Entity::Customer, "CUSTOMER")
            } else {
                (Entity::Organization, "ORGANIZATION")
            };
            for record in records("detailFields") {
                let name = record["name"].as_str().unwrap_or_default().to_string();
                let result = if rejected(&name) {
                    Err(RULE_FAILURE.to_string())
                } else {
                    add_field(state, entity, &record)
                };
                if let Err(message) = result {
                    failures.push(failure(
                        entity_name,
                        &name,
                        "CREATE",
                        "DETAIL_FIELD",
                        vec![name.clone()],
                        &message,
                    ));
                }
            }
        }
        "bulk-manage-organizations" => {
            for record in records("organizations") {
                let kind = record["operationType"].as_str().unwrap_or("CREATE");
                let payload = &record["payload"];
                let name = payload["name"].as_str().unwrap_or_default().to_string();
                let id = payload["id"].as_str().map(str::to_string);
                let identity = id.clone().unwrap_or_else(|| name.clone());
                if rejected(&identity) {
                    failures.push(failure(
                        "ORGANIZATION",
                        &identity,
                        kind,
                        "ORGANIZATION",
                        vec![],
                        RULE_FAILURE,
                    ));
                    continue;
                }
                match (kind, id) {
                    ("UPDATE", Some(id)) if state.organizations.contains_key(&id) => {
                        state.organizations.get_mut(&id).expect("found").name = name;
                    }
                    ("UPDATE", _) => failures.push(failure(
                        "ORGANIZATION",
                        &identity,
                        kind,
                        "ORGANIZATION",
                        vec![],
                        "The organization does not exist",
                    )),
                    _ => {
                        state.add_organization(&name);
                    }
                }
            }
        }
        "bulk-manage-organization-profiles" => {
            for record in records("organizationProfiles") {
                let kind = record["operationType"].as_str().unwrap_or("UPSERT");
                let payload = &record["payload"];
                let id = payload["id"].as_str();
                let name = payload["name"].as_str();
                let identity = id.or(name).unwrap_or_default().to_string();
                let fail = |message: &str| {
                    failure(
                        "ORGANIZATION",
                        &identity,
                        kind,
                        "ORGANIZATION",
                        vec![],
                        message,
                    )
                };
                if rejected(&identity) {
                    failures.push(fail(RULE_FAILURE));
                    continue;
                }
                let existing = id
                    .and_then(|id| state.organizations.get(id))
                    .or_else(|| {
                        name.and_then(|n| state.organizations.values().find(|o| o.name == n))
                    })
                    .cloned();
                let mut organization = match (kind, existing) {
                    ("CREATE", Some(_)) => {
                        failures.push(fail("The organization already exists"));
                        continue;
                    }
                    ("UPDATE", None) => {
                        failures.push(fail("The organization does not exist"));
                        continue;
                    }
                    (_, Some(organization)) => organization,
                    (_, None) => {
                        if name.is_none() {
                            failures.push(fail("A name is needed to create an organization"));
                            continue;
                        }
                        state.last_organization_id += 1;
                        Organization {
                            id: state.last_organization_id.to_string(),
                            ..Organization::default()
                        }
                    }
                };
                if let Err((on, message, ids)) =
                    apply_organization_profile(state, &mut organization, payload)
                {
                    failures.push(failure("ORGANIZATION", &identity, kind, on, ids, &message));
                    continue;
                }
                let id = organization.id.clone();
                state.organizations.insert(id.clone(), organization);
                link_members(state, &id);
            }
        }
        "bulk-manage-organization-details" => {
            failures = apply_detail_records(
                state,
                &rejected,
                Entity::Organization,
                &records("organizations"),
            );
        }
        _ => {}
    }
    failures
}

/// Applies the detail operations of customer or organization records (`customerId` or `id`
/// names the record); returns the failures.
fn apply_detail_records(
    state: &mut State,
    rejected: &dyn Fn(&str) -> bool,
    entity: Entity,
    records: &[Value],
) -> Vec<Value> {
    let (kind, id_field, operated_on, missing) = match entity {
        Entity::Organization => (
            "ORGANIZATION",
            "id",
            "ORGANIZATION",
            "The organization does not exist",
        ),
        _ => (
            "CUSTOMER",
            "customerId",
            "CUSTOMER_ACCOUNT",
            "The customer does not exist",
        ),
    };
    let mut failures = Vec::new();
    for record in records {
        let id = record[id_field].as_str().unwrap_or_default().to_string();
        let current = match entity {
            Entity::Organization => state.organizations.get(&id).map(|o| o.details.clone()),
            _ => state.customers.get(&id).map(|c| c.details.clone()),
        };
        let mut details = match current {
            _ if rejected(&id) => {
                failures.push(failure(
                    kind,
                    &id,
                    "UPDATE",
                    operated_on,
                    vec![],
                    RULE_FAILURE,
                ));
                continue;
            }
            None => {
                failures.push(failure(kind, &id, "UPDATE", operated_on, vec![], missing));
                continue;
            }
            Some(details) => details,
        };
        match apply_detail_operations(state, entity, &mut details, &record["operations"]) {
            Ok(()) => match entity {
                Entity::Organization => {
                    state.organizations.get_mut(&id).expect("found").details = details
                }
                _ => state.customers.get_mut(&id).expect("found").details = details,
            },
            Err((operation, name, message)) => failures.push(failure(
                kind,
                &id,
                &operation,
                "DETAIL_FIELD",
                vec![name],
                &message,
            )),
        }
    }
    failures
}

/// `UPDATE` sets a field's values, `PATCH` adds to them, `DELETE` clears them; the first problem
/// is returned with its operation type and field name.
fn apply_detail_operations(
    state: &State,
    entity: Entity,
    details: &mut Details,
    operations: &Value,
) -> Result<(), (String, String, String)> {
    for operation in operations.as_array().into_iter().flatten() {
        let kind = operation["operationType"]
            .as_str()
            .unwrap_or("UPDATE")
            .to_string();
        let name = operation["payload"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let mut values = strings(&operation["payload"]["values"]);
        match kind.as_str() {
            "DELETE" => values.clear(),
            "PATCH" => {
                let mut current = state
                    .field(entity, &name)
                    .and_then(|f| details.get(&f.name).cloned())
                    .unwrap_or_default();
                current.extend(
                    values
                        .into_iter()
                        .filter(|v| !current.contains(v))
                        .collect::<Vec<_>>(),
                );
                values = current;
            }
            _ => {}
        }
        set_values(state, entity, details, &name, values)
            .map_err(|m| (kind.clone(), name.clone(), m))?;
    }
    Ok(())
}
