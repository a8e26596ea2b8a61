//! `csm sync ENTITY FILE --state FILE`: `csm import` that sends only what changed since the last
//! run, with the same columns, checks, progress, `--failures` and exit codes.
//!
//! It ends with one line, `N new, M changed, K unchanged, A absent, D deleted, F failed`, and
//! writes the keys that left the source to a file.

mod dry_run;

use crate::config::Connection;
use crate::entity::SyncEntity;
use crate::exit;
use crate::input::{check, failures, rechecked_records, FileArgs, Positions, BAD_ROWS_SHOWN};
use crate::progress::waiting;
use crate::progress::Progress;
use crate::terminal::{say, tell, Shown};
use atlassian_csm::sync::{SyncEndpoint, SyncImport, SyncReport};
use std::collections::BTreeMap;
use std::future::IntoFuture;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// The cron line `csm sync --help` shows (a macro, for `concat!`).
macro_rules! nightly_cron_line {
    () => {
        "0 2 * * * csm sync customer-profiles /data/crm.csv --state /var/lib/csm/customers.db \
         --resend-older-than 7d --failures /var/log/csm/failed.csv"
    };
}

/// The cron line `csm sync --help` shows: printed on one line whatever the terminal's width, so
/// that it can be pasted into a crontab (see `usage`).
pub(crate) const NIGHTLY_CRON_LINE: &str = nightly_cron_line!();

/// What `csm sync --help` says after the flags.
const AFTER_HELP: &str = concat!(
    "The file's columns are those of `csm import`. A row whose key and content the state holds \
     is not sent; a record is written to the state only once its task succeeded, so what failed \
     is sent again by the next run.\n\nA nightly cron line (one line, however wide):\n  ",
    nightly_cron_line!(),
    "\n\nExit code 0 when everything sent succeeded, 1 when some did not (or deletions were \
     refused), 3 when rows are invalid, the state is another site's or another sync holds it \
     (nothing is sent), 130 when stopped by Ctrl-C or SIGTERM (the same command resumes)."
);

/// `csm sync`'s arguments.
#[derive(clap::Args, Debug)]
#[command(after_help = AFTER_HELP)]
pub struct SyncArgs {
    /// What the file holds.
    #[arg(value_enum)]
    entity: SyncEntity,
    #[command(flatten)]
    input: FileArgs,
    /// The state, created if missing: what earlier runs confirmed. An SQLite file, or a
    /// PostgreSQL database (`postgres://user@host/db`; the password from `PGPASSWORD`) shared by
    /// many sites, entities and machines.
    #[arg(long, value_name = "FILE|URL")]
    state: PathBuf,
    /// Compare the file with the state and print what would be sent (new, changed, unchanged,
    /// absent, requests, time); send nothing and change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Where to write the keys the state holds and the file does not, one a line (default: the
    /// state's path with `.absent.txt` added).
    #[arg(long, value_name = "FILE")]
    absent: Option<PathBuf>,
    /// Delete on the site what left the file (detail values cleared; accounts and
    /// organizations known by id deleted), unless more than --max-delete of the state would go.
    #[arg(long)]
    delete_absent: bool,
    /// The largest share of the state one run may delete, in percent.
    #[arg(long, default_value_t = 10.0, value_name = "PERCENT")]
    max_delete: f64,
    /// Send again rows confirmed longer ago than this (`7d`, `36h`, `90m`), spread over runs.
    #[arg(long, value_name = "AGE", value_parser = parse_age)]
    resend_older_than: Option<Duration>,
    /// Send every row, changed or not, and refresh the state.
    #[arg(long)]
    full: bool,
    /// The state's site moved to this one (migrated with its data, or its cloud id renamed):
    /// rebind the state to it. Without it, a state of another site is refused.
    #[arg(long)]
    site_moved: bool,
    /// Add this entity to a state that holds others. Without it, such a state is refused, as one
    /// named by mistake would be.
    #[arg(long)]
    add_entity: bool,
}

