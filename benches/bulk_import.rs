//! Bulk imports at the limit the API allows, against the fake CSM API (`atlassian-csm-mock`):
//! each submit answered after 20 ms, each task done 200 ms after its request arrived, a sixth
//! unfinished task refused with 400, as the API does.
//!
//! `cargo bench --bench bulk_import` streams 1,000,000 customer profiles from a generator into a
//! fake running in its own process (so its memory is not counted), consuming results as they
//! come. The bound: 5 tasks unfinished at once, each for 200 ms, so 10,000 requests take at
//! least 10,000 / 5 × 200 ms = 400 s; the figure of merit is bound / wall time (target ≥ 97 %),
//! with the polls per task (≤ 3) and the importing process's peak RSS (≤ 100 MB).
//! `BULK_RECORDS=100000` for a shorter run.
//!
//! `BULK_MODE=resume cargo bench --bench bulk_import` kills an importing process (SIGKILL) at a
//! random point, resumes the import from its journal in a new process, and counts at the fake
//! (in this process) what each chunk was sent under.

use atlassian_csm::types::BulkManageCustomerProfileOperation as Profile;
#[path = "support/processes.rs"]
mod processes;

use atlassian_csm::{Client, RecordOutcome};
use atlassian_csm_mock::{Entity, FakeCsm};
use futures::StreamExt;
use processes::{client, create_plan_field, peak_rss_mb, runtime, start_fake};
use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TASK_MS: u64 = 200;
const SUBMIT_MS: u64 = 20;
const IN_FLIGHT: usize = 5;

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

fn record(i: usize) -> atlassian_csm::types::builder::BulkManageCustomerProfileOperationBuilder {
    Profile::upsert()
        .email(format!("customer{i}@example.com"))
        .display_name(format!("Customer {i}"))
        .detail("Plan", ["Pro"])
}

fn main() {
    match std::env::var("BULK_MODE").as_deref() {
        Ok("child") => child(),
        Ok("resume") => kill_and_resume(),
        _ => streamed(),
    }
}

/// What one importing run saw, from its results.
#[derive(Default, Debug)]
struct Tally {
    records: usize,
    succeeded: usize,
    requests: usize,
    polls: usize,
    refusals: usize,
}

async fn import(client: &Client, records: usize, journal: Option<&str>) -> Tally {
    let mut import = client
        .import_customer_profiles((0..records).map(record))
        .max_in_flight(IN_FLIGHT);
    if let Some(journal) = journal {
        import = import.journal(journal);
    }
    let mut results = std::pin::pin!(import.stream());
    let mut tally = Tally::default();
    while let Some(result) = results.next().await {
        let result = result.unwrap();
        tally.records += result.records.len();
        tally.succeeded += result
            .records
            .iter()
            .filter(|(_, outcome)| matches!(outcome, RecordOutcome::Succeeded))
            .count();
        if let Some(request) = &result.request {
            tally.requests += 1;
            tally.polls += request.polls;
            tally.refusals += request.refusals;
        }
    }
    tally
}

fn streamed() {
    let records = env_number("BULK_RECORDS", 1_000_000);
    let (mut fake, base_url) = start_fake(&[
        "--task-ms",
        &TASK_MS.to_string(),
        "--submit-ms",
        &SUBMIT_MS.to_string(),
        "--task-limit",
        &IN_FLIGHT.to_string(),
    ]);

    let runtime = runtime();
    let (tally, wall) = runtime.block_on(async {
        let client = client(&base_url);
        create_plan_field(&client).await;
        let started = Instant::now();
        let tally = import(&client, records, None).await;
        (tally, started.elapsed())
    });
    let _ = fake.kill();
    let _ = fake.wait();
    let bound = Duration::from_millis(TASK_MS) * tally.requests.div_ceil(IN_FLIGHT) as u32;
    println!("streamed bulk import of {records} profiles (fake in its own process)");
    println!("  requests                {}", tally.requests);
    println!("  refusals (task limit)   {}", tally.refusals);
    println!(
        "  polls per task          {:.2}",
        tally.polls as f64 / tally.requests as f64
    );
    println!("  records succeeded       {}", tally.succeeded);
    println!("  wall time               {:.2} s", wall.as_secs_f64());
    println!("  bound (5 in flight)     {:.2} s", bound.as_secs_f64());
    println!(
        "  bound / wall            {:.1} %",
        100.0 * bound.as_secs_f64() / wall.as_secs_f64()
    );
    println!("  peak RSS (importer)     {:.1} MB", peak_rss_mb());
    assert_eq!(tally.records, records, "every record has an outcome");
    assert_eq!(tally.succeeded, records);
}

/// The importing process of the resume benchmark: imports with a journal, then prints its tally.
fn child() {
    let base_url = std::env::var("BULK_URL").unwrap();
    let journal = std::env::var("BULK_JOURNAL").unwrap();
    let records = env_number("BULK_RECORDS", 20_000);
    let tally = runtime().block_on(import(&client(&base_url), records, Some(&journal)));
    println!("records {} succeeded {}", tally.records, tally.succeeded);
}

