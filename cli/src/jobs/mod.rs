//! `csm jobs run FILE`: the sync jobs of a job list (site, entity, input, state), N at a time in
//! this process; with their states in PostgreSQL, several `csm` processes on several machines
//! given the same list split the jobs between them, with no coordinator (see [`claims`]).
//!
//! ```toml
//! state = "postgres://csm@db.internal/csm"   # every job's state, unless a job names its own
//!
//! [[job]]
//! name = "acme/profiles"                     # default: SITE/ENTITY
//! profile = "acme"                           # or base_url, site, cloud_id
//! entity = "customer-profiles"
//! input = "/data/acme/customers.csv"
//! ```

mod claims;

use crate::config::Connection;
use crate::entity::SyncEntity;
use crate::exit;
use crate::input::{check, rechecked_records, Format};
use crate::terminal::{say, tell};
use atlassian_csm::sync::SyncEndpoint;
use futures::StreamExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// `csm jobs`.
#[derive(clap::Subcommand, Debug)]
pub enum JobsCommand {
    /// Run the sync jobs of a job list, N at a time; with a PostgreSQL state, processes given
    /// the same list split it: each job runs once per schedule, and a job whose worker died is
    /// taken over.
    Run(RunArgs),
}

/// `csm jobs run`'s arguments.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Each job is `csm sync ENTITY INPUT --state STATE` for its site. Several \
    workers given the same file and a PostgreSQL state split the jobs: a worker takes a job \
    through a lock of its database session, runs it, and records it done for the schedule \
    (table csm_sync_jobs); a job whose worker died (its session ended) is taken by another; the \
    syncs under way are in the view csm_sync_holders.\n\nExit code 0 when every job this \
    worker ran succeeded, 1 when one did not, 3 when the job list cannot be used."
)]
pub struct RunArgs {
    /// The job list (TOML).
    file: PathBuf,
    /// Jobs run at once by this worker.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=256))]
    parallel: u16,
    /// This worker's name, as csm_sync_jobs records it (default: HOST process PID).
    #[arg(long)]
    worker: Option<String>,
    /// The schedule the jobs run once in (default: today's date, UTC).
    #[arg(long)]
    schedule: Option<String>,
}

/// A job list.
#[derive(serde::Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct JobList {
    /// The state of every job that names none.
    state: Option<PathBuf>,
    #[serde(rename = "job", default)]
    jobs: Vec<JobSpec>,
}

/// One job of a list.
#[derive(serde::Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
struct JobSpec {
    name: Option<String>,
    profile: Option<String>,
    base_url: Option<String>,
    site: Option<String>,
    cloud_id: Option<String>,
    entity: String,
    input: PathBuf,
    state: Option<PathBuf>,
}

/// A job ready to run.
#[derive(Debug, Clone)]
pub(crate) struct Job {
    pub name: String,
    entity: SyncEntity,
    connection: Connection,
    input: PathBuf,
    pub state: PathBuf,
}

