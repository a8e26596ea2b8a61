//! How an import runs: the planner that reads and packs records as requests can be sent, and the
//! run shared by its requests (submit under the shared budget, wait, report, journal).

use super::budget::Budget;
use super::endpoints::BulkEndpoint;
use super::estimate::TaskTimes;
use super::import::ProgressCallback;
use super::journal::{Event, Journal};
use super::lanes::{Lane, Lanes, Pacer, DIRECT_CALLS, PROBE_RECORDS};
use super::observer::RequestObserver;
use super::pipeline::RunningFirst;
use super::plan::{Chunk, Packer};
use super::report::{all, outcomes, BulkProgress, BulkRequest, BulkResult, RecordOutcome};
use super::validate::RecordValidator;
use crate::error::Error;
use crate::tasks::TaskOutcome;
use crate::types::TaskStatusResponseStatus;
use crate::Client;
use futures::stream::{self, BoxStream, Stream, StreamExt};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How an import runs, as its builder set it.
pub(crate) struct Settings<'a> {
    pub max_in_flight: usize,
    pub task_deadline: Duration,
    pub key_namespace: String,
    pub on_progress: Option<ProgressCallback<'a>>,
    /// The records in all, when the input was read before the import started.
    pub known_total: Option<usize>,
    pub journal: Option<Journal>,
    pub observer: Option<Arc<dyn RequestObserver>>,
    pub lanes: Lanes,
}

/// Runs an import of `source`: the result of each request (or invalid record) as it is known.
/// The stream ends after its first error (a journal that does not match the input).
pub(crate) fn results<'a, E: BulkEndpoint>(
    client: &'a Client,
    source: BoxStream<'a, Result<E::Record, Error>>,
    settings: Settings<'a>,
) -> impl Stream<Item = Result<BulkResult, Error>> + Send + 'a {
    let max_in_flight = settings.max_in_flight;
    let run = Arc::new(Run {
        client,
        budget: Budget::new(),
        slots: tokio::sync::Semaphore::new(max_in_flight),
        journal: settings.journal,
        observer: settings.observer,
        lanes: settings.lanes,
        pacer: Pacer::new(),
        max_in_flight,
        direct_room: Arc::new(tokio::sync::Semaphore::new(DIRECT_CALLS)),
        bulk_record_time: Mutex::new(None),
        task_deadline: settings.task_deadline,
        queue_deadline: settings
            .task_deadline
            .saturating_mul(max_in_flight.saturating_add(1) as u32),
        key_namespace: settings.key_namespace,
        on_progress: settings.on_progress,
        known_total: settings.known_total,
        task_times: TaskTimes::default(),
        read_records: AtomicUsize::new(0),
        planned_requests: AtomicUsize::new(0),
        submitted_records: AtomicUsize::new(0),
        finished_records: AtomicUsize::new(0),
        finished_requests: AtomicUsize::new(0),
        waiting_tasks: AtomicUsize::new(0),
    });
    let planner = Planner::<E> {
        source,
        validator: RecordValidator::for_client(client),
        packer: Packer::new(E::MAX_RECORDS, E::MAX_WEIGHT),
        ready: VecDeque::new(),
        next_index: 0,
        unplanned: 0,
        exhausted: false,
        run: run.clone(),
    };
    let finished = run.clone();
    // One request more than the tasks allowed in flight is under way: it is planned and keyed
    // while the others' tasks run, and waits for a slot, so a slot that frees is taken at once
    // (what runs is polled before the next request is planned).
    let requests = planner
        .into_stream()
        .map(move |planned| run.clone().handle::<E>(planned));
    // Room for the direct calls beside the requests, where the import may make them.
    let direct_room = if E::DIRECT && settings.lanes != Lanes::Bulk {
        DIRECT_CALLS
    } else {
        0
    };
    let results = RunningFirst::new(Box::pin(requests), max_in_flight + 1 + direct_room).chain(
        stream::once(async move { finished.leftover_journal() })
            .filter_map(|leftover| async move { leftover.map(Err) }),
    );
    results.scan(false, |failed, result| {
        let item = (!*failed).then(|| {
            *failed = result.is_err();
            result
        });
        async move { item }
    })
}

