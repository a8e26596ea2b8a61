//! The sync state: one SQLite file (WAL) holding what was confirmed synced and what is in
//! flight, locked by one sync at a time. The schema is documented in the [module](super) docs.

use super::entity::Item;
use super::identity::{self, Found, Identity};
use super::lock::{FileId, Holder};
use crate::error::Error;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use std::path::{Path, PathBuf};
use std::sync::Weak;

/// What the state holds of an item: the row it matched (by its key, or by a second name of the
/// same record), its content and when it was confirmed.
#[derive(Clone, Debug)]
pub(crate) struct Known {
    /// The key of the row matched, when it is not the item's own (matched by a second name).
    pub other_key: Option<String>,
    /// The row's second name (`email:…` of a customer known by id), or empty.
    pub alias: String,
    /// Whether the row's fingerprint is the item's: its content is unchanged.
    pub same_content: bool,
    /// Unix seconds.
    pub confirmed_at: i64,
}

/// An item a request carries, as the state will hold it once the request succeeds: written with
/// its fingerprint, or removed (`fingerprint` is `None`: the request deletes it).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Tracked {
    /// The key the state keeps it under.
    pub key: String,
    pub field: String,
    pub fingerprint: Option<String>,
    /// Its second name, learned from a record that named both (empty when unknown).
    #[serde(default)]
    pub alias: String,
    /// The row it replaces (the same record, known until now by its second name).
    #[serde(default)]
    pub replaces: Option<String>,
}

/// An item of a request in flight, at its record's place in the body.
#[derive(Clone, Debug)]
pub(crate) struct PendingItem {
    pub position: usize,
    pub item: Tracked,
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

/// An item of the state the input did not hold.
pub(crate) struct AbsentItem {
    pub key: String,
    pub field: String,
    /// Whether the state knows the record's second name (so the input could not have named it
    /// another way without the state seeing it).
    pub alias_known: bool,
}

/// The record known by a second name, through the partial index of second names (named, and
/// `alias != ''` stated so that it applies): left to itself, SQLite's planner takes the primary
/// key's `entity` prefix, and each new record named by email scanned the whole state.
const BY_ALIAS: &str = "SELECT alias, fingerprint = ?4, confirmed_at, key FROM records \
    INDEXED BY records_by_alias \
    WHERE entity = ?1 AND alias = ?2 AND alias != '' AND field = ?3 ORDER BY key LIMIT 1";

/// The record known by `key`; its content compared in place (no copy of the fingerprint per row).
const BY_KEY: &str = "SELECT alias, fingerprint = ?4, confirmed_at FROM records \
    WHERE entity = ?1 AND key = ?2 AND field = ?3";

/// The items of an entity the input did not name by their key nor by their second name: each
/// name looked up by the primary key of the names seen.
const ABSENT: &str = "SELECT key, field, alias != '' FROM records r WHERE entity = ?1 \
    AND NOT EXISTS (SELECT 1 FROM temp.seen s WHERE s.key = r.key AND s.field = r.field) \
    AND (r.alias = '' \
         OR NOT EXISTS (SELECT 1 FROM temp.seen s WHERE s.key = r.alias AND s.field = r.field)) \
    ORDER BY key, field";

/// How a state is opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// A run: the state is created if missing, and written.
    Run,
    /// A plan: nothing is created or written (a missing state is an empty one, in memory).
    Plan,
}

/// An open, locked state.
pub(crate) struct State {
    path: PathBuf,
    /// Declared before the lock: closed first, so the lock outlives every use of the file.
    connection: Connection,
    /// The position the next record to send takes in `temp.todo`.
    next_todo: usize,
    /// Held until the state is dropped; the operating system releases it if the process dies.
    _lock: Option<super::lock::Lock>,
}

