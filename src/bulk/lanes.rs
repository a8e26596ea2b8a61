//! The direct lane: records sent through the API's synchronous calls instead of a bulk task,
//! where the endpoint has them (detail values: one `PUT …/details?fieldName=…` per field), paced
//! so as to stay under the site's burst limit for that endpoint.

use super::endpoints::BulkEndpoint;
use super::report::RecordOutcome;
use super::site::pace::{Burst, SitePace};
use crate::error::Error;
use crate::rate_limit::RateLimit;
use crate::Client;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;
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

/// The direct lane of one import: which records take it, room for the calls under way, and
/// their pace.
#[derive(Debug)]
pub(crate) struct DirectLane {
    lanes: Lanes,
    /// Tasks the import may have unfinished at once.
    max_in_flight: usize,
    pacer: Pacer,
    room: Arc<Semaphore>,
    /// What one record took in this import's finished tasks, from the send to seen finished.
    bulk_record_time: Mutex<Option<Duration>>,
}

impl DirectLane {
    /// The lane of an import starting from what earlier imports learned of the site: a
    /// record's time in a bulk task (no probe is needed then) and the burst window.
    pub fn new(lanes: Lanes, max_in_flight: usize, known: &SitePace) -> Self {
        let pacer = Pacer::new();
        if let Some(burst) = known.burst() {
            let mut pace = pacer.state.lock().unwrap();
            pace.window = Some((burst.window_seconds, burst.calls));
            pace.interval = pace.floor();
        }
        Self {
            lanes,
            max_in_flight,
            pacer,
            room: Arc::new(Semaphore::new(DIRECT_CALLS)),
            bulk_record_time: Mutex::new(known.record_time()),
        }
    }

    /// What this lane learned: a record's time in a bulk task, and the burst window.
    pub fn learned(&self) -> (Option<Duration>, Option<Burst>) {
        let burst = self
            .pacer
            .state
            .lock()
            .unwrap()
            .window
            .map(|(window, calls)| Burst {
                window_seconds: window,
                calls,
            });
        (*self.bulk_record_time.lock().unwrap(), burst)
    }

    /// Room for one more record among the direct calls under way.
    pub fn room(&self) -> Arc<Semaphore> {
        self.room.clone()
    }

    /// The lane of `record`, with `unfinished` requests planned and not ended: bulk, unless the
    /// endpoint can send it directly and
    /// * [`Lanes::Direct`] says so;
    /// * [`Lanes::Auto`] expects the direct calls to finish it sooner: from the time a record
    ///   took in this import's finished tasks (spread over the task slots) against the pace of
    ///   the direct calls, or, before any task finished, while its first request (a small probe)
    ///   is out; or, faster or not, while the requests planned fill every task slot and a direct
    ///   call has room.
    pub fn lane_for<E: BulkEndpoint>(&self, record: &E::Record, unfinished: usize) -> Lane {
        let Some(calls) = E::direct_calls(record).filter(|_| E::DIRECT) else {
            return Lane::Bulk;
        };
        match self.lanes {
            Lanes::Direct => Lane::Direct,
            Lanes::Auto => {
                let direct_sooner = match *self.bulk_record_time.lock().unwrap() {
                    Some(per_record) => {
                        // At the pace the site's limit sustains, not the pace of the moment (a
                        // 429 waited out slows it for a while).
                        let direct = self.pacer.sustainable() * (calls as u32);
                        direct < per_record / (self.max_in_flight.max(1) as u32)
                    }
                    None => unfinished > 0,
                };
                if direct_sooner {
                    Lane::Direct
                } else if unfinished >= self.max_in_flight {
                    Lane::DirectIfRoom
                } else {
                    Lane::Bulk
                }
            }
            Lanes::Bulk => Lane::Bulk,
        }
    }

