//! A sync from end to end: the local pass, what an interrupted run left in flight, the import of
//! what changed, the deletions; and the plan of a run, which sends nothing.

use super::delete::delete_absent;
use super::diff::{absent_items, absent_keys, deletion_decision, local_pass};
use super::entity::SyncEndpoint;
use super::history::RecordedRun;
use super::job::{now, on_state, open, PAGE};
use super::open::Mode;
use super::recover::recover;
use super::report::{SyncPlan, SyncReport};
use super::send::{todo_stream, Sender};
use super::settings::Settings;
use super::store::State;
use crate::bulk::{self};
use crate::error::Error;

/// [`SyncImport::plan`].
pub(super) async fn plan<E: SyncEndpoint>(settings: Settings<'_, E>) -> Result<SyncPlan, Error> {
    let (job, source) = open(settings, Mode::Plan).await?;
    let diff = local_pass(&job, source).await?;
    let absent = absent_items::<E>(&job, &diff).await?;
    let (to_delete, deletion_refused) = deletion_decision::<E>(&job, &diff, &absent);
    let requests = on_state(&job.state, &job.path, |state| {
        let mut failed = None;
        let records = todo_records::<E>(state, &mut failed);
        let requests = bulk::requests_for::<E>(records);
        failed.map_or(Ok(requests), Err)
    })
    .await?;
    let (pending_requests, last_pace) = on_state(&job.state, &job.path, |state| {
        Ok((state.pending(E::ENTITY)?.len(), state.last_pace(E::ENTITY)?))
    })
    .await?;
    let mut counts = diff.counts;
    counts.absent = absent.len();
    Ok(SyncPlan {
        counts,
        requests,
        deletions: to_delete.len(),
        to_delete,
        deletion_refused,
        absent: absent_keys(&absent),
        pending_requests,
        last_pace,
    })
}

/// Every record to send, read back page by page; a read error stops it and is left in `failed`.
fn todo_records<'s, E: SyncEndpoint>(
    state: &'s mut State,
    failed: &'s mut Option<Error>,
) -> impl Iterator<Item = E::Record> + 's {
    let mut from = 0;
    std::iter::from_fn(move || {
        if failed.is_some() {
            return None;
        }
        match state.todo(from, PAGE) {
            Ok(page) if page.is_empty() => None,
            Ok(page) => {
                from += page.len();
                Some(page)
            }
            Err(error) => {
                *failed = Some(error);
                None
            }
        }
    })
    .flatten()
    .filter_map(|(_, _, record, _)| serde_json::from_str::<E::Record>(&record).ok())
}

/// [`SyncImport`]'s run.
pub(super) async fn sync<E: SyncEndpoint>(settings: Settings<'_, E>) -> Result<SyncReport, Error> {
    let (job, source) = open(settings, Mode::Run).await?;
    let diff = local_pass(&job, source).await?;
    let absent = absent_items::<E>(&job, &diff).await?;
    let (to_delete, deletion_refused) = deletion_decision::<E>(&job, &diff, &absent);
    let mut report = SyncReport {
        counts: diff.counts,
        failures: diff.failures,
        absent: absent_keys(&absent),
        deletion_refused,
        stopped: diff.stopped,
    };
    report.counts.absent = report.absent.len();
    if report.stopped {
        // Stopped while reading: nothing was sent, and the next run reads the input again.
        report.counts.not_sent = diff.to_send;
        report.counts.failed = report.failures.len();
        return Ok(report);
    }

    // What an interrupted run left in flight ends first; its items are not sent again now.
    let carried = recover::<E>(&job, &mut report).await?;

    let carried = std::sync::Arc::new(carried);
    let next = std::sync::Arc::<std::sync::atomic::AtomicUsize>::default();
    let sender = Sender::<E>::new(&job, diff.to_send);
    let todo = todo_stream::<E>(&job, carried.clone(), 0, next.clone());
    sender.send(todo, diff.to_send, &mut report, true).await?;

    if job.stop.is_stopped() {
        // The records the import never read are not sent either.
        report.stopped = true;
        let from = next.load(std::sync::atomic::Ordering::SeqCst);
        let unread = todo_stream::<E>(&job, carried, from, next);
        report.counts.not_sent += futures::StreamExt::count(unread).await;
    } else if !to_delete.is_empty() {
        delete_absent::<E>(&job, &sender, &to_delete, &mut report).await?;
    }

    report.counts.failed = report.failures.len();
    let c = &report.counts;
    let mut run = RecordedRun {
        entity: E::ENTITY.to_string(),
        started_at: job.started_at,
        finished_at: 0,
        new: c.new as u64,
        changed: c.changed as u64,
        resent: c.resent as u64,
        unchanged: c.unchanged as u64,
        absent: c.absent as u64,
        deleted: c.deleted as u64,
        failed: c.failed as u64,
    };
    let pace = job.client.site_pace();
    on_state(&job.state, &job.path, move |state| {
        run.finished_at = now();
        if !pace.is_unknown() {
            state.keep_site_pace(&pace)?;
        }
        state.record_run(&run)
    })
    .await?;
    Ok(report)
}
