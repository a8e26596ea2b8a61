//! Sending records through the bulk endpoint: each request kept in the state before it is sent
//! and with the task it started, and what each finished request confirmed written in one
//! transaction.

use super::entity::SyncEndpoint;
use super::job::{count_deleted, now, on_state, Job, Shared, PAGE};
use super::recover::carried_key;
use super::report::{SyncFailure, SyncProgress, SyncReport};
use super::state::{PendingItem, Tracked};
use crate::bulk::observer::{PlannedRequest, RequestObserver};
use crate::bulk::{BulkImport, RecordOutcome};
use crate::error::Error;
use futures::stream::{self, Stream, StreamExt};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// The items an earlier run's requests carried whose end was just seen: (key, field, content).
pub(super) type Carried = Arc<HashSet<(String, String, String)>>;

/// The records to send from position `from` on, read back from the state as the import asks for
/// them, less the items an earlier run's request carried with the same content (their end was
/// just seen). `next` is kept at the position after the last record yielded.
pub(super) fn todo_stream<'j, E: SyncEndpoint>(
    job: &'j Job<'_, E>,
    carried: Carried,
    from: usize,
    next: Arc<AtomicUsize>,
) -> impl Stream<Item = ToSend<E::Record>> + Send + 'j {
    let state = job.state.clone();
    let path = job.path.clone();
    stream::unfold(Some(from), move |from| {
        let (state, path) = (state.clone(), path.clone());
        async move {
            let from = from?;
            let page = {
                let path = path.clone();
                on_state(&state, &path, move |s| s.todo(from, PAGE)).await
            };
            match page {
                Ok(page) if page.is_empty() => None,
                Ok(page) => {
                    let next = page.last().map_or(from, |(position, ..)| position + 1);
                    Some((Ok(page), Some(next)))
                }
                Err(error) => Some((Err(error), None)),
            }
        }
    })
    .flat_map(|page| {
        stream::iter(match page {
            Ok(rows) => rows.into_iter().map(Ok).collect::<Vec<_>>(),
            Err(error) => vec![Err(error)],
        })
    })
    // One record at a time, as the import reads it, so `next` says how far it read.
    .filter_map(move |row| {
        let read = row.and_then(|(position, row, record, items)| {
            next.store(position + 1, Ordering::SeqCst);
            let decoded = serde_json::from_str::<E::Record>(&record)
                .and_then(|r| Ok((r, serde_json::from_str::<Vec<Tracked>>(&items)?)));
            decoded
                .map(|decoded| (row, decoded))
                .map_err(|e| Error::State {
                    path: job.path.clone(),
                    message: format!("a record to send could not be read back: {e}"),
                })
        });
        let to_send = match read {
            Err(error) => Some(Err(error)),
            Ok((row, (record, items))) => {
                let items: Vec<Tracked> = items
                    .into_iter()
                    .filter(|t| !carried.contains(&carried_key(t)))
                    .collect();
                let fields: Vec<&str> = items.iter().map(|t| t.field.as_str()).collect();
                (!items.is_empty()).then(|| {
                    let record = E::only(record, &fields);
                    Ok((Some(row), record, items.clone()))
                })
            }
        };
        std::future::ready(to_send)
    })
}

/// A record to send: its row in the input (none for a deletion), and the items it carries.
pub(super) type ToSend<R> = Result<(Option<usize>, R, Vec<Tracked>), Error>;

/// What the import knows of a record in flight, by its index in the import.
pub(super) type InFlight = Arc<Mutex<HashMap<usize, (Option<usize>, Vec<Tracked>)>>>;

/// Keeps each request in the state before it is sent, and the task it started.
pub(super) struct StateObserver {
    state: Shared,
    entity: &'static str,
    in_flight: InFlight,
}

impl RequestObserver for StateObserver {
    fn keeps_bodies(&self) -> bool {
        true
    }

    fn planned(&self, request: &PlannedRequest<'_>) -> Result<(), Error> {
        let items: Vec<PendingItem> = {
            let in_flight = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
            request
                .indexes
                .iter()
                .enumerate()
                .flat_map(|(position, index)| {
                    in_flight
                        .get(index)
                        .map(|(_, items)| items.clone())
                        .unwrap_or_default()
                        .into_iter()
                        .map(move |item| PendingItem { position, item })
                })
                .collect()
        };
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.planned(self.entity, request.key, request.body, &items, now())
    }

    fn submitted(&self, _number: usize, key: &str, task_id: &str) -> Result<(), Error> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.submitted(key, task_id)
    }
}

