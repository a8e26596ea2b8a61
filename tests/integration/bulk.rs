//! Bulk imports against the fake CSM API: fewest requests, bounded tasks in flight,
//! back-pressure, stable keys, and every failure traced to its record.
//!
//! Longer than 500 lines: fourteen scenarios, each setting up its own fake and stating its whole
//! expectation; one file, because they share the record helpers below and nothing else.

use atlassian_csm::bulk::CustomerDetails;
use atlassian_csm::{types, BulkProgress, Client, Credentials, Error, RecordOutcome};
use atlassian_csm_mock::{Entity, FakeCsm, FakeCsmBuilder};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Records whose email holds this fail on the fake.
const FAIL_MARKER: &str = "+fail";

/// Tasks that take 40 ms; `+fail` records fail.
fn quick_tasks() -> FakeCsmBuilder {
    FakeCsm::builder()
        .task_timing(Duration::ZERO, Duration::from_millis(40))
        .fail_records_where(|email| email.contains(FAIL_MARKER))
}

/// A started fake with the detail fields the records use.
async fn start(builder: FakeCsmBuilder) -> FakeCsm {
    let fake = builder.start().await.unwrap();
    fake.state(|site| {
        site.add_field(Entity::Customer, "Plan", "SELECT", &["Free", "Pro"]);
        site.add_field(Entity::Customer, "Region", "TEXT", &[]);
    });
    fake
}

fn client_for(fake: &FakeCsm) -> Client {
    fake.client()
}

/// Bulk submits the fake answered with `status` (202 accepted, 400 refused).
fn submits(fake: &FakeCsm, status: u16) -> usize {
    fake.requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/bulk") && r.status == status)
        .count()
}

fn profile(email: &str) -> types::BulkManageCustomerProfileOperation {
    let record = types::BulkManageCustomerProfileOperation::upsert()
        .email(email)
        .display_name(email)
        .detail("Plan", ["Pro"]);
    record.try_into().unwrap()
}

fn profiles(count: usize) -> Vec<types::BulkManageCustomerProfileOperation> {
    (0..count)
        .map(|i| profile(&format!("customer{i}@example.com")))
        .collect()
}

#[tokio::test]
async fn records_are_split_into_the_fewest_requests_and_all_succeed() {
    let mock = start(quick_tasks()).await;
    let client = client_for(&mock);
    let seen = Arc::new(Mutex::new(Vec::<BulkProgress>::new()));
    let log = seen.clone();
    let report = client
        .import_customer_profiles(profiles(250))
        .on_progress(move |progress| log.lock().unwrap().push(*progress))
        .await
        .unwrap();

    assert!(
        report.all_succeeded(),
        "{:?}",
        report.not_succeeded().next()
    );
    let sizes: Vec<usize> = report.requests.iter().map(|r| r.records.len()).collect();
    assert_eq!(sizes, [100, 100, 50]);
    assert_eq!(submits(&mock, 202), 3);
    assert_eq!(mock.state(|site| site.customers.len()), 250);
    let keys: std::collections::BTreeSet<_> = report
        .requests
        .iter()
        .map(|r| r.idempotency_key.clone())
        .collect();
    assert_eq!(keys.len(), 3, "one key per request");

    let seen = seen.lock().unwrap();
    let last = seen.last().unwrap();
    assert_eq!((last.finished_records, last.total_records), (250, 250));
    assert_eq!(last.submitted_records, 250);
    assert_eq!((last.finished_requests, last.total_requests), (3, 3));
    assert!(seen
        .windows(2)
        .all(|w| w[0].finished_records <= w[1].finished_records));
}

