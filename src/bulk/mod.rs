//! Bulk imports of any size through the eight bulk endpoints.
//!
//! An import reads its records as it goes (from any iterator, or any `Stream` with
//! [`Client::import_stream`]), checks each before it joins a request ([`RecordValidator`]; an
//! invalid record is its own outcome and never holds up the others), packs them into the fewest
//! requests the endpoint's limits allow, keeps at most `max_in_flight` tasks unfinished at once,
//! waits for every task, and reports every record's outcome: all at once when awaited
//! ([`BulkReport`]), or request by request from [`BulkImport::stream`], holding only the requests
//! in flight in memory.
//!
//! The site's budget is shared: a 429 (with its `Retry-After`) or a refused sixth unfinished task
//! ("Maximum number of tasks reached": back-pressure, the same request is resubmitted under the
//! same key) pauses every submission of the import, not only the one that was told.
//!
//! With a [journal](BulkImport::journal), an import that was killed resumes where it was: requests
//! whose task ended are not sent again, tasks that were started are polled by their id, and only
//! the rest is sent.

mod budget;
mod endpoints;
mod journal;
mod pipeline;
mod plan;
mod validate;

pub use endpoints::{
    BulkEndpoint, CustomerAccounts, CustomerDetailFields, CustomerDetails, CustomerProfiles,
    OrganizationDetailFields, OrganizationDetails, OrganizationProfiles, Organizations,
    SubmitFuture,
};
pub use validate::RecordValidator;

use crate::error::Error;
use crate::input::ConversionError;
use crate::tasks::{PollPolicy, TaskOutcome};
use crate::types::{TaskFailure, TaskStatusResponseStatus};
use crate::Client;
use budget::Budget;
use futures::stream::{self, BoxStream, Stream, StreamExt, TryStreamExt};
use journal::{Event, Journal};
pub use plan::requests_for;
use plan::{Chunk, Packer};
use std::collections::VecDeque;
use std::future::{Future, IntoFuture};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How far an import has come, passed to the progress callback.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BulkProgress {
    /// Records in the import (for a streamed input: the records read so far, the total once it
    /// is exhausted).
    pub total_records: usize,
    /// Records whose request the API accepted.
    pub submitted_records: usize,
    /// Records whose task ended (or whose request failed for good).
    pub finished_records: usize,
    /// Requests the import makes in all (for a streamed input: the requests planned so far).
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
    /// It was invalid (`Error::InvalidInput`: it was never put in a request), or its request was
    /// refused (a 4xx, a rate limit) or provably never sent (connection refused); nothing was
    /// done with it.
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

/// What one request of an import came to, yielded by [`BulkImport::stream`] as soon as it is
/// known: its records' indexes in the input and their outcomes.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct BulkResult {
    /// The request; `None` for a record refused before it joined one (invalid).
    pub request: Option<BulkRequest>,
    /// `(index in the input, outcome)` of each of its records.
    pub records: Vec<(usize, RecordOutcome)>,
    /// Failures its task listed that name none of its records, as the server sent them.
    pub unmatched_failures: Vec<TaskFailure>,
}

type ProgressCallback<'a> = Arc<dyn Fn(&BulkProgress) + Send + Sync + 'a>;

/// An import, configured with its builder methods, then awaited (for a [`BulkReport`]) or
/// [streamed](Self::stream).
#[must_use = "an import does nothing until awaited or streamed"]
pub struct BulkImport<'a, E: BulkEndpoint> {
    client: &'a Client,
    /// The records, converted; one that could not be built is an `InvalidInput` naming it.
    source: BoxStream<'a, Result<E::Record, Error>>,
    max_in_flight: usize,
    task_deadline: Duration,
    key_namespace: String,
    on_progress: Option<ProgressCallback<'a>>,
    journal: Option<PathBuf>,
}

