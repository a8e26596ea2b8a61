//! The run shared by the requests of an import: submit under the shared budget, wait, report,
//! journal; and the records sent through the direct lane.

use super::endpoints::BulkEndpoint;
use super::journal::Journal;
use super::lanes::{DirectLane, Lanes};
use super::observer::{PlannedRequest, RequestObserver};
use super::plan::{Chunk, Planned};
use super::progress::{Counts, SiteNow};
use super::report::{all, outcomes, BulkRequest, BulkResult, ProgressCallback, RecordOutcome};
use super::site::budget::is_task_limit;
use super::site::pace::{SitePace, TaskPace};
use crate::error::Error;
use crate::types::TaskStatusResponseStatus;
use crate::Client;

mod parts;
mod wait;
use parts::{Keeping, Limits, SiteTurns};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How an import runs, as its builder set it.
pub(crate) struct Settings<'a> {
    /// The endpoint's operation, as the metrics name it.
    pub operation: &'static str,
    pub max_in_flight: usize,
    pub task_deadline: Duration,
    pub key_namespace: String,
    pub on_progress: Option<ProgressCallback<'a>>,
    /// The records in all, when the input was read before the import started.
    pub known_total: Option<usize>,
    /// The records a streamed input will yield, as the caller expects.
    pub expected_records: Option<usize>,
    pub journal: Option<Journal>,
    pub observer: Option<Arc<dyn RequestObserver>>,
    pub lanes: Lanes,
    /// Asked to stop: nothing new is sent.
    pub stop: super::stop::StopHandle,
    /// Every record comes checked: the planner does not check it again.
    pub records_checked: bool,
}

impl<'r> Run<'r> {
    /// The run of an import through `client` as `settings` say.
    pub(super) fn new(client: &'r Client, settings: Settings<'r>) -> Self {
        let max_in_flight = settings.max_in_flight;
        // Starts from what the client's earlier imports (or the run it was handed the pace of)
        // learned of the site.
        let known = client.site_pace();
        let side_by_side_task = match known.tasks() {
            Some(TaskPace::SideBySide { task_seconds }) => Some(task_seconds),
            _ => None,
        };
        Self {
            client,
            operation: settings.operation,
            site: SiteTurns::new(client, &known, side_by_side_task),
            limits: Limits {
                slots: tokio::sync::Semaphore::new(max_in_flight),
                max_in_flight,
                task_deadline: settings.task_deadline,
                queue_deadline: settings
                    .task_deadline
                    .saturating_mul(max_in_flight.saturating_add(1) as u32),
            },
            keeping: Keeping {
                observers: settings
                    .journal
                    .iter()
                    .map(|journal| Arc::new(journal.clone()) as Arc<dyn RequestObserver>)
                    .chain(settings.observer)
                    .collect(),
                journal: settings.journal,
            },
            direct: DirectLane::new(settings.lanes, max_in_flight, &known),
            stop: settings.stop,
            records_checked: settings.records_checked,
            key_namespace: settings.key_namespace,
            counts: Counts::new(
                settings.on_progress,
                settings.known_total,
                settings.expected_records,
            ),
        }
    }
}

/// State shared by the requests of one import.
pub(super) struct Run<'r> {
    client: &'r Client,
    /// The endpoint's operation, as the metrics name it.
    operation: &'static str,
    key_namespace: String,
    /// What the import knows of the site, and the turns it takes there.
    site: SiteTurns,
    /// The import's own bounds.
    limits: Limits,
    /// Where its requests are kept durably.
    keeping: Keeping,
    /// The direct lane, and which records take it.
    pub(super) direct: DirectLane,
    /// Its counts, and its progress callback.
    pub(super) counts: Counts<'r>,
    /// Asked to stop: nothing new is sent.
    pub(super) stop: super::stop::StopHandle,
    /// Every record comes checked (see [`Settings::records_checked`]).
    pub(super) records_checked: bool,
}

