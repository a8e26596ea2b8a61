//! The sync state in PostgreSQL (feature `postgres`): one database for many sites and entities,
//! each sync holding its (site, entity) through an advisory lock of its connection's session,
//! which the server releases when that connection ends (the process killed, the network cut).
//!
//! The tables are the SQLite state's with the site in every key (`csm_sync_records`,
//! `csm_sync_pending_requests`, `csm_sync_pending_records`, `csm_sync_runs`), beside
//! `csm_sync_sites` (each site and entity: how its records are keyed, the site's pace, who holds
//! it and since when) and `csm_sync_meta` (the schema version). The view `csm_sync_holders` lists
//! the syncs under way: the rows of `csm_sync_sites` whose lock a live session holds.
//!
//! One connection per sync, no pool: the lock belongs to the connection's session, so the
//! connection that holds it is the one that writes, for the whole run.

mod look_up;
mod queries;
mod schema;

use super::identity::Identity;
use super::open::Mode;
use crate::error::Error;
use postgres::{Client, NoTls};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, Weak};
use std::time::{Duration, Instant};

/// An open PostgreSQL state, locked for one site and entity.
pub(crate) struct PgState {
    /// The URL without its password, as errors name the state.
    shown: PathBuf,
    /// `None` only once dropped.
    client: Option<Client>,
    /// The site: its base URL, and the number its rows are kept under.
    site: String,
    site_id: i32,
    /// A plan: everything runs in one transaction that is never committed.
    plan: bool,
    /// The position the next record to send takes in `pg_temp.todo`.
    next_todo: usize,
    /// The lock held, once taken.
    lock_key: Option<i64>,
    /// The hashes of the names the input being read gave (see `look_up`).
    seen: std::collections::HashSet<u64>,
    /// Whether the names seen are indexed (once the input is read, for the questions asked of
    /// them after).
    seen_indexed: bool,
}

/// The locks this process's syncs hold, each with its run (alive while the run is): a lock whose
/// run is alive is refused at once, one whose run was dropped (finishing its last write) is
/// waited for.
static HELD: Mutex<BTreeMap<i64, Weak<()>>> = Mutex::new(BTreeMap::new());

/// Why a transaction failed: the server's error, or the copy's writing.
pub(super) type Failure = Box<dyn std::error::Error + Send + Sync>;

/// How long a lock another session holds is looked at again before the sync is refused: the
/// server releases a session's locks a moment after its client closed it.
const GRACE_FOR_AN_ENDING_SESSION: Duration = Duration::from_secs(1);

/// How long a sync of this process waits for a lock another sync of this process holds (a run
/// whose future was dropped, finishing its last write) before it is refused.
const WAIT_FOR_THIS_PROCESS: Duration = Duration::from_secs(10);