impl State {
    /// Opens the state at `path` for a sync of `wanted`: checks what the path is, locks it
    /// (refusing at once, with [`Error::StateLocked`], a state another live sync holds), reads
    /// its version and what it describes, and only then writes (in [`Mode::Run`]).
    pub fn open(
        path: &Path,
        mode: Mode,
        wanted: &Identity,
        owner: &Weak<()>,
    ) -> Result<Self, Error> {
        let fail = |message: String| Error::State {
            path: path.to_path_buf(),
            message,
        };
        let mut existing = existing_file(path).map_err(fail)?;
        let mut created = None;
        if existing.is_none() {
            if mode == Mode::Plan {
                return Self::in_memory(path, wanted);
            }
            // Created empty (an empty file is an empty database), then locked like any other;
            // a sync that created it first is found holding it.
            match std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(path)
            {
                Ok(file) => created = Some(file),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    existing = existing_file(path).map_err(fail)?;
                }
                Err(e) => return Err(fail(format!("cannot create it: {e}"))),
            }
        }
        let (id, lock) = match (created, existing) {
            (Some(file), _) => {
                let metadata = file.metadata().map_err(|e| fail(e.to_string()))?;
                let id = FileId::of(path, &metadata);
                let lock = super::lock::lock(path, id.clone(), owner, move || Ok(file));
                (id, lock)
            }
            (None, None) => return Err(fail("it vanished while it was being created".into())),
            (None, Some(metadata)) => {
                let id = FileId::of(path, &metadata);
                let lock = super::lock::lock(path, id.clone(), owner, || std::fs::File::open(path));
                (id, lock)
            }
        };
        let lock = lock.map_err(|refused| match refused {
            (_, Some(error)) => error,
            (Holder::ThisProcess, None) => Error::StateLocked {
                path: path.to_path_buf(),
                holder: format!("a sync of this process, {}", std::process::id()),
            },
            (Holder::Other, None) => Error::StateLocked {
                path: path.to_path_buf(),
                holder: holder_of(path),
            },
        })?;
        let sql = |e: rusqlite::Error| state_error(path, e);
        let connection = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(sql)?;
        // The file opened is the one locked (nothing replaced it in between).
        let reopened = std::fs::metadata(path).map_err(|e| fail(e.to_string()))?;
        if FileId::of(path, &reopened) != id {
            return Err(fail(
                "it was replaced while it was being opened; nothing was written".into(),
            ));
        }
        connection
            .execute_batch(
                "PRAGMA foreign_keys = ON; PRAGMA temp_store = FILE; PRAGMA busy_timeout = 5000;",
            )
            .map_err(sql)?;
        // Read and checked before anything is written.
        let found = identity::read(&connection).map_err(fail)?;
        identity::check(&found, wanted).map_err(fail)?;
        match mode {
            Mode::Run => {
                // WAL: an admin may read the file with `sqlite3` while a sync writes it. FULL: a
                // committed write survives a power cut, as the requests it records were sent.
                connection
                    .execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;")
                    .map_err(sql)?;
                let holder = format!(
                    "process {} since {}",
                    std::process::id(),
                    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ")
                );
                let write = || -> rusqlite::Result<()> {
                    connection.execute_batch("BEGIN IMMEDIATE")?;
                    identity::record(&connection, &found, wanted)?;
                    connection.execute(
                        "INSERT OR REPLACE INTO meta (name, value) VALUES ('holder', ?1)",
                        [holder],
                    )?;
                    connection.execute_batch("COMMIT")
                };
                write().map_err(sql)?;
            }
            Mode::Plan if identity::is_recorded(&found, wanted) => {}
            // The same tables and records, in a transaction never committed: the plan reads the
            // state as a run would, and the file is left as it was.
            Mode::Plan => {
                let write = || -> rusqlite::Result<()> {
                    connection.execute_batch("BEGIN")?;
                    identity::record(&connection, &found, wanted)
                };
                write().map_err(sql)?;
            }
        }
        Ok(Self {
            path: path.to_path_buf(),
            connection,
            next_todo: 0,
            _lock: Some(lock),
        })
    }

    /// A state that does not exist yet, planned against: empty, in memory, nothing created.
    fn in_memory(path: &Path, wanted: &Identity) -> Result<Self, Error> {
        let sql = |e: rusqlite::Error| state_error(path, e);
        let connection = Connection::open_in_memory().map_err(sql)?;
        identity::record(&connection, &Found::Fresh, wanted).map_err(sql)?;
        Ok(Self {
            path: path.to_path_buf(),
            connection,
            next_todo: 0,
            _lock: None,
        })
    }

    fn fail(&self, error: rusqlite::Error) -> Error {
        state_error(&self.path, error)
    }

    /// Runs `work` in one transaction (a savepoint: inside a plan's transaction, never
    /// committed), committed when it succeeds.
    fn in_transaction<T>(
        &mut self,
        work: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, Error> {
        let path = self.path.clone();
        let run = || -> rusqlite::Result<T> {
            let savepoint = self.connection.savepoint()?;
            let done = work(&savepoint)?;
            savepoint.commit()?;
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
                "SELECT position, key, field, fingerprint, alias, replaces FROM pending_records \
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
                                item: Tracked {
                                    key: row.get(1)?,
                                    field: row.get(2)?,
                                    fingerprint: row.get(3)?,
                                    alias: row.get(4)?,
                                    replaces: row.get(5)?,
                                },
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
    /// each, or the first record named twice in the input. An item is found by its key, or by a
    /// second name of the same record: a record known by id whose email (or name) the state
    /// learned, named now by that email alone; or one known by its email, named now by its id and
    /// that email. Every name of a record counts as seen.
    pub fn look_up(&mut self, entity: &str, rows: &[(usize, Vec<Item>)]) -> Result<LookUp, Error> {
        self.in_transaction(|transaction| {
            let mut found = Vec::with_capacity(rows.len());
            let mut mark = transaction.prepare_cached(
                "INSERT INTO temp.seen (key, field, row) VALUES (?1, ?2, ?3) \
                 ON CONFLICT DO NOTHING",
            )?;
            let mut first = transaction
                .prepare_cached("SELECT row FROM temp.seen WHERE key = ?1 AND field = ?2")?;
            let mut by_key = transaction.prepare_cached(BY_KEY)?;
            let mut by_alias = transaction.prepare_cached(BY_ALIAS)?;
            let known_row = |r: &rusqlite::Row<'_>| {
                Ok(Known {
                    other_key: None,
                    alias: r.get(0)?,
                    same_content: r.get(1)?,
                    confirmed_at: r.get(2)?,
                })
            };
            for (row, items) in rows {
                let mut of_row = Vec::with_capacity(items.len());
                for item in items {
                    let fingerprint = item.fingerprint.as_str();
                    let mut known = by_key
                        .query_row(
                            params![entity, item.key, item.field, fingerprint],
                            known_row,
                        )
                        .optional()?;
                    if known.is_none() && is_second_name(&item.key) {
                        known = by_alias
                            .query_row(params![entity, item.key, item.field, fingerprint], |r| {
                                Ok(Known {
                                    other_key: Some(r.get(3)?),
                                    ..known_row(r)?
                                })
                            })
                            .optional()?;
                    }
                    if known.is_none() && !item.alias.is_empty() {
                        known = by_key
                            .query_row(
                                params![entity, item.alias, item.field, fingerprint],
                                known_row,
                            )
                            .optional()?
                            .map(|known| Known {
                                other_key: Some(item.alias.clone()),
                                ..known
                            });
                    }
                    // Each of the record's names once (the row matched is usually its key).
                    let alias = (!item.alias.is_empty() && item.alias != item.key)
                        .then_some(item.alias.as_str());
                    let matched = known
                        .as_ref()
                        .and_then(|k| k.other_key.as_deref())
                        .filter(|k| Some(*k) != alias);
                    let names = [Some(item.key.as_str()), alias, matched];
                    for name in names.into_iter().flatten() {
                        if mark.execute(params![name, item.field, *row as i64])? == 0 {
                            let first_row: i64 =
                                first.query_row([name, &item.field], |r| r.get(0))?;
                            let key = match item.field.as_str() {
                                "" => name.to_string(),
                                field => format!("{name} / {field}"),
                            };
                            return Ok(Err(Duplicate {
                                first_row: first_row as usize,
                                row: *row,
                                key,
                            }));
                        }
                    }
                    of_row.push(known);
                }
                found.push(of_row);
            }
            Ok(Ok(found))
        })
    }

    /// Adds records to send: (row, record as JSON, items as JSON).
    pub fn push_todo(&mut self, todo: &[(usize, String, String)]) -> Result<(), Error> {
        let first = self.next_todo;
        self.in_transaction(|transaction| {
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

    /// The items of `entity` in the state that the input did not hold by any of their names.
    pub fn absent(&self, entity: &str) -> Result<Vec<AbsentItem>, Error> {
        let run = || -> rusqlite::Result<Vec<AbsentItem>> {
            let mut select = self.connection.prepare(ABSENT)?;
            let rows = select.query_map([entity], |r| {
                Ok(AbsentItem {
                    key: r.get(0)?,
                    field: r.get(1)?,
                    alias_known: r.get(2)?,
                })
            })?;
            rows.collect()
        };
        run().map_err(|e| self.fail(e))
    }

    /// Whether each item (key, field) was named by the input being read.
    pub fn seen_of(&self, items: &[(String, String)]) -> Result<Vec<bool>, Error> {
        let run = || -> rusqlite::Result<Vec<bool>> {
            let mut seen = self.connection.prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM temp.seen WHERE key = ?1 AND field = ?2)",
            )?;
            items
                .iter()
                .map(|(key, field)| seen.query_row([key, field], |r| r.get(0)))
                .collect()
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
        self.in_transaction(|transaction| {
            transaction.execute(
                "INSERT OR REPLACE INTO pending_requests \
                 (idempotency_key, entity, task_id, body, planned_at) VALUES (?1, ?2, NULL, ?3, ?4)",
                params![idempotency_key, entity, body, now],
            )?;
            let mut insert = transaction.prepare_cached(
                "INSERT OR REPLACE INTO pending_records \
                 (idempotency_key, position, key, field, fingerprint, alias, replaces) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for PendingItem { position, item } in items {
                insert.execute(params![
                    idempotency_key,
                    *position as i64,
                    item.key,
                    item.field,
                    item.fingerprint,
                    item.alias,
                    item.replaces
                ])?;
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
    /// with their fingerprint (and the rows they replace removed), those it deleted removed; the
    /// request is no longer pending unless `keep_pending` (its end is not known: the next run
    /// looks again).
    pub fn finished(
        &mut self,
        entity: &str,
        idempotency_key: Option<&str>,
        keep_pending: bool,
        confirmed: &[Tracked],
        now: i64,
    ) -> Result<(), Error> {
        self.in_transaction(|transaction| {
            let mut write = transaction.prepare_cached(
                "INSERT INTO records (entity, key, field, fingerprint, confirmed_at, alias) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (entity, key, field) DO UPDATE \
                 SET fingerprint = excluded.fingerprint, confirmed_at = excluded.confirmed_at, \
                 alias = excluded.alias",
            )?;
            let mut remove = transaction.prepare_cached(
                "DELETE FROM records WHERE entity = ?1 AND key = ?2 AND field = ?3",
            )?;
            for item in confirmed {
                match &item.fingerprint {
                    Some(fingerprint) => {
                        if let Some(replaced) = &item.replaces {
                            remove.execute(params![entity, replaced, item.field])?;
                        }
                        write.execute(params![
                            entity,
                            item.key,
                            item.field,
                            fingerprint,
                            now,
                            item.alias
                        ])?;
                    }
                    None => {
                        remove.execute(params![entity, item.key, item.field])?;
                    }
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

/// Whether `key` is a record's second name (an email or an organization's name), which a record
/// known by its id may also be named by.
pub(crate) fn is_second_name(key: &str) -> bool {
    key.starts_with("email:") || key.starts_with("name:")
}

/// The file at `path`: `None` when nothing is there; an error when it is not a regular file (or
/// a link to one), so nothing is opened or created beside something else.
fn existing_file(path: &Path) -> Result<Option<std::fs::Metadata>, String> {
    let link = match std::fs::symlink_metadata(path) {
        Ok(link) => link,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read what it is: {e}")),
    };
    let target = match std::fs::metadata(path) {
        Ok(target) => target,
        Err(e) if link.file_type().is_symlink() => {
            return Err(format!(
                "it is a link to nothing ({e}); nothing was created where it points"
            ))
        }
        Err(e) => return Err(format!("cannot read what it is: {e}")),
    };
    if target.is_file() {
        return Ok(Some(target));
    }
    let what = if target.is_dir() {
        "a directory"
    } else {
        "not a regular file (a device, a pipe or a socket)"
    };
    Err(format!(
        "it is {what}, not a state file; nothing was opened or created"
    ))
}

/// Who holds the state, as it recorded it when it opened it (best effort: the lock is the rule).
fn holder_of(path: &Path) -> String {
    let read = || -> rusqlite::Result<String> {
        let connection = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        connection.query_row("SELECT value FROM meta WHERE name = 'holder'", [], |row| {
            row.get(0)
        })
    };
    read()
        .map(|holder| holder.chars().take(200).collect())
        .unwrap_or_else(|_| "another process".into())
}

fn state_error(path: &Path, error: rusqlite::Error) -> Error {
    Error::State {
        path: path.to_path_buf(),
        message: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The steps of `query`'s plan on a state with its temporary tables.
    fn plan_of(query: &str, parameters: usize) -> Vec<String> {
        let connection = Connection::open_in_memory().unwrap();
        connection.execute_batch(identity::SCHEMA).unwrap();
        connection
            .execute_batch(
                "CREATE TEMP TABLE seen (key TEXT NOT NULL, field TEXT NOT NULL, \
                 row INTEGER NOT NULL, PRIMARY KEY (key, field)) WITHOUT ROWID;",
            )
            .unwrap();
        let values = [
            "customer_profiles",
            "email:a@example.com",
            "",
            "fingerprint",
        ];
        let mut explain = connection
            .prepare(&format!("EXPLAIN QUERY PLAN {query}"))
            .unwrap();
        let steps = explain
            .query_map(rusqlite::params_from_iter(&values[..parameters]), |row| {
                row.get(3)
            })
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        steps
    }

    #[test]
    fn a_record_is_found_by_its_second_name_through_the_index_not_a_scan() {
        let plan = plan_of(BY_ALIAS, 4);
        assert!(
            plan.iter().any(|step| step.contains("records_by_alias")),
            "{plan:?}"
        );
    }

    #[test]
    fn absent_items_are_found_by_looking_each_name_up_not_by_scanning_the_names_seen() {
        let plan = plan_of(ABSENT, 1);
        assert!(
            !plan.iter().any(|step| step.starts_with("SCAN s")),
            "{plan:?}"
        );
    }
}
