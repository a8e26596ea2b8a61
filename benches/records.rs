//! Building 1,000 bulk records with the typed builders (`Profile::upsert().email(…)…`, converted
//! and checked as an import does), against the pattern they replace: a `json!` value decoded into
//! the same type with `serde_json::from_value`, in the same run.
//!
//! `cargo bench --bench records` prints the time per record of both and their ratio.

#[path = "support/estimates.rs"]
mod estimates;

use atlassian_csm::types::BulkManageCustomerProfileOperation as Profile;
use criterion::{Criterion, Throughput};
use serde_json::json;
use std::hint::black_box;
use std::time::Duration;

const RECORDS: usize = 1_000;

fn rows() -> Vec<(String, String, String)> {
    (0..RECORDS)
        .map(|i| {
            let plan = ["Free", "Pro", "Enterprise"][i % 3];
            (
                format!("customer{i}@example.com"),
                format!("Customer {i}"),
                plan.to_string(),
            )
        })
        .collect()
}

fn main() {
    let rows = rows();
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .configure_from_args();
    let mut group = criterion.benchmark_group("build_1000_records");
    group.throughput(Throughput::Elements(RECORDS as u64));
    group.bench_function("json_from_value", |b| {
        b.iter(|| {
            black_box(&rows)
                .iter()
                .map(|(email, name, plan)| {
                    serde_json::from_value(json!({"operationType": "UPSERT", "payload": {
                        "email": email, "displayName": name,
                        "details": [{"name": "Plan", "values": [plan]}]}}))
                })
                .collect::<Result<Vec<Profile>, _>>()
                .unwrap()
        })
    });
    group.bench_function("builder", |b| {
        b.iter(|| {
            black_box(&rows)
                .iter()
                .map(|(email, name, plan)| {
                    Profile::upsert()
                        .email(email)
                        .display_name(name)
                        .detail("Plan", [plan])
                })
                .map(Profile::try_from)
                .collect::<Result<Vec<Profile>, _>>()
                .unwrap()
        })
    });
    group.finish();
    criterion.final_summary();

    let mean = |function: &str| estimates::mean_ns("build_1000_records", function);
    if let (Some(json), Some(builder)) = (mean("json_from_value"), mean("builder")) {
        let per_record = |ns: f64| ns / RECORDS as f64;
        println!(
            "build {RECORDS} records: builder {:.0} ns/record, json!+from_value {:.0} ns/record, builder/json time ratio {:.2}",
            per_record(builder),
            per_record(json),
            builder / json
        );
    }
}
