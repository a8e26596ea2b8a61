//! Bulk calls: tasks on the fake's clock, the site's limit of unfinished tasks, idempotency keys,
//! and each task applied when its time comes (what it does to the site: `apply`).

use crate::config::FakeCsmBuilder;
use crate::reply::{error, Reply};
use crate::state::{State, Task};
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
        let failures = crate::apply::apply(state, config, operation, &body);
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
