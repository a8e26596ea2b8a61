//! The sync state: one SQLite file (WAL) holding what was confirmed synced and what is in
//! flight, locked by one sync at a time. The schema is documented in the [module](super) docs.

use super::entity::Item;
use crate::error::Error;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::path::{Path, PathBuf};

/// The schema this version writes; a state written by a newer one is refused.
const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS records (
    entity       TEXT NOT NULL,
    key          TEXT NOT NULL,
    field        TEXT NOT NULL DEFAULT '',
    fingerprint  TEXT NOT NULL,
    confirmed_at INTEGER NOT NULL,
    PRIMARY KEY (entity, key, field)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS pending_requests (
    idempotency_key TEXT PRIMARY KEY,
    entity          TEXT NOT NULL,
    task_id         TEXT,
    body            TEXT NOT NULL,
    planned_at      INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS pending_records (
    idempotency_key TEXT NOT NULL REFERENCES pending_requests ON DELETE CASCADE,
    position        INTEGER NOT NULL,
    key             TEXT NOT NULL,
    field           TEXT NOT NULL DEFAULT '',
    fingerprint     TEXT,
    PRIMARY KEY (idempotency_key, key, field)
);
CREATE TABLE IF NOT EXISTS runs (
    id          INTEGER PRIMARY KEY,
    entity      TEXT NOT NULL,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER NOT NULL,
    new         INTEGER NOT NULL,
    changed     INTEGER NOT NULL,
    resent      INTEGER NOT NULL,
    unchanged   INTEGER NOT NULL,
    absent      INTEGER NOT NULL,
    deleted     INTEGER NOT NULL,
    failed      INTEGER NOT NULL
);
";

/// What the state holds of an item.
#[derive(Clone, Debug)]
pub(crate) struct Known {
    pub fingerprint: String,
    /// Unix seconds.
    pub confirmed_at: i64,
}

/// An item of a request in flight: `fingerprint` is `None` when the request deletes it.
#[derive(Clone, Debug)]
pub(crate) struct PendingItem {
    pub position: usize,
    pub key: String,
    pub field: String,
    pub fingerprint: Option<String>,
}

/// A request a run sent (or was about to send) whose end it did not see.
#[derive(Clone, Debug)]
pub(crate) struct PendingRequest {
    pub idempotency_key: String,
    pub task_id: Option<String>,
    /// The request's records, as JSON.
    pub body: String,
    pub items: Vec<PendingItem>,
}

/// The counts of a run, kept in `runs`.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct RunCounts {
    pub new: u64,
    pub changed: u64,
    pub resent: u64,
    pub unchanged: u64,
    pub absent: u64,
    pub deleted: u64,
    pub failed: u64,
}

/// What the state holds of each item of each row of a batch, or the first key seen twice.
pub(crate) type LookUp = Result<Vec<Vec<Option<Known>>>, Duplicate>;

/// A key seen twice in one input: the rows and the key.
pub(crate) struct Duplicate {
    pub first_row: usize,
    pub row: usize,
    pub key: String,
}

/// An open, locked state.
pub(crate) struct State {
    path: PathBuf,
    connection: Connection,
    /// The position the next record to send takes in `temp.todo`.
    next_todo: usize,
    /// Held until the state is dropped; the operating system releases it if the process dies.
    lock: super::lock::Lock,
}

impl State {
    /// Opens (or creates) the state at `path`, refusing at once, with
    /// [`Error::StateLocked`], a state another sync holds.
    pub fn open(path: &Path) -> Result<Self, Error> {
        let lock = super::lock::lock(path)?;
        let fail = |e: rusqlite::Error| state_error(path, e);
        let connection = Connection::open(path).map_err(fail)?;
        // WAL: an admin may read the file with `sqlite3` while a sync writes it. FULL: a
        // committed write survives a power cut, as the requests it records were sent.
        connection
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                 PRAGMA foreign_keys = ON; PRAGMA temp_store = FILE; PRAGMA busy_timeout = 5000;",
            )
            .map_err(fail)?;
        connection.execute_batch(SCHEMA).map_err(fail)?;
        connection
            .execute(
                "INSERT OR IGNORE INTO meta (name, value) VALUES ('schema_version', ?1)",
                [SCHEMA_VERSION.to_string()],
            )
            .map_err(fail)?;
        let version: String = connection
            .query_row(
                "SELECT value FROM meta WHERE name = 'schema_version'",
                [],
                |row| row.get(0),
            )
            .map_err(fail)?;
        if version.parse::<i64>().ok() != Some(SCHEMA_VERSION) {
            return Err(Error::State {
                path: path.to_path_buf(),
                message: format!(
                    "its schema version is {version}; this version of the crate reads {SCHEMA_VERSION}"
                ),
            });
        }
        Ok(Self {
            path: path.to_path_buf(),
            connection,
            next_todo: 0,
            lock,
        })
    }

    /// Says the run using this state was dropped (see [`Lock::releasing`](super::lock::Lock)).
    pub fn releasing(&self) {
        self.lock.releasing();
    }

    fn fail(&self, error: rusqlite::Error) -> Error {
        state_error(&self.path, error)
    }

    /// Runs `work` in one transaction, committed when it succeeds (`Immediate` takes the write
    /// lock at once: a write of a finished request never waits half-way).
    fn in_transaction<T>(
        &mut self,
        behavior: TransactionBehavior,
        work: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<T, Error> {
        let path = self.path.clone();
        let run = || -> rusqlite::Result<T> {
            let transaction = self.connection.transaction_with_behavior(behavior)?;
            let done = work(&transaction)?;
            transaction.commit()?;
            Ok(done)
        };
        run().map_err(|e| state_error(&path, e))
    }

    /// Records of `entity` in the state.
    pub fn count(&self, entity: &str) -> Result<u64, Error> {
        self.connection
            .query_row(
                "SELECT count(*) FROM records WHERE entity = ?1",
                [entity],
                |row| row.get::<_, i64>(0),
            )
            .map(|count| count as u64)
            .map_err(|e| self.fail(e))
    }

    /// The requests of `entity` an earlier run did not see end.
    pub fn pending(&self, entity: &str) -> Result<Vec<PendingRequest>, Error> {
        let run = || -> rusqlite::Result<Vec<PendingRequest>> {
            let mut requests = self.connection.prepare(
                "SELECT idempotency_key, task_id, body FROM pending_requests \
                 WHERE entity = ?1 ORDER BY planned_at, idempotency_key",
            )?;
            let mut items = self.connection.prepare(
                "SELECT position, key, field, fingerprint FROM pending_records \
                 WHERE idempotency_key = ?1 ORDER BY position, field",
            )?;
            let found = requests
                .query_map([entity], |row| {
                    Ok(PendingRequest {
                        idempotency_key: row.get(0)?,
                        task_id: row.get(1)?,
                        body: row.get(2)?,
                        items: Vec::new(),
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            found
                .into_iter()
                .map(|mut request| {
                    request.items = items
                        .query_map([&request.idempotency_key], |row| {
                            Ok(PendingItem {
                                position: row.get::<_, i64>(0)? as usize,
                                key: row.get(1)?,
                                field: row.get(2)?,
                                fingerprint: row.get(3)?,
                            })
                        })?
                        .collect::<rusqlite::Result<Vec<_>>>()?;
                    Ok(request)
                })
                .collect()
        };
        run().map_err(|e| self.fail(e))
    }

    /// Starts reading an input: empties the tables of keys seen and records to send (temporary
    /// tables, gone when the state is closed).
    pub fn start_input(&mut self) -> Result<(), Error> {
        self.next_todo = 0;
        self.connection
            .execute_batch(
                "DROP TABLE IF EXISTS temp.seen; DROP TABLE IF EXISTS temp.todo;
                 CREATE TEMP TABLE seen (
                     key TEXT NOT NULL, field TEXT NOT NULL, row INTEGER NOT NULL,
                     PRIMARY KEY (key, field)
                 ) WITHOUT ROWID;
                 CREATE TEMP TABLE todo (
                     position INTEGER PRIMARY KEY, row INTEGER NOT NULL, record TEXT NOT NULL,
                     items TEXT NOT NULL
                 );",
            )
            .map_err(|e| self.fail(e))
    }

    /// Marks the items of `rows` (row number, items) seen and returns what the state holds of
    /// each, or the first key seen twice in the input.
    pub fn look_up(&mut self, entity: &str, rows: &[(usize, Vec<Item>)]) -> Result<LookUp, Error> {
        self.in_transaction(TransactionBehavior::Deferred, |transaction| {
            let mut found = Vec::with_capacity(rows.len());
            {
                let mut mark = transaction.prepare_cached(
                    "INSERT INTO temp.seen (key, field, row) VALUES (?1, ?2, ?3) \
                     ON CONFLICT DO NOTHING",
                )?;
                let mut first = transaction
                    .prepare_cached("SELECT row FROM temp.seen WHERE key = ?1 AND field = ?2")?;
                let mut known = transaction.prepare_cached(
                    "SELECT fingerprint, confirmed_at FROM records \
                     WHERE entity = ?1 AND key = ?2 AND field = ?3",
                )?;
                for (row, items) in rows {
                    let mut of_row = Vec::with_capacity(items.len());
                    for item in items {
                        if mark.execute(params![item.key, item.field, *row as i64])? == 0 {
                            let first_row: i64 =
                                first.query_row([&item.key, &item.field], |r| r.get(0))?;
                            let key = match item.field.as_str() {
                                "" => item.key.clone(),
                                field => format!("{} / {field}", item.key),
                            };
                            return Ok(Err(Duplicate {
                                first_row: first_row as usize,
                                row: *row,
                                key,
                            }));
                        }
                        of_row.push(
                            known
                                .query_row(params![entity, item.key, item.field], |r| {
                                    Ok(Known {
                                        fingerprint: r.get(0)?,
                                        confirmed_at: r.get(1)?,
                                    })
                                })
                                .optional()?,
                        );
                    }
                    found.push(of_row);
                }
            }
            Ok(Ok(found))
        })
    }

    /// Adds records to send: (row, record as JSON, items as JSON).
    pub fn push_todo(&mut self, todo: &[(usize, String, String)]) -> Result<(), Error> {
        let first = self.next_todo;
        self.in_transaction(TransactionBehavior::Deferred, |transaction| {
            {
                let mut insert = transaction.prepare_cached(
                    "INSERT INTO temp.todo (position, row, record, items) VALUES (?1, ?2, ?3, ?4)",
                )?;
                for (offset, (row, record, items)) in todo.iter().enumerate() {
                    let position = (first + offset) as i64;
                    insert.execute(params![position, *row as i64, record, items])?;
                }
            }
            Ok(())
        })?;
        self.next_todo += todo.len();
        Ok(())
    }

    /// Up to `limit` records to send from position `from` on: (position, row, record, items).
    pub fn todo(
        &self,
        from: usize,
        limit: usize,
    ) -> Result<Vec<(usize, usize, String, String)>, Error> {
        let run = || -> rusqlite::Result<Vec<(usize, usize, String, String)>> {
            let mut select = self.connection.prepare_cached(
                "SELECT position, row, record, items FROM temp.todo \
                 WHERE position >= ?1 ORDER BY position LIMIT ?2",
            )?;
            let rows = select.query_map(params![from as i64, limit as i64], |r| {
                Ok((
                    r.get::<_, i64>(0)? as usize,
                    r.get::<_, i64>(1)? as usize,
                    r.get(2)?,
                    r.get(3)?,
                ))
            })?;
            rows.collect()
        };
        run().map_err(|e| self.fail(e))
    }

    /// The items of `entity` in the state that the input did not hold, by key and field.
    pub fn absent(&self, entity: &str) -> Result<Vec<(String, String)>, Error> {
        let run = || -> rusqlite::Result<Vec<(String, String)>> {
            let mut select = self.connection.prepare(
                "SELECT key, field FROM records r WHERE entity = ?1 AND NOT EXISTS \
                 (SELECT 1 FROM temp.seen s WHERE s.key = r.key AND s.field = r.field) \
                 ORDER BY key, field",
            )?;
            let rows = select.query_map([entity], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect()
        };
        run().map_err(|e| self.fail(e))
    }

    /// Keeps a request before it is first sent: its key, its records and the items they carry.
    pub fn planned(
        &mut self,
        entity: &str,
        idempotency_key: &str,
        body: &str,
        items: &[PendingItem],
        now: i64,
    ) -> Result<(), Error> {
        self.in_transaction(TransactionBehavior::Immediate, |transaction| {
            transaction.execute(
                "INSERT OR REPLACE INTO pending_requests \
                 (idempotency_key, entity, task_id, body, planned_at) VALUES (?1, ?2, NULL, ?3, ?4)",
                params![idempotency_key, entity, body, now],
            )?;
            {
                let mut insert = transaction.prepare_cached(
                    "INSERT OR REPLACE INTO pending_records \
                     (idempotency_key, position, key, field, fingerprint) VALUES (?1, ?2, ?3, ?4, ?5)",
                )?;
                for item in items {
                    insert.execute(params![
                        idempotency_key,
                        item.position as i64,
                        item.key,
                        item.field,
                        item.fingerprint
                    ])?;
                }
            }
            Ok(())
        })
    }

    /// The request sent under `idempotency_key` started `task_id`.
    pub fn submitted(&self, idempotency_key: &str, task_id: &str) -> Result<(), Error> {
        self.connection
            .execute(
                "UPDATE pending_requests SET task_id = ?2 WHERE idempotency_key = ?1",
                [idempotency_key, task_id],
            )
            .map(drop)
            .map_err(|e| self.fail(e))
    }

    /// What one finished request did, in one transaction: the items it confirmed are written
    /// with their fingerprint, those it deleted (key, field) removed; the request is no longer
    /// pending unless `keep_pending` (its end is not known: the next run looks again).
    pub fn finished(
        &mut self,
        entity: &str,
        idempotency_key: Option<&str>,
        keep_pending: bool,
        written: &[Item],
        removed: &[(String, String)],
        now: i64,
    ) -> Result<(), Error> {
        self.in_transaction(TransactionBehavior::Immediate, |transaction| {
            {
                let mut write = transaction.prepare_cached(
                    "INSERT INTO records (entity, key, field, fingerprint, confirmed_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (entity, key, field) DO UPDATE \
                     SET fingerprint = excluded.fingerprint, confirmed_at = excluded.confirmed_at",
                )?;
                let mut remove = transaction.prepare_cached(
                    "DELETE FROM records WHERE entity = ?1 AND key = ?2 AND field = ?3",
                )?;
                for item in written {
                    write.execute(params![entity, item.key, item.field, item.fingerprint, now])?;
                }
                for (key, field) in removed {
                    remove.execute(params![entity, key, field])?;
                }
            }
            if let (Some(key), false) = (idempotency_key, keep_pending) {
                transaction.execute(
                    "DELETE FROM pending_requests WHERE idempotency_key = ?1",
                    [key],
                )?;
            }
            Ok(())
        })
    }

    /// Records a second sent by the last run of `entity` that sent any (new, changed and resent
    /// records over its wall time).
    pub fn last_pace(&self, entity: &str) -> Result<Option<f64>, Error> {
        self.connection
            .query_row(
                "SELECT new + changed + resent, finished_at - started_at FROM runs \
                 WHERE entity = ?1 AND new + changed + resent > 0 ORDER BY id DESC LIMIT 1",
                [entity],
                |row| Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?)),
            )
            .optional()
            .map(|run| run.map(|(sent, seconds)| sent as f64 / seconds.max(1) as f64))
            .map_err(|e| self.fail(e))
    }

    /// Keeps the counts of a run.
    pub fn record_run(
        &self,
        entity: &str,
        started_at: i64,
        finished_at: i64,
        counts: &RunCounts,
    ) -> Result<(), Error> {
        let c = counts;
        self.connection
            .execute(
                "INSERT INTO runs (entity, started_at, finished_at, new, changed, resent, \
                 unchanged, absent, deleted, failed) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    entity,
                    started_at,
                    finished_at,
                    c.new as i64,
                    c.changed as i64,
                    c.resent as i64,
                    c.unchanged as i64,
                    c.absent as i64,
                    c.deleted as i64,
                    c.failed as i64
                ],
            )
            .map(drop)
            .map_err(|e| self.fail(e))
    }
}

fn state_error(path: &Path, error: rusqlite::Error) -> Error {
    Error::State {
        path: path.to_path_buf(),
        message: error.to_string(),
    }
}
