//! Waiting for bulk tasks.

use crate::support;

use crate::support::scripted_server::{Reply, ScriptedServer};
use atlassian_csm::{Client, Error, PollPolicy, TaskOutcome};
use serde_json::{json, Value};
use std::time::Duration;

const TASK_ID: &str = "3858a61a-d337-42e6-993e-e13e1c366d4f";

fn task(status: &str, failures: Value) -> Reply {
    Reply::json(
        200,
        json!({
            "id": TASK_ID,
            "type": "BULK_CUSTOMER_PROFILE_CREATE_UPDATE",
            "status": status,
            "failures": failures,
            "createdAt": "2025-01-15T11:12:13Z",
            "updatedAt": "2025-01-15T11:12:14Z"
        }),
    )
}

/// Polls within milliseconds, so tests wait no longer than they must.
fn fast_polls() -> PollPolicy {
    PollPolicy::default()
        .first_delay(Duration::from_millis(5))
        .growth(2.0)
        .max_delay(Duration::from_millis(20))
        .deadline(Duration::from_millis(300))
}

fn client_for(server: &ScriptedServer) -> Client {
    crate::support::client(&server.base_url)
}

#[tokio::test]
async fn a_finished_task_returns_its_failures_and_reports_progress() {
    let failure = json!([{
        "entity": "CUSTOMER", "entityId": "bob@example.com", "operation": "UPSERT",
        "operatedOn": "DETAIL_FIELD", "operatedOnIds": ["Region"], "error": "Invalid detail field"
    }]);
    let server = ScriptedServer::start(vec![
        task("NOT_STARTED", json!([])),
        task("IN_PROGRESS", json!([])),
        task("FINISHED", failure),
    ])
    .await;
    let client = client_for(&server);
    let mut seen = Vec::new();
    let outcome = client
        .wait_for_task(TASK_ID)
        .policy(fast_polls())
        .on_progress(|status| seen.push(status.status.to_string()))
        .await
        .unwrap();
    assert!(matches!(outcome, TaskOutcome::Finished(_)));
    assert_eq!(outcome.failures().len(), 1);
    assert_eq!(outcome.failures()[0].entity_id, "bob@example.com");
    assert_eq!(seen, ["NOT_STARTED", "IN_PROGRESS", "FINISHED"]);
    let polls = server.requests();
    assert_eq!(polls.len(), 3);
    assert!(polls
        .iter()
        .all(|r| r.target == format!("/api/v1/tasks/{TASK_ID}")));
    assert!(polls
        .iter()
        .all(|r| r.header("x-experimentalapi") == Some("opt-in")));
}

#[tokio::test]
async fn failed_and_cancelled_tasks_are_distinct_outcomes() {
    for (status, expect_failed) in [("FAILED", true), ("CANCELLED", false)] {
        let server = ScriptedServer::start(vec![task(status, json!([]))]).await;
        let outcome = client_for(&server)
            .wait_for_task(TASK_ID)
            .policy(fast_polls())
            .await
            .unwrap();
        match (&outcome, expect_failed) {
            (TaskOutcome::Failed(_), true) | (TaskOutcome::Cancelled(_), false) => {}
            other => panic!("{status}: unexpected outcome {other:?}"),
        }
        let error = outcome.into_result().unwrap_err();
        assert!(matches!(error, Error::TaskFailed { .. }));
        assert!(error.to_string().contains(status), "{error}");
    }
}

#[tokio::test]
async fn an_unknown_status_keeps_polling_until_the_deadline_and_says_what_it_saw() {
    let server = ScriptedServer::start(vec![task("PAUSED", json!([]))]).await;
    let error = client_for(&server)
        .wait_for_task(TASK_ID)
        .policy(fast_polls())
        .await
        .unwrap_err();
    match error {
        Error::TaskDeadline {
            last_status,
            waited,
            ..
        } => {
            assert_eq!(last_status, "PAUSED");
            assert!(waited <= Duration::from_millis(400), "{waited:?}");
        }
        other => panic!("expected a deadline error, got {other:?}"),
    }
    assert!(server.requests().len() > 3, "it kept polling");
}

#[tokio::test]
async fn an_expired_task_is_a_clear_not_found_error() {
    let server = ScriptedServer::start(vec![Reply::json(
        404,
        json!({"errorMessage": "Task not found", "statusCode": 404}),
    )])
    .await;
    let error = client_for(&server)
        .wait_for_task(TASK_ID)
        .policy(fast_polls())
        .await
        .unwrap_err();
    assert!(matches!(&error, Error::TaskNotFound { task_id } if task_id == TASK_ID));
    assert!(error.to_string().contains("3 days"));
}

#[tokio::test]
async fn send_and_wait_submits_then_waits_for_the_task() {
    let server = ScriptedServer::start(vec![
        Reply::json(
            202,
            json!({"id": TASK_ID, "statusUrl": format!("/api/v1/tasks/{TASK_ID}")}),
        ),
        task("FINISHED", json!([])),
    ])
    .await;
    let body = support::bodies::one_organization();
    let outcome = client_for(&server)
        .bulk_manage_organizations()
        .body(body)
        .send_and_wait()
        .await
        .unwrap();
    assert!(matches!(outcome, TaskOutcome::Finished(_)));
    let requests = server.requests();
    assert_eq!(requests[0].target, "/api/v1/organization/bulk");
    assert_eq!(requests[1].target, format!("/api/v1/tasks/{TASK_ID}"));
}

#[test]
fn a_ten_second_task_is_polled_six_times() {
    let policy = PollPolicy::default();
    let delays: Vec<u128> = policy.delays().take(8).map(|d| d.as_millis()).collect();
    assert_eq!(delays, [500, 750, 1125, 1687, 2531, 3796, 5000, 5000]);
    assert_eq!(policy.polls_until(Duration::from_secs(10)), 6);
    assert_eq!(policy.polls_until(Duration::from_secs(60)), 16);
}

#[tokio::test]
async fn a_running_deadline_counts_from_when_the_task_is_seen_running() {
    let polls = || {
        PollPolicy::default()
            .first_delay(Duration::from_millis(20))
            .growth(1.0)
            .max_delay(Duration::from_millis(20))
            .deadline(Duration::from_secs(5))
    };
    // Waiting its turn for 10 polls (about 200 ms) does not count against 100 ms of running.
    let mut script: Vec<Reply> = (0..10).map(|_| task("NOT_STARTED", json!([]))).collect();
    script.extend([
        task("IN_PROGRESS", json!([])),
        task("IN_PROGRESS", json!([])),
        task("FINISHED", json!([])),
    ]);
    let server = ScriptedServer::start(script).await;
    let outcome = client_for(&server)
        .wait_for_task(TASK_ID)
        .policy(polls())
        .running_deadline(Duration::from_millis(100))
        .await
        .unwrap();
    assert!(matches!(outcome, TaskOutcome::Finished(_)));

    // Running longer than that is the deadline, whatever the whole deadline says.
    let script: Vec<Reply> = (0..20).map(|_| task("IN_PROGRESS", json!([]))).collect();
    let server = ScriptedServer::start(script).await;
    let started = std::time::Instant::now();
    let error = client_for(&server)
        .wait_for_task(TASK_ID)
        .policy(polls())
        .running_deadline(Duration::from_millis(100))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::TaskDeadline { .. }), "{error}");
    assert!(started.elapsed() < Duration::from_secs(1));
}
