//! What a bulk task does to the site when it runs: every record of its body applied, entity by
//! entity, with the failures the API would list. The rules read best side by side, so they share
//! this file.

use crate::call::strings;
use crate::config::FakeCsmBuilder;
use crate::records::{
    add_field, apply_customer_profile, apply_organization_profile, link_members, link_memberships,
};
use crate::rules::set_values;
use crate::state::{self, Customer, Details, Entity, Organization, State};
use serde_json::{json, Value};

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
pub(crate) fn apply(
    state: &mut State,
    config: &FakeCsmBuilder,
    operation: &str,
    body: &Value,
) -> Vec<Value> {
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
