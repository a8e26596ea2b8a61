//! `csm import ENTITY FILE`: a CSV or JSON Lines file loaded through a bulk endpoint.
//!
//! 1. Every row is checked (its cells, then the record against the API's documented limits);
//!    bad rows are printed with their line, column and reason, and nothing is sent unless
//!    `--skip-invalid`.
//! 2. `--dry-run` stops there with the plan.
//! 3. The file is read again as the import goes (memory does not grow with it), with progress.
//! 4. `--failures FILE` gets every row that did not succeed, unchanged, with the reason added.

mod interrupted;

use crate::config::Connection;
use crate::entity::Entity;
use crate::exit;
use crate::input::{check, failures, valid_records, FileArgs, Positions, BAD_ROWS_SHOWN};
use crate::progress::waiting;
use crate::progress::{duration, Progress};
use crate::terminal::{say, tell, Shown};
use atlassian_csm::bulk::{self, BulkEndpoint};
use futures::StreamExt;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

/// A record's time in a bulk task at the only live pace published: 8 minutes per 100 records,
/// one task at a time.
const LIVE_SECONDS_PER_RECORD: f64 = 4.8;

/// `csm import`'s arguments.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "CSV columns name fields of the record (or of its payload): email, \
    displayName, operationType, associateOrganizations.organizationIds; detail:Plan columns hold \
    detail values; several values in one cell are separated by |. Without an operationType \
    column, records are upserts where the endpoint has them. JSON Lines files hold one record per \
    line as the API writes it.\n\nExit code 0 when every record succeeded, 1 when some did not, \
    3 when rows are invalid (nothing is sent).\n\nExample: customers.csv\n\n  \
    email,displayName,detail:Plan,associateOrganizations.organizationIds\n  \
    ada@example.com,Ada Lovelace,Pro,12|14\n  \
    grace@example.com,Grace Hopper,Free,\n\n  \
    csm import customer-profiles customers.csv --dry-run\n  \
    csm import customer-profiles customers.csv --journal import.journal --failures failed.csv"
)]
pub struct ImportArgs {
    /// What the file holds.
    #[arg(value_enum)]
    entity: Entity,
    #[command(flatten)]
    input: FileArgs,
    /// Check the file and print the plan (records, requests, tasks, time); send nothing.
    #[arg(long)]
    dry_run: bool,
    /// Record the import's progress in this file; run the same command again to resume an
    /// interrupted import where it stopped, with nothing sent twice.
    #[arg(long, value_name = "FILE")]
    journal: Option<PathBuf>,
}

/// Runs `csm import`.
pub async fn run(connection: &Connection, args: ImportArgs) -> anyhow::Result<ExitCode> {
    crate::summary::set("entity", args.entity.name());
    crate::summary::set("file", args.input.file.display().to_string());
    crate::summary::set("dry_run", args.dry_run);
    crate::entity::with_bulk_endpoint!(args.entity, |E| import::<E>(connection, args).await)
}

