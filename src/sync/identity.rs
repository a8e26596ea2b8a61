//! What a state describes (the site, the entities it holds and how each is keyed, the schema
//! version), read and checked before a byte of the state is written; and the writes that record
//! it, or bring an older state up to this version.

use std::collections::BTreeMap;

/// The schema this version writes; a state written by a newer one is refused, an older one is
/// brought up to it.
pub(super) const SCHEMA_VERSION: i64 = 2;

/// The tables of this version (all created together: a state has all of them or none).
pub(super) const SCHEMA: &str = "
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
    alias        TEXT NOT NULL DEFAULT '',
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
    alias           TEXT NOT NULL DEFAULT '',
    replaces        TEXT,
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
CREATE INDEX IF NOT EXISTS records_by_alias ON records (entity, alias, field) WHERE alias != '';
";

/// What version 1 lacked: a record's second name, and the same for the items in flight.
const FROM_VERSION_1: &str = "
ALTER TABLE records ADD COLUMN alias TEXT NOT NULL DEFAULT '';
ALTER TABLE pending_records ADD COLUMN alias TEXT NOT NULL DEFAULT '';
ALTER TABLE pending_records ADD COLUMN replaces TEXT;
";

/// What a sync wants the state to describe, and what it allows to change.
#[derive(Clone, Debug)]
pub(crate) struct Identity {
    /// The site the client calls: its base URL (the cloud id is part of it).
    pub site: String,
    /// The entity synced (`records.entity`).
    pub entity: &'static str,
    /// How that entity's records are keyed.
    pub key_scheme: &'static str,
    /// The state's site moved here (a migrated site, a renamed cloud id): it is rebound.
    pub site_moved: bool,
    /// The entity may be added to a state that holds others.
    pub add_entity: bool,
}

/// What an existing file was found to hold.
pub(super) enum Found {
    /// No tables: a new state.
    Fresh,
    /// A sync state.
    State {
        version: i64,
        /// `None` in a version-1 state, which did not record it.
        site: Option<String>,
        /// Each entity the state holds, and how its records are keyed.
        entities: BTreeMap<String, String>,
    },
}

/// Reads what the database holds, writing nothing; an error says why it is not a state this
/// version can use.
pub(super) fn read(connection: &rusqlite::Connection) -> Result<Found, String> {
    let tables = || -> rusqlite::Result<Vec<String>> {
        let mut select = connection
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")?;
        let names = select.query_map([], |row| row.get(0))?;
        names.collect()
    };
    let tables = tables().map_err(|e| format!("it is not a sync state ({e})"))?;
    if tables.is_empty() {
        return Ok(Found::Fresh);
    }
    if !tables.iter().any(|t| t == "meta") || !tables.iter().any(|t| t == "records") {
        let shown: Vec<&str> = tables.iter().take(5).map(String::as_str).collect();
        return Err(format!(
            "it is an SQLite database but not a sync state (it holds the tables {}); it was left as it was",
            shown.join(", ")
        ));
    }
    let meta = || -> rusqlite::Result<BTreeMap<String, String>> {
        let mut select = connection.prepare("SELECT name, value FROM meta")?;
        let rows = select.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?;
        rows.collect()
    };
    let meta = meta().map_err(|e| format!("its meta table cannot be read ({e})"))?;
    let version = meta
        .get("schema_version")
        .and_then(|v| v.parse::<i64>().ok())
        .ok_or("it records no schema version: it is not a sync state")?;
    if version > SCHEMA_VERSION {
        return Err(format!(
            "it was written by a newer version of atlassian-csm (schema {version}; this version \
             reads up to {SCHEMA_VERSION}); it was left as it was"
        ));
    }
    if version < 1 {
        return Err(format!(
            "its schema version {version} is not one this crate wrote"
        ));
    }
    let mut entities: BTreeMap<String, String> = meta
        .iter()
        .filter_map(|(name, scheme)| {
            Some((name.strip_prefix("entity:")?.to_string(), scheme.clone()))
        })
        .collect();
    if version == 1 {
        // Version 1 did not record its entities; their keys were made as they are now.
        let held = || -> rusqlite::Result<Vec<String>> {
            let mut select = connection.prepare("SELECT DISTINCT entity FROM records")?;
            let names = select.query_map([], |row| row.get(0))?;
            names.collect()
        };
        for entity in held().map_err(|e| format!("its records cannot be read ({e})"))? {
            let scheme = super::entity::key_scheme_of(&entity).unwrap_or("unknown");
            entities.insert(entity, scheme.to_string());
        }
    }
    Ok(Found::State {
        version,
        site: meta.get("site").cloned(),
        entities,
    })
}

/// Whether a state that holds `found` may be used for `wanted`; why not, naming both.
pub(super) fn check(found: &Found, wanted: &Identity) -> Result<(), String> {
    let Found::State { site, entities, .. } = found else {
        return Ok(());
    };
    if let Some(site) = site {
        if *site != wanted.site && !wanted.site_moved {
            return Err(format!(
                "it describes the site {site}, and this sync is of {}; nothing was sent. A state \
                 knows what one site holds: use another state for this site, or, if the site \
                 itself moved (migrated, or its cloud id renamed), say so (site_moved, `csm sync \
                 --site-moved`)",
                wanted.site
            ));
        }
    }
    match entities.get(wanted.entity) {
        Some(scheme) if scheme != wanted.key_scheme => Err(format!(
            "it keys {} as \"{scheme}\", and this version keys them as \"{}\"; nothing was sent",
            wanted.entity, wanted.key_scheme
        )),
        Some(_) => Ok(()),
        None if entities.is_empty() || wanted.add_entity => Ok(()),
        None => {
            let held: Vec<&str> = entities.keys().map(String::as_str).collect();
            Err(format!(
                "it holds {} and no {}; nothing was sent. Use a state of its own for {}, or add \
                 it to this one on purpose (add_entity, `csm sync --add-entity`)",
                held.join(" and "),
                wanted.entity,
                wanted.entity
            ))
        }
    }
}

/// Whether the state already records all that `wanted` would record (so a plan needs no
/// transaction of its own).
pub(super) fn is_recorded(found: &Found, wanted: &Identity) -> bool {
    match found {
        Found::Fresh => false,
        Found::State {
            version,
            site,
            entities,
        } => {
            *version == SCHEMA_VERSION
                && site.as_deref() == Some(wanted.site.as_str())
                && entities.get(wanted.entity).map(String::as_str) == Some(wanted.key_scheme)
        }
    }
}

/// Creates the tables or brings a version-1 state up to this one, and records what the state
/// describes (its site, this entity and its keys), inside the caller's transaction.
pub(super) fn record(
    connection: &rusqlite::Connection,
    found: &Found,
    wanted: &Identity,
) -> rusqlite::Result<()> {
    if let Found::State { version: 1, .. } = found {
        connection.execute_batch(FROM_VERSION_1)?;
    }
    connection.execute_batch(SCHEMA)?;
    let mut set = connection
        .prepare("INSERT INTO meta (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET value = excluded.value")?;
    set.execute(["schema_version", &SCHEMA_VERSION.to_string()])?;
    set.execute(["site", &wanted.site])?;
    set.execute([&format!("entity:{}", wanted.entity), wanted.key_scheme])?;
    // A version-1 state's other entities, now recorded.
    if let Found::State { entities, .. } = found {
        for (entity, scheme) in entities {
            set.execute([&format!("entity:{entity}"), scheme])?;
        }
    }
    Ok(())
}
