//! A nightly delta sync at scale, against the fake CSM API in a process of its own.
//!
//! `cargo bench --bench sync` (with `--features sync`, which `cargo bench --workspace` turns on
//! through the command line) builds a state of 1,000,000 customer profiles (a first sync into a
//! fake whose tasks take 1 ms), then, each in a process of its own so each one's peak memory is
//! its own:
//!
//! 1. **local pass**: the plan of an input of 1,000,000 rows, 1 % changed, 0.1 % new, 0.1 %
//!    gone: read, key, fingerprint and look up every row, nothing sent (rows per second);
//! 2. **delta sync** of that input into a fake whose tasks take 200 ms, submits 20 ms, 5
//!    unfinished at once: the 11,000 new and changed records make 110 requests, so the bound is
//!    110 / 5 × 200 ms = 4.4 s; the figure of merit is wall / (bound + local pass) (target ≤ 1.1)
//!    and the peak RSS (target ≤ 64 MB);
//! 3. **full import** of the same input, for the ratio delta / full (`SYNC_COMPARE=0` skips it:
//!    at 1,000,000 records it takes about 400 s).
//!
//! `SYNC_RECORDS=100000` for a shorter run.

#[path = "support/processes.rs"]
mod processes;

use atlassian_csm::types::BulkManageCustomerProfileOperation as Profile;
use futures::StreamExt;
use processes::{client, create_plan_field, peak_rss_mb, runtime, start_fake};
use std::process::Command;
use std::time::Instant;

const TASK_MS: u64 = 200;
const SUBMIT_MS: u64 = 20;
const IN_FLIGHT: usize = 5;

