//! Bulk imports of any size through the eight bulk endpoints.
//!
//! One call takes any number of records, checks them all before anything is sent, splits them
//! into the fewest requests the endpoint's limits allow, keeps at most `max_in_flight` tasks
//! unfinished at once (the API refuses a sixth unfinished task per site: that refusal is
//! back-pressure, and the same request is resubmitted with the same key), waits for every task,
//! and reports the outcome of every record.

mod endpoints;
mod plan;

pub use endpoints::{
    BulkEndpoint, CustomerAccounts, CustomerDetailFields, CustomerDetails, CustomerProfiles,
    OrganizationDetailFields, OrganizationDetails, OrganizationProfiles, Organizations,
    SubmitFuture,
};

use crate::error::Error;
use crate::input::ConversionError;
use crate::tasks::{PollPolicy, TaskOutcome};
use crate::types::{TaskFailure, TaskStatusResponseStatus};
use crate::Client;
use futures::stream::{self, StreamExt};
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How far an import has come, passed to the progress callback.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BulkProgress {
    /// Records in the import.
    pub total_records: usize,
    /// Records whose request the API accepted.
    pub submitted_records: usize,
    /// Records whose task ended (or whose request failed for good).
    pub finished_records: usize,
    /// Requests the import makes in all.
    pub total_requests: usize,
    /// Requests whose task ended (or that failed for good).
    pub finished_requests: usize,
}

/// What became of one record.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum RecordOutcome {
    /// Its task finished and named no failure for it.
    Succeeded,
    /// Its task named it in these failures.
    Failed(Vec<TaskFailure>),
    /// Its task ended `FAILED` or `CANCELLED` without naming any record: the server said no more.
    TaskEnded {
        /// The task.
        task_id: String,
        /// `FAILED` or `CANCELLED`.
        status: TaskStatusResponseStatus,
    },
    /// Its request was refused (a 4xx, a rate limit) or provably never sent (invalid, connection
    /// refused); nothing was done with it.
    NotSubmitted(Arc<Error>),
    /// What became of it is not known: its request was sent but its answer was lost or was a
    /// 5xx (the server may have started a task under its key), or its task was started but its
    /// end could not be seen. Resubmitting it under the same key is safe.
    Unconfirmed(Arc<Error>),
}

/// One line: `succeeded`, `failed: DETAIL_FIELD UPDATE: Invalid detail field`, `not submitted: …`.
impl std::fmt::Display for RecordOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Succeeded => f.write_str("succeeded"),
            Self::Failed(failures) => {
                f.write_str("failed")?;
                for (index, failure) in failures.iter().enumerate() {
                    let separator = if index == 0 { ": " } else { "; " };
                    write!(
                        f,
                        "{separator}{} {}",
                        failure.operated_on, failure.operation
                    )?;
                    if let Some(error) = &failure.error {
                        write!(f, ": {error}")?;
                    }
                }
                Ok(())
            }
            Self::TaskEnded { task_id, status } => write!(f, "task {task_id} ended {status}"),
            Self::NotSubmitted(error) => write!(f, "not submitted: {error}"),
            Self::Unconfirmed(error) => write!(f, "unconfirmed: {error}"),
        }
    }
}

/// One request of an import.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct BulkRequest {
    /// The records it carried, as indexes into the input.
    pub records: Vec<usize>,
    /// Its `Idempotency-Key`: derived from its content, so resubmitting the same records gives
    /// the same key.
    pub idempotency_key: String,
    /// The task the API started for it.
    pub task_id: Option<String>,
    /// How the task ended.
    pub status: Option<TaskStatusResponseStatus>,
    /// Status polls made for the task.
    pub polls: usize,
    /// Times the API refused the request because too many tasks were unfinished.
    pub refusals: usize,
}

/// The result of an import: every record's outcome, in input order.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct BulkReport {
    /// Outcome of record `i` of the input at index `i`.
    pub records: Vec<RecordOutcome>,
    /// Every request made.
    pub requests: Vec<BulkRequest>,
    /// Failures a task listed that name no record of its request, exactly as the server sent
    /// them.
    pub unmatched_failures: Vec<TaskFailure>,
}

