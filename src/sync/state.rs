//! The sync state: one SQLite file (WAL) holding what was confirmed synced and what is in
//! flight, locked by one sync at a time. The schema is documented in the [module](super) docs.

use crate::error::Error;
use rusqlite::{params, Connection, OptionalExtension};
use std::path::{Path, PathBuf};

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

/// The items of an entity the input did not name by their key nor by their second name: each
/// name looked up by the primary key of the names seen.
pub(super) const ABSENT: &str = "SELECT key, field, alias != '' FROM records r WHERE entity = ?1 \
    AND NOT EXISTS (SELECT 1 FROM temp.seen s WHERE s.key = r.key AND s.field = r.field) \
    AND (r.alias = '' \
         OR NOT EXISTS (SELECT 1 FROM temp.seen s WHERE s.key = r.alias AND s.field = r.field)) \
    ORDER BY key, field";

/// An open, locked state in an SQLite file.
pub(crate) struct SqliteState {
    pub(super) path: PathBuf,
    /// Declared before the lock: closed first, so the lock outlives every use of the file.
    pub(super) connection: Connection,
    /// The position the next record to send takes in `temp.todo`.
    pub(super) next_todo: usize,
    /// Held until the state is dropped; the operating system releases it if the process dies.
    pub(super) _lock: Option<super::lock::Lock>,
}

impl SqliteState {
    fn fail(&self, error: rusqlite::Error) -> Error {
        state_error(&self.path, error)
    }

    /// Runs `work` in one transaction (a savepoint: inside a plan's transaction, never
    /// committed), committed when it succeeds.
    pub(super) fn in_transaction<T>(
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
}

impl super::store::Store for SqliteState {
    fn look_up(
        &mut self,
        entity: &str,
        rows: &[(usize, Vec<super::entity::Item>)],
    ) -> Result<LookUp, Error> {
        self.look_up_in_file(entity, rows)
    }

    /// Records of `entity` in the state.
    fn count(&mut self, entity: &str) -> Result<u64, Error> {
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
    fn pending(&mut self, entity: &str) -> Result<Vec<PendingRequest>, Error> {
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
    fn start_input(&mut self) -> Result<(), Error> {
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

    /// Adds records to send: (row, record as JSON, items as JSON).
    fn push_todo(&mut self, todo: &[(usize, String, String)]) -> Result<(), Error> {
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
    fn todo(
        &mut self,
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
    fn absent(&mut self, entity: &str) -> Result<Vec<AbsentItem>, Error> {
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
    fn seen_of(&mut self, items: &[(String, String)]) -> Result<Vec<bool>, Error> {
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
    fn planned(
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
    fn submitted(&mut self, idempotency_key: &str, task_id: &str) -> Result<(), Error> {
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
    fn finished(
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
    fn last_pace(&mut self, entity: &str) -> Result<Option<f64>, Error> {
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

    /// What the last run learned of the site's pace; `None` when none was kept (or what was
    /// kept cannot be read: it is learned again).
    fn site_pace(&mut self) -> Result<Option<crate::SitePace>, Error> {
        let kept: Option<String> = self
            .connection
            .query_row(
                "SELECT value FROM meta WHERE name = 'site_pace'",
                [],
                |row| row.get(0),
            )
            .optional()
            .map_err(|e| self.fail(e))?;
        Ok(kept.and_then(|json| match serde_json::from_str(&json) {
            Ok(pace) => Some(pace),
            Err(error) => {
                tracing::warn!(%error, "the site's pace kept in the state cannot be read; it is learned again");
                None
            }
        }))
    }

    /// Keeps what this run knows of the site's pace, for the next run.
    fn keep_site_pace(&mut self, pace: &crate::SitePace) -> Result<(), Error> {
        let json = serde_json::to_string(pace).expect("a pace serializes");
        self.connection
            .execute(
                "INSERT INTO meta (name, value) VALUES ('site_pace', ?1) \
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                [json],
            )
            .map(drop)
            .map_err(|e| self.fail(e))
    }

    /// Keeps a run and its counts (read back by `history::recorded_runs`).
    fn record_run(&mut self, run: &super::history::RecordedRun) -> Result<(), Error> {
        self.connection
            .execute(
                "INSERT INTO runs (entity, started_at, finished_at, new, changed, resent, \
                 unchanged, absent, deleted, failed) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    run.entity,
                    run.started_at,
                    run.finished_at,
                    run.new as i64,
                    run.changed as i64,
                    run.resent as i64,
                    run.unchanged as i64,
                    run.absent as i64,
                    run.deleted as i64,
                    run.failed as i64
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

pub(super) fn state_error(path: &Path, error: rusqlite::Error) -> Error {
    Error::State {
        path: path.to_path_buf(),
        message: error.to_string(),
    }
}
