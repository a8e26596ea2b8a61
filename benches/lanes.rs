//! Detail values at a live site's pace, through bulk tasks only and through both lanes.
//!
//! `cargo bench --bench lanes` runs 2,000 customer detail updates (one `Plan` value each)
//! against the fake in this process at a live site's pace (tasks one at a time, 4.8 s a record)
//! with its rate limits (10 calls a second per operation, 100,100 points an hour), every time and
//! window divided by `LANES_SCALE` (default 100, so bulk alone takes about 100 s), once with
//! `Lanes::Bulk` and once with `Lanes::Auto`. It prints both times and their ratio (target
//! auto ≤ 0.1 × bulk), the records written more than once (target 0), the share of requests
//! answered 429 (target ≤ 1 %) and the polls per task (target ≤ 3).

use atlassian_csm::bulk::Lanes;
use atlassian_csm::types::BulkCustomerDetailFieldOperation;
use atlassian_csm_mock::{Entity, FakeCsm, Pace, RateLimits};
use std::collections::HashMap;
use std::time::{Duration, Instant};

const RECORDS: usize = 2_000;

struct Run {
    took: Duration,
    written_twice: usize,
    refused: usize,
    requests: usize,
    polls_per_task: f64,
    direct: usize,
}

async fn run(lanes: Lanes, scale: u32) -> Run {
    let fake = FakeCsm::builder()
        .task_timing(Duration::ZERO, Duration::ZERO)
        .pace(Pace::live_scaled(scale))
        .rate_limits(RateLimits::live_scaled(scale))
        .start()
        .await
        .unwrap();
    let ids: Vec<String> = fake.state(|site| {
        site.add_field(Entity::Customer, "Plan", "SELECT", &["Free", "Pro"]);
        (0..RECORDS)
            .map(|i| site.add_customer(&format!("lane{i}@example.com"), "L"))
            .collect()
    });
    let records: Vec<BulkCustomerDetailFieldOperation> = ids
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
        .import_customer_details(records)
        .lanes(lanes)
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(report.succeeded(), RECORDS, "every record succeeds");
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

fn main() {
    let scale: u32 = std::env::var("LANES_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let bulk = runtime.block_on(run(Lanes::Bulk, scale));
    let auto = runtime.block_on(run(Lanes::Auto, scale));
    println!("{RECORDS} customer detail updates at a live site's pace divided by {scale}");
    for (name, run) in [("bulk", &bulk), ("auto", &auto)] {
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