impl BulkReport {
    /// Records that succeeded.
    pub fn succeeded(&self) -> usize {
        self.records
            .iter()
            .filter(|outcome| matches!(outcome, RecordOutcome::Succeeded))
            .count()
    }

    /// Records that did not succeed, with their index in the input.
    pub fn not_succeeded(&self) -> impl Iterator<Item = (usize, &RecordOutcome)> {
        self.records
            .iter()
            .enumerate()
            .filter(|(_, outcome)| !matches!(outcome, RecordOutcome::Succeeded))
    }

    /// Whether every record succeeded and no failure went unmatched.
    pub fn all_succeeded(&self) -> bool {
        self.succeeded() == self.records.len() && self.unmatched_failures.is_empty()
    }
}

type ProgressCallback<'a> = Arc<dyn Fn(&BulkProgress) + Send + Sync + 'a>;

/// An import, configured with its builder methods and run with `.await`.
#[must_use = "an import does nothing until awaited"]
pub struct BulkImport<'a, E: BulkEndpoint> {
    client: &'a Client,
    /// The records, or the first that could not be built.
    records: Result<Vec<E::Record>, Error>,
    max_in_flight: usize,
    task_deadline: Duration,
    key_namespace: String,
    on_progress: Option<ProgressCallback<'a>>,
}

impl<'a, E: BulkEndpoint> BulkImport<'a, E> {
    /// At most this many tasks unfinished at once (default 5, the API's limit per site; lower
    /// it when other programs import into the same site).
    pub fn max_in_flight(mut self, tasks: usize) -> Self {
        self.max_in_flight = tasks.max(1);
        self
    }

    /// How long to wait for one task, and to keep resubmitting a refused request (default
    /// 30 min).
    pub fn task_deadline(mut self, deadline: Duration) -> Self {
        self.task_deadline = deadline;
        self
    }

    /// Mixed into every request's idempotency key: give each logical import its own (e.g. a
    /// sync run id) when the same records may legitimately be sent again later. Default: none,
    /// so rerunning an import resubmits each request under the key it had.
    pub fn idempotency_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.key_namespace = namespace.into();
        self
    }

    /// Called whenever a request is accepted or a task ends.
    pub fn on_progress(mut self, callback: impl Fn(&BulkProgress) + Send + Sync + 'a) -> Self {
        self.on_progress = Some(Arc::new(callback));
        self
    }

    async fn run(self) -> Result<BulkReport, Error> {
        let records = self.records?;
        check_records::<E>(&records, self.client.config().allow_unknown_enum_values)?;
        let weights: Vec<usize> = records.iter().map(E::weight).collect();
        let plan = plan::plan_requests(&weights, E::MAX_RECORDS, E::MAX_WEIGHT);
        let run = Run {
            client: self.client,
            records: &records,
            task_deadline: self.task_deadline,
            key_namespace: &self.key_namespace,
            on_progress: self.on_progress,
            estimate: Mutex::new(None),
            submitted_records: AtomicUsize::new(0),
            finished_records: AtomicUsize::new(0),
            finished_requests: AtomicUsize::new(0),
            total_requests: plan.len(),
        };
        let results: Vec<RequestResult> = stream::iter(plan)
            .map(|indexes| run.process::<E>(indexes))
            .buffer_unordered(self.max_in_flight)
            .collect()
            .await;

        let mut report = BulkReport {
            records: vec![RecordOutcome::Succeeded; records.len()],
            requests: Vec::with_capacity(results.len()),
            unmatched_failures: Vec::new(),
        };
        for result in results {
            for (index, outcome) in result.request.records.iter().zip(result.outcomes) {
                report.records[*index] = outcome;
            }
            report.unmatched_failures.extend(result.unmatched);
            report.requests.push(result.request);
        }
        report
            .requests
            .sort_by_key(|request| request.records.first().copied());
        Ok(report)
    }
}