fn records_in_state() -> usize {
    std::env::var("SYNC_RECORDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000)
}

fn profile(i: usize, name: &str) -> Profile {
    Profile::upsert()
        .email(format!("customer{i}@example.com"))
        .display_name(name)
        .detail("Plan", ["Pro"])
        .try_into()
        .unwrap()
}

/// The state's records: `customer{i}`, named `Customer {i}`.
fn first_input(n: usize) -> impl Iterator<Item = Profile> + Send {
    (0..n).map(|i| profile(i, &format!("Customer {i}")))
}

/// The next night's input: 0.1 % of the state gone, 1 % of it renamed, 0.1 % new.
fn next_input(n: usize) -> impl Iterator<Item = Profile> + Send {
    let kept = n - n / 1000;
    (0..kept)
        .map(|i| match i % 100 {
            0 => profile(i, "Renamed"),
            _ => profile(i, &format!("Customer {i}")),
        })
        .chain((n..n + n / 1000).map(|i| profile(i, "New")))
}

fn main() {
    match std::env::var("SYNC_MODE").as_deref() {
        Ok(mode @ ("seed" | "plan" | "delta" | "import")) => child(mode),
        _ => parent(),
    }
}

/// Runs one step in a process of its own; returns what it printed.
fn step(mode: &str, url: &str, state: &str) -> String {
    let exe = std::env::current_exe().unwrap();
    let output = Command::new(exe)
        .env("SYNC_MODE", mode)
        .env("SYNC_URL", url)
        .env("SYNC_STATE", state)
        .env("SYNC_RECORDS", records_in_state().to_string())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

fn figure(line: &str, name: &str) -> f64 {
    line.split_whitespace()
        .find_map(|part| part.strip_prefix(&format!("{name}=")))
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN)
}

fn parent() {
    let n = records_in_state();
    let dir = tempfile::tempdir().unwrap();
    // `SYNC_STATE_URL=postgres://…` measures the PostgreSQL state instead of the SQLite file (a
    // database of its own: the bench fills it).
    let database = std::env::var("SYNC_STATE_URL").ok();
    let state = database
        .clone()
        .unwrap_or_else(|| dir.path().join("state.db").to_string_lossy().into_owned());

    let (mut fast, fast_url) = start_fake(&["--task-ms", "1", "--task-limit", "5"]);
    let seeded = step("seed", &fast_url, &state);
    let _ = fast.kill();
    let _ = fast.wait();

    let live = [
        "--task-ms".to_string(),
        TASK_MS.to_string(),
        "--submit-ms".to_string(),
        SUBMIT_MS.to_string(),
        "--task-limit".to_string(),
        IN_FLIGHT.to_string(),
    ];
    let live: Vec<&str> = live.iter().map(String::as_str).collect();
    let (mut fake, url) = start_fake(&live);
    if let Some(database) = &database {
        // A PostgreSQL state keeps a site's records under its base URL: the state built on the
        // quick fake is taken as this one's on purpose (as `site_moved` does for a file).
        let atlassian = |u: &str| client(u).base_url().to_string();
        let (from, to) = (atlassian(&fast_url), atlassian(&url));
        let mut db = postgres::Client::connect(database, postgres::NoTls).unwrap();
        for table in ["csm_sync_site_ids", "csm_sync_sites"] {
            db.execute(
                &format!("UPDATE {table} SET site = $2 WHERE site = $1"),
                &[&from, &to],
            )
            .unwrap();
        }
        db.batch_execute("VACUUM ANALYZE csm_sync_records").unwrap();
    }
    let planned = step("plan", &url, &state);
    let delta = step("delta", &url, &state);
    let compare = std::env::var("SYNC_COMPARE").as_deref() != Ok("0");
    let full = compare.then(|| step("import", &url, &state));
    let _ = fake.kill();
    let _ = fake.wait();

    let local = figure(&planned, "wall");
    let requests = figure(&delta, "requests");
    let bound = (requests / IN_FLIGHT as f64).ceil() * TASK_MS as f64 / 1000.0;
    let wall = figure(&delta, "wall");
    println!("delta sync: a state of {n} customer profiles, an input with 1 % changed, 0.1 % new, 0.1 % gone");
    println!(
        "  state built (1 ms tasks)    {:.1} s",
        figure(&seeded, "wall")
    );
    println!(
        "  local pass (plan)           {local:.2} s, {:.0} rows/s, peak RSS {:.1} MB",
        figure(&planned, "rows") / local,
        figure(&planned, "rss")
    );
    println!(
        "  sent                        {} records in {requests} requests",
        figure(&delta, "sent")
    );
    println!(
        "  delta sync wall             {wall:.2} s (peak RSS {:.1} MB)",
        figure(&delta, "rss")
    );
    println!("  bound for what was sent     {bound:.2} s");
    println!(
        "  wall / (bound + local pass) {:.3}",
        wall / (bound + local)
    );
    if let Some(full) = full {
        let full_wall = figure(&full, "wall");
        println!(
            "  full import of the input    {full_wall:.1} s ({} requests)",
            figure(&full, "requests")
        );
        println!("  delta / full                {:.4}", wall / full_wall);
    }
}

fn child(mode: &str) {
    let url = std::env::var("SYNC_URL").unwrap();
    let state = std::env::var("SYNC_STATE").unwrap();
    let n = records_in_state();
    runtime().block_on(async {
        let client = client(&url);
        if mode == "seed" {
            create_plan_field(&client).await;
        }
        let started = Instant::now();
        let line = match mode {
            "seed" => {
                let report = client
                    .sync_customer_profiles(first_input(n))
                    .state(&state)
                    .await
                    .unwrap();
                assert!(report.all_succeeded());
                format!("sent={}", report.counts.new)
            }
            "plan" => {
                // The state was built quickly on another fake: taken as this site's on purpose.
                let plan = client
                    .sync_customer_profiles(next_input(n))
                    .state(&state)
                    .site_moved(true)
                    .plan()
                    .await
                    .unwrap();
                format!("rows={} requests={}", plan.counts.rows, plan.requests)
            }
            "delta" => {
                create_plan_field(&client).await;
                let started = Instant::now();
                let report = client
                    .sync_customer_profiles(next_input(n))
                    .state(&state)
                    .site_moved(true)
                    .await
                    .unwrap();
                assert!(report.all_succeeded(), "{:?}", report.failures.first());
                let c = report.counts;
                let sent = c.new + c.changed;
                return println!(
                    "wall={:.3} sent={sent} requests={} rss={:.1}",
                    started.elapsed().as_secs_f64(),
                    sent.div_ceil(100),
                    peak_rss_mb()
                );
            }
            _ => {
                let mut results =
                    std::pin::pin!(client.import_customer_profiles(next_input(n)).stream());
                let mut requests = 0;
                while let Some(result) = results.next().await {
                    requests += usize::from(result.unwrap().request.is_some());
                }
                format!("requests={requests}")
            }
        };
        println!(
            "wall={:.3} rss={:.1} {line}",
            started.elapsed().as_secs_f64(),
            peak_rss_mb()
        );
    });
}