fn kill_and_resume() {
    let records = env_number("BULK_RECORDS", 20_000);
    let task = Duration::from_millis(50);
    let runtime = runtime();
    let fake = runtime.block_on(async {
        let fake = FakeCsm::builder()
            .bulk_latency(Duration::from_millis(SUBMIT_MS))
            .task_timing(Duration::ZERO, task)
            .task_limit(IN_FLIGHT)
            .start()
            .await
            .unwrap();
        fake.state(|site| site.add_field(Entity::Customer, "Plan", "SELECT", &["Free", "Pro"]));
        fake
    });
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("resume.jsonl");
    let exe = std::env::current_exe().unwrap();
    let spawn = || {
        Command::new(&exe)
            .env("BULK_MODE", "child")
            .env("BULK_URL", fake.base_url())
            .env("BULK_JOURNAL", &journal)
            .env("BULK_RECORDS", records.to_string())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap()
    };
    // The uninterrupted run takes about records / 100 / 5 × 70 ms: kill at a random point of it.
    let expected = Duration::from_millis((records / 100 / IN_FLIGHT) as u64 * 70);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as f64;
    let kill_at = expected.mul_f64(0.1 + 0.8 * nanos / 1e9);
    let mut first = spawn();
    std::thread::sleep(kill_at);
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    let killed_at = Instant::now();
    let text = std::fs::read_to_string(&journal).unwrap_or_default();
    let events: Vec<serde_json::Value> = text
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    let keys_where = |event: &str| -> BTreeSet<String> {
        let numbers: BTreeSet<u64> = events
            .iter()
            .filter(|e| e["event"] == event)
            .filter_map(|e| e["request"].as_u64())
            .collect();
        events
            .iter()
            .filter(|e| e["event"] == "planned")
            .filter(|e| numbers.contains(&e["request"].as_u64().unwrap()))
            .map(|e| e["key"].as_str().unwrap().to_string())
            .collect()
    };
    let (ended, started) = (keys_where("ended"), keys_where("submitted"));
    let before_resume = fake.requests().len();

    let resumed = spawn().wait_with_output().unwrap();
    let summary = String::from_utf8_lossy(&resumed.stdout).to_string();
    let numbers: Vec<usize> = summary
        .split_whitespace()
        .filter_map(|word| word.parse().ok())
        .collect();
    let log = fake.requests();
    let mut content_by_key: BTreeMap<String, BTreeSet<Vec<u8>>> = BTreeMap::new();
    let mut keys_by_content: BTreeMap<Vec<u8>, BTreeSet<String>> = BTreeMap::new();
    for request in log.iter().filter(|r| r.method == "POST") {
        let key = request.header("idempotency-key").unwrap().to_string();
        content_by_key
            .entry(key.clone())
            .or_default()
            .insert(request.body.clone());
        keys_by_content
            .entry(request.body.clone())
            .or_default()
            .insert(key);
    }
    let after: Vec<_> = log[before_resume..]
        .iter()
        .filter(|r| r.method == "POST")
        .map(|r| r.header("idempotency-key").unwrap().to_string())
        .collect();
    let resent_ended = after.iter().filter(|key| ended.contains(*key)).count();
    let resent_started = after.iter().filter(|key| started.contains(*key)).count();
    println!(
        "kill and resume: {records} profiles, {} requests",
        records / 100
    );
    println!(
        "  killed after            {:.2} s (SIGKILL)",
        kill_at.as_secs_f64()
    );
    println!(
        "  at the kill             {} requests ended, {} tasks started",
        ended.len(),
        started.len()
    );
    println!(
        "  resumed run             {:.2} s",
        killed_at.elapsed().as_secs_f64()
    );
    println!("  chunks sent             {}", keys_by_content.len());
    println!(
        "  chunks under one key    {}",
        keys_by_content
            .values()
            .filter(|keys| keys.len() == 1)
            .count()
    );
    println!(
        "  keys with one content   {}",
        content_by_key
            .values()
            .filter(|bodies| bodies.len() == 1)
            .count()
    );
    println!("  ended chunks resent     {resent_ended}");
    println!("  started chunks resent   {resent_started}");
    println!(
        "  records with an outcome {} (succeeded {})",
        numbers[0], numbers[1]
    );
    let _ = std::fs::remove_file(&journal);
    assert!(resumed.status.success());
    assert_eq!(keys_by_content.len(), records / 100);
    assert!(keys_by_content.values().all(|keys| keys.len() == 1));
    assert!(content_by_key.values().all(|bodies| bodies.len() == 1));
    assert_eq!((resent_ended, resent_started), (0, 0));
    assert_eq!(numbers[0], records);
}
