//! OpenTelemetry metrics of a client (feature `metrics`): each attempt as the HTTP client
//! semantic conventions name it, and what the API adds (retries by reason, 429s, the rate limit
//! left, task waits, import records by outcome, tasks in flight and waiting). Labels are the
//! operation id and the site, never a raw path or a record. Without the feature every method
//! here is empty and nothing is compiled in.
//!
//! The metrics are listed in the crate's documentation (`# Metrics` in `lib.rs`).

use std::time::Duration;

/// The instruments of one client, or nothing (the feature is off).
#[derive(Clone, Default)]
pub(crate) struct Metrics {
    #[cfg(feature = "metrics")]
    inner: Option<std::sync::Arc<enabled::Instruments>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

/// How an attempt ended, for its duration's labels.
#[cfg_attr(not(feature = "metrics"), allow(dead_code))]
pub(crate) enum Answered<'a> {
    Status(u16),
    /// No answer: `timeout`, `connect`, `transport` (`error.type`).
    Failed(&'a str),
}

#[cfg(feature = "metrics")]
impl Metrics {
    /// Instruments from `meter`, labelled with the site of `base_url`.
    pub fn new(meter: &opentelemetry::metrics::Meter, base_url: &str) -> Self {
        Self {
            inner: Some(std::sync::Arc::new(enabled::Instruments::new(
                meter, base_url,
            ))),
        }
    }

    /// Whether anything is recorded (what an attempt's labels cost is spent only then).
    pub fn enabled(&self) -> bool {
        self.inner.is_some()
    }

    pub fn attempt(
        &self,
        operation: &'static str,
        method: &reqwest::Method,
        answered: Answered<'_>,
        took: Duration,
        rate_limit_left: Option<u64>,
    ) {
        if let Some(inner) = &self.inner {
            inner.attempt(operation, method, answered, took, rate_limit_left);
        }
    }

    pub fn retry(&self, operation: &'static str, reason: &'static str) {
        if let Some(inner) = &self.inner {
            inner.retry(operation, reason);
        }
    }

    pub fn task_waited(&self, operation: &'static str, status: &str, took: Duration) {
        if let Some(inner) = &self.inner {
            inner.task_waited(operation, status, took);
        }
    }

    pub fn records(&self, operation: &'static str, outcome: &'static str, records: u64) {
        if let Some(inner) = &self.inner {
            inner.records(operation, outcome, records);
        }
    }

    pub fn tasks_in_flight(&self, operation: &'static str, change: i64) {
        if let Some(inner) = &self.inner {
            inner.tasks_in_flight(operation, change);
        }
    }

