//! Looking up a batch of the input in the PostgreSQL state, set-based: the batch's items go in
//! by `COPY`, one query finds each by its key or by a second name of the same record, and the
//! names seen go in by `COPY` too, checked against the names seen before in one query.

use super::queries::copy_field;
use super::Failure;
use crate::sync::entity::Item;
use crate::sync::state::{is_second_name, Duplicate, Known, LookUp};
use postgres::Client;
use std::collections::HashMap;
use std::io::Write;

/// Each item found by its key; else, named by a second name, the record known by it (the first
/// by key); else, by the second name it gives, the record known by that.
const FOUND: &str = "
SELECT b.idx,
       k.alias, k.fingerprint = b.fingerprint, k.confirmed_at,
       a.key, a.alias, a.fingerprint = b.fingerprint, a.confirmed_at,
       x.alias, x.fingerprint = b.fingerprint, x.confirmed_at
FROM pg_temp.batch b
LEFT JOIN csm_sync_records k
       ON k.site = $1 AND k.entity = $2 AND k.key = b.key AND k.field = b.field
LEFT JOIN LATERAL (
       SELECT r.key, r.alias, r.fingerprint, r.confirmed_at FROM csm_sync_records r
       WHERE k.key IS NULL AND b.second AND r.site = $1 AND r.entity = $2
         AND r.alias = b.key AND r.alias <> '' AND r.field = b.field
       ORDER BY r.key LIMIT 1) a ON true
LEFT JOIN csm_sync_records x
       ON k.key IS NULL AND a.key IS NULL AND b.alias <> ''
      AND x.site = $1 AND x.entity = $2 AND x.key = b.alias AND x.field = b.field
ORDER BY b.idx";

/// What `Store::look_up` does, in the caller's transaction.
pub(super) fn look_up(
    client: &mut Client,
    site: &str,
    entity: &str,
    rows: &[(usize, Vec<Item>)],
) -> Result<LookUp, Failure> {
    let items: Vec<(usize, &Item)> = rows
        .iter()
        .flat_map(|(row, items)| items.iter().map(move |item| (*row, item)))
        .collect();
    let mut data = Vec::new();
    for (idx, (_, item)) in items.iter().enumerate() {
        write!(data, "{idx}\t")?;
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
    client.batch_execute("TRUNCATE pg_temp.batch, pg_temp.names")?;
    let mut writer = client
        .copy_in("COPY pg_temp.batch (idx, key, field, fingerprint, alias, second) FROM STDIN")?;
    writer.write_all(&data)?;
    writer.finish()?;
    let found = client.query(FOUND, &[&site, &entity])?;

    // What each item is known as, and every name of its record, in the input's order.
    let mut known = Vec::with_capacity(items.len());
    let mut names: Vec<(&str, &str, usize)> = Vec::with_capacity(items.len() * 2);
    for ((row, item), result) in items.iter().zip(&found) {
        let by_key = result.get::<_, Option<String>>(1).map(|alias| Known {
            other_key: None,
            alias,
            same_content: result.get(2),
            confirmed_at: result.get(3),
        });
        let by_alias = || {
            result.get::<_, Option<String>>(4).map(|key| Known {
                other_key: Some(key),
                alias: result.get(5),
                same_content: result.get(6),
                confirmed_at: result.get(7),
            })
        };
        let by_own_alias = || {
            result.get::<_, Option<String>>(8).map(|alias| Known {
                other_key: Some(item.alias.clone()),
                alias,
                same_content: result.get(9),
                confirmed_at: result.get(10),
            })
        };
        let found = by_key.or_else(by_alias).or_else(by_own_alias);
        let alias =
            (!item.alias.is_empty() && item.alias != item.key).then_some(item.alias.as_str());
        names.push((item.key.as_str(), item.field.as_str(), *row));
        if let Some(alias) = alias {
            names.push((alias, item.field.as_str(), *row));
        }
        known.push(found);
    }
    // The matched row's own key is a name too (unless it is the item's alias).
    let matched: Vec<(String, usize, usize)> = items
        .iter()
        .zip(&known)
        .enumerate()
        .filter_map(|(idx, ((row, item), found))| {
            let other = found.as_ref()?.other_key.as_deref()?;
            let alias =
                (!item.alias.is_empty() && item.alias != item.key).then_some(item.alias.as_str());
            (Some(other) != alias).then(|| (other.to_string(), idx, *row))
        })
        .collect();
    let mut ordered: Vec<(usize, usize, &str, &str, usize)> = Vec::with_capacity(names.len());
    {
        // Names in the order the SQLite state marks them: per item, its key, its alias, the
        // matched row's key.
        let mut by_item: Vec<Vec<(&str, &str, usize)>> = vec![Vec::new(); items.len()];
        let mut at = 0;
        for (idx, (_, item)) in items.iter().enumerate() {
            let count = 1 + usize::from(!item.alias.is_empty() && item.alias != item.key);
            by_item[idx].extend_from_slice(&names[at..at + count]);
            at += count;
        }
        for (other, idx, row) in &matched {
            by_item[*idx].push((other.as_str(), items[*idx].1.field.as_str(), *row));
        }
        for (idx, of_item) in by_item.into_iter().enumerate() {
            for (name, field, row) in of_item {
                ordered.push((ordered.len(), idx, name, field, row));
            }
        }
    }

    // A name twice in this batch: the first such in order.
    let mut first_seen: HashMap<(&str, &str), usize> = HashMap::with_capacity(ordered.len());
    let mut duplicate: Option<(usize, Duplicate)> = None;
    for (ord, _, name, field, row) in &ordered {
        if let Some(first_row) = first_seen.get(&(*name, *field)) {
            duplicate = Some((*ord, duplicate_of(*first_row, *row, name, field)));
            break;
        }
        first_seen.insert((name, field), *row);
    }
    let mut data = Vec::new();
    for (ord, _, name, field, row) in &ordered {
        write!(data, "{ord}\t")?;
        copy_field(&mut data, name);
        data.push(b'\t');
        copy_field(&mut data, field);
        writeln!(data, "\t{row}")?;
    }
    let mut writer = client.copy_in("COPY pg_temp.names (ord, key, field, row) FROM STDIN")?;
    writer.write_all(&data)?;
    writer.finish()?;
    // A name an earlier batch saw: the first such in order, if before the one above.
    let earlier = client.query_opt(
        "SELECT n.ord, s.row, n.row FROM pg_temp.names n \
         JOIN pg_temp.seen s ON s.key = n.key AND s.field = n.field ORDER BY n.ord LIMIT 1",
        &[],
    )?;
    if let Some(earlier) = earlier {
        let ord = earlier.get::<_, i32>(0) as usize;
        if duplicate.as_ref().is_none_or(|(first, _)| ord < *first) {
            let (_, _, name, field, _) = ordered[ord];
            duplicate = Some((
                ord,
                duplicate_of(
                    earlier.get::<_, i64>(1) as usize,
                    earlier.get::<_, i64>(2) as usize,
                    name,
                    field,
                ),
            ));
        }
    }
    if let Some((_, duplicate)) = duplicate {
        return Ok(Err(duplicate));
    }
    client.batch_execute(
        "INSERT INTO pg_temp.seen (key, field, row) SELECT key, field, row FROM pg_temp.names \
         ON CONFLICT DO NOTHING",
    )?;

    // Back into rows.
    let mut known = known.into_iter();
    Ok(Ok(rows
        .iter()
        .map(|(_, items)| known.by_ref().take(items.len()).collect())
        .collect()))
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
