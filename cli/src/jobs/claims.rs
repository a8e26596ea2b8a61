//! Who runs which job of a shared job list, decided by PostgreSQL, with no coordinator: a worker
//! takes a job by taking the job's advisory lock on a session of its own, held while the job
//! runs, so the server releases it if the worker dies. Under the lock it reads whether the job
//! is done for the schedule (table `csm_sync_jobs`); if not, it records itself and runs it, and
//! records it done. A job whose worker died is unfinished and unlocked: the next worker that
//! looks takes it, and its sync finishes the requests the dead one left in flight.

use super::Job;
use postgres::{Client, NoTls};
use std::future::Future;
use std::path::Path;

const TABLE: &str = "
CREATE TABLE IF NOT EXISTS csm_sync_jobs (
    schedule    TEXT NOT NULL,
    job         TEXT NOT NULL,
    worker      TEXT NOT NULL,
    claimed_at  TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    succeeded   BOOLEAN,
    PRIMARY KEY (schedule, job)
)";

/// The claims of one worker in one schedule.
pub struct Claims {
    url: String,
    schedule: String,
    worker: String,
}

/// `HOST process PID`.
pub fn this_worker() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "a host".into());
    format!("{host} process {}", std::process::id())
}

/// Runs `work` on a connection of its own, on a blocking thread.
async fn on_session<T: Send + 'static>(
    url: String,
    work: impl FnOnce(&mut Client) -> Result<T, postgres::Error> + Send + 'static,
) -> anyhow::Result<T> {
    tokio::task::spawn_blocking(move || {
        let mut client = Client::connect(&url, NoTls)?;
        work(&mut client)
    })
    .await?
    .map_err(|e| anyhow::anyhow!("the job list's database: {}", said(&e)))
}

/// The server's message, or the client's (a connection refused).
fn said(error: &postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => error.to_string(),
    }
}

/// The job's lock: a 64-bit key of the schedule and the job (FNV-1a, the same in every
/// worker and every version).
fn job_key(schedule: &str, job: &str) -> i64 {
    let name = format!("csm jobs\n{schedule}\n{job}");
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    hash as i64
}

impl Claims {
    /// The claims kept in the database at `url` (the jobs' state).
    pub async fn new(url: &Path, schedule: &str, worker: &str) -> anyhow::Result<Self> {
        let url = url.to_str().unwrap_or_default().to_string();
        // In one transaction under a lock: workers starting together create the table once.
        on_session(url.clone(), |client| {
            client.batch_execute(&format!(
                "BEGIN; SELECT pg_advisory_xact_lock(7302011); {TABLE}; COMMIT"
            ))
        })
        .await?;
        Ok(Self {
            url,
            schedule: schedule.to_string(),
            worker: worker.to_string(),
        })
    }

    /// Runs `work` for `job` if this worker takes it: `None` when another worker holds it or
    /// ran it in this schedule; else whether it succeeded.
    pub async fn run(&self, job: &Job, work: impl Future<Output = bool>) -> Option<bool> {
        let (schedule, name, worker) =
            (self.schedule.clone(), job.name.clone(), self.worker.clone());
        let key = job_key(&schedule, &name);
        let url = self.url.clone();
        // The session that holds the job's lock while it runs.
        let taken =
            tokio::task::spawn_blocking(move || -> Result<Option<Client>, postgres::Error> {
                let mut client = Client::connect(&url, NoTls)?;
                let locked: bool = client
                    .query_one("SELECT pg_try_advisory_lock($1)", &[&key])?
                    .get(0);
                if !locked {
                    return Ok(None);
                }
                let done = client
                    .query_opt(
                        "SELECT 1 FROM csm_sync_jobs WHERE schedule = $1 AND job = $2 \
                     AND finished_at IS NOT NULL",
                        &[&schedule, &name],
                    )?
                    .is_some();
                if done {
                    return Ok(None);
                }
                client.execute(
                    "INSERT INTO csm_sync_jobs (schedule, job, worker, claimed_at) \
                 VALUES ($1, $2, $3, now()) ON CONFLICT (schedule, job) DO UPDATE \
                 SET worker = excluded.worker, claimed_at = excluded.claimed_at",
                    &[&schedule, &name, &worker],
                )?;
                Ok(Some(client))
            })
            .await
            .ok()?;
        let session = match taken {
            Ok(Some(session)) => session,
            Ok(None) => return None,
            Err(error) => {
                crate::terminal::tell!("job {}: not taken: {}", job.name, said(&error));
                return None;
            }
        };
        crate::terminal::say!("job {}: taken by {}", job.name, self.worker);
        let succeeded = work.await;
        let (schedule, name) = (self.schedule.clone(), job.name.clone());
        // Recorded done, then the session ends and the lock with it (on a blocking thread: the
        // client closes its connection on a runtime of its own).
        let _ = tokio::task::spawn_blocking(move || {
            let mut session = session;
            session.execute(
                "UPDATE csm_sync_jobs SET finished_at = now(), succeeded = $3 \
                 WHERE schedule = $1 AND job = $2",
                &[&schedule, &name, &succeeded],
            )
        })
        .await;
        Some(succeeded)
    }

    /// The jobs of `jobs` not done in this schedule.
    pub async fn unfinished(&self, jobs: &[Job]) -> anyhow::Result<Vec<Job>> {
        let schedule = self.schedule.clone();
        let done: std::collections::BTreeSet<String> = on_session(self.url.clone(), move |c| {
            Ok(c.query(
                "SELECT job FROM csm_sync_jobs WHERE schedule = $1 AND finished_at IS NOT NULL",
                &[&schedule],
            )?
            .into_iter()
            .map(|row| row.get(0))
            .collect())
        })
        .await?;
        Ok(jobs
            .iter()
            .filter(|job| !done.contains(&job.name))
            .cloned()
            .collect())
    }
}