    /// Whether the import is still learning the site's bulk pace (its records may go direct,
    /// and no task has finished): its requests are kept small until one has.
    pub fn probing<E: BulkEndpoint>(&self) -> bool {
        E::DIRECT && self.lanes == Lanes::Auto && self.bulk_record_time.lock().unwrap().is_none()
    }

    /// Learns what one record takes in a task from one of `records` that took `took`.
    pub fn observe_record_time(&self, took: Duration, records: usize) {
        let sample = took / records.max(1) as u32;
        let mut known = self.bulk_record_time.lock().unwrap();
        *known = Some(match *known {
            Some(previous) => previous.mul_f64(0.7) + sample.mul_f64(0.3),
            None => sample,
        });
    }

    /// Sends a record through its direct calls, one after the other, each at the pace the site
    /// allows; a call refused for the rate (429) is sent again once the site allows it (it was
    /// not processed), up to `deadline`. Returns the record's outcome.
    pub async fn send<E: BulkEndpoint>(
        &self,
        client: &Client,
        record: &E::Record,
        deadline: Duration,
    ) -> RecordOutcome {
        let calls = E::direct_calls(record).unwrap_or(0);
        let started = Instant::now();
        let mut call = 0;
        while call < calls {
            self.pacer.ready().await;
            let answered = crate::retry::with_rate_limits_handled_by_caller(E::direct_call(
                client, record, call,
            ))
            .await;
            match answered {
                Ok(rate_limit) => {
                    self.pacer.answered(&rate_limit);
                    call += 1;
                }
                Err(error @ Error::RateLimited { .. })
                    if started.elapsed() < deadline
                        && !error.rate_limit().is_some_and(|r| r.quota_exhausted()) =>
                {
                    self.pacer
                        .refused(error.rate_limit().and_then(|r| r.retry_after));
                }
                // Nothing of the record was done: it is not submitted. Part of it was: what
                // became of the rest is the error's.
                Err(error) if call == 0 && error.provably_not_processed() => {
                    return RecordOutcome::NotSubmitted(Arc::new(error))
                }
                Err(error) => return RecordOutcome::Unconfirmed(Arc::new(error)),
            }
        }
        RecordOutcome::Succeeded
    }
}

/// The slowest pace of direct calls, and the fastest while the site's burst window is not known.
const SLOWEST: Duration = Duration::from_secs(2);
const FASTEST: Duration = Duration::from_millis(5);

/// Paces the direct calls of one import: additive increase, multiplicative decrease, within what
/// the site's headers show. It starts at 10 calls a second and speeds up a little after each
/// success the site said was far from its limit. From `X-RateLimit-Limit` and
/// `X-RateLimit-Remaining` it learns the burst window (the calls of its own the site still
/// counts tell how far back the window reaches) and never goes faster than the limit allows in
/// it, with two calls to spare; it slows when the site says it is near the limit (none left in
/// the window, or `NearLimit`), and on a 429 waits the `Retry-After` and halves its pace: a
/// burst limit slows this endpoint only.
#[derive(Debug)]
pub(crate) struct Pacer {
    state: Mutex<Pace>,
}

#[derive(Debug)]
struct Pace {
    interval: Duration,
    next_at: Instant,
    /// When the last calls were sent, oldest first.
    sent: std::collections::VecDeque<Instant>,
    /// The burst window and limit the headers showed, once learned.
    window: Option<(Duration, u64)>,
}

/// Sends remembered to learn the window from (the largest burst limit it can learn).
const REMEMBERED: usize = 256;

impl Pacer {
    pub fn new() -> Self {
        Self {
            state: Mutex::new(Pace {
                interval: Duration::from_millis(100),
                next_at: Instant::now(),
                sent: std::collections::VecDeque::new(),
                window: None,
            }),
        }
    }

    /// The time between two direct calls, now.
    #[cfg(test)]
    pub fn interval(&self) -> Duration {
        self.state.lock().unwrap().interval
    }

