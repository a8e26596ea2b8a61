//! The runs a state recorded, read without writing: what `csm runs` shows.

use super::identity::{self, Found};
use crate::error::Error;
use std::path::Path;
use std::time::Duration;

/// One run a sync state recorded: when, for which entity, and what it counted.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct RecordedRun {
    /// The entity synced, e.g. `customer_profiles`.
    pub entity: String,
    /// When it started, in seconds since the Unix epoch.
    pub started_at: i64,
    /// When it finished, in seconds since the Unix epoch.
    pub finished_at: i64,
    /// Records new to the state, sent.
    pub new: u64,
    /// Records changed since the last run, sent.
    pub changed: u64,
    /// Records sent again (their last send had failed or was not confirmed).
    pub resent: u64,
    /// Records unchanged, not sent.
    pub unchanged: u64,
    /// Records of the state absent from the input.
    pub absent: u64,
    /// Absent records deleted.
    pub deleted: u64,
    /// Records that failed.
    pub failed: u64,
}

impl RecordedRun {
    /// How long it took (whole seconds, as recorded).
    pub fn duration(&self) -> Duration {
        Duration::from_secs(self.finished_at.saturating_sub(self.started_at).max(0) as u64)
    }

    /// The records it sent: new, changed and sent again.
    pub fn sent(&self) -> u64 {
        self.new + self.changed + self.resent
    }
}

/// The runs recorded in the sync state at `path`, oldest first.
///
/// The file is opened read-only and no lock is taken, so a sync running on it is not disturbed
/// (it sees the runs finished before it was read). A path that is not a sync state (not a
/// regular file, not a database, another database, a state of a newer version) is
/// [`Error::State`], and is left as it was.
///
/// ```no_run
/// # fn run() -> Result<(), atlassian_csm::Error> {
/// for run in atlassian_csm::sync::recorded_runs("customers.db".as_ref())? {
///     println!("{} sent {} in {:?}", run.entity, run.sent(), run.duration());
/// }
/// # Ok(()) }
/// ```
pub fn recorded_runs(path: &Path) -> Result<Vec<RecordedRun>, Error> {
    if super::store::is_postgres_url(path) {
        return Err(Error::Config(
            "recorded_runs reads an SQLite state; a PostgreSQL state keeps its runs in its \
             csm_sync_runs table (one row per run, by site and entity)"
                .into(),
        ));
    }
    let refused = |message: String| Error::State {
        path: path.to_path_buf(),
        message,
    };
    match std::fs::metadata(path) {
        Ok(metadata) if metadata.is_file() => {}
        Ok(_) => return Err(refused("it is not a regular file".into())),
        Err(error) => return Err(refused(format!("it cannot be read ({error})"))),
    }
    let flags =
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let connection = rusqlite::Connection::open_with_flags(path, flags)
        .map_err(|e| refused(format!("it cannot be opened ({e})")))?;
    match identity::read(&connection).map_err(&refused)? {
        Found::Fresh => return Err(refused("it is empty: no sync has run on it".into())),
        Found::State { .. } => {}
    }
    let read = || -> rusqlite::Result<Vec<RecordedRun>> {
        let mut select = connection.prepare(
            "SELECT entity, started_at, finished_at, new, changed, resent, unchanged, absent, \
             deleted, failed FROM runs ORDER BY id",
        )?;
        let count = |row: &rusqlite::Row<'_>, column: usize| -> rusqlite::Result<u64> {
            Ok(row.get::<_, i64>(column)?.max(0) as u64)
        };
        let runs = select.query_map([], |row| {
            Ok(RecordedRun {
                entity: row.get(0)?,
                started_at: row.get(1)?,
                finished_at: row.get(2)?,
                new: count(row, 3)?,
                changed: count(row, 4)?,
                resent: count(row, 5)?,
                unchanged: count(row, 6)?,
                absent: count(row, 7)?,
                deleted: count(row, 8)?,
                failed: count(row, 9)?,
            })
        })?;
        runs.collect()
    };
    read().map_err(|e| refused(format!("its runs cannot be read ({e})")))
}
