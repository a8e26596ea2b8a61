//! How a fake behaves: task timing, the task limit, latency, records that fail by rule, faults.

use crate::faults::{Aim, Fault, FaultPlan};
use crate::recorded::RecordedRequest;
use std::sync::Arc;
use std::time::Duration;

/// How fast the site works through bulk tasks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Pace {
    /// Tasks run side by side, each for the time [`FakeCsmBuilder::task_timing`] sets (the
    /// default: a fast site, for tests).
    Fast,
    /// As a live site has been seen to work: one task at a time in arrival order, each taking
    /// `per_record` for each record it carries, after the `NOT_STARTED` time of
    /// [`FakeCsmBuilder::task_timing`]; a task unfinished `timeout` after its request arrived no
    /// longer counts against the limit of unfinished tasks (the API counts it as timed out), and
    /// still runs to its end.
    Live {
        /// The time one record takes.
        per_record: Duration,
        /// When an unfinished task stops counting against the limit.
        timeout: Duration,
    },
}

impl Pace {
    /// A live site's pace as reported: 4.8 s a record (8 minutes per 100), the 30-minute rule.
    pub fn live() -> Self {
        Self::Live {
            per_record: Duration::from_millis(4_800),
            timeout: Duration::from_secs(30 * 60),
        }
    }

    /// [`live`](Self::live) with every time divided by `factor`, for tests and benchmarks.
    pub fn live_scaled(factor: u32) -> Self {
        let factor = factor.max(1);
        Self::Live {
            per_record: Duration::from_millis(4_800) / factor,
            timeout: Duration::from_secs(30 * 60) / factor,
        }
    }
}

pub(crate) type RecordRule = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// Configures a [`FakeCsm`](crate::FakeCsm) before it starts.
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// use atlassian_csm_mock::{Fault, FakeCsm};
/// use std::time::Duration;
/// let fake = FakeCsm::builder()
///     .task_timing(Duration::from_millis(10), Duration::from_millis(50))
///     .fail_records_where(|id| id.ends_with("@bounce.example"))
///     .fail_next(1, Fault::RateLimited { retry_after: Duration::from_secs(1) })
///     .start()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct FakeCsmBuilder {
    pub(crate) not_started_for: Duration,
    pub(crate) in_progress_for: Duration,
    pub(crate) pace: Pace,
    pub(crate) task_limit: usize,
    pub(crate) latency: Duration,
    pub(crate) bulk_latency: Duration,
    pub(crate) retention: Duration,
    pub(crate) failing: Option<RecordRule>,
    pub(crate) faults: FaultPlan,
    pub(crate) demo: bool,
    pub(crate) port: u16,
    pub(crate) rate_limits: Option<crate::RateLimits>,
    pub(crate) failed_although_written: Option<u64>,
    pub(crate) search_delay: Duration,
}

impl std::fmt::Debug for FakeCsmBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeCsmBuilder")
            .field("not_started_for", &self.not_started_for)
            .field("in_progress_for", &self.in_progress_for)
            .field("pace", &self.pace)
            .field("task_limit", &self.task_limit)
            .field("latency", &self.latency)
            .field("bulk_latency", &self.bulk_latency)
            .field("retention", &self.retention)
            .field("failing", &self.failing.is_some())
            .field("faults", &self.faults)
            .field("demo", &self.demo)
            .field("port", &self.port)
            .field("rate_limits", &self.rate_limits)
            .field("failed_although_written", &self.failed_although_written)
            .field("search_delay", &self.search_delay)
            .finish()
    }
}

impl Default for FakeCsmBuilder {
    /// Tasks wait 10 ms, then run 40 ms; 5 unfinished tasks at most; no latency; results kept
    /// 3 days; no failing records, no faults, an empty site on a free loopback port.
    fn default() -> Self {
        Self {
            not_started_for: Duration::from_millis(10),
            in_progress_for: Duration::from_millis(40),
            pace: Pace::Fast,
            task_limit: 5,
            latency: Duration::ZERO,
            bulk_latency: Duration::ZERO,
            retention: Duration::from_secs(3 * 24 * 3600),
            failing: None,
            faults: FaultPlan::default(),
            demo: false,
            port: 0,
            rate_limits: None,
            failed_although_written: None,
            search_delay: Duration::ZERO,
        }
    }
}

impl FakeCsmBuilder {
    /// How long a task stays `NOT_STARTED`, then `IN_PROGRESS` (its records are applied half-way
    /// through), before it is `FINISHED`. The clock starts when the request arrives.
    pub fn task_timing(mut self, not_started: Duration, in_progress: Duration) -> Self {
        self.not_started_for = not_started;
        self.in_progress_for = in_progress;
        self
    }

