//! Detail values at a live site's pace, through bulk tasks only and through both lanes.
//!
//! `cargo bench --bench lanes` runs 2,000 customer detail updates (one `Plan` value each)
//! against the fake in this process at a live site's pace (tasks one at a time, 4.8 s a record)
//! with its rate limits (10 calls a second per operation, 100,100 points an hour), every time and
//! window divided by `LANES_SCALE` (default 100, so bulk alone takes about 100 s), once with
//! `Lanes::Bulk` and once with `Lanes::Auto`. It prints both times and their ratio (target
//! auto ≤ 0.1 × bulk), the records written more than once (target 0), the share of requests
//! answered 429 (target ≤ 1 %) and the polls per task (target ≤ 3). Bulk alone makes only two
//! tasks of 1,000 updates there, so the polls a task costs in a queue are measured by a third
//! run: 2,000 customer profiles (20 tasks of 100, one at a time) against their bound, the
//! tasks' own time (20 × 100 × 4.8 s, divided alike). `LANES_MODEL=queue` runs that one alone;
//! `LANES_MODEL=fast` compares the lanes for 100,000 detail updates at the fast model's pace,
//! `LANES_MODEL=fast-profiles` for 100,000 profiles.

use atlassian_csm::bulk::Lanes;
use atlassian_csm::types::BulkCustomerDetailFieldOperation;
use atlassian_csm_mock::{Entity, FakeCsm, Pace, RateLimits};
use std::collections::HashMap;
use std::time::{Duration, Instant};

const RECORDS: usize = 2_000;

/// The fast model: submits answered after 20 ms, tasks done 200 ms after their request arrived,
/// five unfinished at once, no rate limits.
fn fast_site() -> atlassian_csm_mock::FakeCsmBuilder {
    FakeCsm::builder()
        .bulk_latency(Duration::from_millis(20))
        .task_timing(Duration::ZERO, Duration::from_millis(200))
        .task_limit(5)
}

struct Run {
    took: Duration,
    written_twice: usize,
    refused: usize,
    requests: usize,
    polls_per_task: f64,
    direct: usize,
}

/// `records` updates through `lanes`, at a live site's pace divided by `scale` (or the fast
/// model's, `scale` 0).
async fn run(lanes: Lanes, scale: u32, records: usize) -> Run {
    let fake = if scale == 0 {
        fast_site()
    } else {
        live_site(scale)
    };
    let fake = fake.start().await.unwrap();
    let ids: Vec<String> = fake.state(|site| {
        site.add_field(Entity::Customer, "Plan", "SELECT", &["Free", "Pro"]);
        (0..records)
            .map(|i| site.add_customer(&format!("lane{i}@example.com"), "L"))
            .collect()
    });
    let updates: Vec<BulkCustomerDetailFieldOperation> = ids
        .iter()
        .map(|id| {
            serde_json::from_value(serde_json::json!({"customerId": id, "operations": [
                {"operationType": "UPDATE", "payload": {"name": "Plan", "values": ["Pro"]}}
            ]}))
            .unwrap()
        })
        .collect();
    let client = fake.client();
    let started = Instant::now();
    let report = client
        .import_customer_details(updates)
        .lanes(lanes)
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(report.succeeded(), records, "every record succeeds");
    let requests = fake.requests();
    let mut writes: HashMap<String, usize> = HashMap::new();
    for request in requests.iter().filter(|r| r.status < 300) {
        if request.method == "PUT" {
            let id = request.path.split('/').nth(4).unwrap().to_string();
            *writes.entry(id).or_default() += 1;
        } else if request.path.ends_with("/details/bulk") {
            for customer in request.json().unwrap()["customers"].as_array().unwrap() {
                let id = customer["customerId"].as_str().unwrap().to_string();
                *writes.entry(id).or_default() += 1;
            }
        }
    }
    let tasks = report.requests.len().max(1);
    Run {
        took,
        written_twice: writes.values().filter(|n| **n > 1).count(),
        refused: requests.iter().filter(|r| r.status == 429).count(),
        requests: requests.len(),
        polls_per_task: report.requests.iter().map(|r| r.polls).sum::<usize>() as f64
            / tasks as f64,
        direct: requests.iter().filter(|r| r.method == "PUT").count(),
    }
}

/// The live model divided by `scale`, with its rate limits.
fn live_site(scale: u32) -> atlassian_csm_mock::FakeCsmBuilder {
    FakeCsm::builder()
        .task_timing(Duration::ZERO, Duration::ZERO)
        .pace(Pace::live_scaled(scale))
        .rate_limits(RateLimits::live_scaled(scale))
}

