//! Long jobs on a site that runs bulk tasks one at a time (a live site's pace, its times divided
//! by `LONG_JOBS_SCALE`, default 100: 48 ms a record, 4.8 s a task of 100): how true the time left
//! is, and what a second run of a site whose pace was learned costs in polls.
//!
//! `cargo bench --features sync --bench long_jobs` runs, against a fake in this process:
//!
//! 1. an import of 2,000 customer profiles through a new client (nothing known of the site);
//! 2. the same import again through a client built with the pace the first one learned;
//! 3. a sync of 2,000 profiles into a new state (the state keeps the pace);
//! 4. the sync again with every profile changed, through a new client, reading the pace back
//!    from the state.
//!
//! For each it prints the wall time, the polls per task, and how far each estimate of the time
//! left (each progress report from 10 % of the records on) was from the time that really
//! remained: the largest and the median error, in per cent of what remained.

use atlassian_csm::types::BulkManageCustomerProfileOperation as Profile;
use atlassian_csm::{Client, Credentials};
use atlassian_csm_mock::{FakeCsm, Pace};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const RECORDS: usize = 2_000;

/// Each estimate with when it was made, and the fraction of the records done then.
type Estimates = Arc<Mutex<Vec<(Instant, f64, Option<Duration>)>>>;

fn profiles(run: &str) -> Vec<Profile> {
    (0..RECORDS)
        .map(|i| {
            Profile::upsert()
                .email(format!("customer{i}@example.com"))
                .display_name(format!("Customer {i} {run}"))
                .try_into()
                .unwrap()
        })
        .collect()
}

fn client(fake: &FakeCsm, pace: atlassian_csm::SitePace) -> Client {
    Client::builder()
        .base_url(fake.base_url())
        .credentials(Credentials::bearer(atlassian_csm_mock::FAKE_TOKEN))
        .site_pace(pace)
        .build()
        .unwrap()
}

fn polls_and_tasks(fake: &FakeCsm) -> (usize, usize) {
    let requests = fake.requests();
    let polls = requests
        .iter()
        .filter(|r| r.method == "GET" && r.path.contains("/tasks/"))
        .count();
    let tasks = requests
        .iter()
        .filter(|r| r.method == "POST" && r.status == 202)
        .count();
    (polls, tasks)
}

/// Prints one run's figures.
fn report(
    name: &str,
    fake: &FakeCsm,
    before: (usize, usize),
    estimates: &Estimates,
    started: Instant,
) {
    let ended = Instant::now();
    let after = polls_and_tasks(fake);
    let (polls, tasks) = (after.0 - before.0, after.1 - before.1);
    let estimates = estimates.lock().unwrap();
    let mut errors: Vec<f64> = estimates
        .iter()
        .filter(|(_, done, _)| *done >= 0.1 && *done < 1.0)
        .map(|(at, _, estimate)| {
            let remained = (ended - *at).as_secs_f64();
            let estimate = estimate.map_or(f64::INFINITY, |e| e.as_secs_f64());
            (estimate - remained).abs() / remained * 100.0
        })
        .collect();
    errors.sort_by(f64::total_cmp);
    let first_known = estimates
        .iter()
        .find(|(_, _, e)| e.is_some())
        .map(|(_, done, _)| done * 100.0);
    println!(
        "{name}: {:.1} s, {tasks} tasks, {:.2} polls per task; time left from 10 % on: largest error {:.1} %, median {:.1} % ({} estimates); first estimate at {:.0} % done",
        (ended - started).as_secs_f64(),
        polls as f64 / tasks.max(1) as f64,
        errors.last().copied().unwrap_or(f64::NAN),
        errors.get(errors.len() / 2).copied().unwrap_or(f64::NAN),
        errors.len(),
        first_known.unwrap_or(f64::NAN),
    );
}

fn main() {
    let scale: u32 = std::env::var("LONG_JOBS_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let fake = FakeCsm::builder()
            .task_timing(Duration::ZERO, Duration::ZERO)
            .pace(Pace::live_scaled(scale))
            .start()
            .await
            .unwrap();
        println!(
            "{RECORDS} customer profiles, a live site's pace divided by {scale}: {:.1} ms a record, tasks one at a time",
            4800.0 / f64::from(scale)
        );

        let mut learned = atlassian_csm::SitePace::default();
        for (name, run) in [("import, nothing known", "a"), ("import, pace learned", "b")] {
            let client = client(&fake, learned.clone());
            let estimates: Estimates = Arc::default();
            let log = estimates.clone();
            let before = polls_and_tasks(&fake);
            let started = Instant::now();
            let result = client
                .import_customer_profiles(profiles(run))
                .on_progress(move |p| {
                    let done = p.finished_records as f64 / p.total_records.max(1) as f64;
                    log.lock().unwrap().push((Instant::now(), done, p.estimated_time_left()));
                })
                .await
                .unwrap();
            assert!(result.all_succeeded());
            report(name, &fake, before, &estimates, started);
            learned = client.site_pace();
        }

        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state.db");
        for (name, run) in [("sync, new state", "c"), ("sync, every row changed, pace from the state", "d")] {
            let client = client(&fake, atlassian_csm::SitePace::default());
            let estimates: Estimates = Arc::default();
            let log = estimates.clone();
            let before = polls_and_tasks(&fake);
            let started = Instant::now();
            let result = client
                .sync_customer_profiles(profiles(run))
                .state(&state)
                .on_progress(move |p| {
                    if p.input_read && p.to_send > 0 {
                        let done = p.sent_finished as f64 / p.to_send as f64;
                        log.lock().unwrap().push((Instant::now(), done, p.estimated_time_left));
                    }
                })
                .await
                .unwrap();
            assert!(result.all_succeeded());
            report(name, &fake, before, &estimates, started);
        }
    });
}
