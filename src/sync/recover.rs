//! The requests an interrupted run left in flight, seen to their end before anything else: polled
//! by their task id, or sent again under their key with their body.

use super::entity::SyncEndpoint;
use super::job::{confirmed_items, count_deleted, now, on_state, removed, Job, Tracked};
use super::report::{SyncFailure, SyncReport};
use crate::bulk::{self, BulkRequest, RecordOutcome};
use crate::error::Error;
use crate::Client;
use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

/// Sees the requests an earlier run left in flight to their end: polled by task id, or sent
/// again under their key with their body. Returns the items they carried.
pub(super) async fn recover<E: SyncEndpoint>(
    job: &Job<'_, E>,
    report: &mut SyncReport,
) -> Result<HashSet<(String, String, String)>, Error> {
    let pending = on_state(&job.state, &job.path, |state| state.pending(E::ENTITY)).await?;
    let mut carried = HashSet::new();
    let client = job.client;
    let deadline = job.options.task_deadline;
    for request in pending {
        let records: Vec<E::Record> =
            serde_json::from_str(&request.body).map_err(|e| Error::State {
                path: job.path.clone(),
                message: format!(
                    "the body of pending request {} cannot be read: {e}",
                    request.idempotency_key
                ),
            })?;
        for item in &request.items {
            carried.insert((
                item.key.clone(),
                item.field.clone(),
                item.fingerprint.clone().unwrap_or_default(),
            ));
        }
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
                    carried.retain(|(k, f, _)| {
                        !request.items.iter().any(|i| &i.key == k && &i.field == f)
                    });
                    forget(job, &key).await?;
                    continue;
                }
                Err(error) => return Err(error),
            },
        };
        report.counts.recovered_requests += 1;
        let ended = client
            .wait_for_task(task_id.clone())
            .deadline(deadline)
            .await;
        let task = match ended {
            Ok(outcome) => outcome.task().clone(),
            // Its result expired (kept 3 days): what it did is not known, and its items are
            // compared again by the next run.
            Err(Error::TaskNotFound { .. }) => {
                forget(job, &key).await?;
                continue;
            }
            Err(error) => return Err(error),
        };
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
        for item in request.items {
            by_position.entry(item.position).or_default().push(Tracked {
                key: item.key,
                field: item.field,
                fingerprint: item.fingerprint,
            });
        }
        let mut confirmed = Vec::new();
        for (position, outcome) in result.records {
            let items = by_position.remove(&position).unwrap_or_default();
            match outcome {
                RecordOutcome::Succeeded => confirmed.extend(items),
                outcome => report.failures.push(SyncFailure {
                    row: None,
                    key: items.first().map(Tracked::state_key),
                    outcome,
                }),
            }
        }
        count_deleted(report, &confirmed);
        let k = key.clone();
        on_state(&job.state, &job.path, move |s| {
            s.finished(
                E::ENTITY,
                Some(&k),
                false,
                &confirmed_items(&confirmed),
                &removed(&confirmed),
                now(),
            )
        })
        .await?;
    }
    Ok(carried)
}

pub(super) async fn forget<E: SyncEndpoint>(job: &Job<'_, E>, key: &str) -> Result<(), Error> {
    let key = key.to_string();
    on_state(&job.state, &job.path, move |s| {
        s.finished(E::ENTITY, Some(&key), false, &[], &[], now())
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
