//! The operations that answer at once, one file per entity: detail fields, customers,
//! organizations, entitlements, products, requests, and task status. Bodies were checked against
//! their schema before they get here.

mod customers;
mod entitlements;
mod fields;
mod organizations;
mod products;
mod requests;

use crate::call::Call;
use crate::reply::{error, Reply};
use crate::state::State;

/// Each entity's handler, tried in turn: the first that serves the operation answers.
const ENTITIES: [fn(&mut State, &Call<'_>) -> Option<Reply>; 6] = [
    fields::handle,
    customers::handle,
    organizations::handle,
    entitlements::handle,
    products::handle,
    requests::handle,
];

/// Answers a synchronous operation.
pub(crate) fn handle(state: &mut State, call: Call<'_>) -> Reply {
    if call.operation == "get-task-status" {
        return match state.tasks.get(call.param("taskId")) {
            Some(task) => (200, crate::tasks::task_json(task, call.now)),
            None => error(404, "Task not found"),
        };
    }
    ENTITIES
        .iter()
        .find_map(|entity| entity(state, &call))
        .unwrap_or_else(|| error(501, format!("The fake does not serve {}", call.operation)))
}
