//! Each record is checked once and carried as checked: through an import's planning and packing,
//! a sync's comparison with its state, and the request hook, which checks only the requests a
//! caller built by hand.
//!
//! The client says each check in a trace event (target `atlassian_csm::checks`); this test binary
//! runs alone in its process, so the one global subscriber counts only its own checks.
#![cfg(feature = "sync")]

use atlassian_csm::bulk::{CustomerProfiles, RecordValidator};
use atlassian_csm::types::BulkManageCustomerProfileOperation as Profile;
use atlassian_csm_mock::FakeCsm;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Once;
use std::time::Duration;

static RECORD_CHECKS: AtomicUsize = AtomicUsize::new(0);
static BODY_CHECKS: AtomicUsize = AtomicUsize::new(0);
/// One scenario at a time: the counts are the process's.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Counts the check events in what the subscriber writes.
struct Counter;

impl std::io::Write for Counter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(bytes);
        if text.contains("atlassian_csm::checks") {
            if text.contains("record checked") {
                RECORD_CHECKS.fetch_add(1, Ordering::SeqCst);
            } else if text.contains("request body checked") {
                BODY_CHECKS.fetch_add(1, Ordering::SeqCst);
            }
        }
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The checks `run` made: (records, request bodies).
async fn checks_of<F: std::future::IntoFuture>(run: F) -> (F::Output, (usize, usize)) {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(|| Counter)
            .with_ansi(false)
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
    });
    let before = (
        RECORD_CHECKS.load(Ordering::SeqCst),
        BODY_CHECKS.load(Ordering::SeqCst),
    );
    let output = run.await;
    let after = (
        RECORD_CHECKS.load(Ordering::SeqCst),
        BODY_CHECKS.load(Ordering::SeqCst),
    );
    (output, (after.0 - before.0, after.1 - before.1))
}

async fn fake() -> FakeCsm {
    FakeCsm::builder()
        .task_timing(Duration::ZERO, Duration::from_millis(20))
        .start()
        .await
        .unwrap()
}

fn profiles(count: usize, run: &str) -> Vec<Profile> {
    (0..count)
        .map(|i| {
            Profile::upsert()
                .email(format!("c{i}@example.com"))
                .display_name(format!("C{i} {run}"))
                .try_into()
                .unwrap()
        })
        .collect()
}

fn checked(records: Vec<Profile>) -> Vec<atlassian_csm::bulk::Checked<CustomerProfiles>> {
    let mut validator = RecordValidator::<CustomerProfiles>::new();
    records
        .into_iter()
        .enumerate()
        .map(|(index, record)| validator.checked(index, record).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn each_record_is_checked_once_and_only_hand_built_requests_by_the_hook() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let fake = fake().await;
    let client = fake.client();

    // An import checks each record as it plans it; its requests are built from checked records.
    let (report, checks) = checks_of(client.import_customer_profiles(profiles(250, "a"))).await;
    assert!(report.unwrap().all_succeeded());
    assert_eq!(checks, (250, 0));

    // Records checked already are not checked again.
    let records = checked(profiles(250, "b"));
    let (report, checks) = checks_of(client.import_checked(futures::stream::iter(records))).await;
    assert!(report.unwrap().all_succeeded());
    assert_eq!(checks, (0, 0));

    // A sync checks each record it sends once, when it compares it with its state.
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let (report, checks) = checks_of(
        client
            .sync_customer_profiles(profiles(250, "c"))
            .state(&state),
    )
    .await;
    let counts = report.unwrap().counts;
    assert_eq!((counts.new, counts.failed), (250, 0));
    assert_eq!(checks, (250, 0));

    // Handed checked records, it checks none.
    let records = checked(profiles(250, "d"));
    let ok = Ok::<_, std::convert::Infallible>;
    let (report, checks) = checks_of(
        client
            .sync_checked(futures::stream::iter(records.into_iter().map(ok)))
            .state(&state),
    )
    .await;
    let counts = report.unwrap().counts;
    assert_eq!((counts.changed, counts.failed), (250, 0));
    assert_eq!(checks, (0, 0));

    // A request built by hand is checked by the hook before it is sent.
    let body = atlassian_csm::types::BulkManageCustomerProfilesRequest::builder()
        .customer_profiles(profiles(3, "e"));
    let (sent, checks) = checks_of(
        client
            .bulk_manage_multiple_customer_profiles()
            .body(body)
            .send(),
    )
    .await;
    sent.unwrap();
    assert_eq!(checks, (0, 1));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_record_checked_leniently_is_checked_again_by_a_strict_client() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let fake = fake().await;
    let client = fake.client();
    // A value newer than the document (open enums decode it).
    let newer: Profile = serde_json::from_value(serde_json::json!({
        "operationType": "MERGE", "payload": {"email": "m@example.com"}
    }))
    .unwrap();
    let lenient = RecordValidator::<CustomerProfiles>::new()
        .allow_unknown_enum_values(true)
        .checked(0, newer)
        .unwrap();
    let (report, checks) = checks_of(client.import_checked(futures::stream::iter([lenient]))).await;
    assert_eq!(checks, (1, 0));
    assert!(
        matches!(report, Err(atlassian_csm::Error::InvalidInput { ref field, .. })
            if field.record() == Some(0)),
        "{report:?}"
    );
    assert!(fake.requests().is_empty(), "nothing was sent");
}