impl PgState {
    /// Connects to the database at `url`, applies the schema (once, under a lock of its own;
    /// a database of a newer schema is refused), takes the lock of `wanted`'s site and entity
    /// (refusing, with [`Error::StateLocked`], one another session still holds a second later),
    /// checks
    /// how the entity is keyed, and records who holds it (none of which a plan writes).
    pub fn open(
        url: &Path,
        mode: Mode,
        wanted: &Identity,
        owner: &Weak<()>,
    ) -> Result<Self, Error> {
        let text = url.to_str().unwrap_or_default();
        let shown = PathBuf::from(without_password(text));
        let fail = |message: String| Error::State {
            path: shown.clone(),
            message,
        };
        let mut config: postgres::Config = text
            .parse()
            .map_err(|e| fail(format!("it is not a PostgreSQL URL: {e}")))?;
        // A password is best kept out of the URL (process lists, shell history): as libpq
        // does, `PGPASSWORD` gives it.
        if config.get_password().is_none() {
            if let Ok(password) = std::env::var("PGPASSWORD") {
                config.password(password);
            }
        }
        if config.get_application_name().is_none() {
            config.application_name("atlassian-csm sync");
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        let mut client = config
            .connect(NoTls)
            .map_err(|e| fail(format!("cannot connect: {}", message(&e))))?;
        // A worker whose machine died sends nothing more: the server finds its session dead
        // (and releases its lock) within about a minute, not the two hours of the system's
        // default keepalive. The names of a million-row input fit the session's buffers for
        // temporary tables (8 MB by default, the rest spilled to files).
        client
            .batch_execute(
                "SET tcp_keepalives_idle = 30; SET tcp_keepalives_interval = 10; \
                 SET tcp_keepalives_count = 3; SET temp_buffers = '64MB'",
            )
            .map_err(|e| fail(message(&e)))?;
        let mut state = Self {
            shown: shown.clone(),
            client: Some(client),
            site: wanted.site.clone(),
            site_id: 0,
            plan: mode == Mode::Plan,
            next_todo: 0,
            lock_key: None,
            seen: std::collections::HashSet::new(),
            seen_indexed: false,
        };
        let plan = state.plan;
        schema::apply(state.db(), plan).map_err(&fail)?;
        state.site_id = schema::site_id(state.db(), &wanted.site).map_err(&fail)?;
        state.lock(wanted, owner)?;
        schema::check_key_scheme(state.db(), wanted).map_err(&fail)?;
        Ok(state)
    }

    /// Takes the session lock of the site and entity; refuses at once when another session
    /// holds it, unless that is a sync of this process whose run was dropped (it is finishing
    /// its last write): that one is waited for, a while.
    fn lock(&mut self, wanted: &Identity, owner: &Weak<()>) -> Result<(), Error> {
        let key = lock_key(&wanted.site, wanted.entity);
        let holder = format!("{} process {}", host_name(), std::process::id());
        let started = Instant::now();
        loop {
            let taken: bool = self
                .db()
                .query_one("SELECT pg_try_advisory_lock($1)", &[&key])
                .map_err(|e| self.fail(e))?
                .get(0);
            if taken {
                HELD.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(key, owner.clone());
                self.lock_key = Some(key);
                break;
            }
            let ours = HELD
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&key)
                .map(|run| run.upgrade().is_some());
            match ours {
                Some(false) if started.elapsed() < WAIT_FOR_THIS_PROCESS => {
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                }
                Some(_) => {
                    return Err(Error::StateLocked {
                        path: self.shown.clone(),
                        holder: format!("a sync of this process, {}", std::process::id()),
                    })
                }
                // A session that just ended (a run that exited an instant ago) holds its lock
                // until the server has seen it end: looked at again for a moment.
                None if started.elapsed() < GRACE_FOR_AN_ENDING_SESSION => {
                    std::thread::sleep(Duration::from_millis(50));
                    continue;
                }
                None => {}
            }
            let held_by: Option<(String, String)> = self
                .db()
                .query_opt(
                    "SELECT holder, to_char(held_since AT TIME ZONE 'UTC', \
                     'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM csm_sync_holders \
                     WHERE site = $1 AND entity = $2 AND holder IS NOT NULL",
                    &[&wanted.site, &wanted.entity],
                )
                .map_err(|e| self.fail(e))?
                .map(|row| (row.get(0), row.get(1)));
            return Err(Error::StateLocked {
                path: self.shown.clone(),
                holder: match held_by {
                    Some((by, since)) => format!("{by} since {since}"),
                    None => "another session".into(),
                },
            });
        }
        if !self.plan {
            self.db()
                .execute(
                    "INSERT INTO csm_sync_sites (site, entity, key_scheme, lock_key, holder, held_since) \
                     VALUES ($1, $2, $3, $4, $5, now()) ON CONFLICT (site, entity) DO UPDATE \
                     SET holder = excluded.holder, held_since = excluded.held_since, \
                     lock_key = excluded.lock_key",
                    &[&wanted.site, &wanted.entity, &wanted.key_scheme, &key, &holder],
                )
                .map_err(|e| self.fail(e))?;
        }
        Ok(())
    }

