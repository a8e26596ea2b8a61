//! The tasks' clock: when a task runs at the site's pace, which unfinished tasks count against
//! the site's limit, and how a task's status reads.

use crate::config::{FakeCsmBuilder, Pace};
use crate::state::{State, Task};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// The API's time format.
pub(crate) fn timestamp() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// When a task whose request arrived at `arrived` with `body` starts, and how long it runs: side
/// by side at a fast pace; at a live one, after the task before it in the site's queue, for its
/// records' time.
pub(crate) fn schedule(
    state: &mut State,
    config: &FakeCsmBuilder,
    arrived: Instant,
    body: &Value,
) -> (Instant, Duration) {
    let ready = arrived + config.not_started_for;
    match config.pace {
        Pace::Fast => (ready, config.in_progress_for),
        Pace::Live { per_record, .. } => {
            let starts_at = state.queue_free_at.map_or(ready, |free| free.max(ready));
            let runs_for = per_record * records_in(body) as u32;
            state.queue_free_at = Some(starts_at + runs_for);
            (starts_at, runs_for)
        }
    }
}

/// The unfinished tasks that count against the site's limit: at a live pace, not those
/// unfinished longer than its timeout after their request arrived (the API counts them as timed
/// out).
pub(crate) fn unfinished(state: &State, config: &FakeCsmBuilder, now: Instant) -> usize {
    match config.pace {
        Pace::Fast => state.unfinished_tasks(now),
        Pace::Live { timeout, .. } => state
            .tasks
            .values()
            .filter(|task| now < task.finishes_at && now < task.submitted_at + timeout)
            .count(),
    }
}

/// The records a bulk body carries (the length of its one array).
fn records_in(body: &Value) -> usize {
    body.as_object()
        .and_then(|members| members.values().find_map(Value::as_array))
        .map_or(1, Vec::len)
        .max(1)
}

/// A task as `GET /api/v1/tasks/{taskId}` answers it.
pub(crate) fn task_json(task: &Task, now: Instant) -> Value {
    let status = task.status(now);
    let mut answer = json!({
        "id": task.id,
        "status": status,
        "createdAt": task.created_at,
        "updatedAt": if task.applied { task.updated_at.clone() } else { timestamp() },
    });
    if let Some(kind) = task.kind {
        answer["type"] = json!(kind);
    }
    if status == "FINISHED" && task.ends_failed {
        answer["status"] = json!("FAILED");
        answer["failures"] = json!([]);
    } else if status == "FINISHED" {
        answer["failures"] = Value::Array(task.failures.clone());
    }
    answer
}
