//! The direct lane: records sent through the API's synchronous calls instead of a bulk task,
//! where the endpoint has them (detail values: one `PUT …/details?fieldName=…` per field), paced
//! so as to stay under the site's burst limit for that endpoint.

use crate::rate_limit::RateLimit;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// Which calls an import sends its records through.
///
/// | lane | what it costs |
/// | --- | --- |
/// | bulk task | one request (and its polls) per up to 100 records or 1000 detail operations; the records wait for the site's task queue |
/// | direct call | one request per detail value, answered at once; each counts against the site's per-second burst limit of that endpoint and its hourly quota |
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Lanes {
    /// For the records the endpoint can send directly, the lane expected to finish them sooner:
    /// the import's first request is a small probe (100 records) of the site's bulk pace, the
    /// records go direct while it runs, and then by what a record took in the finished tasks
    /// against the pace of the direct calls; and direct calls beside the tasks while the
    /// requests planned fill every task slot. The default.
    #[default]
    Auto,
    /// Bulk tasks only.
    Bulk,
    /// Direct calls for every record the endpoint can send directly; bulk tasks for the others.
    Direct,
}

/// Direct calls under way at once, at most.
pub(crate) const DIRECT_CALLS: usize = 4;

/// Records of the first request of an import that may send them directly: a probe of the
/// site's bulk pace.
pub(crate) const PROBE_RECORDS: usize = 100;

/// The lane one record takes.
pub(crate) enum Lane {
    /// In a bulk task.
    Bulk,
    /// Through the direct calls, once one has room.
    Direct,
    /// Through the direct calls if one has room now, else in a bulk task.
    DirectIfRoom,
}

/// The slowest and the fastest pace of direct calls.
const SLOWEST: Duration = Duration::from_secs(2);
const FASTEST: Duration = Duration::from_millis(5);

/// Paces the direct calls of one import: additive increase, multiplicative decrease. It starts at
/// 10 calls a second, speeds up a little after each success the site said was far from its
/// limit, halves its pace when the site says it is near it, and on a 429 waits the `Retry-After`
/// and halves it again: a burst limit slows this endpoint only.
#[derive(Debug)]
pub(crate) struct Pacer {
    state: Mutex<Pace>,
}

#[derive(Debug)]
struct Pace {
    interval: Duration,
    next_at: Instant,
}

impl Pacer {
    pub fn new() -> Self {
        Self {
            state: Mutex::new(Pace {
                interval: Duration::from_millis(100),
                next_at: Instant::now(),
            }),
        }
    }

    /// The time between two direct calls, now.
    pub fn interval(&self) -> Duration {
        self.state.lock().unwrap().interval
    }

    /// Waits for this call's turn.
    pub async fn ready(&self) {
        let at = {
            let mut pace = self.state.lock().unwrap();
            let at = pace.next_at.max(Instant::now());
            pace.next_at = at + pace.interval;
            at
        };
        tokio::time::sleep_until(at).await;
    }

    /// A call was answered with these rate-limit headers.
    pub fn answered(&self, rate_limit: &RateLimit) {
        let mut pace = self.state.lock().unwrap();
        let near = rate_limit.near_limit
            || matches!((rate_limit.remaining, rate_limit.limit), (Some(left), Some(limit)) if left * 5 < limit);
        pace.interval = if near {
            (pace.interval * 2).min(SLOWEST)
        } else {
            pace.interval.mul_f64(0.95).max(FASTEST)
        };
    }

    /// A call was refused (429): nothing is sent before `wait`, and the pace halves.
    pub fn refused(&self, wait: Option<Duration>) {
        let mut pace = self.state.lock().unwrap();
        pace.interval = (pace.interval * 2).min(SLOWEST);
        let wait = wait.unwrap_or(pace.interval);
        pace.next_at = pace.next_at.max(Instant::now() + wait);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_refusal_holds_the_next_call_and_slows_the_pace() {
        let pacer = Pacer::new();
        pacer.ready().await;
        pacer.refused(Some(Duration::from_secs(1)));
        let started = Instant::now();
        pacer.ready().await;
        assert!(started.elapsed() >= Duration::from_secs(1));
        // Far from the limit: faster; near it: slower.
        let before = pacer.state.lock().unwrap().interval;
        pacer.answered(&RateLimit::default());
        assert!(pacer.state.lock().unwrap().interval < before);
        let near = RateLimit {
            near_limit: true,
            ..RateLimit::default()
        };
        pacer.answered(&near);
        assert!(pacer.state.lock().unwrap().interval > before);
    }
}
