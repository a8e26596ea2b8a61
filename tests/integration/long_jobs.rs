//! Long imports on a site that runs tasks one at a time: the time left they report, and what they
//! learn of the site for the next run.

use atlassian_csm::{types, BulkProgress, Client, SitePace};
use atlassian_csm_mock::{FakeCsm, Pace};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A live site's pace divided by `factor` (tasks one at a time, a time per record), its tasks
/// not held before their turn.
async fn live_paced(factor: u32) -> FakeCsm {
    FakeCsm::builder()
        .task_timing(Duration::ZERO, Duration::ZERO)
        .pace(Pace::live_scaled(factor))
        .start()
        .await
        .unwrap()
}

fn profiles(count: usize, run: &str) -> Vec<types::BulkManageCustomerProfileOperation> {
    (0..count)
        .map(|i| {
            types::BulkManageCustomerProfileOperation::upsert()
                .email(format!("customer{i}@example.com"))
                .display_name(format!("Customer {i} {run}"))
                .try_into()
                .unwrap()
        })
        .collect()
}

/// Each progress report with when it was made.
type Reports = Arc<Mutex<Vec<(Instant, BulkProgress)>>>;

/// Imports `records` through `client`, keeping every progress report; returns them and when
/// the import ended.
async fn import(
    client: &Client,
    records: Vec<types::BulkManageCustomerProfileOperation>,
) -> (Vec<(Instant, BulkProgress)>, Instant) {
    let reports: Reports = Arc::default();
    let log = reports.clone();
    let report = client
        .import_customer_profiles(records)
        .on_progress(move |p| log.lock().unwrap().push((Instant::now(), *p)))
        .await
        .unwrap();
    let ended = Instant::now();
    assert!(
        report.all_succeeded(),
        "{:?}",
        report.not_succeeded().next()
    );
    let reports = reports.lock().unwrap().clone();
    (reports, ended)
}

/// Every estimate made from 10 % of the records on is within 20 % of the time that really
/// remained (and the few milliseconds a poll may see the last task late).
fn assert_estimates_hold(reports: &[(Instant, BulkProgress)], ended: Instant) {
    let mut checked = 0;
    for (at, progress) in reports {
        if progress.finished_records * 10 < progress.total_records
            || progress.finished_records == progress.total_records
        {
            continue;
        }
        let remained = ended - *at;
        let estimate = progress
            .estimated_time_left()
            .expect("an estimate once records have outcomes");
        let off = estimate.abs_diff(remained);
        assert!(
            off <= remained / 5 + Duration::from_millis(60),
            "at {}/{} records: estimated {estimate:?}, {remained:?} remained",
            progress.finished_records,
            progress.total_records
        );
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} estimates checked");
}

/// Status polls the fake answered.
fn polls(fake: &FakeCsm) -> usize {
    fake.requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.contains("/tasks/"))
        .count()
}

/// Bulk requests the fake accepted.
fn tasks(fake: &FakeCsm) -> usize {
    fake.requests()
        .iter()
        .filter(|r| r.method == "POST" && r.status == 202)
        .count()
}

#[tokio::test]
async fn the_time_left_holds_from_a_tenth_on_and_a_second_run_starts_from_the_learned_pace() {
    // A live site's pace divided by 960: 5 ms a record, half a second a task of 100, one task at
    // a time; 2,000 records run about 10 s.
    let fake = live_paced(960).await;
    let client = fake.client();
    assert!(client.site_pace().is_unknown());
    let (reports, ended) = import(&client, profiles(2_000, "first")).await;
    // Before any record had an outcome, the first run could not know: it said so.
    let first = reports.first().unwrap().1;
    assert_eq!(first.finished_records, 0);
    assert_eq!(first.estimated_time_left(), None);
    assert_estimates_hold(&reports, ended);

    // What it learned: one task at a time, about 5 ms a record.
    let pace = client.site_pace();
    assert_eq!(pace.one_at_a_time(), Some(true));
    let per_record = pace.time_per_record().unwrap();
    assert!(
        per_record.abs_diff(Duration::from_millis(5)) < Duration::from_micros(500),
        "{per_record:?} a record"
    );

    // The next run (another client, tomorrow), handed what was learned: its estimate is there
    // from its first request, it holds, and each task costs about one poll.
    let stored: SitePace = serde_json::from_str(&serde_json::to_string(&pace).unwrap()).unwrap();
    let next = crate::support::client_builder(fake.base_url())
        .site_pace(stored)
        .build()
        .unwrap();
    let (polls_before, tasks_before) = (polls(&fake), tasks(&fake));
    let (reports, ended) = import(&next, profiles(2_000, "second")).await;
    let sent = reports
        .iter()
        .find(|(_, p)| p.submitted_records > 0)
        .unwrap()
        .1;
    assert!(sent.estimated_time_left().is_some(), "{sent:?}");
    assert_estimates_hold(&reports, ended);
    let (polls, tasks) = (polls(&fake) - polls_before, tasks(&fake) - tasks_before);
    assert_eq!(tasks, 20);
    assert!(
        polls as f64 <= 2.5 * tasks as f64,
        "{polls} polls for {tasks} tasks"
    );
}

#[cfg(feature = "sync")]
#[tokio::test]
async fn a_sync_keeps_the_sites_pace_in_its_state_for_the_next_run() {
    // 10 ms a record, a second a task of 100: 1,000 records take 10 s a run.
    let fake = live_paced(480).await;
    let dir = crate::support::temp_dir();
    let state = dir.path().join("state.db");
    let sync = |run: &'static str| {
        // A new client each night: what it knows of the site comes from the state.
        let client = fake.client();
        let state = state.clone();
        async move {
            let reports: Arc<Mutex<Vec<Option<Duration>>>> = Arc::default();
            let log = reports.clone();
            let report = client
                .sync_customer_profiles(profiles(1_000, run))
                .state(&state)
                .on_progress(move |p| {
                    if p.input_read && p.to_send > 0 {
                        log.lock().unwrap().push(p.estimated_time_left);
                    }
                })
                .await
                .unwrap();
            assert!(report.all_succeeded());
            let seen = reports.lock().unwrap().clone();
            (client.site_pace(), seen)
        }
    };
    let (learned, first_run) = sync("first").await;
    assert_eq!(learned.one_at_a_time(), Some(true));
    assert_eq!(first_run.first(), Some(&None), "nothing known yet");

    let (polls_before, tasks_before) = (polls(&fake), tasks(&fake));
    let (_, second_run) = sync("second").await;
    let (polls, tasks) = (polls(&fake) - polls_before, tasks(&fake) - tasks_before);
    assert_eq!(tasks, 10);
    assert!(polls * 2 <= tasks * 5, "{polls} polls for {tasks} tasks");
    assert!(
        second_run.first().unwrap().is_some(),
        "known from the state"
    );
}