/// What the planner hands on: a request to send, or a record that will never be in one.
enum Planned<R> {
    Request {
        number: usize,
        chunk: Chunk<R>,
    },
    /// A record sent through the endpoint's direct calls instead of a request, holding its room
    /// among the direct calls under way.
    Direct {
        index: usize,
        record: R,
        room: tokio::sync::OwnedSemaphorePermit,
    },
    Invalid {
        index: usize,
        error: Error,
    },
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
    /// Records packed since the last request was planned.
    unplanned: usize,
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
                let room = match self.run.lane_for::<E>(&record) {
                    Lane::Bulk => None,
                    Lane::DirectIfRoom => self.run.direct_room.clone().try_acquire_owned().ok(),
                    // Better off direct: the planner waits for room rather than put it in a task.
                    Lane::Direct => self.run.direct_room.clone().acquire_owned().await.ok(),
                };
                match room {
                    Some(room) => self.ready.push_back(Planned::Direct {
                        index,
                        record,
                        room,
                    }),
                    None => self.pack(index, record),
                }
            }
            Err(error) => self.ready.push_back(Planned::Invalid { index, error }),
        }
    }

    fn pack(&mut self, index: usize, record: E::Record) {
        let weight = E::weight(&record);
        if let Some(chunk) = self.packer.add(index, record, weight) {
            self.unplanned = 0;
            self.plan(chunk);
            return;
        }
        self.unplanned += 1;
        // The first request of an import that may go direct is a small probe: the site's bulk
        // pace is learned from it before more records are committed to tasks.
        if self.run.probing::<E>() && self.unplanned >= PROBE_RECORDS {
            self.unplanned = 0;
            let packer =
                std::mem::replace(&mut self.packer, Packer::new(E::MAX_RECORDS, E::MAX_WEIGHT));
            for chunk in packer.finish() {
                self.plan(chunk);
            }
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
    observer: Option<Arc<dyn RequestObserver>>,
    lanes: Lanes,
    /// Tasks the import may have unfinished at once.
    max_in_flight: usize,
    /// Paces the direct calls.
    pacer: Pacer,
    /// Room for the direct calls under way.
    direct_room: Arc<tokio::sync::Semaphore>,
    /// What one record took in this import's finished tasks, from the send to seen finished.
    bulk_record_time: Mutex<Option<Duration>>,
    task_deadline: Duration,
    /// The longest wait for one task, its turn included.
    queue_deadline: Duration,
    key_namespace: String,
    on_progress: Option<ProgressCallback<'r>>,
    known_total: Option<usize>,
    /// How long tasks of this import have taken, from submit to seen finished.
    task_times: TaskTimes,
    read_records: AtomicUsize,
    planned_requests: AtomicUsize,
    submitted_records: AtomicUsize,
    finished_records: AtomicUsize,
    finished_requests: AtomicUsize,
    /// Tasks last seen `NOT_STARTED`.
    waiting_tasks: AtomicUsize,
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
                waiting_tasks: self.waiting_tasks.load(Ordering::SeqCst),
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
            Planned::Direct {
                index,
                record,
                room,
            } => {
                let outcome = self.direct::<E>(&record).await;
                drop(room);
                self.finish(BulkResult {
                    request: None,
                    records: vec![(index, outcome)],
                    unmatched_failures: Vec::new(),
                })
            }
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
        if let Some(observer) = self.observer.clone() {
            let body = serde_json::to_string(&records).expect("records serialize");
            let (key, indexes) = (request.idempotency_key.clone(), request.records.clone());
            blocking(move || observer.planned(&key, &indexes, &body)).await?;
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
                    if let Some(observer) = self.observer.clone() {
                        let (key, task) = (request.idempotency_key.clone(), task_id.clone());
                        blocking(move || observer.submitted(&key, &task)).await?;
                    }
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

    /// The lane of `record`: bulk, unless the endpoint can send it directly and
    /// * [`Lanes::Direct`] says so;
    /// * [`Lanes::Auto`] expects the direct calls to finish it sooner: from the time a record
    ///   took in this import's finished tasks (spread over the task slots) against the pace of
    ///   the direct calls, or, before any task finished, while its first request (a small probe)
    ///   is out; or, faster or not, while the requests planned fill every task slot and a direct
    ///   call has room.
    fn lane_for<E: BulkEndpoint>(&self, record: &E::Record) -> Lane {
        let Some(calls) = E::direct_calls(record).filter(|_| E::DIRECT) else {
            return Lane::Bulk;
        };
        match self.lanes {
            Lanes::Direct => Lane::Direct,
            Lanes::Auto => {
                let unfinished = self
                    .planned_requests
                    .load(Ordering::SeqCst)
                    .saturating_sub(self.finished_requests.load(Ordering::SeqCst));
                let direct_sooner = match *self.bulk_record_time.lock().unwrap() {
                    Some(per_record) => {
                        let direct = self.pacer.interval() * (calls as u32);
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
            _ => Lane::Bulk,
        }
    }

    /// Whether the import is still learning the site's bulk pace (its records may go direct,
    /// and no task has finished): its requests are kept small until one has.
    fn probing<E: BulkEndpoint>(&self) -> bool {
        E::DIRECT && self.lanes == Lanes::Auto && self.bulk_record_time.lock().unwrap().is_none()
    }

    /// Learns what one record takes in a task from one of `records` that took `took`.
    fn observe_record_time(&self, took: Duration, records: usize) {
        let sample = took / records.max(1) as u32;
        let mut known = self.bulk_record_time.lock().unwrap();
        *known = Some(match *known {
            Some(previous) => previous.mul_f64(0.7) + sample.mul_f64(0.3),
            None => sample,
        });
    }

    /// Sends a record through its direct calls, one after the other, each at the pace the site
    /// allows; a call refused for the rate (429) is sent again once the site allows it (it was
    /// not processed). Returns the record's outcome.
    async fn direct<E: BulkEndpoint>(&self, record: &E::Record) -> RecordOutcome {
        let calls = E::direct_calls(record).unwrap_or(0);
        let started = Instant::now();
        let mut call = 0;
        while call < calls {
            self.pacer.ready().await;
            let answered = crate::retry::with_rate_limits_handled_by_caller(E::direct_call(
                self.client,
                record,
                call,
            ))
            .await;
            match answered {
                Ok(rate_limit) => {
                    self.pacer.answered(&rate_limit);
                    call += 1;
                }
                Err(error @ Error::RateLimited { .. })
                    if started.elapsed() < self.task_deadline
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
            if let Some(refusal) = self.budget.refusal() {
                return Err(refusal);
            }
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
                Err(error @ Error::RateLimited { .. }) if within_deadline => {
                    let rate_limit = error.rate_limit().cloned().unwrap_or_default();
                    // A quota used up lets nothing through until it resets: every submission
                    // waits for that (a nightly import waits patiently) when it comes within the
                    // deadline; past it, the request is not sent.
                    let wait = if rate_limit.quota_exhausted() {
                        match rate_limit.resets_in() {
                            Some(wait) if started.elapsed() + wait < self.task_deadline => {
                                Some(wait)
                            }
                            _ => {
                                self.budget.refuse_all(&error);
                                return Err(error);
                            }
                        }
                    } else {
                        rate_limit.retry_after
                    };
                    let pause = self.budget.pause(wait);
                    tracing::debug!(
                        pause_ms = pause.as_millis() as u64,
                        quota = rate_limit.quota_exhausted(),
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
        // Whether the task is counted among those waiting their turn.
        let waiting = std::sync::atomic::AtomicBool::new(false);
        let waited = self
            .client
            .wait_for_task(task_id.to_string())
            .poll_delays(self.task_times.poll_delays(submitted_at.elapsed()))
            // The deadline counts the task's own running time: one waiting its turn behind
            // others (a site that runs them one at a time) is not lost. Waiting for its turn is
            // bounded too, by the time every task in flight could take before it.
            .running_deadline(self.task_deadline)
            .deadline(self.queue_deadline)
            .on_progress(|status| {
                {
                    let mut polled = polled.lock().unwrap();
                    polled.0 += 1;
                    if !matches!(status.status, TaskStatusResponseStatus::Finished) {
                        polled.1 = Some(submitted_at.elapsed());
                    }
                }
                let not_started = matches!(status.status, TaskStatusResponseStatus::NotStarted);
                if waiting.swap(not_started, Ordering::SeqCst) != not_started {
                    if not_started {
                        self.waiting_tasks.fetch_add(1, Ordering::SeqCst);
                    } else {
                        self.waiting_tasks.fetch_sub(1, Ordering::SeqCst);
                    }
                    self.report_progress();
                }
            })
            .await;
        if waiting.load(Ordering::SeqCst) {
            self.waiting_tasks.fetch_sub(1, Ordering::SeqCst);
        }
        let (polls, last_pending) = *polled.lock().unwrap();
        request.polls = polls;
        if let Ok(TaskOutcome::Finished(_)) = &waited {
            self.task_times
                .observe(last_pending, submitted_at.elapsed());
            self.observe_record_time(submitted_at.elapsed(), request.records.len());
        }
        waited
    }
}

/// Runs `write` (which touches the disk) off the async threads.
async fn blocking(write: impl FnOnce() -> Result<(), Error> + Send + 'static) -> Result<(), Error> {
    tokio::task::spawn_blocking(write)
        .await
        .unwrap_or_else(|e| Err(Error::Config(format!("a state write was interrupted: {e}"))))
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
pub(crate) fn is_task_limit(error: &Error) -> bool {
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