    pub fn tasks_waiting(&self, operation: &'static str, change: i64) {
        if let Some(inner) = &self.inner {
            inner.tasks_waiting(operation, change);
        }
    }
}

/// Without the feature: nothing is recorded, and every call compiles to nothing.
#[cfg(not(feature = "metrics"))]
#[allow(clippy::unused_self)]
impl Metrics {
    pub fn enabled(&self) -> bool {
        false
    }
    pub fn attempt(
        &self,
        _: &'static str,
        _: &reqwest::Method,
        _: Answered<'_>,
        _: Duration,
        _: Option<u64>,
    ) {
    }
    pub fn retry(&self, _: &'static str, _: &'static str) {}
    pub fn task_waited(&self, _: &'static str, _: &str, _: Duration) {}
    pub fn records(&self, _: &'static str, _: &'static str, _: u64) {}
    pub fn tasks_in_flight(&self, _: &'static str, _: i64) {}
    pub fn tasks_waiting(&self, _: &'static str, _: i64) {}
}

/// Why an attempt is retried, as `csm.retry.reason` names it.
pub(crate) fn retry_reason(outcome: &crate::retry_policy::Outcome) -> &'static str {
    use crate::retry_policy::Outcome;
    match outcome {
        Outcome::Status(status, _) if status.as_u16() == 429 => "rate_limited",
        Outcome::Status(_, _) => "server_error",
        Outcome::Failed(kind) if kind.contains("timed out") => "timeout",
        Outcome::Failed(_) => "connection",
    }
}

#[cfg(feature = "metrics")]
mod enabled {
    use super::Answered;
    use opentelemetry::metrics::{Counter, Gauge, Histogram, Meter, UpDownCounter};
    use opentelemetry::KeyValue;
    use std::time::Duration;

    /// The buckets the HTTP semantic conventions advise for request durations (seconds).
    const HTTP_BUCKETS: [f64; 14] = [
        0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
    ];
    /// Task waits run from a second to hours on a live site (seconds).
    const TASK_BUCKETS: [f64; 12] = [
        0.1, 0.5, 1.0, 5.0, 15.0, 30.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0,
    ];

    pub(super) struct Instruments {
        /// `csm.site`: the cloud id, or the host (and port) of another base URL.
        site: KeyValue,
        server_address: KeyValue,
        server_port: KeyValue,
        duration: Histogram<f64>,
        attempts: Counter<u64>,
        retries: Counter<u64>,
        rate_limited: Counter<u64>,
        rate_limit_left: Gauge<u64>,
        task_wait: Histogram<f64>,
        records: Counter<u64>,
        in_flight: UpDownCounter<i64>,
        waiting: UpDownCounter<i64>,
    }

    impl Instruments {
        pub fn new(meter: &Meter, base_url: &str) -> Self {
            let url = reqwest::Url::parse(base_url).ok();
            let host = url
                .as_ref()
                .and_then(|u| u.host_str().map(str::to_string))
                .unwrap_or_default();
            let port = url
                .as_ref()
                .and_then(reqwest::Url::port_or_known_default)
                .unwrap_or(443);
            let cloud_id = url.as_ref().and_then(|u| {
                let mut segments = u.path_segments()?;
                segments.find(|s| *s == "cloudid")?;
                segments.next().map(str::to_string)
            });
            let site = cloud_id.unwrap_or_else(|| match url.as_ref().and_then(|u| u.port()) {
                Some(port) => format!("{host}:{port}"),
                None => host.clone(),
            });
            Self {
                site: KeyValue::new("csm.site", site),
                server_address: KeyValue::new("server.address", host),
                server_port: KeyValue::new("server.port", i64::from(port)),
                duration: meter
                    .f64_histogram("http.client.request.duration")
                    .with_unit("s")
                    .with_description("Duration of HTTP client requests (each attempt).")
                    .with_boundaries(HTTP_BUCKETS.to_vec())
                    .build(),
                attempts: meter
                    .u64_counter("csm.client.attempts")
                    .with_description("Attempts of API calls, retries included.")
                    .build(),
                retries: meter
                    .u64_counter("csm.client.retries")
                    .with_description("Attempts repeated, by reason.")
                    .build(),
                rate_limited: meter
                    .u64_counter("csm.client.rate_limited")
                    .with_description("Answers 429 Too Many Requests.")
                    .build(),
                rate_limit_left: meter
                    .u64_gauge("csm.client.rate_limit.remaining")
                    .with_description("What the last answer's rate-limit headers said is left.")
                    .build(),
                task_wait: meter
                    .f64_histogram("csm.task.wait.duration")
                    .with_unit("s")
                    .with_description("Time from a bulk request's send to its task seen ended.")
                    .with_boundaries(TASK_BUCKETS.to_vec())
                    .build(),
                records: meter
                    .u64_counter("csm.import.records")
                    .with_description("Records of bulk imports, by outcome.")
                    .build(),
                in_flight: meter
                    .i64_up_down_counter("csm.import.tasks.in_flight")
                    .with_description("Bulk tasks an import has started and not seen end.")
                    .build(),
                waiting: meter
                    .i64_up_down_counter("csm.import.tasks.waiting")
                    .with_description("Bulk tasks the site has not started (waiting their turn).")
                    .build(),
            }
        }

        fn labels(&self, operation: &'static str) -> [KeyValue; 2] {
            [KeyValue::new("csm.operation", operation), self.site.clone()]
        }

        pub fn attempt(
            &self,
            operation: &'static str,
            method: &reqwest::Method,
            answered: Answered<'_>,
            took: Duration,
            rate_limit_left: Option<u64>,
        ) {
            let [operation_label, site] = self.labels(operation);
            let outcome = match answered {
                Answered::Status(status) => {
                    if status == 429 {
                        self.rate_limited
                            .add(1, &[operation_label.clone(), site.clone()]);
                    }
                    KeyValue::new("http.response.status_code", i64::from(status))
                }
                Answered::Failed(kind) => KeyValue::new("error.type", kind.to_string()),
            };
            self.duration.record(
                took.as_secs_f64(),
                &[
                    KeyValue::new("http.request.method", method.as_str().to_string()),
                    outcome,
                    self.server_address.clone(),
                    self.server_port.clone(),
                    operation_label.clone(),
                    site.clone(),
                ],
            );
            self.attempts.add(1, &[operation_label, site.clone()]);
            if let Some(left) = rate_limit_left {
                self.rate_limit_left.record(left, &[site]);
            }
        }

        pub fn retry(&self, operation: &'static str, reason: &'static str) {
            let [operation, site] = self.labels(operation);
            self.retries.add(
                1,
                &[operation, site, KeyValue::new("csm.retry.reason", reason)],
            );
        }

        pub fn task_waited(&self, operation: &'static str, status: &str, took: Duration) {
            let [operation, site] = self.labels(operation);
            let status = KeyValue::new("csm.task.status", status.to_string());
            self.task_wait
                .record(took.as_secs_f64(), &[operation, site, status]);
        }

        pub fn records(&self, operation: &'static str, outcome: &'static str, records: u64) {
            let [operation, site] = self.labels(operation);
            let outcome = KeyValue::new("csm.outcome", outcome);
            self.records.add(records, &[operation, site, outcome]);
        }

        pub fn tasks_in_flight(&self, operation: &'static str, change: i64) {
            self.in_flight.add(change, &self.labels(operation));
        }

        pub fn tasks_waiting(&self, operation: &'static str, change: i64) {
            self.waiting.add(change, &self.labels(operation));
        }
    }
}
