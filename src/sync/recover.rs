//! The requests an interrupted run left in flight, seen to their end before anything else: polled
//! by their task id, or sent again under their key with their body.

use super::entity::SyncEndpoint;
use super::job::{count_deleted, now, on_state, Job};
use super::report::{SyncFailure, SyncReport};
use super::state::{PendingRequest, Tracked};
use crate::bulk::{self, BulkRequest, RecordOutcome};
use crate::error::Error;
use crate::Client;
use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

/// Sees the requests an earlier run left in flight to their end: polled by task id, or sent
/// again under their key with their body. Returns the items whose end they told (confirmed or
/// failed): this run does not send those again. A request whose end cannot be known (its task
/// expired) tells nothing: its items still in the input are sent again by this run under its
/// own keys, and the others are reported unconfirmed.
pub(super) async fn recover<E: SyncEndpoint>(
    job: &Job<'_, E>,
    report: &mut SyncReport,
) -> Result<HashSet<(String, String, String)>, Error> {
    let pending = on_state(&job.state, &job.path, |state| state.pending(E::ENTITY)).await?;
    let mut carried = HashSet::new();
    let client = job.client;
    let deadline = job.options.task_deadline;
    for request in pending {
        // Stopped: the requests left wait for the next run, as they are.
        if job.stop.is_stopped() {
            break;
        }
        let records: Vec<E::Record> =
            serde_json::from_str(&request.body).map_err(|e| Error::State {
                path: job.path.clone(),
                message: format!(
                    "the body of pending request {} cannot be read: {e}",
                    request.idempotency_key
                ),
            })?;
        let key = request.idempotency_key.clone();
        let task_id = match request.task_id.clone() {
            Some(task_id) => task_id,
            None => match submit_again::<E>(client, &records, &key, deadline).await {
                Ok(task_id) => {
                    let (k, t) = (key.clone(), task_id.clone());
                    on_state(&job.state, &job.path, move |s| s.submitted(&k, &t)).await?;
                    task_id
                }
                // Refused: nothing was done under this key, and its items are sent again below
                // (or by the next run) like any other.
                Err(error) if error.provably_not_processed() => {
                    forget(job, &key).await?;
                    continue;
                }
                Err(error) => return Err(error),
            },
        };
        let ended = client
            .wait_for_task(task_id.clone())
            .deadline(deadline)
            .await;
        let task = match ended {
            Ok(outcome) => outcome.task().clone(),
            // Its result expired (kept 3 days): what it did is not known.
            Err(Error::TaskNotFound { .. }) => {
                expired(job, &request, report).await?;
                continue;
            }
            Err(error) => return Err(error),
        };
        report.counts.recovered_requests += 1;
        let positions = (0..records.len()).collect();
        let request_of = BulkRequest {
            records: positions,
            idempotency_key: key.clone(),
            task_id: Some(task_id.clone()),
            status: Some(task.status.clone()),
            polls: 0,
            refusals: 0,
        };
        let result =
            bulk::outcomes::<E>(request_of, &records, &task_id, &task.status, &task.failures);
        let mut by_position: BTreeMap<usize, Vec<Tracked>> = BTreeMap::new();
        for pending in request.items {
            by_position
                .entry(pending.position)
                .or_default()
                .push(pending.item);
        }
        let mut confirmed = Vec::new();
        let mut unconfirmed = false;
        for (position, outcome) in result.records {
            let items = by_position.remove(&position).unwrap_or_default();
            // Its end is known (confirmed or failed): not sent again by this run.
            for item in &items {
                carried.insert(carried_key(item));
            }
            match outcome {
                RecordOutcome::Succeeded => confirmed.extend(items),
                outcome => {
                    unconfirmed |= matches!(outcome, RecordOutcome::Unconfirmed(_));
                    report.failures.push(SyncFailure {
                        row: None,
                        key: items.first().map(Tracked::state_key),
                        outcome,
                    })
                }
            }
        }
        count_deleted(report, &confirmed);
        let k = key.clone();
        // A record the ended task left unconfirmed keeps the request pending: the next run asks
        // the site again, and never sends it under a second key while the site may know it.
        on_state(&job.state, &job.path, move |s| {
            s.finished(E::ENTITY, Some(&k), unconfirmed, &confirmed, now())
        })
        .await?;
    }
    Ok(carried)
}

/// How an item a request carried is matched with the records to send: key, field, content.
pub(super) fn carried_key(item: &Tracked) -> (String, String, String) {
    (
        item.key.clone(),
        item.field.clone(),
        item.fingerprint.clone().unwrap_or_default(),
    )
}

/// A request whose task the site no longer knows: forgotten, its records still in the input are
/// sent by this run under its own keys (they are new or changed to the state, which never
/// confirmed them), and those no longer in it are reported unconfirmed.
async fn expired<E: SyncEndpoint>(
    job: &Job<'_, E>,
    request: &PendingRequest,
    report: &mut SyncReport,
) -> Result<(), Error> {
    report.counts.expired_requests += 1;
    let items: Vec<(String, String)> = request
        .items
        .iter()
        .filter(|p| p.item.fingerprint.is_some())
        .map(|p| (p.item.key.clone(), p.item.field.clone()))
        .collect();
    let in_input = on_state(&job.state, &job.path, move |s| s.seen_of(&items)).await?;
    let task = request.task_id.clone().unwrap_or_default();
    for (pending, seen) in request
        .items
        .iter()
        .filter(|p| p.item.fingerprint.is_some())
        .zip(in_input)
    {
        if !seen {
            report.failures.push(SyncFailure {
                row: None,
                key: Some(pending.item.state_key()),
                outcome: RecordOutcome::Unconfirmed(std::sync::Arc::new(Error::TaskNotFound {
                    task_id: task.clone(),
                })),
            });
        }
    }
    forget(job, &request.idempotency_key).await
}

pub(super) async fn forget<E: SyncEndpoint>(job: &Job<'_, E>, key: &str) -> Result<(), Error> {
    let key = key.to_string();
    on_state(&job.state, &job.path, move |s| {
        s.finished(E::ENTITY, Some(&key), false, &[], now())
    })
    .await
}

/// Sends a request again under its key, waiting out "Maximum number of tasks reached" up to
/// `deadline`.
pub(super) async fn submit_again<E: SyncEndpoint>(
    client: &Client,
    records: &[E::Record],
    key: &str,
    deadline: Duration,
) -> Result<String, Error> {
    let started = Instant::now();
    let mut pause = Duration::from_millis(500);
    loop {
        match E::submit(client, records.to_vec(), key.to_string()).await {
            Ok(task) => return Ok(task.id),
            Err(error) if bulk::is_task_limit(&error) && started.elapsed() + pause < deadline => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(5));
            }
            Err(error) => return Err(error),
        }
    }
}