impl<'a, E: BulkEndpoint> BulkImport<'a, E> {
    fn new<S, R>(client: &'a Client, records: S) -> Self
    where
        S: Stream<Item = R> + Send + 'a,
        R: TryInto<E::Record>,
        R::Error: std::fmt::Display + 'static,
    {
        let source = records.enumerate().map(|(index, record)| {
            record.try_into().map_err(|error| {
                ConversionError::at(&format!("{}[{index}]", E::ARRAY_FIELD), error).into()
            })
        });
        Self {
            client,
            source: source.boxed(),
            max_in_flight: 5,
            task_deadline: Duration::from_secs(30 * 60),
            key_namespace: String::new(),
            on_progress: None,
            journal: None,
        }
    }

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

    /// Records the import in `path` (created if missing), one line per event flushed to disk as
    /// it happens: each request planned with its key, submitted with its task id, ended with its
    /// status and failures. Run again with the same input and the same journal, the import
    /// resumes: a request whose task ended is not sent again (its outcome is read back), a task
    /// that was started is polled by its id, and only the rest is sent, so the report is the one
    /// an uninterrupted run would have given.
    ///
    /// A journal of another endpoint, namespace or input is refused with [`Error::Journal`]
    /// before anything of its requests is sent; a last line cut short (the process died while
    /// writing it) is dropped with a warning. It holds keys, task ids, record indexes and the
    /// failures tasks listed: no credential, no record.
    pub fn journal(mut self, path: impl Into<PathBuf>) -> Self {
        self.journal = Some(path.into());
        self
    }

    /// The import as a stream of results, one per request (or per invalid record) as soon as it
    /// is known, holding in memory only the requests in flight. Records are read from the input
    /// only as requests can be sent. The stream ends after an [`Error::Journal`], the only error
    /// it yields.
    ///
    /// ```no_run
    /// # async fn run(client: atlassian_csm::Client) -> Result<(), atlassian_csm::Error> {
    /// use atlassian_csm::types::BulkManageCustomerProfileOperation as Profile;
    /// use futures::TryStreamExt;
    ///
    /// let rows = (0..1_000_000).map(|i| Profile::upsert().email(format!("c{i}@example.com")));
    /// let mut results = std::pin::pin!(client.import_customer_profiles(rows).stream());
    /// while let Some(result) = results.try_next().await? {
    ///     for (index, outcome) in &result.records {
    ///         if !matches!(outcome, atlassian_csm::RecordOutcome::Succeeded) {
    ///             eprintln!("record {index}: {outcome}");
    ///         }
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn stream(self) -> impl Stream<Item = Result<BulkResult, Error>> + Send + 'a {
        self.run_stream(None)
    }