/// An error naming records by their index (`customerProfiles[2]`, `record 0's`), said with
/// their lines in the file instead: (`line 4`, `… is line 2's too …`).
fn in_lines(
    error: &atlassian_csm::Error,
    line_of: impl Fn(usize) -> Option<u64>,
) -> Option<(String, String)> {
    let place = |field: &atlassian_csm::FieldPath| {
        field
            .record()
            .and_then(&line_of)
            .map_or_else(|| field.to_string(), |line| format!("line {line}"))
    };
    match error {
        atlassian_csm::Error::InvalidInput { field, message } => {
            Some((place(field), message.clone()))
        }
        atlassian_csm::Error::DuplicateKey {
            field,
            key,
            record,
            first_record,
        } => {
            let message = if record == first_record {
                format!("it names {key} twice")
            } else {
                let first = line_of(*first_record)
                    .map_or_else(|| format!("record {first_record}"), |l| format!("line {l}"));
                format!("its key {key} is {first}'s too: a key may appear once in a sync's input")
            };
            Some((place(field), message))
        }
        _ => None,
    }
}

/// `7d`, `36h`, `90m`, `45s`.
fn parse_age(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not an age such as 7d, 36h or 90m"))?;
    let seconds = match unit {
        "d" => 86_400,
        "h" => 3_600,
        "m" => 60,
        "s" | "" => 1,
        _ => return Err(format!("{text:?}: the unit is d, h, m or s")),
    };
    Ok(Duration::from_secs(number.saturating_mul(seconds)))
}

/// Runs `csm sync`.
pub async fn run(connection: &Connection, args: SyncArgs) -> anyhow::Result<ExitCode> {
    crate::summary::set("entity", args.entity.entity().name());
    crate::entity::with_sync_endpoint!(args.entity, |E| sync::<E>(connection, args).await)
}

