//! What a sync asks of its PostgreSQL state: the SQLite state's queries with the site in every
//! key; the input's names and records to send in temporary tables of the sync's session, filled
//! by `COPY`.

use super::PgState;
use crate::error::Error;
use crate::sync::entity::Item;
use crate::sync::history::RecordedRun;
use crate::sync::state::{AbsentItem, LookUp, PendingItem, PendingRequest, Tracked};
use crate::sync::store::Store;
use std::io::Write;

/// `text` as a field of `COPY … FROM STDIN` in its text format.
pub(super) fn copy_field(out: &mut Vec<u8>, text: &str) {
    for byte in text.bytes() {
        match byte {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            other => out.push(other),
        }
    }
}

impl Store for PgState {
    fn count(&mut self, entity: &str) -> Result<u64, Error> {
        let site = self.site_id;
        self.db()
            .query_one(
                "SELECT count(*) FROM csm_sync_records WHERE site = $1 AND entity = $2",
                &[&site, &entity],
            )
            .map(|row| row.get::<_, i64>(0) as u64)
            .map_err(|e| self.fail(e))
    }

    fn pending(&mut self, entity: &str) -> Result<Vec<PendingRequest>, Error> {
        let site = self.site_id;
        let run = |client: &mut postgres::Client| -> Result<Vec<PendingRequest>, postgres::Error> {
            let requests = client.query(
                "SELECT idempotency_key, task_id, body FROM csm_sync_pending_requests \
                 WHERE site = $1 AND entity = $2 ORDER BY planned_at, idempotency_key",
                &[&site, &entity],
            )?;
            let items = client.prepare(
                "SELECT position, key, field, fingerprint, alias, replaces \
                 FROM csm_sync_pending_records WHERE site = $1 AND idempotency_key = $2 \
                 ORDER BY position, key, field",
            )?;
            requests
                .into_iter()
                .map(|request| {
                    let key: String = request.get(0);
                    let items = client
                        .query(&items, &[&site, &key])?
                        .into_iter()
                        .map(|row| PendingItem {
                            position: row.get::<_, i32>(0) as usize,
                            item: Tracked {
                                key: row.get(1),
                                field: row.get(2),
                                fingerprint: row.get(3),
                                alias: row.get(4),
                                replaces: row.get(5),
                            },
                        })
                        .collect();
                    Ok(PendingRequest {
                        idempotency_key: key,
                        task_id: request.get(1),
                        body: request.get(2),
                        items,
                    })
                })
                .collect()
        };
        run(self.db()).map_err(|e| self.fail(e))
    }

    fn start_input(&mut self) -> Result<(), Error> {
        self.next_todo = 0;
        self.seen.clear();
        self.seen_indexed = false;
        self.db()
            .batch_execute(
                "DROP TABLE IF EXISTS pg_temp.seen, pg_temp.todo, pg_temp.batch;
                 CREATE TEMP TABLE seen (
                     key TEXT NOT NULL, field TEXT NOT NULL, row BIGINT NOT NULL
                 );
                 CREATE TEMP TABLE todo (
                     position BIGINT PRIMARY KEY, row BIGINT NOT NULL, record TEXT NOT NULL,
                     items TEXT NOT NULL
                 );
                 CREATE TEMP TABLE batch (
                     idx INTEGER NOT NULL, row BIGINT NOT NULL, key TEXT NOT NULL,
                     field TEXT NOT NULL,
                     fingerprint TEXT NOT NULL, alias TEXT NOT NULL, second BOOLEAN NOT NULL
                 );
",
            )
            .map_err(|e| self.fail(e))
    }

    fn look_up(&mut self, entity: &str, rows: &[(usize, Vec<Item>)]) -> Result<LookUp, Error> {
        let mut seen = std::mem::take(&mut self.seen);
        let found = self.in_transaction(|client, site| {
            super::look_up::look_up(client, &mut seen, site, entity, rows)
        });
        self.seen = seen;
        found
    }

    fn batch_size(&self) -> usize {
        // A round of a few statements per batch: larger batches, fewer rounds.
        5_000
    }

