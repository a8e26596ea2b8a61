//! Looking up a batch of the input in the PostgreSQL state, set-based: the batch's items go in
//! by `COPY`, one query finds each by its key or by a second name of the same record, and the
//! names seen are appended in one statement (a name seen twice is found by the hashes the run
//! keeps, and confirmed by the database).

use super::queries::copy_field;
use super::Failure;
use crate::sync::entity::Item;
use crate::sync::state::{is_second_name, Duplicate, Known, LookUp};
use postgres::Client;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, Hasher};
use std::io::Write;

/// Each item found by its key.
const BY_KEY: &str = "
SELECT k.alias, k.fingerprint = b.fingerprint, k.confirmed_at
FROM pg_temp.batch b
LEFT JOIN csm_sync_records k
       ON k.site = $1 AND k.entity = $2 AND k.key = b.key AND k.field = b.field
ORDER BY b.idx";

/// The items of `$3` not found by their key: named by a second name, the record known by it
/// (the first by key); else, by the second name they give, the record known by that.
const BY_OTHER_NAMES: &str = "
SELECT b.idx,
       a.key, a.alias, a.fingerprint = b.fingerprint, a.confirmed_at,
       x.alias, x.fingerprint = b.fingerprint, x.confirmed_at
FROM pg_temp.batch b
LEFT JOIN LATERAL (
       SELECT r.key, r.alias, r.fingerprint, r.confirmed_at FROM csm_sync_records r
       WHERE b.second AND r.site = $1 AND r.entity = $2
         AND r.alias = b.key AND r.alias <> '' AND r.field = b.field
       ORDER BY r.key LIMIT 1) a ON true
LEFT JOIN LATERAL (
       SELECT r.alias, r.fingerprint, r.confirmed_at FROM csm_sync_records r
       WHERE a.key IS NULL AND b.alias <> ''
         AND r.site = $1 AND r.entity = $2 AND r.key = b.alias AND r.field = b.field) x ON true
WHERE b.idx = ANY($3)
ORDER BY b.idx";

