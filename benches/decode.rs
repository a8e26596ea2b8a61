//! Decoding throughput of a 100-profile `CustomerProfilesResponse` into the generated types,
//! against decoding the same bytes into an untyped `serde_json::Value` in the same run.
//!
//! `cargo bench --bench decode` prints MB/s for both and their ratio.

#[path = "support/estimates.rs"]
mod estimates;

use atlassian_csm::types;
use criterion::{Criterion, Throughput};
use serde_json::json;
use std::hint::black_box;
use std::time::Duration;

fn profiles_response(count: usize) -> Vec<u8> {
    let profiles: Vec<_> = (0..count)
        .map(|i| {
            json!({
                "customerId": format!("qm:9edf598a-85d4-4db9-bf2e-7245922b4ea8:{i:08}-a22e-4220-ac63-412ff9eec053"),
                "displayName": format!("Customer {i}"),
                "email": format!("customer{i}@example.com"),
                "organizations": [{"id": "123", "name": "Atlassian"}],
                "details": [
                    {"name": "Region", "value": {"type": "SELECT", "text": ["EMEA"]}},
                    {"name": "Phone Number", "value": {"type": "PHONE", "text": ["0422333111"]}}
                ],
                "entitlements": [{
                    "id": "3858a61a-d337-42e6-993e-e13e1c366d4f",
                    "product": {"id": "3858a61a-d337-42e6-993e-e13e1c366d4f", "name": "Acme Widget"},
                    "entitledEntity": {"id": "123", "type": "CUSTOMER"},
                    "details": [{"name": "Tier", "value": {"type": "SELECT", "text": ["Gold"]}}]
                }]
            })
        })
        .collect();
    serde_json::to_vec(&json!({ "profiles": profiles })).unwrap()
}

fn main() {
    let body = profiles_response(100);
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .configure_from_args();
    let mut group = criterion.benchmark_group("decode_100_profiles");
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function("serde_json_value", |b| {
        b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(&body)).unwrap())
    });
    group.bench_function("typed", |b| {
        b.iter(|| {
            serde_json::from_slice::<types::CustomerProfilesResponse>(black_box(&body)).unwrap()
        })
    });
    group.finish();
    criterion.final_summary();

    let mean = |function: &str| estimates::mean_ns("decode_100_profiles", function);
    if let (Some(value), Some(typed)) = (mean("serde_json_value"), mean("typed")) {
        let mb_per_s = |ns: f64| body.len() as f64 / ns * 1e9 / 1e6;
        println!(
            "decode {} bytes: typed {:.0} MB/s, serde_json::Value {:.0} MB/s, typed/Value time ratio {:.2}",
            body.len(),
            mb_per_s(typed),
            mb_per_s(value),
            typed / value
        );
    }
}