    fn push_todo(&mut self, todo: &[(usize, String, String)]) -> Result<(), Error> {
        if todo.is_empty() {
            return Ok(());
        }
        let first = self.next_todo;
        let mut data = Vec::new();
        for (offset, (row, record, items)) in todo.iter().enumerate() {
            write!(data, "{}\t{}\t", first + offset, row).expect("a vector takes it");
            copy_field(&mut data, record);
            data.push(b'\t');
            copy_field(&mut data, items);
            data.push(b'\n');
        }
        self.in_transaction(|client, _| {
            let mut writer =
                client.copy_in("COPY pg_temp.todo (position, row, record, items) FROM STDIN")?;
            writer.write_all(&data)?;
            writer.finish()?;
            Ok(())
        })?;
        self.next_todo += todo.len();
        Ok(())
    }

    fn todo(
        &mut self,
        from: usize,
        limit: usize,
    ) -> Result<Vec<(usize, usize, String, String)>, Error> {
        self.db()
            .query(
                "SELECT position, row, record, items FROM pg_temp.todo \
                 WHERE position >= $1 ORDER BY position LIMIT $2",
                &[&(from as i64), &(limit as i64)],
            )
            .map(|rows| {
                rows.into_iter()
                    .map(|r| {
                        (
                            r.get::<_, i64>(0) as usize,
                            r.get::<_, i64>(1) as usize,
                            r.get(2),
                            r.get(3),
                        )
                    })
                    .collect()
            })
            .map_err(|e| self.fail(e))
    }

    fn absent(&mut self, entity: &str) -> Result<Vec<AbsentItem>, Error> {
        self.index_seen()?;
        let site = self.site_id;
        let run = |client: &mut postgres::Client| -> Result<Vec<AbsentItem>, postgres::Error> {
            let rows = client.query(
                "SELECT key, field, alias <> '' FROM csm_sync_records r \
                 WHERE site = $1 AND entity = $2 \
                 AND NOT EXISTS (SELECT 1 FROM pg_temp.seen s WHERE s.key = r.key AND s.field = r.field) \
                 AND (r.alias = '' OR NOT EXISTS \
                      (SELECT 1 FROM pg_temp.seen s WHERE s.key = r.alias AND s.field = r.field)) \
                 ORDER BY key, field",
                &[&site, &entity],
            )?;
            Ok(rows
                .into_iter()
                .map(|r| AbsentItem {
                    key: r.get(0),
                    field: r.get(1),
                    alias_known: r.get(2),
                })
                .collect())
        };
        run(self.db()).map_err(|e| self.fail(e))
    }

    fn seen_of(&mut self, items: &[(String, String)]) -> Result<Vec<bool>, Error> {
        self.index_seen()?;
        let keys: Vec<&str> = items.iter().map(|(key, _)| key.as_str()).collect();
        let fields: Vec<&str> = items.iter().map(|(_, field)| field.as_str()).collect();
        self
            .db()
            .query(
                "SELECT EXISTS (SELECT 1 FROM pg_temp.seen s WHERE s.key = i.key AND s.field = i.field) \
                 FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS i(key, field, n) ORDER BY n",
                &[&keys, &fields],
            )
            .map(|rows| rows.into_iter().map(|r| r.get(0)).collect())
            .map_err(|e| self.fail(e))
    }

    fn planned(
        &mut self,
        entity: &str,
        idempotency_key: &str,
        body: &str,
        items: &[PendingItem],
        now: i64,
    ) -> Result<(), Error> {
        self.in_transaction(|client, site| {
            client.execute(
                "INSERT INTO csm_sync_pending_requests \
                 (site, idempotency_key, entity, task_id, body, planned_at) \
                 VALUES ($1, $2, $3, NULL, $4, $5) ON CONFLICT (site, idempotency_key) DO UPDATE \
                 SET entity = excluded.entity, task_id = NULL, body = excluded.body, \
                 planned_at = excluded.planned_at",
                &[&site, &idempotency_key, &entity, &body, &now],
            )?;
            let insert = client.prepare(
                "INSERT INTO csm_sync_pending_records \
                 (site, idempotency_key, position, key, field, fingerprint, alias, replaces) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (site, idempotency_key, key, field) DO UPDATE \
                 SET position = excluded.position, fingerprint = excluded.fingerprint, \
                 alias = excluded.alias, replaces = excluded.replaces",
            )?;
            for PendingItem { position, item } in items {
                client.execute(
                    &insert,
                    &[
                        &site,
                        &idempotency_key,
                        &(*position as i32),
                        &item.key,
                        &item.field,
                        &item.fingerprint,
                        &item.alias,
                        &item.replaces,
                    ],
                )?;
            }
            Ok(())
        })
    }