/// What `Store::look_up` does, in the caller's transaction.
pub(super) fn look_up(
    client: &mut Client,
    seen: &mut HashSet<u64>,
    site: i32,
    entity: &str,
    rows: &[(usize, Vec<Item>)],
) -> Result<LookUp, Failure> {
    let items: Vec<(usize, &Item)> = rows
        .iter()
        .flat_map(|(row, items)| items.iter().map(move |item| (*row, item)))
        .collect();
    let mut data = Vec::new();
    for (idx, (row, item)) in items.iter().enumerate() {
        write!(data, "{idx}\t{row}\t")?;
        for text in [&item.key, &item.field, &item.fingerprint, &item.alias] {
            copy_field(&mut data, text);
            data.push(b'\t');
        }
        data.extend_from_slice(if is_second_name(&item.key) {
            b"t\n"
        } else {
            b"f\n"
        });
    }
    client.batch_execute("TRUNCATE pg_temp.batch")?;
    let mut writer = client.copy_in(
        "COPY pg_temp.batch (idx, row, key, field, fingerprint, alias, second) FROM STDIN",
    )?;
    writer.write_all(&data)?;
    writer.finish()?;
    // Most items are found by their key (one index look-up each); the others, a few new
    // records, by their other names.
    let mut known: Vec<Option<Known>> = client
        .query(BY_KEY, &[&site, &entity])?
        .into_iter()
        .map(|row| {
            row.get::<_, Option<String>>(0).map(|alias| Known {
                other_key: None,
                alias,
                same_content: row.get(1),
                confirmed_at: row.get(2),
            })
        })
        .collect();
    let others: Vec<i32> = items
        .iter()
        .zip(&known)
        .enumerate()
        .filter(|(_, ((_, item), found))| {
            found.is_none() && (is_second_name(&item.key) || !item.alias.is_empty())
        })
        .map(|(idx, _)| idx as i32)
        .collect();
    if !others.is_empty() {
        for row in client.query(BY_OTHER_NAMES, &[&site, &entity, &others])? {
            let idx = row.get::<_, i32>(0) as usize;
            let by_alias = row.get::<_, Option<String>>(1).map(|key| Known {
                other_key: Some(key),
                alias: row.get(2),
                same_content: row.get(3),
                confirmed_at: row.get(4),
            });
            let by_own_alias = || {
                row.get::<_, Option<String>>(5).map(|alias| Known {
                    other_key: Some(items[idx].1.alias.clone()),
                    alias,
                    same_content: row.get(6),
                    confirmed_at: row.get(7),
                })
            };
            known[idx] = by_alias.or_else(by_own_alias);
        }
    }

    // Every name of each item's record in the order the SQLite state marks them: its key, its
    // second name, the key of the row matched by another name.
    let mut ordered: Vec<(usize, &str, &str, usize)> = Vec::with_capacity(items.len() * 2);
    for ((row, item), found) in items.iter().zip(&known) {
        let alias =
            (!item.alias.is_empty() && item.alias != item.key).then_some(item.alias.as_str());
        let matched = found
            .as_ref()
            .and_then(|k| k.other_key.as_deref())
            .filter(|k| Some(*k) != alias);
        for name in [Some(item.key.as_str()), alias, matched]
            .into_iter()
            .flatten()
        {
            ordered.push((ordered.len(), name, item.field.as_str(), *row));
        }
    }

    // A name seen before, in this batch or an earlier one: the first such in order. The names
    // seen are kept here as 64-bit hashes (8 bytes a name, not the name: a million rows stay in
    // a few MB); a hash seen before is a duplicate only if the name itself was, which the
    // database (or this batch) says.
    let mut batch_rows: HashMap<(&str, &str), usize> = HashMap::with_capacity(ordered.len());
    for (_, name, field, row) in &ordered {
        let fresh = seen.insert(name_hash(name, field));
        if !fresh {
            let first_row = match batch_rows.get(&(*name, *field)) {
                Some(first_row) => Some(*first_row),
                None => client
                    .query_opt(
                        "SELECT row FROM pg_temp.seen WHERE key = $1 AND field = $2 LIMIT 1",
                        &[name, field],
                    )?
                    .map(|r| r.get::<_, i64>(0) as usize),
            };
            if let Some(first_row) = first_row {
                return Ok(Err(duplicate_of(first_row, *row, name, field)));
            }
        }
        batch_rows.entry((name, field)).or_insert(*row);
    }
    // The names seen: each item's key and second name, from the batch already in the
    // database; and the keys of rows matched by another name, the few there are.
    client.batch_execute(
        "INSERT INTO pg_temp.seen (key, field, row) SELECT key, field, row FROM pg_temp.batch \
         UNION ALL SELECT alias, field, row FROM pg_temp.batch WHERE alias <> '' AND alias <> key",
    )?;
    let matched: Vec<(&str, &str, i64)> = items
        .iter()
        .zip(&known)
        .filter_map(|((row, item), found)| {
            let other = found.as_ref()?.other_key.as_deref()?;
            (other != item.alias).then_some((other, item.field.as_str(), *row as i64))
        })
        .collect();
    if !matched.is_empty() {
        let keys: Vec<&str> = matched.iter().map(|m| m.0).collect();
        let fields: Vec<&str> = matched.iter().map(|m| m.1).collect();
        let rows_of: Vec<i64> = matched.iter().map(|m| m.2).collect();
        client.execute(
            "INSERT INTO pg_temp.seen (key, field, row) \
             SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])",
            &[&keys, &fields, &rows_of],
        )?;
    }

    // Back into rows.
    let mut known = known.into_iter();
    Ok(Ok(rows
        .iter()
        .map(|(_, items)| known.by_ref().take(items.len()).collect())
        .collect()))
}

/// A name's 64-bit hash, the same for the whole run (the hasher's keys are fixed).
fn name_hash(name: &str, field: &str) -> u64 {
    let mut hasher =
        std::hash::BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default()
            .build_hasher();
    hasher.write(name.as_bytes());
    hasher.write_u8(0);
    hasher.write(field.as_bytes());
    hasher.finish()
}

fn duplicate_of(first_row: usize, row: usize, name: &str, field: &str) -> Duplicate {
    Duplicate {
        first_row,
        row,
        key: match field {
            "" => name.to_string(),
            field => format!("{name} / {field}"),
        },
    }
}
