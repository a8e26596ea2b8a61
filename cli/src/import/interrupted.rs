//! What an import interrupted by Ctrl-C did, and the exact command that resumes it.

use super::ImportArgs;
use crate::input::{failures, BadRow};
use crate::terminal::tell;
use std::collections::BTreeMap;
use std::process::ExitCode;

/// The outcomes an interrupted import saw.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Outcomes {
    /// Valid records in the file.
    pub records: usize,
    pub succeeded: usize,
    /// Read but not sent (the import was stopped before their request).
    pub not_sent: usize,
    /// In tasks not seen to their end.
    pub unconfirmed: usize,
    /// Stopped at the second Ctrl-C, without waiting for the requests under way.
    pub stopped_now: bool,
}

/// What an interrupted import did, and the command that resumes it (exit code 130).
pub(super) fn report(
    args: &ImportArgs,
    outcomes: &Outcomes,
    failed: &BTreeMap<usize, (u64, String)>,
    bad_rows: &BTreeMap<usize, BadRow>,
) -> anyhow::Result<ExitCode> {
    let Outcomes {
        records,
        succeeded,
        not_sent,
        unconfirmed: unknown,
        stopped_now,
    } = *outcomes;
    let failed_count = failed.len() - not_sent - unknown;
    // Records the import never read were not sent either.
    let not_sent = not_sent + records.saturating_sub(succeeded + failed.len());
    tell!(
        "csm: interrupted: {succeeded} of {records} records succeeded, {failed_count} failed, \
         {unknown} in tasks not seen to their end{}, {not_sent} not sent",
        if stopped_now {
            " (stopped at the second Ctrl-C)"
        } else {
            ""
        }
    );
    let again = crate::interrupt::command_line();
    match &args.journal {
        Some(journal) => tell!(
            "csm: to resume (the journal {} sends only what no task finished): {again}",
            journal.display()
        ),
        None => tell!(
            "csm: to resume, run it again: {again} (requests already sent go again under their \
             keys, which the site does not apply twice within 3 days; with --journal FILE, \
             nothing finished is sent again)"
        ),
    }
    if let Some(path) = &args.input.failures {
        let mut rows: BTreeMap<usize, String> = bad_rows
            .iter()
            .map(|(position, bad)| (*position, format!("invalid: {bad}")))
            .collect();
        rows.extend(failed.iter().map(|(p, (_, reason))| (*p, reason.clone())));
        let written = failures::write(&args.input.file, args.input.format(), path, &rows)?;
        tell!("csm: {written} rows written to {}", path.display());
    }
    for (key, value) in [
        ("succeeded", succeeded),
        ("failed", failed_count),
        ("unconfirmed", unknown),
        ("not_sent", not_sent),
    ] {
        crate::summary::set(key, value);
    }
    crate::summary::set("interrupted", true);
    crate::summary::set("resume", again);
    Ok(ExitCode::from(crate::interrupt::INTERRUPTED))
}