impl<'a, E: BulkEndpoint> IntoFuture for BulkImport<'a, E> {
    type Output = Result<BulkReport, Error>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

/// Every record must pass the endpoint's documented limits on its own, before anything is sent.
fn check_records<E: BulkEndpoint>(records: &[E::Record], allow_unknown: bool) -> Result<(), Error> {
    for (index, record) in records.iter().enumerate() {
        let weight = E::weight(record);
        if let Some(max) = E::MAX_WEIGHT.filter(|max| weight > *max) {
            return Err(Error::InvalidInput {
                field: format!("{}[{index}]", E::ARRAY_FIELD),
                message: format!("{weight} operations; one request carries at most {max}"),
            });
        }
        let alone = serde_json::json!({ E::ARRAY_FIELD: [record] });
        crate::limits::check_value(E::METHOD_NAME, &alone, allow_unknown).map_err(|error| {
            match error {
                Error::InvalidInput { field, message } => Error::InvalidInput {
                    field: field.replacen(
                        &format!("{}[0]", E::ARRAY_FIELD),
                        &format!("{}[{index}]", E::ARRAY_FIELD),
                        1,
                    ),
                    message,
                },
                other => other,
            }
        })?;
    }
    E::check_all(records)
}

/// The idempotency key of a request: a UUID v5 of the endpoint, the namespace and the records,
/// so the same request always gets the same key.
fn idempotency_key<E: BulkEndpoint>(namespace: &str, records: &[E::Record]) -> String {
    let mut name = format!("{}\n{namespace}\n", E::METHOD_NAME).into_bytes();
    serde_json::to_writer(&mut name, records).expect("records serialize");
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, &name).to_string()
}

/// Whether the API refused a submit because the site has too many unfinished tasks.
fn is_task_limit(error: &Error) -> bool {
    match error {
        Error::Api {
            status,
            error: Some(body),
            ..
        } if status.as_u16() == 400 => body
            .error_message
            .as_deref()
            .is_some_and(|m| m.to_lowercase().contains("maximum number of tasks")),
        _ => false,
    }
}

struct RequestResult {
    request: BulkRequest,
    outcomes: Vec<RecordOutcome>,
    unmatched: Vec<TaskFailure>,
}

/// State shared by the requests of one import.
struct Run<'r, R> {
    client: &'r Client,
    records: &'r [R],
    task_deadline: Duration,
    key_namespace: &'r str,
    on_progress: Option<ProgressCallback<'r>>,
    /// How long tasks of this import have taken, from submit to seen finished.
    estimate: Mutex<Option<Duration>>,
    submitted_records: AtomicUsize,
    finished_records: AtomicUsize,
    finished_requests: AtomicUsize,
    total_requests: usize,
}

impl<R: Clone> Run<'_, R> {
    fn report_progress(&self) {
        if let Some(callback) = &self.on_progress {
            callback(&BulkProgress {
                total_records: self.records.len(),
                submitted_records: self.submitted_records.load(Ordering::SeqCst),
                finished_records: self.finished_records.load(Ordering::SeqCst),
                total_requests: self.total_requests,
                finished_requests: self.finished_requests.load(Ordering::SeqCst),
            });
        }
    }

    /// When to poll a new task: once tasks of this import have finished, just before the time
    /// they take, then every twentieth of it (10 ms to 5 s); before that, from 100 ms growing
    /// ×1.5 up to 5 s.
    fn poll_delays(&self) -> Box<dyn Iterator<Item = Duration> + Send> {
        match *self.estimate.lock().unwrap() {
            Some(estimate) => {
                let then = (estimate / 20).clamp(Duration::from_millis(10), Duration::from_secs(5));
                Box::new(std::iter::once(estimate.mul_f64(0.9)).chain(std::iter::repeat(then)))
            }
            None => Box::new(
                PollPolicy {
                    first_delay: Duration::from_millis(100),
                    ..PollPolicy::default()
                }
                .delays(),
            ),
        }
    }

    /// Learns how long tasks take from one that was seen pending at `last_pending` (if ever)
    /// and finished at `finished`. Seen finished at the first poll, the task may have taken far
    /// less: the estimate shrinks, so later tasks are polled earlier until one is seen pending.
    fn observe_task_time(&self, last_pending: Option<Duration>, finished: Duration) {
        let sample = match last_pending {
            Some(pending) => (pending + finished) / 2,
            None => finished.mul_f64(0.75),
        };
        let mut estimate = self.estimate.lock().unwrap();
        *estimate = Some(match *estimate {
            Some(previous) => previous.mul_f64(0.7) + sample.mul_f64(0.3),
            None => sample,
        });
    }

    fn finish(&self, result: RequestResult) -> RequestResult {
        self.finished_records
            .fetch_add(result.outcomes.len(), Ordering::SeqCst);
        self.finished_requests.fetch_add(1, Ordering::SeqCst);
        self.report_progress();
        result
    }
}

