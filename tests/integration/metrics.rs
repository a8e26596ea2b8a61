//! The OpenTelemetry metrics a client records (feature `metrics`), read back through an
//! in-memory exporter and checked against what the fake saw.

use atlassian_csm::types;
use atlassian_csm_mock::{FakeCsm, Fault, RateLimits};
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use std::collections::BTreeMap;
use std::time::Duration;

/// One data point: its labels and its value (a histogram's count).
type Point = (BTreeMap<String, String>, f64);

/// The points of every metric exported, by name.
fn exported(
    provider: &SdkMeterProvider,
    exporter: &InMemoryMetricExporter,
) -> BTreeMap<String, Vec<Point>> {
    provider.force_flush().unwrap();
    let mut metrics: BTreeMap<String, Vec<Point>> = BTreeMap::new();
    let finished = exporter.get_finished_metrics().unwrap();
    // Cumulative: the last export holds everything.
    let last = finished.last().expect("an export");
    for scope in last.scope_metrics() {
        for metric in scope.metrics() {
            let labels = |attributes: &mut dyn Iterator<Item = &opentelemetry::KeyValue>| {
                attributes
                    .map(|kv| (kv.key.to_string(), kv.value.to_string()))
                    .collect::<BTreeMap<_, _>>()
            };
            let points: Vec<Point> = match metric.data() {
                AggregatedMetrics::F64(MetricData::Histogram(h)) => h
                    .data_points()
                    .map(|p| (labels(&mut p.attributes()), p.count() as f64))
                    .collect(),
                AggregatedMetrics::U64(MetricData::Sum(s)) => s
                    .data_points()
                    .map(|p| (labels(&mut p.attributes()), p.value() as f64))
                    .collect(),
                AggregatedMetrics::I64(MetricData::Sum(s)) => s
                    .data_points()
                    .map(|p| (labels(&mut p.attributes()), p.value() as f64))
                    .collect(),
                AggregatedMetrics::U64(MetricData::Gauge(g)) => g
                    .data_points()
                    .map(|p| (labels(&mut p.attributes()), p.value() as f64))
                    .collect(),
                other => panic!("{}: {other:?}", metric.name()),
            };
            metrics.insert(metric.name().to_string(), points);
        }
    }
    metrics
}

/// The sum of the points of `name` whose labels include `having`.
fn total(metrics: &BTreeMap<String, Vec<Point>>, name: &str, having: &[(&str, &str)]) -> f64 {
    metrics
        .get(name)
        .unwrap_or_else(|| panic!("no metric {name}: {:?}", metrics.keys()))
        .iter()
        .filter(|(labels, _)| {
            having
                .iter()
                .all(|(k, v)| labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|(_, value)| value)
        .sum()
}

#[tokio::test]
async fn a_run_exports_its_calls_retries_tasks_and_records_as_the_fake_saw_them() {
    let fake = FakeCsm::builder()
        .task_timing(Duration::ZERO, Duration::from_millis(20))
        .rate_limits(RateLimits::live())
        .fail_records_where(|email| email.contains("+fail"))
        // The first bulk request is refused once (429, retried by the import), and a lookup
        // answered 503 once (retried by the client).
        .fail_next_for(
            "bulk_manage_multiple_customer_profiles",
            1,
            Fault::RateLimited {
                retry_after: Duration::from_millis(20),
            },
        )
        .fail_next_for("get_products", 1, Fault::Status(503))
        .start()
        .await
        .unwrap();
    let exporter = InMemoryMetricExporter::default();
    let provider = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(exporter.clone()).build())
        .build();
    let client = crate::support::client_builder(fake.base_url())
        .meter(provider.meter("atlassian-csm"))
        .build()
        .unwrap();

    client.get_products().send().await.unwrap();
    let records: Vec<types::BulkManageCustomerProfileOperation> = (0..250)
        .map(|i| {
            let email = match i % 50 {
                7 => format!("customer{i}+fail@example.com"),
                _ => format!("customer{i}@example.com"),
            };
            types::BulkManageCustomerProfileOperation::upsert()
                .email(email)
                .display_name(format!("Customer {i}"))
                .try_into()
                .unwrap()
        })
        .collect();
    let report = client.import_customer_profiles(records).await.unwrap();
    assert_eq!(report.succeeded(), 245);

    let metrics = exported(&provider, &exporter);
    let seen = fake.requests();
    // One duration per attempt: every request the fake answered, by its status.
    assert_eq!(
        total(&metrics, "http.client.request.duration", &[]),
        seen.len() as f64
    );
    for status in [200, 202, 429, 503] {
        let answered = seen.iter().filter(|r| r.status == status).count();
        assert!(answered > 0 || status == 200, "{status}");
        assert_eq!(
            total(
                &metrics,
                "http.client.request.duration",
                &[("http.response.status_code", &status.to_string())]
            ),
            answered as f64,
            "{status}"
        );
    }
    assert_eq!(
        total(&metrics, "csm.client.attempts", &[]),
        seen.len() as f64
    );
    // Labels are operations and the site, never a path or a record.
    let port = fake
        .base_url()
        .rsplit(':')
        .next()
        .unwrap()
        .trim_end_matches('/');
    for (labels, _) in &metrics["http.client.request.duration"] {
        assert_eq!(labels["server.address"], "127.0.0.1");
        assert_eq!(labels["server.port"], port);
        assert_eq!(labels["csm.site"], format!("127.0.0.1:{port}"));
        let operation = &labels["csm.operation"];
        assert!(
            operation
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '_'),
            "{operation}"
        );
    }
    assert_eq!(
        total(
            &metrics,
            "http.client.request.duration",
            &[("csm.operation", "get_products")]
        ),
        2.0
    );
    // The 503 was retried by the client; the 429 handed to the import, which paused and sent
    // the request again (counted as the 429 answer, not as a client retry).
    assert_eq!(
        total(
            &metrics,
            "csm.client.retries",
            &[("csm.retry.reason", "server_error")]
        ),
        1.0
    );
    assert_eq!(total(&metrics, "csm.client.rate_limited", &[]), 1.0);
    // The rate limit left, as the fake's last answers said.
    let left = &metrics["csm.client.rate_limit.remaining"];
    assert_eq!(left.len(), 1);
    assert!(left[0].1 > 0.0);
    // Tasks: one wait per task started, none left in flight or waiting.
    let tasks = seen.iter().filter(|r| r.status == 202).count();
    assert_eq!(tasks, 3);
    assert_eq!(
        total(
            &metrics,
            "csm.task.wait.duration",
            &[("csm.task.status", "FINISHED")]
        ),
        tasks as f64
    );
    assert_eq!(total(&metrics, "csm.import.tasks.in_flight", &[]), 0.0);
    // Records by outcome, as the fake holds them.
    let held = fake.state(|site| {
        (0..250)
            .filter(|i| {
                site.customer_by_email(&format!("customer{i}@example.com"))
                    .is_some()
            })
            .count()
    });
    assert_eq!(
        total(
            &metrics,
            "csm.import.records",
            &[("csm.outcome", "succeeded")]
        ),
        held as f64
    );
    assert_eq!(
        total(&metrics, "csm.import.records", &[("csm.outcome", "failed")]),
        5.0
    );
}
