//! Per-request overhead of a generated call (hooks, retry loop, error mapping, decoding) against
//! the same request made with bare `reqwest` and decoded into the same type, in the same run,
//! against the same loopback server.
//!
//! `cargo bench --bench overhead` prints both times and their ratio (target: ≤ 1.05).

#[path = "support/estimates.rs"]
mod estimates;

use atlassian_csm::{types, Client, Credentials};
use criterion::Criterion;
use std::time::Duration;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let fake = runtime
        .block_on(atlassian_csm_mock::FakeCsm::start())
        .unwrap();
    fake.state(|site| {
        for i in 0..5 {
            site.add_product(&format!("Product {i}"));
        }
    });
    let client = Client::builder()
        .base_url(fake.base_url())
        .credentials(Credentials::bearer("bench-token"))
        .build()
        .unwrap();
    // reqwest is built without a TLS provider of its own (the client hands it a configuration);
    // a bare reqwest client needs the process's default one, even for plain HTTP.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let url = format!("{}/api/v1/product?limit=5", fake.base_url());

    // `OVERHEAD_ONLY=reqwest|client OVERHEAD_CALLS=N`: make N calls one way and exit, for
    // counting instructions under callgrind (benches/overhead_instructions.sh).
    if let Ok(only) = std::env::var("OVERHEAD_ONLY") {
        let calls: usize = std::env::var("OVERHEAD_CALLS")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(1000);
        runtime.block_on(async {
            for _ in 0..calls {
                let page = if only == "client" {
                    with_client(&client).await
                } else {
                    with_reqwest(&http, &url).await
                };
                assert_eq!(page.results.len(), 5);
            }
        });
        return;
    }

    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(8))
        .configure_from_args();
    let mut group = criterion.benchmark_group("get_products");
    group.bench_function("reqwest", |b| {
        b.to_async(&runtime).iter(|| with_reqwest(&http, &url))
    });
    group.bench_function("client", |b| {
        b.to_async(&runtime).iter(|| with_client(&client))
    });
    group.finish();
    criterion.final_summary();

    let estimate = |name: &str| estimates::mean_ns("get_products", name);
    if let (Some(baseline), Some(ours)) = (estimate("reqwest"), estimate("client")) {
        println!(
            "criterion means: reqwest {:.1} µs, client {:.1} µs, ratio {:.3}",
            baseline / 1e3,
            ours / 1e3,
            ours / baseline
        );
    }

    // Criterion measures one function after the other, so drift on a busy machine lands on one
    // side. The ratio is also measured interleaved: rounds alternate the two, and the median of
    // the per-round ratios is reported.
    let rounds = 30;
    let calls = 1000;
    let mut ratios: Vec<f64> = runtime.block_on(async {
        let mut ratios = Vec::with_capacity(rounds);
        for round in 0..rounds {
            let mut timed = [Duration::ZERO; 2];
            // Alternate which side goes first, so neither always follows the other.
            for side in [round % 2, 1 - round % 2] {
                let started = std::time::Instant::now();
                for _ in 0..calls {
                    let page = if side == 0 {
                        with_reqwest(&http, &url).await
                    } else {
                        with_client(&client).await
                    };
                    assert_eq!(page.results.len(), 5);
                }
                timed[side] = started.elapsed();
            }
            ratios.push(timed[1].as_secs_f64() / timed[0].as_secs_f64());
        }
        ratios
    });
    ratios.sort_by(f64::total_cmp);
    println!(
        "interleaved ({rounds} rounds × {calls} calls each): client / reqwest median {:.3} (quartiles {:.3}–{:.3})",
        ratios[rounds / 2],
        ratios[rounds / 4],
        ratios[3 * rounds / 4]
    );
}

/// The baseline: the same request with bare `reqwest`, decoded into the same type.
async fn with_reqwest(http: &reqwest::Client, url: &str) -> types::PaginatedProducts {
    http.get(url)
        .header("authorization", "Bearer bench-token")
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The generated call, through every hook.
async fn with_client(client: &Client) -> types::PaginatedProducts {
    client
        .get_products()
        .limit(5)
        .send()
        .await
        .unwrap()
        .into_inner()
}