    fn run_stream(
        self,
        known_total: Option<usize>,
    ) -> impl Stream<Item = Result<BulkResult, Error>> + Send + 'a {
        let Self {
            client,
            source,
            max_in_flight,
            task_deadline,
            key_namespace,
            on_progress,
            journal,
        } = self;
        let opened = match &journal {
            Some(path) => Journal::open(path, E::METHOD_NAME, &key_namespace).map(Some),
            None => Ok(None),
        };
        let (journal, failed_to_open) = match opened {
            Ok(journal) => (journal, None),
            Err(error) => (None, Some(error)),
        };
        let run = Arc::new(Run {
            client,
            budget: Budget::new(),
            slots: tokio::sync::Semaphore::new(max_in_flight),
            journal,
            task_deadline,
            key_namespace,
            on_progress,
            known_total,
            estimate: Mutex::new(None),
            read_records: AtomicUsize::new(0),
            planned_requests: AtomicUsize::new(0),
            submitted_records: AtomicUsize::new(0),
            finished_records: AtomicUsize::new(0),
            finished_requests: AtomicUsize::new(0),
        });
        if let Some(error) = failed_to_open {
            return stream::once(async { Err(error) }).boxed();
        }
        let planner = Planner::<E> {
            source,
            validator: RecordValidator::for_client(client),
            packer: Packer::new(E::MAX_RECORDS, E::MAX_WEIGHT),
            ready: VecDeque::new(),
            next_index: 0,
            exhausted: false,
            run: run.clone(),
        };
        let finished = run.clone();
        // One request more than the tasks allowed in flight is under way: it is planned and
        // keyed while the others' tasks run, and waits for a slot, so a slot that frees is
        // taken at once (what runs is polled before the next request is planned).
        let requests = planner
            .into_stream()
            .map(move |planned| run.clone().handle::<E>(planned));
        let results = pipeline::RunningFirst::new(Box::pin(requests), max_in_flight + 1).chain(
            stream::once(async move { finished.leftover_journal() })
                .filter_map(|leftover| async move { leftover.map(Err) }),
        );
        // The stream ends after its first error (a journal that does not match the input).
        results
            .scan(false, |failed, result| {
                let item = (!*failed).then(|| {
                    *failed = result.is_err();
                    result
                });
                async move { item }
            })
            .boxed()
    }

    async fn report(mut self) -> Result<BulkReport, Error> {
        let client = self.client;
        let records: Vec<E::Record> = self.source.by_ref().try_collect().await?;
        RecordValidator::<E>::for_client(client).check_all(&records)?;
        let total = records.len();
        let import = BulkImport::<E> {
            source: stream::iter(records.into_iter().map(Ok)).boxed(),
            ..self
        };
        let mut report = BulkReport {
            records: vec![RecordOutcome::Succeeded; total],
            requests: Vec::new(),
            unmatched_failures: Vec::new(),
        };
        let mut results = std::pin::pin!(import.run_stream(Some(total)));
        while let Some(result) = results.next().await {
            let result = result?;
            for (index, outcome) in result.records {
                report.records[index] = outcome;
            }
            report.unmatched_failures.extend(result.unmatched_failures);
            report.requests.extend(result.request);
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

    /// Checks every record first (an invalid one fails the whole import, and nothing is sent),
    /// then runs the import and reports every record's outcome in input order.
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.report())
    }
}

/// What the planner hands on: a request to send, or a record that will never be in one.
enum Planned<R> {
    Request { number: usize, chunk: Chunk<R> },
    Invalid { index: usize, error: Error },
}

/// Reads records as requests can be sent, checks each, and packs the valid ones into requests
/// (an invalid record is left out and the next valid one takes its place, so nothing of a request
/// waits on a record that will not go).
struct Planner<'a, E: BulkEndpoint> {
    source: BoxStream<'a, Result<E::Record, Error>>,
    validator: RecordValidator<E>,
    packer: Packer<E::Record>,
    ready: VecDeque<Planned<E::Record>>,
    next_index: usize,
    exhausted: bool,
    run: Arc<Run<'a>>,
}

impl<'a, E: BulkEndpoint> Planner<'a, E> {
    fn into_stream(self) -> impl Stream<Item = Planned<E::Record>> + Send + 'a {
        stream::unfold(self, |mut planner| async move {
            loop {
                if let Some(planned) = planner.ready.pop_front() {
                    return Some((planned, planner));
                }
                if planner.exhausted {
                    return None;
                }
                planner.read_one().await;
            }
        })
    }

    async fn read_one(&mut self) {
        let Some(record) = self.source.next().await else {
            self.exhausted = true;
            let packer = std::mem::replace(&mut self.packer, Packer::new(1, None));
            for chunk in packer.finish() {
                self.plan(chunk);
            }
            return;
        };
        let index = self.next_index;
        self.next_index += 1;
        self.run
            .read_records
            .store(self.next_index, Ordering::SeqCst);
        let checked = record.and_then(|record| {
            self.validator.check(index, &record)?;
            Ok(record)
        });
        match checked {
            Ok(record) => {
                let weight = E::weight(&record);
                if let Some(chunk) = self.packer.add(index, record, weight) {
                    self.plan(chunk);
                }
            }
            Err(error) => self.ready.push_back(Planned::Invalid { index, error }),
        }
    }

    fn plan(&mut self, chunk: Chunk<E::Record>) {
        let number = self.run.planned_requests.fetch_add(1, Ordering::SeqCst);
        self.ready.push_back(Planned::Request { number, chunk });
    }
}