impl<R: serde::Serialize + Clone + Send + Sync> Run<'_, R> {
    async fn process<E: BulkEndpoint<Record = R>>(&self, indexes: Vec<usize>) -> RequestResult {
        let chunk: Vec<R> = indexes.iter().map(|&i| self.records[i].clone()).collect();
        let mut request = BulkRequest {
            idempotency_key: idempotency_key::<E>(self.key_namespace, &chunk),
            records: indexes,
            task_id: None,
            status: None,
            polls: 0,
            refusals: 0,
        };
        let all = |outcome: RecordOutcome| vec![outcome; chunk.len()];

        let started = Instant::now();
        let mut pause = Duration::from_millis(100);
        let submitted = loop {
            let key = request.idempotency_key.clone();
            match E::submit(self.client, chunk.clone(), key).await {
                Err(error) if is_task_limit(&error) && started.elapsed() < self.task_deadline => {
                    request.refusals += 1;
                    tracing::debug!(
                        refusals = request.refusals,
                        pause_ms = pause.as_millis() as u64,
                        "task limit reached; resubmitting"
                    );
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(5));
                }
                other => break other,
            }
        };
        let task = match submitted {
            Ok(task) => task,
            Err(error) => {
                // A request that was sent and whose answer was lost (or a 5xx) may have started
                // a task: only a refusal, or a request that never left, proves nothing was done.
                let outcome = if error.provably_not_processed() {
                    RecordOutcome::NotSubmitted(Arc::new(error))
                } else {
                    RecordOutcome::Unconfirmed(Arc::new(error))
                };
                let outcomes = all(outcome);
                return self.finish(RequestResult {
                    request,
                    outcomes,
                    unmatched: Vec::new(),
                });
            }
        };
        request.task_id = Some(task.id.clone());
        self.submitted_records
            .fetch_add(chunk.len(), Ordering::SeqCst);
        self.report_progress();

        let submitted_at = Instant::now();
        // (polls made, when the task was last seen pending)
        let polled = Mutex::new((0usize, None::<Duration>));
        let waited = self
            .client
            .wait_for_task(task.id.clone())
            .poll_delays(self.poll_delays())
            .deadline(self.task_deadline)
            .on_progress(|status| {
                let mut polled = polled.lock().unwrap();
                polled.0 += 1;
                if !matches!(status.status, TaskStatusResponseStatus::Finished) {
                    polled.1 = Some(submitted_at.elapsed());
                }
            })
            .await;
        let (polls, last_pending) = *polled.lock().unwrap();
        request.polls = polls;
        let outcome = match waited {
            Ok(outcome) => outcome,
            Err(error) => {
                let outcomes = all(RecordOutcome::Unconfirmed(Arc::new(error)));
                return self.finish(RequestResult {
                    request,
                    outcomes,
                    unmatched: Vec::new(),
                });
            }
        };
        if matches!(outcome, TaskOutcome::Finished(_)) {
            self.observe_task_time(last_pending, submitted_at.elapsed());
        }
        request.status = Some(outcome.task().status.clone());

        let mut failures: Vec<Vec<TaskFailure>> = vec![Vec::new(); chunk.len()];
        let mut unmatched = Vec::new();
        for failure in outcome.failures() {
            let mut named = false;
            for (position, record) in chunk.iter().enumerate() {
                if E::is_named_by(record, failure) {
                    failures[position].push(failure.clone());
                    named = true;
                }
            }
            if !named {
                unmatched.push(failure.clone());
            }
        }
        let outcomes = failures
            .into_iter()
            .map(|failures| match (&outcome, failures.is_empty()) {
                (_, false) => RecordOutcome::Failed(failures),
                (TaskOutcome::Finished(_), true) => RecordOutcome::Succeeded,
                (TaskOutcome::Failed(task) | TaskOutcome::Cancelled(task), true) => {
                    RecordOutcome::TaskEnded {
                        task_id: task.id.clone(),
                        status: task.status.clone(),
                    }
                }
            })
            .collect();
        self.finish(RequestResult {
            request,
            outcomes,
            unmatched,
        })
    }
}