    /// The time between two direct calls that the site's limit sustains: the fastest allowed
    /// once the burst window is known, the pace of the moment before.
    pub fn sustainable(&self) -> Duration {
        let pace = self.state.lock().unwrap();
        match pace.window {
            Some(_) => pace.floor(),
            None => pace.interval,
        }
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
        // Remembered as sent when it goes, in the order the calls go.
        let mut pace = self.state.lock().unwrap();
        pace.sent.push_back(Instant::now());
        if pace.sent.len() > REMEMBERED {
            pace.sent.pop_front();
        }
    }

    /// A call was answered with these rate-limit headers.
    pub fn answered(&self, rate_limit: &RateLimit) {
        let mut pace = self.state.lock().unwrap();
        let now = Instant::now();
        if let (Some(limit), Some(left)) = (rate_limit.limit, rate_limit.remaining) {
            pace.learn_window(now, limit, left);
        }
        let none_left = rate_limit.remaining == Some(0);
        let near = match pace.window {
            Some(_) => none_left || rate_limit.near_limit,
            None => {
                rate_limit.near_limit
                    || matches!((rate_limit.remaining, rate_limit.limit), (Some(left), Some(limit)) if left * 5 < limit)
            }
        };
        let floor = pace.floor();
        pace.interval = if near {
            (pace.interval.mul_f64(1.5)).clamp(floor, SLOWEST)
        } else {
            pace.interval.mul_f64(0.9).max(floor)
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

impl Pace {
    /// The fastest pace allowed: the limit's window shared by two calls less than the limit
    /// (one for a limit under 4) and 5 % more, once known: timers that wake late send calls
    /// closer together than planned.
    fn floor(&self) -> Duration {
        match self.window {
            Some((window, limit)) => {
                let spare = if limit >= 4 { 2 } else { 1 };
                (window / limit.saturating_sub(spare).max(1) as u32).mul_f64(1.05)
            }
            None => FASTEST,
        }
    }

    /// The site counts `limit - left` calls in its window now: the window reaches back past
    /// that many of the calls sent, to before the next older one. The largest such span seen
    /// (slowly forgotten) is taken, so the pace errs on the slow side.
    fn learn_window(&mut self, now: Instant, limit: u64, left: u64) {
        let counted = limit.saturating_sub(left) as usize;
        if limit < 2 || counted == 0 || counted >= self.sent.len() {
            return;
        }
        let older = self.sent[self.sent.len() - counted - 1];
        let span = now.saturating_duration_since(older);
        let window = match self.window {
            Some((known, _)) => span.max(known.mul_f64(0.99)),
            None => span,
        };
        self.window = Some((window, limit));
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

    #[tokio::test(start_paused = true)]
    async fn the_burst_window_is_learned_from_the_calls_the_site_still_counts() {
        // A site allowing 10 calls in 1 s: calls every 50 ms, and the site counts those of the
        // last second.
        let pacer = Pacer::new();
        let mut sent = Vec::new();
        for _ in 0..40 {
            pacer.ready().await;
            sent.push(Instant::now());
            let now = Instant::now();
            let counted = sent
                .iter()
                .filter(|at| now.duration_since(**at) < Duration::from_secs(1))
                .count() as u64;
            pacer.answered(&RateLimit {
                limit: Some(10),
                remaining: Some(10u64.saturating_sub(counted)),
                ..RateLimit::default()
            });
        }
        let (window, limit) = pacer.state.lock().unwrap().window.expect("learned");
        assert_eq!(limit, 10);
        assert!(
            window >= Duration::from_secs(1) && window < Duration::from_millis(1_300),
            "{window:?}"
        );
        // Never faster than the limit allows, with two calls to spare: 1 s / 8.
        let interval = pacer.interval();
        assert!(interval >= Duration::from_millis(125), "{interval:?}");
        assert!(interval <= Duration::from_millis(150), "{interval:?}");
    }
}