/// Runs `csm jobs`.
pub async fn run(connection: &Connection, command: JobsCommand) -> anyhow::Result<ExitCode> {
    let JobsCommand::Run(args) = command;
    let jobs = match read(&args.file, connection) {
        Ok(jobs) => jobs,
        Err(message) => {
            tell!("csm: {}: {message}", args.file.display());
            return Ok(ExitCode::from(exit::INVALID_INPUT));
        }
    };
    let worker = args.worker.clone().unwrap_or_else(claims::this_worker);
    let schedule = args
        .schedule
        .clone()
        .unwrap_or_else(|| chrono::Utc::now().format("%Y-%m-%d").to_string());
    let shared = jobs
        .iter()
        .all(|job| crate::sync::is_database_url(&job.state));
    let claims = match shared {
        true => Some(claims::Claims::new(&jobs[0].state, &schedule, &worker).await?),
        false => None,
    };
    say!(
        "{} jobs, {} at a time, worker {worker}, schedule {schedule}{}",
        jobs.len(),
        args.parallel,
        if shared {
            ", shared with the other workers of the list"
        } else {
            ""
        }
    );
    let failed = std::sync::atomic::AtomicUsize::new(0);
    let run_one = |job: Job| {
        let (claims, failed) = (&claims, &failed);
        async move {
            let ok = match claims {
                Some(claims) => claims.run(&job, run_job(&job)).await,
                None => Some(run_job(&job).await),
            };
            if ok == Some(false) {
                failed.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        }
    };
    futures::stream::iter(jobs.clone())
        .for_each_concurrent(usize::from(args.parallel), run_one)
        .await;
    // Jobs other workers held: finished by them, or, when one died, here.
    if let Some(claims) = &claims {
        loop {
            let left = claims.unfinished(&jobs).await?;
            if left.is_empty() {
                break;
            }
            futures::stream::iter(left)
                .for_each_concurrent(usize::from(args.parallel), run_one)
                .await;
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
    }
    let failed = failed.into_inner();
    Ok(ExitCode::from(if failed == 0 {
        exit::SUCCESS
    } else {
        exit::INCOMPLETE
    }))
}

/// The jobs of the list at `path`, each with its connection (the command's flags as defaults).
fn read(path: &Path, defaults: &Connection) -> Result<Vec<Job>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot be read: {e}"))?;
    let list: JobList = toml::from_str(&text).map_err(|e| e.message().to_string())?;
    if list.jobs.is_empty() {
        return Err("it lists no [[job]]".into());
    }
    let base = path.parent().unwrap_or(Path::new("."));
    let jobs = jobs_of(list, base, defaults)?;
    // The workers of a shared list keep their claims beside the states: in one database.
    let databases = jobs
        .iter()
        .filter(|job| crate::sync::is_database_url(&job.state))
        .count();
    if databases > 0
        && (databases < jobs.len() || jobs.iter().any(|job| job.state != jobs[0].state))
    {
        return Err(
            "a list with a PostgreSQL state needs the same state for every job: the workers keep \
             their claims there"
                .into(),
        );
    }
    Ok(jobs)
}

/// The jobs of a list, each with its connection.
fn jobs_of(list: JobList, base: &Path, defaults: &Connection) -> Result<Vec<Job>, String> {
    let mut names = std::collections::BTreeSet::new();
    list.jobs
        .into_iter()
        .enumerate()
        .map(|(index, spec)| {
            use clap::ValueEnum;
            let at = format!("job {}", index + 1);
            let entity = SyncEntity::from_str(&spec.entity, false).map_err(|_| {
                format!("{at}: entity {:?} is not one a sync supports", spec.entity)
            })?;
            let state = spec
                .state
                .or_else(|| list.state.clone())
                .ok_or(format!("{at}: no state (name one for the list or the job)"))?;
            let connection = Connection {
                profile: spec.profile.or_else(|| defaults.profile.clone()),
                base_url: spec.base_url.clone(),
                site: spec.site.clone(),
                cloud_id: spec.cloud_id.clone(),
                ..defaults.clone()
            };
            let site = [
                &spec.base_url,
                &spec.site,
                &spec.cloud_id,
                &connection.profile,
            ]
            .into_iter()
            .flatten()
            .next()
            .cloned()
            .ok_or(format!(
                "{at}: no site (profile, base_url, site or cloud_id)"
            ))?;
            let name = spec
                .name
                .unwrap_or_else(|| format!("{site}/{}", spec.entity));
            if !names.insert(name.clone()) {
                return Err(format!("{at}: the name {name:?} is another job's too"));
            }
            let state = match crate::sync::is_database_url(&state) {
                true => state,
                false => base.join(state),
            };
            Ok(Job {
                name,
                entity,
                connection,
                input: base.join(&spec.input),
                state,
            })
        })
        .collect()
}

/// Runs one job; says how it ended. `true` when everything it sent succeeded.
async fn run_job(job: &Job) -> bool {
    let started = Instant::now();
    let ran = crate::entity::with_sync_endpoint!(job.entity, |E| sync::<E>(job).await);
    let seconds = started.elapsed().as_secs_f64();
    match ran {
        Ok((line, ok)) => {
            say!("job {}: {line} in {seconds:.1} s", job.name);
            ok
        }
        Err(error) => {
            tell!("job {}: failed after {seconds:.1} s: {error:#}", job.name);
            false
        }
    }
}

/// One job's sync: its file checked, then synced; the counts as `csm sync` says them.
async fn sync<E: SyncEndpoint>(job: &Job) -> anyhow::Result<(String, bool)>
where
    E::Record: serde::de::DeserializeOwned,
{
    let format = Format::of(&job.input);
    let checked = check::<E>(&job.input, format)?;
    if !checked.bad_rows.is_empty() {
        anyhow::bail!(
            "{} of {} rows of {} are invalid; nothing was sent",
            checked.bad_rows.len(),
            checked.rows,
            job.input.display()
        );
    }
    let client = job.connection.client().await?;
    let records = rechecked_records::<E>(&job.input, format, &checked)?
        .map(|read| read.map(|(_, _, record)| record));
    let report = client
        .sync_checked::<E, String>(futures::stream::iter(records))
        .state(&job.state)
        .await?;
    let c = report.counts;
    let line = format!(
        "{} new, {} changed, {} unchanged, {} absent, {} failed",
        c.new,
        c.changed + c.resent,
        c.unchanged,
        c.absent,
        c.failed
    );
    Ok((line, report.all_succeeded()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_text(text: &str) -> Result<Vec<Job>, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jobs.toml");
        std::fs::write(&path, text).unwrap();
        let defaults = <Connection as clap::FromArgMatches>::from_arg_matches(
            &<Connection as clap::Args>::augment_args(clap::Command::new("csm"))
                .get_matches_from(["csm"]),
        )
        .unwrap();
        read(&path, &defaults)
    }

    #[test]
    fn a_shared_list_keeps_one_database_and_each_job_is_checked() {
        let job = |state: &str| {
            format!(
                "[[job]]\nbase_url = \"http://127.0.0.1:1\"\nentity = \"customer-profiles\"\n\
                 input = \"a.csv\"\nstate = \"{state}\"\n"
            )
        };
        let same = format!(
            "{}{}",
            job("postgres://db/a"),
            job("postgres://db/a").replace("[[job]]", "[[job]]\nname = \"second\"")
        );
        assert_eq!(read_text(&same).unwrap().len(), 2);
        let mixed = format!(
            "{}{}",
            job("postgres://db/a"),
            job("postgres://db/b").replace("[[job]]", "[[job]]\nname = \"second\"")
        );
        assert!(read_text(&mixed).unwrap_err().contains("same state"));
        let twice = format!("{}{}", job("a.db"), job("a.db"));
        assert!(read_text(&twice).unwrap_err().contains("another job's too"));
        let wrong = job("a.db").replace("customer-profiles", "customer-fields");
        assert!(read_text(&wrong)
            .unwrap_err()
            .contains("not one a sync supports"));
    }
}