async fn sync<E: SyncEndpoint>(
    connection: &Connection,
    args: SyncArgs,
) -> anyhow::Result<ExitCode> {
    let format = args.input.format();
    let checked = check::<E>(&args.input.file, format)?;
    if !checked.bad_rows.is_empty() && !args.input.skip_invalid && !args.dry_run {
        tell!(
            "csm: {} of {} rows are invalid; nothing was sent (--skip-invalid syncs the others)",
            checked.bad_rows.len(),
            checked.rows
        );
        return Ok(ExitCode::from(exit::INVALID_INPUT));
    }
    let client = connection.client().await?;
    let positions = Positions::with_capacity(checked.records);
    let source = positions.track_read(rechecked_records::<E>(&args.input.file, format, &checked)?);
    // Invalid rows never reach the sync: their records could be taken for absent ones.
    let may_delete = args.delete_absent && checked.bad_rows.is_empty();
    let job = configure(
        client.sync_checked::<E, String>(futures::stream::iter(source)),
        &args,
    )
    .delete_absent(may_delete);

    if args.dry_run {
        return dry_run::dry_run::<E>(job, &args, checked.bad_rows.len()).await;
    }

    let rows = checked.records as u64;
    let reading = Progress::new(rows, "rows compared");
    let sending = std::sync::OnceLock::<Progress>::new();
    let job = job.on_progress(|p| {
        crate::metrics_file::rate_limit(client.last_rate_limit());
        if !p.input_read {
            reading.set(p.rows_read as u64);
        } else if p.to_send > 0 {
            reading.finish();
            sending
                .get_or_init(|| Progress::new(p.to_send as u64, "records sent"))
                .set_paced(
                    p.sent_finished as u64,
                    p.estimated_time_left,
                    &waiting(p.waiting_tasks),
                );
        }
    });
    let stop = job.stop_handle();
    let under_way = args.input.max_in_flight;
    let interrupts = crate::interrupt::Interrupts::listen(move || {
        stop.stop();
        tell!(
            "csm: interrupted: no new request is sent; the requests under way (at most \
             {under_way}) are seen to their end and written to the state. Ctrl-C again to stop now."
        );
    });
    let outcome = tokio::select! {
        outcome = job.into_future() => outcome,
        () = interrupts.second() => return stopped_now(&reading, &sending),
    };
    let report = match outcome {
        Ok(report) => report,
        // Records are named by their line in the file, as every other message of the command.
        Err(error) => {
            let positions = positions.lock();
            let line_of = |index: usize| positions.get(index).map(|(_, line)| *line);
            let Some((line, message)) = in_lines(&error, line_of) else {
                return Err(error.into());
            };
            tell!("{}: {line}: {}", args.input.file.display(), Shown(&message));
            tell!("csm: nothing was sent");
            return Ok(ExitCode::from(exit::INVALID_INPUT));
        }
    };
    if report.stopped {
        reading.abandon();
        if let Some(progress) = sending.get() {
            progress.abandon();
        }
    } else {
        reading.finish();
        if let Some(progress) = sending.get() {
            progress.finish();
        }
    }

    let positions = positions.lock();
    let mut not_synced: BTreeMap<usize, String> = checked
        .bad_rows
        .iter()
        .map(|(position, bad)| (*position, format!("invalid: {bad}")))
        .collect();
    let mut other_failures = Vec::new();
    for failure in &report.failures {
        match failure.row.and_then(|row| positions.get(row)) {
            Some((position, line)) => {
                if not_synced.len() < BAD_ROWS_SHOWN {
                    tell!(
                        "{}: line {line}: {}",
                        args.input.file.display(),
                        Shown(&failure.outcome)
                    );
                }
                not_synced.insert(*position, failure.outcome.to_string());
            }
            None => other_failures.push(failure),
        }
    }
    for failure in other_failures.iter().take(BAD_ROWS_SHOWN) {
        let key = failure
            .key
            .as_ref()
            .map_or(String::new(), |k| format!("{k}: "));
        tell!("csm: {}{}", Shown(&key), Shown(&failure.outcome));
    }
    if !report.stopped {
        write_absent(&args, &report)?;
    }
    let mut deletion_refused = report.deletion_refused.clone();
    if args.delete_absent && !may_delete && !report.absent.is_empty() {
        deletion_refused = Some(format!(
            "{} rows are invalid, and theirs may be among the {} absent keys; none was deleted",
            checked.bad_rows.len(),
            report.absent.len()
        ));
    }
    if let Some(refused) = &deletion_refused {
        tell!("csm: {}", Shown(refused));
    }
    let c = report.counts;
    if c.rows == 0 {
        tell!("csm: the file holds no records: nothing is taken as absent");
    }
    if c.resent > 0 {
        say!("{} sent again unchanged (by age or --full)", c.resent);
    }
    if c.recovered_requests > 0 {
        say!(
            "{} requests of an interrupted run were seen to their end",
            c.recovered_requests
        );
    }
    if c.expired_requests > 0 {
        say!(
            "{} requests of an interrupted run are no longer known to the site (results are kept 3 days): their records still in the file were sent again, the others are reported unconfirmed",
            c.expired_requests
        );
    }
    let failed = c.failed + checked.bad_rows.len();
    for (key, value) in [
        ("new", c.new),
        ("changed", c.changed + c.resent),
        ("unchanged", c.unchanged),
        ("absent", c.absent),
        ("deleted", c.deleted),
        ("failed", failed),
        ("invalid", checked.bad_rows.len()),
        ("recovered_requests", c.recovered_requests),
        ("expired_requests", c.expired_requests),
        ("not_sent", c.not_sent),
    ] {
        crate::summary::set(key, value);
    }
    if let Some(refused) = &deletion_refused {
        crate::summary::set("deletion_refused", refused);
    }
    say!(
        "{} new, {} changed, {} unchanged, {} absent, {} deleted, {failed} failed",
        c.new,
        c.changed + c.resent,
        c.unchanged,
        c.absent,
        c.deleted
    );
    if let Some(path) = &args.input.failures {
        let written = failures::write(&args.input.file, format, path, &not_synced)?;
        crate::summary::set("failures_file", path.display().to_string());
        crate::summary::set("failures_written", written);
        say!("{written} rows written to {}", path.display());
    }
    if report.stopped {
        let again = crate::interrupt::command_line();
        tell!(
            "csm: interrupted: {} records were not sent; what the site confirmed is kept in \
             the state, and the same command resumes (nothing confirmed is sent again): {again}",
            c.not_sent
        );
        crate::summary::set("interrupted", true);
        crate::summary::set("resume", again);
        return Ok(ExitCode::from(crate::interrupt::INTERRUPTED));
    }
    let complete = failed == 0 && deletion_refused.is_none();
    Ok(ExitCode::from(if complete {
        exit::SUCCESS
    } else {
        exit::INCOMPLETE
    }))
}

