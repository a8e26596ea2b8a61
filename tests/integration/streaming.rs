//! Imports streamed in and out, resumed from their journal, and sharing one back-off, against the
//! fake CSM API.

use atlassian_csm::bulk::{BulkResult, CustomerProfiles, RecordValidator};
use atlassian_csm::types::BulkManageCustomerProfileOperation as Profile;
use atlassian_csm::{Client, Credentials, Error, RecordOutcome};
use atlassian_csm_mock::{Entity, FakeCsm, FakeCsmBuilder, Fault, FAKE_TOKEN};
use futures::{StreamExt, TryStreamExt};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Records whose email holds this fail on the fake.
const FAIL_MARKER: &str = "+fail";

fn fake_builder(task: Duration) -> FakeCsmBuilder {
    FakeCsm::builder()
        .task_timing(Duration::ZERO, task)
        .fail_records_where(|email| email.contains(FAIL_MARKER))
}

async fn start(builder: FakeCsmBuilder) -> FakeCsm {
    let fake = builder.start().await.unwrap();
    fake.state(|site| site.add_field(Entity::Customer, "Plan", "SELECT", &["Free", "Pro"]));
    fake
}

fn email(i: usize) -> String {
    if i % 97 == 13 {
        format!("customer{i}{FAIL_MARKER}@example.com")
    } else {
        format!("customer{i}@example.com")
    }
}

fn record(i: usize) -> atlassian_csm::types::builder::BulkManageCustomerProfileOperationBuilder {
    Profile::upsert().email(email(i)).detail("Plan", ["Pro"])
}

/// `(method, path)` of the bulk submits the fake received, with their keys.
fn submitted_keys(fake: &FakeCsm) -> Vec<String> {
    fake.requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/bulk"))
        .map(|r| r.header("idempotency-key").unwrap().to_string())
        .collect()
}

fn outcomes_by_index(results: &[BulkResult]) -> BTreeMap<usize, String> {
    results
        .iter()
        .flat_map(|result| result.records.iter())
        .map(|(index, outcome)| (*index, outcome.to_string()))
        .collect()
}

/// A journal's path in a directory of its own, removed (whatever the test's end) with the guard.
fn temporary_journal(name: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = crate::support::temp_dir();
    let path = dir.path().join(format!("{name}.jsonl"));
    (dir, path)
}

