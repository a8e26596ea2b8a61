//! A bulk import of 100,000 customer profiles against the fake CSM API (`atlassian-csm-mock`),
//! which answers each submit after 20 ms, finishes each task 200 ms after it was submitted, and
//! refuses a sixth unfinished task with 400, as the API does.
//!
//! The bound: 5 tasks unfinished at once, each unfinished for 200 ms, so 1,000 requests take at
//! least 1,000 / 5 × 200 ms = 40 s. The figure of merit is bound / wall time (target ≥ 90 %).
//!
//! `cargo bench --bench bulk_import` (set `BULK_RECORDS` for a smaller run).

use atlassian_csm::types;
use atlassian_csm_mock::{Entity, FakeCsm};
use std::time::{Duration, Instant};

const TASK_DURATION: Duration = Duration::from_millis(200);
const IN_FLIGHT: usize = 5;

fn main() {
    let records: usize = std::env::var("BULK_RECORDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let fake = FakeCsm::builder()
            .bulk_latency(Duration::from_millis(20))
            .task_timing(Duration::ZERO, TASK_DURATION)
            .task_limit(IN_FLIGHT)
            .start()
            .await
            .unwrap();
        fake.state(|site| site.add_field(Entity::Customer, "Plan", "SELECT", &["Free", "Pro"]));
        let client = fake.client();
        let profiles: Vec<types::BulkManageCustomerProfileOperation> = (0..records)
            .map(|i| {
                serde_json::from_value(serde_json::json!({
                    "operationType": "UPSERT",
                    "payload": {
                        "email": format!("customer{i}@example.com"),
                        "displayName": format!("Customer {i}"),
                        "details": [{"name": "Plan", "values": ["Pro"]}]
                    }
                }))
                .unwrap()
            })
            .collect();

        let started = Instant::now();
        let report = client
            .import_customer_profiles(profiles)
            .max_in_flight(IN_FLIGHT)
            .await
            .unwrap();
        let wall = started.elapsed();

        let log = fake.requests();
        let submits = |status: u16| {
            log.iter()
                .filter(|r| r.method == "POST" && r.path.ends_with("/bulk") && r.status == status)
                .count()
        };
        let (accepted, refused) = (submits(202), submits(400));
        let polls = log
            .iter()
            .filter(|r| r.path.starts_with("/api/v1/tasks/"))
            .count();
        let requests = report.requests.len();
        let bound = TASK_DURATION * requests.div_ceil(IN_FLIGHT) as u32;
        println!("bulk import of {records} profiles");
        println!("  requests planned        {requests}");
        println!("  submits accepted        {accepted}");
        println!("  submits refused (400)   {refused}");
        println!(
            "  polls per task          {:.2}",
            polls as f64 / requests as f64
        );
        println!("  records succeeded       {}", report.succeeded());
        println!("  wall time               {:.2} s", wall.as_secs_f64());
        println!("  bound (5 in flight)     {:.2} s", bound.as_secs_f64());
        println!(
            "  bound / wall            {:.1} %",
            100.0 * bound.as_secs_f64() / wall.as_secs_f64()
        );
        assert_eq!(accepted, requests, "every request accepted exactly once");
        assert_eq!(report.succeeded(), records);
        assert_eq!(fake.state(|site| site.customers.len()), records);
    });
}