impl Client {
    /// An import of any number of records through one bulk endpoint; see the [`bulk`](crate::bulk)
    /// module and the `import_*` methods, which name each endpoint's record type.
    ///
    /// A record is the endpoint's record type or its builder. One that cannot be built is
    /// reported when the import is awaited, as [`Error::InvalidInput`] naming its index and
    /// field (`customerProfiles[17].payload.email`), and nothing is sent.
    pub fn import<E, R>(&self, records: impl IntoIterator<Item = R>) -> BulkImport<'_, E>
    where
        E: BulkEndpoint,
        R: TryInto<E::Record>,
        R::Error: std::fmt::Display + 'static,
    {
        let records = records
            .into_iter()
            .enumerate()
            .map(|(index, record)| {
                record.try_into().map_err(|error| {
                    ConversionError::at(&format!("{}[{index}]", E::ARRAY_FIELD), error).into()
                })
            })
            .collect();
        BulkImport {
            client: self,
            records,
            max_in_flight: 5,
            task_deadline: Duration::from_secs(30 * 60),
            key_namespace: String::new(),
            on_progress: None,
        }
    }
}

/// The `import_*` methods: one per endpoint, naming its record type.
macro_rules! imports {
    ($(
        $(#[$doc:meta])*
        $method:ident: $endpoint:ident, $record:ident;
    )*) => {
        impl Client {
            $(
                $(#[$doc])*
                ///
                #[doc = concat!(
                    "Each record is a [`", stringify!($record), "`](crate::types::", stringify!($record),
                    ") or its builder; see [`Client::import`]."
                )]
                pub fn $method<R>(&self, records: impl IntoIterator<Item = R>) -> BulkImport<'_, $endpoint>
                where
                    R: TryInto<crate::types::$record>,
                    R::Error: std::fmt::Display + 'static,
                {
                    self.import(records)
                }
            )*
        }
    };
}

imports! {
    /// Creates, updates or upserts any number of customer profiles (100 per request).
    ///
    /// ```no_run
    /// # async fn run(client: atlassian_csm::Client) -> Result<(), atlassian_csm::Error> {
    /// use atlassian_csm::types::BulkManageCustomerProfileOperation as Profile;
    ///
    /// let rows = [("ada@example.com", "Ada", "Pro"), ("alan@example.com", "Alan", "Free")];
    /// let report = client
    ///     .import_customer_profiles(rows.iter().map(|(email, name, plan)| {
    ///         Profile::upsert().email(*email).display_name(*name).detail("Plan", [*plan])
    ///     }))
    ///     .on_progress(|p| eprintln!("{}/{} records done", p.finished_records, p.total_records))
    ///     .await?;
    /// for (index, outcome) in report.not_succeeded() {
    ///     eprintln!("record {index}: {outcome:?}");
    /// }
    /// # Ok(()) }
    /// ```
    import_customer_profiles: CustomerProfiles, BulkManageCustomerProfileOperation;
    /// Creates or updates any number of customer accounts (50 per request).
    import_customer_accounts: CustomerAccounts, BulkCustomerAccountOperationRequest;
    /// Updates, patches or deletes customers' detail values (1000 operations per request,
    /// counted across customers).
    import_customer_details: CustomerDetails, BulkCustomerDetailFieldOperation;
    /// Creates customer detail-field definitions (50 per request; names unique).
    import_customer_detail_fields: CustomerDetailFields, CreateDetailFieldRequest;
    /// Creates or updates any number of organizations (50 per request).
    import_organizations: Organizations, BulkOrganizationOperationRequest;
    /// Creates, updates or upserts organization profiles (100 per request).
    import_organization_profiles: OrganizationProfiles, BulkManageOrganizationProfileOperation;
    /// Updates, patches or deletes organizations' detail values (1000 operations per request).
    import_organization_details: OrganizationDetails, BulkOrganizationDetailFieldOperation;
    /// Creates organization detail-field definitions (50 per request; names unique).
    import_organization_detail_fields: OrganizationDetailFields, CreateDetailFieldRequest;
}