async fn import<E: BulkEndpoint>(
    connection: &Connection,
    args: ImportArgs,
) -> anyhow::Result<ExitCode>
where
    E::Record: serde::de::DeserializeOwned,
{
    let format = args.input.format();

    // 1. Every row checked first.
    let checked = check::<E>(&args.input.file, format)?;
    let (rows_read, records, bad_rows) = (checked.rows, checked.records, checked.bad_rows);
    crate::summary::set("rows", rows_read);
    crate::summary::set("records", records);
    crate::summary::set("invalid", bad_rows.len());
    if !bad_rows.is_empty() && !args.input.skip_invalid && !args.dry_run {
        tell!(
            "csm: {} of {rows_read} rows are invalid; nothing was sent (--skip-invalid imports the others)",
            bad_rows.len()
        );
        return Ok(ExitCode::from(exit::INVALID_INPUT));
    }

    // 2. The plan.
    if args.dry_run {
        let records_again = valid_records::<E>(&args.input.file, format)?
            .map(|(_, _, record)| record.into_record());
        let requests = bulk::requests_for::<E>(records_again);
        let rounds = requests.div_ceil(usize::from(args.input.max_in_flight));
        let seconds = rounds as f64 * args.input.task_seconds;
        say!(
            "{rows_read} rows: {records} records to import, {} invalid",
            bad_rows.len()
        );
        say!(
            "{requests} requests ({} records at most each), so {requests} tasks, {} at once",
            E::MAX_RECORDS,
            args.input.max_in_flight
        );
        say!(
            "estimated time: {} ({rounds} rounds of tasks at {} s a task, --task-seconds)",
            duration(seconds),
            args.input.task_seconds
        );
        // What the same requests take on a site that runs tasks one at a time at the only live
        // pace published (8 minutes per 100 records): the import itself shows the site's own
        // pace as it goes.
        say!(
            "on a site that runs tasks one at a time at a live site's published pace (8 min per 100 records): {}; the import shows the time left at the site's own pace as it goes",
            duration(records as f64 * LIVE_SECONDS_PER_RECORD)
        );
        say!("dry run: nothing was sent");
        let code = if bad_rows.is_empty() || args.input.skip_invalid {
            exit::SUCCESS
        } else {
            exit::INVALID_INPUT
        };
        return Ok(ExitCode::from(code));
    }

    // 3. The import, reading the file again.
    let (client, site) = connection.client_for_site().await?;
    let positions = Positions::with_capacity(records);
    let source = positions.track(valid_records::<E>(&args.input.file, format)?);
    let progress = Progress::new(records as u64, "records");
    let mut import = client
        .import_checked(futures::stream::iter(source))
        // Counted by the check pass: the estimate counts against the whole file from the start.
        .expected_records(records)
        .max_in_flight(usize::from(args.input.max_in_flight))
        .lanes(args.input.lanes.into())
        .on_progress(|p| {
            crate::metrics_file::rate_limit(client.last_rate_limit());
            progress.set_paced(
                p.finished_records as u64,
                p.estimated_time_left(),
                &waiting(p.waiting_tasks),
            )
        });
    if let Some(journal) = &args.journal {
        if let Some(found) = crate::interrupt::journal_summary(journal) {
            tell!("csm: {found}");
        }
        import = import.journal(journal);
    }
    let stop = import.stop_handle();
    let under_way = args.input.max_in_flight;
    let keeps = match &args.journal {
        Some(journal) => format!(" and written to {}", journal.display()),
        None => String::new(),
    };
    let interrupts = crate::interrupt::Interrupts::listen(move || {
        stop.stop();
        tell!(
            "csm: interrupted: no new request is sent; the requests under way (at most \
             {under_way}) are seen to their end{keeps}. Ctrl-C again to stop now."
        );
    });
    let mut results = import.stream();
    // Failed records by their position in the file: their line, and why.
    let mut failed: BTreeMap<usize, (u64, String)> = BTreeMap::new();
    let mut succeeded = 0;
    let mut stopped_now = false;
    let mut outcomes = interrupted::Outcomes::default();
    loop {
        let next = tokio::select! {
            next = results.next() => next,
            () = interrupts.second() => {
                stopped_now = true;
                break;
            }
        };
        let Some(result) = next else { break };
        let result = result?;
        let positions = positions.lock();
        for (index, outcome) in result.records {
            match &outcome {
                atlassian_csm::RecordOutcome::NotSubmitted(error)
                    if matches!(**error, atlassian_csm::Error::Stopped) =>
                {
                    outcomes.not_sent += 1;
                }
                atlassian_csm::RecordOutcome::Unconfirmed(_) => outcomes.unconfirmed += 1,
                _ => {}
            }
            if matches!(outcome, atlassian_csm::RecordOutcome::Succeeded) {
                succeeded += 1;
            } else {
                let (position, line) = positions[index];
                failed.insert(position, (line, outcome.to_string()));
            }
        }
    }
    drop(results);
    // What this import learned of the site's pace, for the next one.
    crate::site_pace::keep(&site, &client.site_pace());
    if interrupts.interrupted() {
        progress.abandon();
    } else {
        progress.finish();
    }
    if interrupts.interrupted() {
        outcomes.records = records;
        outcomes.succeeded = succeeded;
        outcomes.stopped_now = stopped_now;
        return interrupted::report(&args, &outcomes, &failed, &bad_rows);
    }

    // 4. What did not succeed.
    let mut not_imported: BTreeMap<usize, String> = bad_rows
        .into_iter()
        .map(|(position, bad)| (position, format!("invalid: {bad}")))
        .collect();
    let skipped = not_imported.len();
    for (position, (_, reason)) in &failed {
        not_imported.insert(*position, reason.clone());
    }
    crate::summary::set("succeeded", succeeded);
    crate::summary::set("failed", failed.len());
    crate::summary::set("invalid_skipped", skipped);
    say!(
        "{records} records: {succeeded} succeeded, {} failed{}",
        failed.len(),
        if skipped > 0 {
            format!("; {skipped} invalid rows skipped")
        } else {
            String::new()
        }
    );
    for (line, reason) in failed.values().take(BAD_ROWS_SHOWN) {
        tell!(
            "{}: line {line}: {}",
            args.input.file.display(),
            Shown(&reason)
        );
    }
    if let Some(path) = &args.input.failures {
        let written = failures::write(&args.input.file, format, path, &not_imported)?;
        crate::summary::set("failures_file", path.display().to_string());
        crate::summary::set("failures_written", written);
        say!("{written} rows written to {}", path.display());
    }
    let code = if not_imported.is_empty() {
        exit::SUCCESS
    } else {
        exit::INCOMPLETE
    };
    Ok(ExitCode::from(code))
}