/// `records` profiles through `lanes` on `site`: (wall time, polls per task, tasks).
async fn profiles_run(
    site: atlassian_csm_mock::FakeCsmBuilder,
    lanes: Lanes,
    records: usize,
) -> (Duration, f64, usize) {
    let fake = site.start().await.unwrap();
    let profiles: Vec<atlassian_csm::types::BulkManageCustomerProfileOperation> = (0..records)
        .map(|i| {
            serde_json::from_value(serde_json::json!({"operationType": "UPSERT",
                "payload": {"email": format!("queue{i}@example.com"), "displayName": "Q"}}))
            .unwrap()
        })
        .collect();
    let client = fake.client();
    let started = Instant::now();
    let report = client
        .import_customer_profiles(profiles)
        .lanes(lanes)
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(report.succeeded(), records, "every record succeeds");
    let tasks = report.requests.len();
    let polls = report.requests.iter().map(|r| r.polls).sum::<usize>();
    (took, polls as f64 / tasks as f64, tasks)
}

/// 2,000 profiles through bulk tasks at a live site's pace: (wall time, polls per task, tasks).
async fn queue_run(scale: u32) -> (Duration, f64, usize) {
    profiles_run(live_site(scale), Lanes::Bulk, RECORDS).await
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    match std::env::var("LANES_MODEL").as_deref() {
        Ok("fast") => return fast(&runtime),
        Ok("fast-profiles") => return fast_profiles(&runtime),
        _ => {}
    }
    let scale: u32 = std::env::var("LANES_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100);
    if std::env::var("LANES_MODEL").as_deref() == Ok("queue") {
        let (took, polls, tasks) = runtime.block_on(queue_run(scale));
        println!(
            "queue: {:.2} s, {tasks} tasks, {polls:.2} polls per task",
            took.as_secs_f64()
        );
        return;
    }
    let bulk = runtime.block_on(run(Lanes::Bulk, scale, RECORDS));
    let auto = runtime.block_on(run(Lanes::Auto, scale, RECORDS));
    let (queue_took, queue_polls, queue_tasks) = runtime.block_on(queue_run(scale));
    println!("{RECORDS} customer detail updates at a live site's pace divided by {scale}");
    show(&bulk, &auto);
    let bound = Duration::from_millis(4_800) * RECORDS as u32 / scale;
    println!(
        "{RECORDS} customer profiles, bulk, at the same pace: {:.2} s against a bound of {:.2} s ({:.1} %), {queue_tasks} tasks, {queue_polls:.2} polls per task",
        queue_took.as_secs_f64(),
        bound.as_secs_f64(),
        100.0 * bound.as_secs_f64() / queue_took.as_secs_f64()
    );
}

/// `LANES_MODEL=fast`: 100,000 updates (`LANES_RECORDS`) at the fast model's pace, bulk then
/// auto, three interleaved pairs; the median ratio.
fn fast(runtime: &tokio::runtime::Runtime) {
    let records = fast_records();
    median_of_pairs(|| {
        let bulk = runtime.block_on(run(Lanes::Bulk, 0, records));
        let auto = runtime.block_on(run(Lanes::Auto, 0, records));
        println!("{records} customer detail updates at the fast model's pace");
        show(&bulk, &auto);
        auto.took.as_secs_f64() / bulk.took.as_secs_f64()
    });
}

/// `LANES_MODEL=fast-profiles`: 100,000 profiles (`LANES_RECORDS`) at the fast model's pace,
/// bulk then auto, three interleaved pairs; the median ratio (profiles have no direct call, so
/// `auto` must cost nothing over `bulk`).
fn fast_profiles(runtime: &tokio::runtime::Runtime) {
    let records = fast_records();
    median_of_pairs(|| {
        let (bulk, bulk_polls, _) =
            runtime.block_on(profiles_run(fast_site(), Lanes::Bulk, records));
        let (auto, auto_polls, _) =
            runtime.block_on(profiles_run(fast_site(), Lanes::Auto, records));
        let ratio = auto.as_secs_f64() / bulk.as_secs_f64();
        println!(
            "{records} customer profiles at the fast model's pace: bulk {:.2} s ({bulk_polls:.2} polls per task), auto {:.2} s ({auto_polls:.2}): auto / bulk {ratio:.3}",
            bulk.as_secs_f64(),
            auto.as_secs_f64(),
        );
        ratio
    });
}

/// The records of a fast-model run: `LANES_RECORDS`, default 100,000.
fn fast_records() -> usize {
    std::env::var("LANES_RECORDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000)
}

/// Runs three interleaved bulk-then-auto pairs (`pair` returns auto / bulk) and prints the
/// median ratio.
fn median_of_pairs(mut pair: impl FnMut() -> f64) {
    let mut ratios: Vec<f64> = (0..3).map(|_| pair()).collect();
    ratios.sort_by(f64::total_cmp);
    println!("median auto / bulk: {:.3} (of {ratios:.3?})", ratios[1]);
}

fn show(bulk: &Run, auto: &Run) {
    for (name, run) in [("bulk", bulk), ("auto", auto)] {
        println!(
            "  {name}: {:.2} s, {} direct calls, {} written twice, {} of {} requests answered 429, {:.1} polls per task",
            run.took.as_secs_f64(),
            run.direct,
            run.written_twice,
            run.refused,
            run.requests,
            run.polls_per_task
        );
    }
    println!(
        "  auto / bulk: {:.3}",
        auto.took.as_secs_f64() / bulk.took.as_secs_f64()
    );
}