/// Stopped at the second Ctrl-C: the requests under way were not waited for; the state holds
/// them as pending, and the next run sees them to their end before anything else.
fn stopped_now(
    reading: &Progress,
    sending: &std::sync::OnceLock<Progress>,
) -> anyhow::Result<ExitCode> {
    reading.abandon();
    if let Some(progress) = sending.get() {
        progress.abandon();
    }
    let again = crate::interrupt::command_line();
    tell!(
        "csm: stopped at the second Ctrl-C: the requests under way were not waited for; the \
         state keeps them, and the same command sees them to their end first: {again}"
    );
    crate::summary::set("interrupted", true);
    crate::summary::set("resume", again);
    Ok(ExitCode::from(crate::interrupt::INTERRUPTED))
}

fn configure<'a, E: SyncEndpoint>(job: SyncImport<'a, E>, args: &SyncArgs) -> SyncImport<'a, E> {
    let mut job = job
        .state(&args.state)
        .full(args.full)
        .delete_absent(args.delete_absent)
        .max_delete_fraction(args.max_delete / 100.0)
        .skip_invalid(args.input.skip_invalid)
        .max_in_flight(usize::from(args.input.max_in_flight))
        .lanes(args.input.lanes.into())
        .site_moved(args.site_moved)
        .add_entity(args.add_entity);
    if let Some(age) = args.resend_older_than {
        job = job.max_age(age);
    }
    job
}

/// The keys that left the source, one a line, where `--absent` says (or beside the state).
fn write_absent(args: &SyncArgs, report: &SyncReport) -> anyhow::Result<()> {
    if report.absent.is_empty() {
        return Ok(());
    }
    let path = args
        .absent
        .clone()
        .unwrap_or_else(|| default_absent(&args.state));
    let mut file = std::io::BufWriter::new(
        std::fs::File::create(&path)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?,
    );
    for key in &report.absent {
        writeln!(file, "{key}")?;
    }
    file.flush()?;
    say!(
        "{} absent keys written to {}",
        report.absent.len(),
        path.display()
    );
    Ok(())
}

/// The state's path with `.absent.txt` added; for a state in PostgreSQL, `absent.txt` in the
/// current directory (a URL is no place for a file).
fn default_absent(state: &Path) -> PathBuf {
    if is_database_url(state) {
        return PathBuf::from("absent.txt");
    }
    let mut path = state.as_os_str().to_owned();
    path.push(".absent.txt");
    PathBuf::from(path)
}

/// Whether `--state` names a PostgreSQL database rather than a file.
pub(crate) fn is_database_url(state: &Path) -> bool {
    state
        .to_str()
        .is_some_and(|s| s.starts_with("postgres://") || s.starts_with("postgresql://"))
}

#[cfg(test)]
mod tests {
    use super::{in_lines, parse_age};
    use std::time::Duration;

    #[test]
    fn records_are_named_by_their_lines() {
        let error = atlassian_csm::Error::DuplicateKey {
            field: atlassian_csm::FieldPath::record_of("customerProfiles", 2),
            key: "email:a@x.io".into(),
            record: 2,
            first_record: 0,
        };
        let (line, message) = in_lines(&error, |index| Some(index as u64 + 2)).unwrap();
        assert_eq!(line, "line 4");
        assert_eq!(
            message,
            "its key email:a@x.io is line 2's too: a key may appear once in a sync's input"
        );
    }

    #[test]
    fn ages_are_read_in_days_hours_minutes_and_seconds() {
        assert_eq!(parse_age("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_age("36h"), Ok(Duration::from_secs(36 * 3_600)));
        assert_eq!(parse_age("90m"), Ok(Duration::from_secs(5_400)));
        assert_eq!(parse_age("45"), Ok(Duration::from_secs(45)));
        assert!(parse_age("7 weeks").is_err());
        assert!(parse_age("d").is_err());
    }
}