    /// Indexes the names seen, once the input is read: appended unindexed while it is read,
    /// they are then asked about by name. Analyzed too: a temporary table has no statistics
    /// until it is, and the planner would take a million names for a handful.
    fn index_seen(&mut self) -> Result<(), Error> {
        if !self.seen_indexed {
            self.db()
                .batch_execute("CREATE INDEX ON pg_temp.seen (key, field); ANALYZE pg_temp.seen")
                .map_err(|e| self.fail(e))?;
            self.seen_indexed = true;
        }
        Ok(())
    }

    /// The connection.
    pub(super) fn db(&mut self) -> &mut Client {
        self.client.as_mut().expect("open until dropped")
    }

    fn fail(&self, error: postgres::Error) -> Error {
        Error::State {
            path: self.shown.clone(),
            message: message(&error),
        }
    }

    /// Runs `work` in one transaction, committed when it succeeds (in a plan: a savepoint of
    /// the plan's transaction, which is never committed).
    fn in_transaction<T>(
        &mut self,
        work: impl FnOnce(&mut Client, i32) -> Result<T, Failure>,
    ) -> Result<T, Error> {
        let (begin, commit, rollback) = match self.plan {
            false => ("BEGIN", "COMMIT", "ROLLBACK"),
            true => (
                "SAVEPOINT work",
                "RELEASE SAVEPOINT work",
                "ROLLBACK TO SAVEPOINT work",
            ),
        };
        let site = self.site_id;
        let result = (|| -> Result<T, Failure> {
            self.db().batch_execute(begin)?;
            let done = work(self.db(), site)?;
            self.db().batch_execute(commit)?;
            Ok(done)
        })();
        result.map_err(|failure| {
            let _ = self.db().batch_execute(rollback);
            Error::State {
                path: self.shown.clone(),
                message: match failure.downcast_ref::<postgres::Error>() {
                    Some(error) => message(error),
                    None => failure.to_string(),
                },
            }
        })
    }
}

/// The blocking client closes its connection on a runtime of its own, which cannot start on a
/// thread that runs async tasks: dropped there (a sync's future ending), it is closed on a thread
/// of its own, and waited for, so that the lock is released when the sync ends.
impl Drop for PgState {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                let _ = std::thread::spawn(move || drop(client)).join();
            } else {
                drop(client);
            }
        }
        // The connection is closed: the server released the lock.
        if let Some(key) = self.lock_key {
            HELD.lock().unwrap_or_else(|e| e.into_inner()).remove(&key);
        }
    }
}

/// The 64-bit advisory lock of a site and entity: the first eight bytes of a UUID v5 of both.
fn lock_key(site: &str, entity: &str) -> i64 {
    let name = format!("atlassian-csm sync\n{site}\n{entity}");
    let uuid = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, name.as_bytes());
    i64::from_be_bytes(uuid.as_bytes()[..8].try_into().expect("eight bytes"))
}

/// `postgres://user@host/db`: the URL as errors and logs may show it.
fn without_password(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(None);
            parsed.to_string()
        }
        Ok(parsed) => parsed.to_string(),
        Err(_) => "a PostgreSQL URL".into(),
    }
}

/// The server's message, or the client's (a connection refused).
fn message(error: &postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => error.to_string(),
    }
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "a host".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_is_shown_without_its_password_and_locks_are_per_site_and_entity() {
        assert_eq!(
            without_password("postgres://csm:s3cret@db.example:5432/csm"),
            "postgres://csm@db.example:5432/csm"
        );
        assert!(!without_password("postgresql://u:p%40ss@h/db").contains("p%40ss"));
        let key = lock_key("https://a.example", "customer_profiles");
        assert_eq!(key, lock_key("https://a.example", "customer_profiles"));
        assert_ne!(key, lock_key("https://b.example", "customer_profiles"));
        assert_ne!(key, lock_key("https://a.example", "organizations"));
    }
}