    /// How fast the site works through tasks (default [`Pace::Fast`]); with [`Pace::Live`] the
    /// `IN_PROGRESS` time of [`task_timing`](Self::task_timing) is replaced by the pace's.
    pub fn pace(mut self, pace: Pace) -> Self {
        self.pace = pace;
        self
    }

    /// How many unfinished tasks the site allows (the API's limit is 5); a bulk call beyond it is
    /// answered `400 Maximum number of tasks reached`.
    pub fn task_limit(mut self, tasks: usize) -> Self {
        self.task_limit = tasks;
        self
    }

    /// A delay before every answer.
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// A further delay before every bulk call's answer (submits are slower than reads).
    pub fn bulk_latency(mut self, latency: Duration) -> Self {
        self.bulk_latency = latency;
        self
    }

    /// How long a finished task's result is kept before its status is `404` (the API keeps
    /// 3 days).
    pub fn retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    /// Records of bulk calls whose identity (email, or id when there is no email) matches `rule`
    /// fail, as the API reports a failed record (`failures` of the task).
    pub fn fail_records_where(
        mut self,
        rule: impl Fn(&str) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.failing = Some(Arc::new(rule));
        self
    }

    /// The next `requests` requests are answered with `fault` (after any faults already planned).
    pub fn fail_next(mut self, requests: usize, fault: Fault) -> Self {
        self.faults.plan(requests, fault, Aim::Any);
        self
    }

    /// The next `requests` requests for `operation` are answered with `fault`; other requests
    /// are served. `operation` is the document's operation id (`get-products`) or the client's
    /// method (`get_products`).
    ///
    /// ```no_run
    /// # async fn run() -> std::io::Result<()> {
    /// use atlassian_csm_mock::{Fault, FakeCsm};
    /// let fake = FakeCsm::builder()
    ///     .fail_next_for("get-products", 2, Fault::Status(503))
    ///     .start()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Panics
    ///
    /// When the document has no such operation (the message names the nearest ones).
    pub fn fail_next_for(mut self, operation: &str, requests: usize, fault: Fault) -> Self {
        self.faults.plan(requests, fault, Aim::operation(operation));
        self
    }

    /// The next `requests` requests for which `predicate` holds are answered with `fault`. The
    /// predicate sees the request as [`FakeCsm::requests`](crate::FakeCsm::requests) lists it
    /// (its status not yet set).
    ///
    /// ```no_run
    /// # async fn run() -> std::io::Result<()> {
    /// use atlassian_csm_mock::{Fault, FakeCsm};
    /// // The second page of products, whatever its cursor, fails once.
    /// let fake = FakeCsm::builder()
    ///     .fail_next_where(1, Fault::CutConnection, |request| request.path.contains("cursor="))
    ///     .start()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn fail_next_where(
        mut self,
        requests: usize,
        fault: Fault,
        predicate: impl Fn(&RecordedRequest) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.faults
            .plan(requests, fault, Aim::Matching(Arc::new(predicate)));
        self
    }

    /// A `fraction` (0 to 1) of requests are answered with `fault`, drawn reproducibly from
    /// `seed`.
    pub fn fail_fraction(mut self, fraction: f64, seed: u64, fault: Fault) -> Self {
        self.faults.fraction = Some((fault, fraction.clamp(0.0, 1.0), seed.max(1)));
        self
    }

    /// Starts with demo data: detail fields, products, organizations and customers.
    pub fn seed_demo(mut self, demo: bool) -> Self {
        self.demo = demo;
        self
    }

    /// Applies these rate limits, with their headers on every answer (default: none).
    pub fn rate_limits(mut self, limits: crate::RateLimits) -> Self {
        self.rate_limits = Some(limits);
        self
    }

    /// Every `every`th bulk task ends `FAILED` listing no failure although its records were
    /// written, as a live site has been seen to do (unconfirmed; default: none).
    pub fn failed_although_written(mut self, every: u64) -> Self {
        self.failed_although_written = Some(every.max(1));
        self
    }

    /// New customers are found by searches only this long after they were added, as a live
    /// site indexes them (default: at once).
    pub fn search_delay(mut self, delay: Duration) -> Self {
        self.search_delay = delay;
        self
    }

    /// Listens on this loopback port (default: a free one).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Starts the fake on loopback.
    pub async fn start(self) -> std::io::Result<crate::FakeCsm> {
        crate::FakeCsm::start_with(self).await
    }
}