/// Sends records through the bulk endpoint and writes to the state what each finished request
/// confirmed.
pub(super) struct Sender<'j, 'a, E: SyncEndpoint> {
    job: &'j Job<'a, E>,
    /// Mixed into every idempotency key: a run's requests never share a key with an earlier
    /// run's (content that changed and changed back is sent again, not taken for the old task).
    namespace: String,
    to_send: usize,
}

impl<'j, 'a, E: SyncEndpoint> Sender<'j, 'a, E> {
    pub(super) fn new(job: &'j Job<'a, E>, to_send: usize) -> Self {
        Self {
            job,
            namespace: format!("sync {}", uuid::Uuid::new_v4()),
            to_send,
        }
    }

    /// Sends `records` (`expected` of them at most). `checked`: they were checked when compared
    /// with the state (the records to send, and the parts of them still to send: a record's
    /// detail operations less some, which a valid record's are), so the import does not check
    /// them again; the sync's own (deletions) are checked as any import's.
    pub(super) async fn send(
        &self,
        records: impl Stream<Item = ToSend<E::Record>> + Send + 'j,
        expected: usize,
        report: &mut SyncReport,
        checked: bool,
    ) -> Result<(), Error> {
        let job = self.job;
        let in_flight: InFlight = Arc::default();
        let source_failure: Arc<Mutex<Option<Error>>> = Arc::default();
        let registered = in_flight.clone();
        let failure = source_failure.clone();
        let mut index = 0;
        // A record that cannot be read back ends the input; its error ends the sync.
        let source = records
            .map(move |item| match item {
                Ok(item) => Some(item),
                Err(error) => {
                    *failure.lock().unwrap_or_else(|e| e.into_inner()) = Some(error);
                    None
                }
            })
            .take_while(|item| std::future::ready(item.is_some()))
            .filter_map(move |item| {
                let (row, record, items) = item.expect("taken while some");
                registered
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(index, (row, items));
                index += 1;
                std::future::ready(Some(record))
            });
        let observer = Arc::new(StateObserver {
            state: job.state.clone(),
            entity: E::ENTITY,
            in_flight: in_flight.clone(),
        });
        let (rows, to_send) = (report.counts.rows, self.to_send);
        let progress = job.on_progress.clone();
        let mut import = BulkImport::<E>::new(job.client, source)
            .stopped_by(job.stop.clone())
            .max_in_flight(job.options.max_in_flight)
            .task_deadline(job.options.task_deadline)
            .idempotency_namespace(self.namespace.clone())
            // The records it will send (at most: those an interrupted run left in flight were
            // seen to their end first), so that the time left counts all of them.
            .expected_records(expected)
            .lanes(job.options.lanes)
            .records_checked(checked)
            .observer(observer);
        if let Some(progress) = progress {
            import = import.on_progress(move |p| {
                progress(&SyncProgress {
                    rows_read: rows,
                    input_read: true,
                    to_send,
                    sent_finished: p.finished_records,
                    waiting_tasks: p.waiting_tasks,
                    estimated_time_left: p.estimated_time_left(),
                })
            });
        }
        let mut results = std::pin::pin!(import.stream());
        while let Some(result) = results.next().await {
            let result = result?;
            let mut confirmed = Vec::new();
            let mut unconfirmed = false;
            {
                let mut in_flight = in_flight.lock().unwrap_or_else(|e| e.into_inner());
                for (index, outcome) in result.records {
                    let (row, items) = in_flight.remove(&index).unwrap_or_default();
                    match outcome {
                        RecordOutcome::Succeeded => confirmed.extend(items),
                        // Stopped before it was sent: not a failure, the next run sends it.
                        RecordOutcome::NotSubmitted(error) if matches!(*error, Error::Stopped) => {
                            report.counts.not_sent += 1;
                        }
                        outcome => {
                            unconfirmed |= matches!(outcome, RecordOutcome::Unconfirmed(_));
                            report.failures.push(SyncFailure {
                                row,
                                key: items.first().map(Tracked::state_key),
                                outcome,
                            });
                        }
                    }
                }
            }
            count_deleted(report, &confirmed);
            let key = result.request.map(|request| request.idempotency_key);
            on_state(&job.state, &job.path, move |s| {
                s.finished(E::ENTITY, key.as_deref(), unconfirmed, &confirmed, now())
            })
            .await?;
        }
        let failed = source_failure
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        failed.map_or(Ok(()), Err)
    }
}