impl Run<'_> {
    /// Requests planned whose task has not ended.
    pub(super) fn unfinished_requests(&self) -> usize {
        self.counts.unfinished_requests()
    }

    fn report_progress(&self) {
        let known = self.client.site_pace();
        self.counts.report(SiteNow {
            queue: &self.site.queue,
            known: &known,
            at_once: self.limits.max_in_flight,
        });
    }

    /// What this import learned of the site, kept by the client for its next imports.
    fn remember_pace(&self) {
        let tasks = match self.site.queue.one_at_a_time() {
            Some(serial) => Some(TaskPace::OneAtATime {
                per_record_seconds: serial.per_record,
            }),
            None if self.site.queue.side_by_side() => self
                .site
                .task_times
                .estimate()
                .map(|task_seconds| TaskPace::SideBySide { task_seconds }),
            None => None,
        };
        let (record_time, burst) = self.direct.learned();
        self.client
            .config()
            .site_pace
            .learned(&SitePace::learned(tasks, record_time, burst));
    }

    /// A journal that planned more requests than this input makes is another input's.
    pub(super) fn leftover_journal(&self) -> Option<Error> {
        let journal = self.keeping.journal.as_ref()?;
        let planned = self.counts.planned_requests.load(Ordering::SeqCst);
        (journal.planned_requests() > planned).then(|| {
            journal.mismatch(format!(
                "it planned {} requests, the input makes {planned}",
                journal.planned_requests()
            ))
        })
    }

    fn finish(&self, result: BulkResult) -> Result<BulkResult, Error> {
        self.finish_through(result, false)
    }

    fn finish_through(&self, result: BulkResult, direct: bool) -> Result<BulkResult, Error> {
        self.counts
            .finished(result.records.len(), result.request.is_some(), direct);
        let not_sent = result
            .records
            .iter()
            .filter(|(_, outcome)| {
                matches!(outcome, RecordOutcome::NotSubmitted(e) if matches!(**e, Error::Stopped))
            })
            .count();
        self.counts.not_sent(not_sent);
        let metrics = &self.client.config().metrics;
        for (_, outcome) in &result.records {
            metrics.records(self.operation, outcome.label(), 1);
        }
        self.report_progress();
        Ok(result)
    }

    /// Tells every observer, in order, off the async threads.
    async fn tell(
        &self,
        call: impl Fn(&dyn RequestObserver) -> Result<(), Error> + Send + 'static,
    ) -> Result<(), Error> {
        if self.keeping.observers.is_empty() {
            return Ok(());
        }
        let observers = self.keeping.observers.clone();
        blocking(move || {
            observers
                .iter()
                .try_for_each(|observer| call(observer.as_ref()))
        })
        .await
    }

    pub(super) async fn handle<E: BulkEndpoint>(
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
            Planned::Direct { index, .. } if self.stop.is_stopped() => self.finish(BulkResult {
                request: None,
                records: vec![(index, RecordOutcome::NotSubmitted(Arc::new(Error::Stopped)))],
                unmatched_failures: Vec::new(),
            }),
            Planned::Direct {
                index,
                record,
                room,
            } => {
                self.counts.sending();
                let outcome = self
                    .direct
                    .send::<E>(self.client, &record, self.limits.task_deadline)
                    .await;
                drop(room);
                self.finish_through(
                    BulkResult {
                        request: None,
                        records: vec![(index, outcome)],
                        unmatched_failures: Vec::new(),
                    },
                    true,
                )
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
        let known = self
            .keeping
            .journal
            .as_ref()
            .and_then(|j| j.known(number))
            .cloned();
        match &known {
            Some(known)
                if known.key != request.idempotency_key || known.records != request.records =>
            {
                let journal = self.keeping.journal.as_ref().expect("known from it");
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
                    self.counts
                        .submitted_records
                        .fetch_add(records.len(), Ordering::SeqCst);
                    let task_id = known.task_id.clone().unwrap_or_default();
                    return self.finish(outcomes::<E>(
                        request, &records, &task_id, &status, failures,
                    ));
                }
            }
            None => {}
        }
        let body = match self.keeping.observers.iter().any(|o| o.keeps_bodies()) {
            true => serde_json::to_string(&records).expect("records serialize"),
            false => String::new(),
        };
        let (key, indexes) = (request.idempotency_key.clone(), request.records.clone());
        self.tell(move |observer| {
            observer.planned(&PlannedRequest {
                number,
                key: &key,
                indexes: &indexes,
                body: &body,
            })
        })
        .await?;

        let slot = self
            .limits
            .slots
            .acquire()
            .await
            .expect("the semaphore is never closed");
        let site_slot = self
            .site
            .slots
            .acquire()
            .await
            .expect("the semaphore is never closed");
        // When the request that started the task was sent: the task's time counts from then
        // (from now, for a task a previous run started).
        // Sent one after the other while their order at the site matters (see
        // `SiteQueue::in_order`).
        let order = match self.site.queue.in_order() {
            true => Some(self.site.submit_order.lock().await),
            false => None,
        };
        let (task_id, sent_at) = match known.and_then(|known| known.task_id) {
            Some(task_id) => (task_id, Instant::now()),
            // Stopped: a request not sent yet is not sent (one a previous run sent is polled).
            None if self.stop.is_stopped() => {
                return self.finish(all(
                    request,
                    RecordOutcome::NotSubmitted(Arc::new(Error::Stopped)),
                ));
            }
            None => match self.submit::<E>(&mut request, &records).await {
                Ok((task_id, sent_at)) => {
                    let (key, task) = (request.idempotency_key.clone(), task_id.clone());
                    self.tell(move |observer| observer.submitted(number, &key, &task))
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
        let ticket = self
            .site
            .queue
            .enter(records.len(), tokio::time::Instant::from_std(sent_at));
        let metrics = &self.client.config().metrics;
        metrics.tasks_in_flight(self.operation, 1);
        drop(order);
        request.task_id = Some(task_id.clone());
        self.counts
            .submitted_records
            .fetch_add(records.len(), Ordering::SeqCst);
        self.report_progress();

        let waited = self.wait(&mut request, &task_id, sent_at, ticket).await;
        metrics.tasks_in_flight(self.operation, -1);
        drop((slot, site_slot));
        let outcome = match waited {
            Ok(outcome) => outcome,
            Err(error) => {
                return self.finish(all(request, RecordOutcome::Unconfirmed(Arc::new(error))))
            }
        };
        let task = outcome.task();
        let (status, failures) = (task.status.to_string(), task.failures.clone());
        self.tell(move |observer| observer.ended(number, &status, &failures))
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
            self.site.budget.ready().await;
            if let Some(refusal) = self.site.budget.refusal() {
                return Err(refusal);
            }
            // Stopped while the site pushed back: the attempts so far were refused, so nothing
            // of this request was done.
            if self.stop.is_stopped() && request.refusals > 0 {
                return Err(Error::Stopped);
            }
            let sent_at = Instant::now();
            self.counts.sending();
            let submit = E::submit(
                self.client,
                records.to_vec(),
                request.idempotency_key.clone(),
            );
            // Every record of a request was checked (as it came, or by the planner) and the
            // packer kept to the request's limits: the hook does not parse and check it again.
            let submit = crate::limits::checked_bodies(submit);
            let submitted = crate::retry::with_rate_limits_handled_by_caller(submit).await;
            let within_deadline = started.elapsed() < self.limits.task_deadline;
            match submitted {
                Err(error) if is_task_limit(&error) && within_deadline => {
                    request.refusals += 1;
                    let pause = self.site.budget.pause(None);
                    tracing::debug!(
                        refusals = request.refusals,
                        pause_ms = pause.as_millis() as u64,
                        "task limit reached; every submission paused"
                    );
                }
                Err(error @ Error::RateLimited { .. }) if within_deadline => {
                    let rate_limit = error.rate_limit().cloned().unwrap_or_default();
                    // A quota used up lets nothing through until it resets: every submission
                    // waits for that (a nightly import waits patiently) within the deadline.
                    // Unsaid (or already past): the latest the quota can reset, one window.
                    let wait = if rate_limit.quota_exhausted() {
                        match rate_limit.resets_within() {
                            Some(wait) if started.elapsed() + wait < self.limits.task_deadline => {
                                Some(wait)
                            }
                            _ => {
                                self.site.budget.refuse_all(&error);
                                return Err(error);
                            }
                        }
                    } else {
                        rate_limit.retry_after
                    };
                    let pause = self.site.budget.pause(wait);
                    tracing::debug!(
                        pause_ms = pause.as_millis() as u64,
                        quota = rate_limit.quota_exhausted(),
                        "rate limited; every submission paused"
                    );
                }
                Ok(task) => {
                    self.site.budget.accepted();
                    return Ok((task.id, sent_at));
                }
                Err(error) => return Err(error),
            }
        }
    }
}

/// Runs `write` (which touches the disk) off the async threads.
async fn blocking(write: impl FnOnce() -> Result<(), Error> + Send + 'static) -> Result<(), Error> {
    tokio::task::spawn_blocking(write)
        .await
        .unwrap_or_else(|e| {
            Err(Error::Internal(format!(
                "a state write was interrupted: {e}"
            )))
        })
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