/// State shared by the requests of one import.
struct Run<'r> {
    client: &'r Client,
    budget: Budget,
    /// One permit per task the import may have unfinished at once, held from submit to end.
    slots: tokio::sync::Semaphore,
    journal: Option<Journal>,
    task_deadline: Duration,
    key_namespace: String,
    on_progress: Option<ProgressCallback<'r>>,
    known_total: Option<usize>,
    /// How long tasks of this import have taken, from submit to seen finished.
    estimate: Mutex<Option<Duration>>,
    read_records: AtomicUsize,
    planned_requests: AtomicUsize,
    submitted_records: AtomicUsize,
    finished_records: AtomicUsize,
    finished_requests: AtomicUsize,
}

impl Run<'_> {
    fn report_progress(&self) {
        if let Some(callback) = &self.on_progress {
            let read = self.read_records.load(Ordering::SeqCst);
            callback(&BulkProgress {
                total_records: self.known_total.unwrap_or(read),
                submitted_records: self.submitted_records.load(Ordering::SeqCst),
                finished_records: self.finished_records.load(Ordering::SeqCst),
                total_requests: self.planned_requests.load(Ordering::SeqCst),
                finished_requests: self.finished_requests.load(Ordering::SeqCst),
            });
        }
    }

    /// A journal that planned more requests than this input makes is another input's.
    fn leftover_journal(&self) -> Option<Error> {
        let journal = self.journal.as_ref()?;
        let planned = self.planned_requests.load(Ordering::SeqCst);
        (journal.planned_requests() > planned).then(|| {
            journal.mismatch(format!(
                "it planned {} requests, the input makes {planned}",
                journal.planned_requests()
            ))
        })
    }

    /// When to poll a task sent `sent` ago: as [`learned_poll_delays`] once tasks of this
    /// import have finished; before that, from 100 ms growing ×1.5 up to 5 s.
    fn poll_delays(&self, sent: Duration) -> Box<dyn Iterator<Item = Duration> + Send> {
        match *self.estimate.lock().unwrap() {
            Some(estimate) => Box::new(learned_poll_delays(estimate, sent)),
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
    /// and finished at `finished`. Seen finished at the first poll, the task may have taken
    /// less: the estimate shrinks a little (3 %), so later tasks are polled earlier until one is
    /// seen pending, without the swings a large step would cause.
    fn observe_task_time(&self, last_pending: Option<Duration>, finished: Duration) {
        let sample = match last_pending {
            Some(pending) => (pending + finished) / 2,
            None => finished.mul_f64(0.97),
        };
        let mut estimate = self.estimate.lock().unwrap();
        *estimate = Some(match *estimate {
            Some(previous) => previous.mul_f64(0.7) + sample.mul_f64(0.3),
            None => sample,
        });
    }

    fn finish(&self, result: BulkResult) -> Result<BulkResult, Error> {
        self.finished_records
            .fetch_add(result.records.len(), Ordering::SeqCst);
        if result.request.is_some() {
            self.finished_requests.fetch_add(1, Ordering::SeqCst);
        }
        self.report_progress();
        Ok(result)
    }

    async fn append(&self, event: Event) -> Result<(), Error> {
        match &self.journal {
            Some(journal) => journal.append(event).await,
            None => Ok(()),
        }
    }

    async fn handle<E: BulkEndpoint>(
        self: Arc<Self>,
        planned: Planned<E::Record>,
    ) -> Result<BulkResult, Error> {
        match planned {
            Planned::Invalid { index, error } => self.finish(BulkResult {
                request: None,
                records: vec![(index, RecordOutcome::NotSubmitted(Arc::new(error)))],
                unmatched_failures: Vec::new(),
            }),
            Planned::Request { number, chunk } => self.request::<E>(number, chunk).await,
        }
    }

    /// One request: read back from the journal, polled by its task id, or submitted and waited
    /// for.
    async fn request<E: BulkEndpoint>(
        &self,
        number: usize,
        chunk: Chunk<E::Record>,
    ) -> Result<BulkResult, Error> {
        let Chunk { indexes, records } = chunk;
        let mut request = BulkRequest {
            idempotency_key: idempotency_key::<E>(&self.key_namespace, &records),
            records: indexes,
            task_id: None,
            status: None,
            polls: 0,
            refusals: 0,
        };
        let known = self.journal.as_ref().and_then(|j| j.known(number)).cloned();
        match &known {
            Some(known)
                if known.key != request.idempotency_key || known.records != request.records =>
            {
                let journal = self.journal.as_ref().expect("known from it");
                return Err(journal.mismatch(format!(
                    "request {number} carried records {:?} under key {} there, the input gives {:?} under key {}",
                    first_and_last(&known.records), known.key, first_and_last(&request.records), request.idempotency_key
                )));
            }
            Some(known) => {
                if let Some((status, failures)) = &known.ended {
                    request.task_id = known.task_id.clone();
                    let status = TaskStatusResponseStatus::from(status.as_str());
                    request.status = Some(status.clone());
                    self.submitted_records
                        .fetch_add(records.len(), Ordering::SeqCst);
                    let task_id = known.task_id.clone().unwrap_or_default();
                    return self.finish(outcomes::<E>(
                        request, &records, &task_id, &status, failures,
                    ));
                }
            }
            None => {
                self.append(Event::Planned {
                    request: number,
                    key: request.idempotency_key.clone(),
                    records: request.records.clone(),
                })
                .await?;
            }
        }

        let slot = self
            .slots
            .acquire()
            .await
            .expect("the semaphore is never closed");
        // When the request that started the task was sent: the task's time counts from then
        // (from now, for a task a previous run started).
        let (task_id, sent_at) = match known.and_then(|known| known.task_id) {
            Some(task_id) => (task_id, Instant::now()),
            None => match self.submit::<E>(&mut request, &records).await {
                Ok((task_id, sent_at)) => {
                    self.append(Event::Submitted {
                        request: number,
                        task_id: task_id.clone(),
                    })
                    .await?;
                    (task_id, sent_at)
                }
                Err(error) => {
                    // A request that was sent and whose answer was lost (or a 5xx) may have
                    // started a task: only a refusal, or a request that never left, proves
                    // nothing was done.
                    let outcome = if error.provably_not_processed() {
                        RecordOutcome::NotSubmitted(Arc::new(error))
                    } else {
                        RecordOutcome::Unconfirmed(Arc::new(error))
                    };
                    return self.finish(all(request, outcome));
                }
            },
        };
        request.task_id = Some(task_id.clone());
        self.submitted_records
            .fetch_add(records.len(), Ordering::SeqCst);
        self.report_progress();

        let waited = self.wait(&mut request, &task_id, sent_at).await;
        drop(slot);
        let outcome = match waited {
            Ok(outcome) => outcome,
            Err(error) => {
                return self.finish(all(request, RecordOutcome::Unconfirmed(Arc::new(error))))
            }
        };
        let task = outcome.task();
        self.append(Event::Ended {
            request: number,
            status: task.status.to_string(),
            failures: task.failures.clone(),
        })
        .await?;
        request.status = Some(task.status.clone());
        self.finish(outcomes::<E>(
            request.clone(),
            &records,
            &task_id,
            &task.status,
            &task.failures,
        ))
    }

    /// Submits a request, pausing every submission of the import while the site asks to wait;
    /// returns its task id and when the accepted attempt was sent.
    async fn submit<E: BulkEndpoint>(
        &self,
        request: &mut BulkRequest,
        records: &[E::Record],
    ) -> Result<(String, Instant), Error> {
        let started = Instant::now();
        loop {
            self.budget.ready().await;
            let sent_at = Instant::now();
            let submitted = crate::retry::with_rate_limits_handled_by_caller(E::submit(
                self.client,
                records.to_vec(),
                request.idempotency_key.clone(),
            ))
            .await;
            let within_deadline = started.elapsed() < self.task_deadline;
            match submitted {
                Err(error) if is_task_limit(&error) && within_deadline => {
                    request.refusals += 1;
                    let pause = self.budget.pause(None);
                    tracing::debug!(
                        refusals = request.refusals,
                        pause_ms = pause.as_millis() as u64,
                        "task limit reached; every submission paused"
                    );
                }
                Err(Error::RateLimited { rate_limit, .. }) if within_deadline => {
                    let pause = self.budget.pause(rate_limit.retry_after);
                    tracing::debug!(
                        pause_ms = pause.as_millis() as u64,
                        "rate limited; every submission paused"
                    );
                }
                Ok(task) => {
                    self.budget.accepted();
                    return Ok((task.id, sent_at));
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// Waits for a task whose request was sent at `submitted_at`, learning how long the
    /// import's tasks take.
    async fn wait(
        &self,
        request: &mut BulkRequest,
        task_id: &str,
        submitted_at: Instant,
    ) -> Result<TaskOutcome, Error> {
        // (polls made, when the task was last seen pending)
        let polled = Mutex::new((0usize, None::<Duration>));
        let waited = self
            .client
            .wait_for_task(task_id.to_string())
            .poll_delays(self.poll_delays(submitted_at.elapsed()))
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
        if let Ok(TaskOutcome::Finished(_)) = &waited {
            self.observe_task_time(last_pending, submitted_at.elapsed());
        }
        waited
    }
}

/// Polls of a task sent `sent` ago, when the import's tasks take about `estimate`: just before
/// (99 % of) it, counted from the send, then every 150th of it (at least 1 ms) a few times, to
/// about 103 %; a task still running then (a slow one, or one whose request was retried before
/// it started) is polled ever less often, ×1.5 up to every 5 s, so it costs a few polls more,
/// not hundreds.
fn learned_poll_delays(
    estimate: Duration,
    sent: Duration,
) -> impl Iterator<Item = Duration> + Send {
    const CLOSE_POLLS: usize = 6;
    let close = (estimate / 150).clamp(Duration::from_millis(1), Duration::from_secs(5));
    let first = estimate.mul_f64(0.99).saturating_sub(sent);
    let slower = std::iter::successors(Some(close), |delay| {
        Some(delay.mul_f64(1.5).min(Duration::from_secs(5)))
    })
    .skip(1);
    std::iter::once(first)
        .chain(std::iter::repeat_n(close, CLOSE_POLLS))
        .chain(slower)
}

/// Every record of `request` with the same outcome.
fn all(request: BulkRequest, outcome: RecordOutcome) -> BulkResult {
    BulkResult {
        records: request
            .records
            .iter()
            .map(|&index| (index, outcome.clone()))
            .collect(),
        request: Some(request),
        unmatched_failures: Vec::new(),
    }
}

/// The outcome of each record of a request whose task ended with `status` and `failures`.
fn outcomes<E: BulkEndpoint>(
    request: BulkRequest,
    records: &[E::Record],
    task_id: &str,
    status: &TaskStatusResponseStatus,
    failures: &[TaskFailure],
) -> BulkResult {
    let mut named: Vec<Vec<TaskFailure>> = vec![Vec::new(); records.len()];
    let mut unmatched = Vec::new();
    for failure in failures {
        let mut found = false;
        for (position, record) in records.iter().enumerate() {
            if E::is_named_by(record, failure) {
                named[position].push(failure.clone());
                found = true;
            }
        }
        if !found {
            unmatched.push(failure.clone());
        }
    }
    let finished = matches!(status, TaskStatusResponseStatus::Finished);
    let outcomes = named
        .into_iter()
        .map(|failures| match (finished, failures.is_empty()) {
            (_, false) => RecordOutcome::Failed(failures),
            (true, true) => RecordOutcome::Succeeded,
            (false, true) => RecordOutcome::TaskEnded {
                task_id: task_id.to_string(),
                status: status.clone(),
            },
        });
    BulkResult {
        records: request.records.iter().copied().zip(outcomes).collect(),
        request: Some(request),
        unmatched_failures: unmatched,
    }
}

fn first_and_last(indexes: &[usize]) -> (Option<&usize>, Option<&usize>) {
    (indexes.first(), indexes.last())
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

impl Client {
    /// An import of any number of records through one bulk endpoint; see the [`bulk`](crate::bulk)
    /// module and the `import_*` methods, which name each endpoint's record type.
    ///
    /// A record is the endpoint's record type or its builder; records are read only as requests
    /// can be sent. One that cannot be built is an [`Error::InvalidInput`] naming its index and
    /// field (`customerProfiles[17].payload.email`): awaited, the import fails with it and
    /// nothing is sent; [streamed](BulkImport::stream), it is that record's outcome.
    pub fn import<'a, E, R>(
        &'a self,
        records: impl IntoIterator<Item = R, IntoIter: Send + 'a>,
    ) -> BulkImport<'a, E>
    where
        E: BulkEndpoint,
        R: TryInto<E::Record> + Send,
        R::Error: std::fmt::Display + 'static,
    {
        BulkImport::new(self, stream::iter(records))
    }

    /// An import whose records come from a `Stream` (rows read from a file or a database as
    /// the import goes), through the endpoint `E` ([`CustomerProfiles`]…).
    ///
    /// ```no_run
    /// # async fn run(client: atlassian_csm::Client, rows: futures::stream::BoxStream<'static, (String, String)>) -> Result<(), atlassian_csm::Error> {
    /// use atlassian_csm::bulk::CustomerProfiles;
    /// use atlassian_csm::types::BulkManageCustomerProfileOperation as Profile;
    /// use futures::StreamExt;
    ///
    /// let records = rows.map(|(email, name)| Profile::upsert().email(email).display_name(name));
    /// let report = client.import_stream::<CustomerProfiles, _>(records).await?;
    /// # Ok(()) }
    /// ```
    pub fn import_stream<'a, E, R>(
        &'a self,
        records: impl Stream<Item = R> + Send + 'a,
    ) -> BulkImport<'a, E>
    where
        E: BulkEndpoint,
        R: TryInto<E::Record>,
        R::Error: std::fmt::Display + 'static,
    {
        BulkImport::new(self, records)
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
                pub fn $method<'a, R>(
                    &'a self,
                    records: impl IntoIterator<Item = R, IntoIter: Send + 'a>,
                ) -> BulkImport<'a, $endpoint>
                where
                    R: TryInto<crate::types::$record> + Send,
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

#[cfg(test)]
mod tests {
    use super::learned_poll_delays;
    use std::time::Duration;

    #[test]
    fn a_task_is_polled_close_to_its_end_and_less_often_past_it() {
        let estimate = Duration::from_millis(200);
        let sent = Duration::from_millis(20);
        let delays: Vec<Duration> = learned_poll_delays(estimate, sent).take(7).collect();
        assert_eq!(
            delays[0],
            Duration::from_millis(178),
            "99 % of the time, from the send"
        );
        assert!(delays[1..].iter().all(|d| *d == estimate / 150));
        // A task that started a second late (its request retried) costs a few polls, not 750.
        let mut waited = Duration::ZERO;
        let polls = learned_poll_delays(estimate, sent)
            .take_while(|delay| {
                waited += *delay;
                waited < Duration::from_millis(1_200)
            })
            .count();
        assert!(polls < 25, "{polls} polls");
    }
}