#[tokio::test]
async fn records_are_read_only_as_requests_can_be_sent_and_results_come_as_they_are_known() {
    let fake = start(fake_builder(Duration::from_millis(50))).await;
    let client = fake.client();
    let read = Arc::new(AtomicUsize::new(0));
    let counter = read.clone();
    let records = futures::stream::iter(0..2_000).map(move |i| {
        counter.fetch_add(1, Ordering::SeqCst);
        record(i)
    });
    let mut results = std::pin::pin!(client
        .import_stream::<CustomerProfiles, _>(records)
        .max_in_flight(2)
        .stream());
    let first = results.try_next().await.unwrap().unwrap();
    // Two requests in flight and the one being filled: a few hundred records, not 2,000.
    let read_when_first = read.load(Ordering::SeqCst);
    assert!(
        read_when_first <= 400,
        "{read_when_first} records read before the first result"
    );
    assert_eq!(first.records.len(), 100);
    let mut rest: Vec<BulkResult> = results.try_collect().await.unwrap();
    rest.push(first);
    let outcomes = outcomes_by_index(&rest);
    assert_eq!(outcomes.len(), 2_000, "every record has an outcome");
    let failed: Vec<usize> = outcomes
        .iter()
        .filter(|(_, outcome)| *outcome != "succeeded")
        .map(|(index, _)| *index)
        .collect();
    assert_eq!(
        failed,
        (0..2_000).filter(|i| i % 97 == 13).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn an_invalid_record_is_its_own_outcome_and_requests_stay_full() {
    let fake = start(fake_builder(Duration::from_millis(20))).await;
    let client = fake.client();
    let records = (0..250).map(|i| {
        let plan = if i == 7 || i == 180 {
            "x".repeat(300)
        } else {
            "Pro".into()
        };
        Profile::upsert()
            .email(format!("customer{i}@example.com"))
            .detail("Plan", [plan])
    });
    let results: Vec<BulkResult> = client
        .import_customer_profiles(records)
        .stream()
        .try_collect()
        .await
        .unwrap();
    let invalid: Vec<&BulkResult> = results.iter().filter(|r| r.request.is_none()).collect();
    assert_eq!(invalid.len(), 2);
    for result in invalid {
        let (index, outcome) = &result.records[0];
        match outcome {
            RecordOutcome::NotSubmitted(error) => match error.as_ref() {
                Error::InvalidInput { field, .. } => assert_eq!(
                    *field,
                    format!("customerProfiles[{index}].payload.details[0].values[0]")
                ),
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        }
    }
    // The 248 valid records fill requests of 100, 100 and 48: an invalid record's place is taken
    // by the next valid one.
    let mut sizes: Vec<usize> = results
        .iter()
        .filter_map(|r| r.request.as_ref())
        .map(|request| request.records.len())
        .collect();
    sizes.sort_unstable();
    assert_eq!(sizes, [48, 100, 100]);
    let sent: usize = fake
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .map(|r| {
            let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            body["customerProfiles"].as_array().unwrap().len()
        })
        .sum();
    assert_eq!(sent, 248, "nothing invalid was sent");
}

#[test]
fn the_validator_checks_a_whole_input_first() {
    let records: Vec<Profile> = (0..5)
        .map(|i| {
            let kind = if i == 3 { "UPSRT" } else { "UPSERT" };
            Profile::builder()
                .operation_type(kind)
                .email(email(i))
                .try_into()
                .unwrap()
        })
        .collect();
    match RecordValidator::<CustomerProfiles>::new().check_all(&records) {
        Err(Error::InvalidInput { field, .. }) => {
            assert_eq!(field, "customerProfiles[3].operationType")
        }
        other => panic!("{other:?}"),
    }
    assert!(RecordValidator::<CustomerProfiles>::new()
        .allow_unknown_enum_values(true)
        .check_all(&records)
        .is_ok());
}

/// Runs an import of `count` records with a journal until `stop_after` results came, then drops
/// it with its runtime (as if the process were killed; the runtime waits for the journal writes
/// under way, which a killed process's file would hold or not).
async fn interrupted(fake: &FakeCsm, journal: &std::path::Path, count: usize, stop_after: usize) {
    let base_url = fake.base_url().to_string();
    let journal = journal.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let client = Client::builder()
                .base_url(&base_url)
                .credentials(Credentials::bearer(FAKE_TOKEN))
                .build()
                .unwrap();
            let mut results = std::pin::pin!(client
                .import_customer_profiles((0..count).map(record))
                .journal(&journal)
                .stream());
            for _ in 0..stop_after {
                results.try_next().await.unwrap().unwrap();
            }
        });
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn a_resumed_import_sends_only_what_had_not_ended_and_reports_as_an_uninterrupted_one() {
    let task = Duration::from_millis(150);
    let count = 1_500; // 15 requests
    let uninterrupted = {
        let fake = start(fake_builder(task)).await;
        let results: Vec<BulkResult> = fake
            .client()
            .import_customer_profiles((0..count).map(record))
            .stream()
            .try_collect()
            .await
            .unwrap();
        outcomes_by_index(&results)
    };

    let fake = start(fake_builder(task)).await;
    let (_dir, journal) = temporary_journal("resume");
    interrupted(&fake, &journal, count, 6).await;
    let text = std::fs::read_to_string(&journal).unwrap();
    let events: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let keys_of = |event: &str| -> BTreeSet<String> {
        let requests: BTreeSet<u64> = events
            .iter()
            .filter(|e| e["event"] == event)
            .map(|e| e["request"].as_u64().unwrap())
            .collect();
        events
            .iter()
            .filter(|e| {
                e["event"] == "planned" && requests.contains(&e["request"].as_u64().unwrap())
            })
            .map(|e| e["key"].as_str().unwrap().to_string())
            .collect()
    };
    let ended = keys_of("ended");
    let started = keys_of("submitted");
    assert!(ended.len() >= 6, "{} ended before the stop", ended.len());
    assert!(
        !text.contains(atlassian_csm_mock::FAKE_TOKEN),
        "no secret in the journal"
    );
    let before = fake.requests().len();

    let client = fake.client();
    let resumed: Vec<BulkResult> = client
        .import_customer_profiles((0..count).map(record))
        .journal(&journal)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(outcomes_by_index(&resumed), uninterrupted);

    let after: Vec<_> = fake.requests().into_iter().skip(before).collect();
    let resubmitted: BTreeSet<String> = after
        .iter()
        .filter(|r| r.method == "POST")
        .map(|r| r.header("idempotency-key").unwrap().to_string())
        .collect();
    assert!(
        resubmitted.is_disjoint(&started),
        "a started task is polled, not resubmitted"
    );
    assert!(
        resubmitted.is_disjoint(&ended),
        "an ended request is not sent again"
    );
    let polled_again = after.iter().filter(|r| r.method == "GET").count();
    assert!(polled_again >= started.len() - ended.len());
    // Every chunk went under one key, and each key carried one content.
    let mut content_by_key: BTreeMap<String, BTreeSet<Vec<u8>>> = BTreeMap::new();
    for request in fake.requests().into_iter().filter(|r| r.method == "POST") {
        let key = request.header("idempotency-key").unwrap().to_string();
        content_by_key.entry(key).or_default().insert(request.body);
    }
    assert_eq!(content_by_key.len(), 15);
    assert!(content_by_key.values().all(|bodies| bodies.len() == 1));
    assert_eq!(
        submitted_keys(&fake).iter().collect::<BTreeSet<_>>().len(),
        15
    );
    std::fs::remove_file(&journal).unwrap();
}

#[tokio::test]
async fn a_journal_whose_last_line_was_cut_short_is_resumed_without_it() {
    let fake = start(fake_builder(Duration::from_millis(30))).await;
    let (_dir, journal) = temporary_journal("cut");
    interrupted(&fake, &journal, 500, 2).await;
    let mut text = std::fs::read_to_string(&journal).unwrap();
    text.push_str(r#"{"event":"ended","request":4,"sta"#);
    std::fs::write(&journal, &text).unwrap();

    let results: Vec<BulkResult> = fake
        .client()
        .import_customer_profiles((0..500).map(record))
        .journal(&journal)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(outcomes_by_index(&results).len(), 500);
    // The cut line is gone and every line is an event again.
    for line in std::fs::read_to_string(&journal).unwrap().lines() {
        serde_json::from_str::<serde_json::Value>(line).expect("a whole event");
    }
    std::fs::remove_file(&journal).unwrap();
}

#[tokio::test]
async fn a_journal_of_another_input_is_refused_before_anything_is_sent() {
    let fake = start(fake_builder(Duration::from_millis(30))).await;
    let (_dir, journal) = temporary_journal("other");
    interrupted(&fake, &journal, 300, 1).await;
    let before = fake.requests().len();

    let other_input = (0..300).map(|i| Profile::upsert().email(format!("other{i}@example.com")));
    let client = fake.client();
    let mut results = std::pin::pin!(client
        .import_customer_profiles(other_input)
        .journal(&journal)
        .stream());
    match results.next().await {
        Some(Err(Error::Journal { message, .. })) => {
            assert!(message.contains("another input"), "{message}")
        }
        other => panic!("expected a journal error, got {other:?}"),
    }
    assert!(results.next().await.is_none(), "the import ends there");
    let posted = fake.requests()[before..]
        .iter()
        .filter(|r| r.method == "POST")
        .count();
    assert_eq!(posted, 0, "nothing of the other input was sent");

    // A journal of another endpoint is refused too.
    let error = fake
        .client()
        .import_customer_accounts([
            atlassian_csm::types::BulkCustomerAccountOperationRequest::create()
                .email("ada@example.com"),
        ])
        .journal(&journal)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Journal { .. }), "{error}");
    std::fs::remove_file(&journal).unwrap();
}

#[tokio::test]
async fn a_rate_limit_pauses_every_submission_of_the_import() {
    let retry_after = Duration::from_millis(1_000);
    let fake = start(fake_builder(Duration::from_millis(30))).await;
    fake.fail_next(1, Fault::RateLimited { retry_after });
    let report = fake
        .client()
        .import_customer_profiles((0..1_000).map(record))
        .await
        .unwrap();
    assert_eq!(report.records.len(), 1_000);
    let requests = fake.requests();
    let limited = requests.iter().find(|r| r.status == 429).expect("one 429");
    // Submits sent before the 429 was read may arrive just after it; none may come later in
    // the pause.
    let paused_from = limited.received_at + Duration::from_millis(250);
    let paused_until = limited.received_at + retry_after;
    let during: Vec<_> = requests
        .iter()
        .filter(|r| {
            r.method == "POST" && r.received_at > paused_from && r.received_at < paused_until
        })
        .collect();
    assert!(
        during.is_empty(),
        "{} submits during the pause",
        during.len()
    );
    assert!(requests
        .iter()
        .any(|r| r.method == "POST" && r.received_at >= paused_until));
}

/// A streamed import told how many records to expect counts its progress against them from the
/// first report, not against the part read so far; the count read wins once the input ends, and
/// before, when it is larger than the hint.
#[tokio::test]
async fn a_streamed_import_counts_its_progress_against_the_records_expected() {
    let fake = start(fake_builder(Duration::from_millis(5))).await;
    let client = fake.client();
    // (hint, the first report's total)
    for (hint, first_total) in [(Some(250), 250), (None, 101), (Some(50), 101)] {
        let (sender, receiver) = futures::channel::mpsc::unbounded();
        let totals = Arc::new(std::sync::Mutex::new(Vec::new()));
        let reported = Arc::new(tokio::sync::Notify::new());
        let (seen, told) = (totals.clone(), reported.clone());
        let mut import = client
            .import_stream::<CustomerProfiles, _>(receiver)
            .on_progress(move |progress| {
                seen.lock().unwrap().push(progress.total_records);
                told.notify_one();
            });
        if let Some(hint) = hint {
            import = import.expected_records(hint);
        }
        // 101 records (a full request goes out when the next record comes), then the rest once
        // a first report came.
        let feed = async {
            for i in 0..101 {
                sender.unbounded_send(record(i)).unwrap();
            }
            reported.notified().await;
            for i in 101..250 {
                sender.unbounded_send(record(i)).unwrap();
            }
            drop(sender);
        };
        let results = import.stream().try_collect::<Vec<BulkResult>>();
        let (results, ()) = tokio::join!(results, feed);
        let outcomes: usize = results.unwrap().iter().map(|r| r.records.len()).sum();
        assert_eq!(outcomes, 250);
        let totals = totals.lock().unwrap().clone();
        assert_eq!(totals[0], first_total, "hint {hint:?}: {totals:?}");
        assert_eq!(*totals.last().unwrap(), 250, "hint {hint:?}: {totals:?}");
    }
}
