//! Looking up an input's records in the state: by key, or by a second name of the same record,
//! each of its names marked seen. The queries are written so that each is one index look-up.

use super::entity::Item;
use super::state::{is_second_name, Duplicate, Known, LookUp, SqliteState};
use crate::error::Error;
use rusqlite::{params, OptionalExtension};

/// The record known by a second name, through the partial index of second names (named, and
/// `alias != ''` stated so that it applies): left to itself, SQLite's planner takes the primary
/// key's `entity` prefix, and each new record named by email scanned the whole state.
const BY_ALIAS: &str = "SELECT alias, fingerprint = ?4, confirmed_at, key FROM records \
    INDEXED BY records_by_alias \
    WHERE entity = ?1 AND alias = ?2 AND alias != '' AND field = ?3 ORDER BY key LIMIT 1";

/// The record known by `key`; its content compared in place (no copy of the fingerprint per row).
const BY_KEY: &str = "SELECT alias, fingerprint = ?4, confirmed_at FROM records \
    WHERE entity = ?1 AND key = ?2 AND field = ?3";

impl SqliteState {
    /// Marks the items of `rows` (row number, items) seen and returns what the state holds of
    /// each, or the first record named twice in the input. An item is found by its key, or by a
    /// second name of the same record: a record known by id whose email (or name) the state
    /// learned, named now by that email alone; or one known by its email, named now by its id and
    /// that email. Every name of a record counts as seen.
    pub(super) fn look_up_in_file(
        &mut self,
        entity: &str,
        rows: &[(usize, Vec<Item>)],
    ) -> Result<LookUp, Error> {
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
}

#[cfg(test)]
mod tests {
    use super::super::identity;
    use super::super::state::ABSENT;
    use super::*;
    use rusqlite::Connection;

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