    fn submitted(&mut self, idempotency_key: &str, task_id: &str) -> Result<(), Error> {
        self.in_transaction(|client, site| {
            client
                .execute(
                    "UPDATE csm_sync_pending_requests SET task_id = $3 \
                     WHERE site = $1 AND idempotency_key = $2",
                    &[&site, &idempotency_key, &task_id],
                )
                .map(drop)
                .map_err(Into::into)
        })
    }

    fn finished(
        &mut self,
        entity: &str,
        idempotency_key: Option<&str>,
        keep_pending: bool,
        confirmed: &[Tracked],
        now: i64,
    ) -> Result<(), Error> {
        self.in_transaction(|client, site| {
            let write = client.prepare(
                "INSERT INTO csm_sync_records \
                 (site, entity, key, field, fingerprint, confirmed_at, alias) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (site, entity, key, field) DO UPDATE \
                 SET fingerprint = excluded.fingerprint, confirmed_at = excluded.confirmed_at, \
                 alias = excluded.alias",
            )?;
            let remove = client.prepare(
                "DELETE FROM csm_sync_records \
                 WHERE site = $1 AND entity = $2 AND key = $3 AND field = $4",
            )?;
            for item in confirmed {
                match &item.fingerprint {
                    Some(fingerprint) => {
                        if let Some(replaced) = &item.replaces {
                            client.execute(&remove, &[&site, &entity, replaced, &item.field])?;
                        }
                        client.execute(
                            &write,
                            &[
                                &site,
                                &entity,
                                &item.key,
                                &item.field,
                                fingerprint,
                                &now,
                                &item.alias,
                            ],
                        )?;
                    }
                    None => {
                        client.execute(&remove, &[&site, &entity, &item.key, &item.field])?;
                    }
                }
            }
            if let (Some(key), false) = (idempotency_key, keep_pending) {
                client.execute(
                    "DELETE FROM csm_sync_pending_requests WHERE site = $1 AND idempotency_key = $2",
                    &[&site, &key],
                )?;
            }
            Ok(())
        })
    }

    fn last_pace(&mut self, entity: &str) -> Result<Option<f64>, Error> {
        let site = self.site_id;
        self.db()
            .query_opt(
                "SELECT new + changed + resent, finished_at - started_at FROM csm_sync_runs \
                 WHERE site = $1 AND entity = $2 AND new + changed + resent > 0 \
                 ORDER BY id DESC LIMIT 1",
                &[&site, &entity],
            )
            .map(|row| row.map(|r| r.get::<_, i64>(0) as f64 / r.get::<_, i64>(1).max(1) as f64))
            .map_err(|e| self.fail(e))
    }

    fn site_pace(&mut self) -> Result<Option<crate::SitePace>, Error> {
        let site = self.site.clone();
        let kept: Option<String> = self
            .db()
            .query_opt(
                "SELECT site_pace FROM csm_sync_sites WHERE site = $1 AND site_pace IS NOT NULL \
                 LIMIT 1",
                &[&site],
            )
            .map_err(|e| self.fail(e))?
            .map(|row| row.get(0));
        Ok(kept.and_then(|json| serde_json::from_str(&json).ok()))
    }

    fn keep_site_pace(&mut self, pace: &crate::SitePace) -> Result<(), Error> {
        let json = serde_json::to_string(pace).expect("a pace serializes");
        let site = self.site.clone();
        self.in_transaction(|client, _| {
            client
                .execute(
                    "UPDATE csm_sync_sites SET site_pace = $2 WHERE site = $1",
                    &[&site, &json],
                )
                .map(drop)
                .map_err(Into::into)
        })
    }

    fn record_run(&mut self, run: &RecordedRun) -> Result<(), Error> {
        self.in_transaction(|client, site| {
            client
                .execute(
                    "INSERT INTO csm_sync_runs (site, entity, started_at, finished_at, new, \
                     changed, resent, unchanged, absent, deleted, failed) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                    &[
                        &site,
                        &run.entity,
                        &run.started_at,
                        &run.finished_at,
                        &(run.new as i64),
                        &(run.changed as i64),
                        &(run.resent as i64),
                        &(run.unchanged as i64),
                        &(run.absent as i64),
                        &(run.deleted as i64),
                        &(run.failed as i64),
                    ],
                )
                .map(drop)
                .map_err(Into::into)
        })
    }
}
