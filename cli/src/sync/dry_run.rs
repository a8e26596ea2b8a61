//! `csm sync --dry-run`: what a run would send and delete, said and in the JSON summary;
//! nothing is sent, and nothing written.

use super::SyncArgs;
use crate::exit;
use crate::progress::duration;
use crate::terminal::{say, Shown};
use atlassian_csm::sync::{SyncEndpoint, SyncImport};
use std::process::ExitCode;

/// Plans `job` and says what a run would do.
pub(super) async fn dry_run<E: SyncEndpoint>(
    job: SyncImport<'_, E>,
    args: &SyncArgs,
    invalid: usize,
) -> anyhow::Result<ExitCode> {
    let plan = job.plan().await?;
    let c = plan.counts;
    say!(
        "{} rows: {} new, {} changed, {} to send again unchanged, {} unchanged, {} absent, {invalid} invalid",
        c.rows + invalid,
        c.new,
        c.changed,
        c.resent,
        c.unchanged,
        c.absent
    );
    let to_send = c.new + c.changed + c.resent;
    let seconds = match plan.last_pace {
        // The site's own pace, as the last run that sent records saw it.
        Some(pace) => {
            let seconds = to_send as f64 / pace;
            say!(
                "{} requests: about {} at the pace of the last run ({pace:.1} records/s)",
                plan.requests,
                duration(seconds)
            );
            seconds
        }
        None => {
            let rounds = plan
                .requests
                .div_ceil(usize::from(args.input.max_in_flight));
            let seconds = rounds as f64 * args.input.task_seconds;
            say!(
                "{} requests, {} tasks at once: about {} at {} s a task (no earlier run to take the site's pace from)",
                plan.requests,
                args.input.max_in_flight,
                duration(seconds),
                args.input.task_seconds
            );
            seconds
        }
    };
    if c.rows == 0 {
        say!("the file holds no records: nothing is taken as absent");
    }
    if args.delete_absent {
        say!("{} absent items would be deleted", plan.deletions);
        for key in &plan.to_delete {
            say!("would delete: {}", Shown(&key.to_string()));
        }
    }
    if let Some(refused) = &plan.deletion_refused {
        say!("{}", Shown(refused));
    }
    if plan.pending_requests > 0 {
        say!(
            "{} requests of an interrupted run are pending: the next run sees them to their end first",
            plan.pending_requests
        );
    }
    for (key, value) in [
        ("rows", c.rows + invalid),
        ("new", c.new),
        ("changed", c.changed),
        ("resent", c.resent),
        ("unchanged", c.unchanged),
        ("absent", c.absent),
        ("invalid", invalid),
        ("requests", plan.requests),
        ("deletions", plan.deletions),
        ("pending_requests", plan.pending_requests),
    ] {
        crate::summary::set(key, value);
    }
    crate::summary::set("dry_run", true);
    crate::summary::set("estimated_seconds", seconds.round());
    let to_delete: Vec<String> = plan.to_delete.iter().map(ToString::to_string).collect();
    crate::summary::set("to_delete", to_delete);
    if let Some(refused) = &plan.deletion_refused {
        crate::summary::set("deletion_refused", refused);
    }
    say!("dry run: nothing was sent, and nothing was written");
    let code = if invalid == 0 || args.input.skip_invalid {
        exit::SUCCESS
    } else {
        exit::INVALID_INPUT
    };
    Ok(ExitCode::from(code))
}