#[tokio::test]
async fn a_failure_is_traced_to_the_record_it_names() {
    let mock = start(quick_tasks()).await;
    let client = client_for(&mock);
    let mut records = profiles(120);
    records[7] = profile(&format!("bob{FAIL_MARKER}@example.com"));
    records[111] = profile(&format!("eve{FAIL_MARKER}@example.com"));
    let report = client.import_customer_profiles(records).await.unwrap();

    let failed: Vec<usize> = report.not_succeeded().map(|(index, _)| index).collect();
    assert_eq!(failed, [7, 111]);
    match &report.records[111] {
        RecordOutcome::Failed(failures) => {
            assert_eq!(failures.len(), 1);
            assert_eq!(
                failures[0].entity_id,
                format!("eve{FAIL_MARKER}@example.com")
            );
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    assert_eq!(
        report.records[111].to_string(),
        "failed: CUSTOMER_ACCOUNT UPSERT: Rejected by the fake's failure rule"
    );
    assert_eq!(report.records[0].to_string(), "succeeded");
    assert_eq!(report.succeeded(), 118);
    assert!(report.unmatched_failures.is_empty());
}

#[tokio::test]
async fn at_most_max_in_flight_tasks_are_unfinished_and_refusals_are_resubmitted() {
    // The site allows only 2 unfinished tasks; the import may hold 5: the extra submits are
    // refused with 400 and resubmitted under the same key until they are accepted. Tasks run
    // 200 ms, far longer than a submit takes, so a third submit meets two unfinished tasks
    // however slowly the machine answers.
    let slow_tasks = FakeCsm::builder().task_timing(Duration::ZERO, Duration::from_millis(200));
    let mock = start(slow_tasks.task_limit(2)).await;
    let client = client_for(&mock);
    let report = client
        .import_customer_profiles(profiles(800))
        .await
        .unwrap();
    assert!(report.all_succeeded());
    assert_eq!(submits(&mock, 202), 8, "each request accepted exactly once");
    let refused = submits(&mock, 400);
    assert!(refused > 0, "the site's limit pushed back");
    assert_eq!(
        report.requests.iter().map(|r| r.refusals).sum::<usize>(),
        refused
    );
    assert!(mock.state(|site| site.peak_unfinished_tasks) <= 2);

    let mock = start(quick_tasks()).await;
    let client = client_for(&mock);
    client
        .import_customer_profiles(profiles(1000))
        .max_in_flight(3)
        .await
        .unwrap();
    let peak = mock.state(|site| site.peak_unfinished_tasks);
    assert!(peak <= 3, "{peak}");
    assert_eq!(submits(&mock, 400), 0);
}

#[tokio::test]
async fn the_same_records_get_the_same_keys_on_a_rerun() {
    let keys = |report: atlassian_csm::BulkReport| -> Vec<String> {
        report
            .requests
            .into_iter()
            .map(|r| r.idempotency_key)
            .collect()
    };
    let mock = start(quick_tasks()).await;
    let first = keys(
        client_for(&mock)
            .import_customer_profiles(profiles(150))
            .await
            .unwrap(),
    );
    let mock = start(quick_tasks()).await;
    let again = keys(
        client_for(&mock)
            .import_customer_profiles(profiles(150))
            .await
            .unwrap(),
    );
    assert_eq!(first, again);
    let other = keys(
        client_for(&mock)
            .import_customer_profiles(profiles(150))
            .idempotency_namespace("sync-2026-11-23")
            .await
            .unwrap(),
    );
    assert_ne!(first, other);
}

#[tokio::test]
async fn detail_operations_are_packed_by_their_count_across_customers() {
    let mock = start(quick_tasks()).await;
    mock.state(|site| {
        for id in 1..=5 {
            let customer = atlassian_csm_mock::Customer {
                id: format!("qm:{id}:x"),
                display_name: format!("Customer {id}"),
                ..Default::default()
            };
            site.customers.insert(customer.id.clone(), customer);
        }
    });
    let client = client_for(&mock);
    let customer = |id: usize, operations: usize| -> types::BulkCustomerDetailFieldOperation {
        serde_json::from_value(json!({
            "customerId": format!("qm:{id}:x"),
            "operations": vec![json!({"operationType": "UPDATE", "payload": {"name": "Region", "values": ["EMEA"]}}); operations]
        }))
        .unwrap()
    };
    let records = vec![
        customer(1, 600),
        customer(2, 600),
        customer(3, 300),
        customer(4, 400),
        customer(5, 100),
    ];
    let report = client.import::<CustomerDetails, _>(records).await.unwrap();
    assert!(report.all_succeeded());
    assert_eq!(report.requests.len(), 2, "{:?}", report.requests);
}

#[tokio::test]
async fn an_invalid_record_is_named_and_nothing_is_sent() {
    let mock = start(quick_tasks()).await;
    let client = client_for(&mock);
    let mut records = profiles(300);
    records[204] = serde_json::from_value(json!({
        "operationType": "UPSERT",
        "payload": {"email": "x@example.com", "associateProducts": {"productIds": ["1", "2", "3", "4", "5", "6"]}}
    }))
    .unwrap();
    match client.import_customer_profiles(records).await {
        Err(Error::InvalidInput { field, .. }) => {
            assert_eq!(
                field,
                "customerProfiles[204].payload.associateProducts.productIds"
            )
        }
        other => panic!("expected InvalidInput, got {other:?}"),
    }
    assert!(mock.requests().is_empty(), "nothing was sent");

    let definitions: Vec<types::CreateDetailFieldRequest> = (0..60)
        .map(|i| {
            serde_json::from_value(json!({"name": if i == 55 { "Field 3".to_string() } else { format!("Field {i}") }, "type": {"name": "TEXT"}}))
                .unwrap()
        })
        .collect();
    match client.import_customer_detail_fields(definitions).await {
        Err(Error::InvalidInput { field, message }) => {
            assert_eq!(field, "detailFields[55].name", "{message}");
        }
        other => panic!("names are unique across requests: {other:?}"),
    }
    assert!(mock.requests().is_empty());
}

#[tokio::test]
async fn records_whose_request_cannot_be_sent_are_reported_not_submitted() {
    // Nothing listens on port 9: every request fails to connect.
    let client = Client::builder()
        .base_url("http://127.0.0.1:9")
        .credentials(Credentials::bearer("token"))
        .retry_policy(atlassian_csm::RetryPolicy::never())
        .build()
        .unwrap();
    let report = client
        .import_customer_profiles(profiles(130))
        .await
        .unwrap();
    assert_eq!(report.records.len(), 130);
    assert!(report
        .records
        .iter()
        .all(|outcome| matches!(outcome, RecordOutcome::NotSubmitted(_))));
    assert!(report.requests.iter().all(|r| r.task_id.is_none()));
}

#[tokio::test]
async fn organization_detail_fields_are_created_through_their_own_endpoint() {
    let mock = start(quick_tasks()).await;
    let client = client_for(&mock);
    // 50 definitions per entity at most, on the fake as on a site.
    let definitions = (0..45).map(|i| {
        types::CreateDetailFieldRequest::builder()
            .name(format!("Field {i}"))
            .type_(types::DetailFieldType::builder().name("TEXT"))
    });
    let report = client
        .import_organization_detail_fields(definitions)
        .await
        .unwrap();
    assert!(
        report.all_succeeded(),
        "{:?}",
        report.not_succeeded().next()
    );
    assert_eq!(report.requests.len(), 1);
    let paths: Vec<String> = mock
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .map(|r| r.path)
        .collect();
    assert!(paths
        .iter()
        .all(|p| p == "/api/v1/organization/details/definitions/bulk"));
    let (organization, customer) = mock.state(|site| {
        (
            site.fields_of(Entity::Organization).len(),
            site.fields_of(Entity::Customer).len(),
        )
    });
    assert_eq!((organization, customer), (45, 2));
}

/// A client of a scripted server.
fn scripted_client(server: &crate::support::scripted_server::ScriptedServer) -> Client {
    crate::support::client(&server.base_url)
}

/// A 429 saying the hourly quota is used up, resetting in `seconds`.
fn quota_used_up(seconds: u64) -> crate::support::scripted_server::Reply {
    crate::support::scripted_server::Reply::status(429)
        .with_header("x-beta-ratelimit-reason", "jira-quota-tenant-based")
        .with_header(
            "beta-ratelimit",
            &format!("\"tenant-app-quota\";r=0;t={seconds}"),
        )
}

#[tokio::test]
async fn an_import_waits_for_a_used_up_quota_to_reset_then_goes_on() {
    use crate::support::scripted_server::{Reply, ScriptedServer};
    let finished = json!({"id": "t-1", "type": "BULK_CUSTOMER_PROFILE_CREATE_UPDATE",
        "status": "FINISHED", "createdAt": "2025-01-15T11:12:13Z", "updatedAt": "2025-01-15T11:12:13Z"});
    let server = ScriptedServer::start(vec![
        quota_used_up(1),
        Reply::json(202, json!({"id": "t-1", "statusUrl": "/api/v1/tasks/t-1"})),
        Reply::json(200, finished),
    ])
    .await;
    let client = scripted_client(&server);
    let report = client.import_customer_profiles(profiles(3)).await.unwrap();
    assert!(report.all_succeeded(), "{:?}", report.records);
    let requests = server.requests();
    assert_eq!(requests.len(), 3, "the 429, the accepted submit, one poll");
    let waited = requests[1].received_at - requests[0].received_at;
    assert!(
        waited >= Duration::from_secs(1),
        "resubmitted after {waited:?}"
    );

    // A quota that resets after the import's deadline: the request is not sent again.
    let server = ScriptedServer::start(vec![quota_used_up(3600)]).await;
    let client = scripted_client(&server);
    let report = client
        .import_customer_profiles(profiles(250))
        .max_in_flight(1)
        .task_deadline(Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(server.requests().len(), 1, "the later requests were sent");
    assert_eq!(report.not_succeeded().count(), 250);
    match &report.records[0] {
        RecordOutcome::NotSubmitted(error) => {
            assert!(error.to_string().contains("resets in 3600 s"), "{error}")
        }
        other => panic!("expected NotSubmitted, got {other:?}"),
    }
}

/// A spent quota whose reset the site gives as 0 s and as a time already past is not taken as
/// "go on now": the import does not send into it again and again until its deadline.
#[tokio::test]
async fn a_spent_quota_with_no_wait_said_is_not_hammered() {
    use crate::support::scripted_server::{Reply, ScriptedServer};
    let past = (chrono::Utc::now() - chrono::Duration::minutes(3)).format("%Y-%m-%dT%H:%MZ");
    let server = ScriptedServer::start(vec![Reply::status(429)
        .with_header("x-beta-ratelimit-reason", "jira-quota-tenant-based")
        .with_header("beta-ratelimit", "\"tenant-app-quota\";r=0;t=0")
        .with_header("x-ratelimit-reset", &past.to_string())])
    .await;
    let client = scripted_client(&server);
    let report = client
        .import_customer_profiles(profiles(3))
        .task_deadline(Duration::from_secs(2))
        .await
        .unwrap();
    assert_eq!(
        server.requests().len(),
        1,
        "sent into the spent quota again"
    );
    match &report.records[0] {
        RecordOutcome::NotSubmitted(error) => {
            assert!(
                error.to_string().contains("until its window resets"),
                "{error}"
            )
        }
        other => panic!("expected NotSubmitted, got {other:?}"),
    }
}

/// A fake at a live site's pace divided by `factor`, its tasks not held before their turn.
async fn live_paced(factor: u32) -> FakeCsm {
    start(
        FakeCsm::builder()
            .task_timing(Duration::ZERO, Duration::ZERO)
            .pace(atlassian_csm_mock::Pace::live_scaled(factor)),
    )
    .await
}

#[tokio::test]
async fn a_task_queued_behind_four_others_on_a_live_paced_site_succeeds() {
    // A live site's pace and 30-minute rule, divided by 500 (times long enough that a loaded
    // machine's delays of tens of milliseconds stay small beside them): each task runs
    // 100 × 9.6 ms, one at a time, so the fifth ends 4.8 s after it was sent, past the deadline
    // of 3.6 s (30 min divided alike) counted from the send, but 0.96 s after it started running.
    let fake = live_paced(500).await;
    let client = client_for(&fake);
    let seen = Arc::new(Mutex::new(Vec::<BulkProgress>::new()));
    let log = seen.clone();
    let report = client
        .import_customer_profiles(profiles(500))
        .task_deadline(Duration::from_millis(3600))
        .on_progress(move |progress| log.lock().unwrap().push(*progress))
        .await
        .unwrap();
    // The import said how long the queue was: once it learned from the first two that the site
    // runs tasks one at a time, the ones held behind them were waiting their turn.
    let seen = seen.lock().unwrap();
    let most_waiting = seen.iter().map(|p| p.waiting_tasks).max().unwrap();
    assert!(
        most_waiting >= 2,
        "at most {most_waiting} tasks seen waiting"
    );
    assert_eq!(seen.last().unwrap().waiting_tasks, 0);
    assert!(
        report.all_succeeded(),
        "{:?}",
        report.not_succeeded().next()
    );
    assert_eq!(report.requests.len(), 5);
    // The site ran them one after the other.
    let tasks: Vec<(std::time::Instant, std::time::Instant)> = fake.state(|site| {
        let mut runs: Vec<_> = site
            .tasks
            .values()
            .map(|t| (t.starts_at, t.finishes_at))
            .collect();
        runs.sort();
        runs
    });
    assert!(tasks.windows(2).all(|pair| pair[1].0 >= pair[0].1));
    assert_eq!(fake.state(|site| site.customers.len()), 500);
}

#[tokio::test]
async fn a_live_paced_import_polls_each_task_a_few_times_and_foretells_its_end() {
    // A live site's pace divided by 500: 100 records run 0.96 s, one task at a time; twelve
    // tasks, five unfinished at once, with the default settings.
    let fake = live_paced(500).await;
    let client = client_for(&fake);
    let foretold = Arc::new(Mutex::new(None::<(std::time::Instant, Duration)>));
    let seen = foretold.clone();
    let report = client
        .import_customer_profiles(profiles(1_200))
        .on_progress(move |progress| {
            let mut seen = seen.lock().unwrap();
            if seen.is_none() && progress.finished_requests >= 5 {
                *seen = progress
                    .estimated_time_left()
                    .map(|left| (std::time::Instant::now(), left));
            }
        })
        .await
        .unwrap();
    let ended = std::time::Instant::now();
    assert!(
        report.all_succeeded(),
        "{:?}",
        report.not_succeeded().next()
    );
    assert_eq!(report.requests.len(), 12);
    // About two polls a task: the ones behind others are not polled before their turn.
    let polls: usize = report.requests.iter().map(|r| r.polls).sum();
    let gets = fake
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.starts_with("/api/v1/tasks/"))
        .count();
    assert_eq!(polls, gets, "the report counts every poll");
    // The first two tasks teach the site's way (the first with nothing known); the ten after
    // them cost a few polls each: under three on a quiet machine (the benchmark's figure, in
    // BENCHMARKS.md), at most four here, where the whole suite runs side by side and a loaded
    // machine's delays blur the ends of one-second tasks.
    let each: Vec<usize> = report.requests.iter().map(|r| r.polls).collect();
    assert!(each[..2].iter().all(|p| *p <= 20), "{each:?}");
    assert!(each[2..].iter().sum::<usize>() <= 4 * 10, "{each:?}");
    // After the first five tasks, the time left at the pace they showed is within 20 % of
    // the time the rest took.
    let (at, foretold) = foretold.lock().unwrap().expect("an estimate after 5 tasks");
    let took = ended - at;
    let error = (foretold.as_secs_f64() - took.as_secs_f64()).abs() / took.as_secs_f64();
    assert!(error <= 0.2, "foretold {foretold:?}, took {took:?}");
}

/// Customers on `fake`, and one record per customer setting its `Plan`.
fn plans_for(
    fake: &FakeCsm,
    count: usize,
) -> (Vec<String>, Vec<types::BulkCustomerDetailFieldOperation>) {
    let ids: Vec<String> = fake.state(|site| {
        (0..count)
            .map(|i| site.add_customer(&format!("lane{i}@example.com"), "L"))
            .collect()
    });
    let records = ids
        .iter()
        .map(|id| {
            serde_json::from_value(json!({"customerId": id, "operations": [
                {"operationType": "UPDATE", "payload": {"name": "Plan", "values": ["Pro"]}}
            ]}))
            .unwrap()
        })
        .collect();
    (ids, records)
}

/// How many times each customer's values were sent, through either lane, counted at the fake.
fn writes_per_customer(fake: &FakeCsm) -> std::collections::HashMap<String, usize> {
    let mut writes = std::collections::HashMap::new();
    for request in fake.requests().iter().filter(|r| r.status < 300) {
        if request.method == "PUT" && request.path.contains("/details?") {
            let id = request.path.split('/').nth(4).unwrap().to_string();
            *writes.entry(id).or_insert(0) += 1;
        } else if request.method == "POST" && request.path.ends_with("/details/bulk") {
            for customer in request.json().unwrap()["customers"].as_array().unwrap() {
                let id = customer["customerId"].as_str().unwrap().to_string();
                *writes.entry(id).or_insert(0) += 1;
            }
        }
    }
    writes
}

#[tokio::test]
async fn the_direct_lane_sends_each_detail_value_once_through_its_synchronous_call() {
    let fake = start(quick_tasks()).await;
    let client = client_for(&fake);
    let (ids, records) = plans_for(&fake, 20);
    let report = client
        .import_customer_details(records)
        .lanes(atlassian_csm::bulk::Lanes::Direct)
        .await
        .unwrap();
    assert!(
        report.all_succeeded(),
        "{:?}",
        report.not_succeeded().next()
    );
    assert!(report.requests.is_empty(), "a bulk request was made");
    let writes = writes_per_customer(&fake);
    assert_eq!(writes.len(), 20);
    assert!(writes.values().all(|n| *n == 1), "{writes:?}");
    let plan = fake.state(|site| site.customers[&ids[7]].details.get("Plan").cloned());
    assert_eq!(plan.unwrap(), ["Pro"]);
}

#[tokio::test]
async fn auto_sends_through_both_lanes_while_the_site_is_slow_and_each_record_once() {
    // A live site's pace divided by 10,000: a task of 1,000 customers runs 0.48 s, one at a
    // time; burst limits of 10 calls per 10 ms.
    let fake = start(
        FakeCsm::builder()
            .task_timing(Duration::ZERO, Duration::ZERO)
            .pace(atlassian_csm_mock::Pace::live_scaled(10_000))
            .rate_limits(
                atlassian_csm_mock::RateLimits::live()
                    .burst(10, Duration::from_millis(10))
                    .quota(1_000_000, Duration::from_secs(3600)),
            ),
    )
    .await;
    let client = client_for(&fake);
    let (_, records) = plans_for(&fake, 2_500);
    let report = client
        .import_customer_details(records)
        .max_in_flight(1)
        .await
        .unwrap();
    assert!(
        report.all_succeeded(),
        "{:?}",
        report.not_succeeded().next()
    );
    let writes = writes_per_customer(&fake);
    assert_eq!(writes.len(), 2_500);
    assert!(
        writes.values().all(|n| *n == 1),
        "a record was written twice"
    );
    let requests = fake.requests();
    let direct = requests.iter().filter(|r| r.method == "PUT").count();
    assert!(direct > 0, "auto never sent a record directly");
    assert!(!report.requests.is_empty(), "auto never used a bulk task");
    let refused = requests.iter().filter(|r| r.status == 429).count();
    assert!(
        refused * 100 <= requests.len(),
        "{refused} of {} answered 429",
        requests.len()
    );
}

#[tokio::test]
async fn a_stopped_import_sends_nothing_new_sees_what_it_sent_to_the_end_and_resumes() {
    let mock =
        start(FakeCsm::builder().task_timing(Duration::ZERO, Duration::from_millis(150))).await;
    let client = client_for(&mock);
    let dir = crate::support::temp_dir();
    let journal = dir.path().join("stop.journal");
    let import = client
        .import_customer_profiles(profiles(500))
        .max_in_flight(2)
        .journal(&journal);
    let stop = import.stop_handle();
    let asked = stop.clone();
    let last = Arc::new(Mutex::new(None));
    let seen = last.clone();
    let report = import
        .on_progress(move |progress| {
            if progress.submitted_records >= 100 {
                asked.stop();
            }
            *seen.lock().unwrap() = Some(*progress);
        })
        .await
        .unwrap();
    assert!(stop.is_stopped());
    let succeeded = report.succeeded();
    let stopped = report
        .records
        .iter()
        .filter(|o| matches!(o, RecordOutcome::NotSubmitted(e) if matches!(**e, Error::Stopped)))
        .count();
    assert!((100..500).contains(&succeeded), "{succeeded}");
    assert_eq!(
        succeeded + stopped,
        500,
        "every record succeeded or was not sent"
    );
    assert_eq!(
        submits(&mock, 202) * 100,
        succeeded,
        "each request sent was seen to its end; none sent after the stop"
    );
    assert_eq!(submits(&mock, 400), 0);
    // The progress counts as finished what the site finished, not the records left unsent: a
    // stopped import's bar stops short of its end.
    let last = last.lock().unwrap().expect("progress was reported");
    assert_eq!(
        (last.finished_records, last.total_records),
        (succeeded, 500)
    );

    // Resumed from the journal: only the records not sent go, each once.
    let before = mock.requests().len();
    let report = client
        .import_customer_profiles(profiles(500))
        .max_in_flight(2)
        .journal(&journal)
        .await
        .unwrap();
    assert!(report.all_succeeded());
    let sent_again: usize = mock.requests()[before..]
        .iter()
        .filter(|r| r.method == "POST")
        .map(|r| {
            r.json().unwrap()["customerProfiles"]
                .as_array()
                .unwrap()
                .len()
        })
        .sum();
    assert_eq!(sent_again, stopped);
    assert_eq!(mock.state(|site| site.customers.len()), 500);
    let _ = std::fs::remove_file(&journal);
}
