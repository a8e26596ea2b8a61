//! The PostgreSQL state's tables, applied once per database (under a transaction lock, so that
//! workers starting together apply them once), a database of a newer schema refused; and what a
//! site and entity record of themselves.

use super::super::identity::Identity;
use postgres::Client;

/// The schema this version writes; a database of a newer one is refused.
const SCHEMA_VERSION: i64 = 1;

/// The transaction lock that serializes schema changes (any constant, the same in every worker).
const SCHEMA_LOCK: i64 = 0x6373_6d5f_7379_6e63; // "csm_sync"

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS csm_sync_meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS csm_sync_sites (
    site       TEXT NOT NULL,
    entity     TEXT NOT NULL,
    key_scheme TEXT NOT NULL,
    lock_key   BIGINT NOT NULL,
    site_pace  TEXT,
    holder     TEXT,
    held_since TIMESTAMPTZ,
    PRIMARY KEY (site, entity)
);
CREATE TABLE IF NOT EXISTS csm_sync_site_ids (
    id   SERIAL PRIMARY KEY,
    site TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS csm_sync_records (
    site         INTEGER NOT NULL REFERENCES csm_sync_site_ids,
    entity       TEXT NOT NULL,
    key          TEXT NOT NULL,
    field        TEXT NOT NULL DEFAULT '',
    fingerprint  TEXT NOT NULL,
    confirmed_at BIGINT NOT NULL,
    alias        TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (site, entity, key, field)
);
CREATE INDEX IF NOT EXISTS csm_sync_records_by_alias
    ON csm_sync_records (site, entity, alias, field) WHERE alias <> '';
CREATE TABLE IF NOT EXISTS csm_sync_pending_requests (
    site            INTEGER NOT NULL REFERENCES csm_sync_site_ids,
    idempotency_key TEXT NOT NULL,
    entity          TEXT NOT NULL,
    task_id         TEXT,
    body            TEXT NOT NULL,
    planned_at      BIGINT NOT NULL,
    PRIMARY KEY (site, idempotency_key)
);
CREATE TABLE IF NOT EXISTS csm_sync_pending_records (
    site            INTEGER NOT NULL,
    idempotency_key TEXT NOT NULL,
    position        INTEGER NOT NULL,
    key             TEXT NOT NULL,
    field           TEXT NOT NULL DEFAULT '',
    fingerprint     TEXT,
    alias           TEXT NOT NULL DEFAULT '',
    replaces        TEXT,
    PRIMARY KEY (site, idempotency_key, key, field),
    FOREIGN KEY (site, idempotency_key)
        REFERENCES csm_sync_pending_requests (site, idempotency_key) ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS csm_sync_runs (
    id          BIGSERIAL PRIMARY KEY,
    site        INTEGER NOT NULL REFERENCES csm_sync_site_ids,
    entity      TEXT NOT NULL,
    started_at  BIGINT NOT NULL,
    finished_at BIGINT NOT NULL,
    new         BIGINT NOT NULL,
    changed     BIGINT NOT NULL,
    resent      BIGINT NOT NULL,
    unchanged   BIGINT NOT NULL,
    absent      BIGINT NOT NULL,
    deleted     BIGINT NOT NULL,
    failed      BIGINT NOT NULL
);
CREATE OR REPLACE VIEW csm_sync_holders AS
    SELECT s.site, s.entity, s.holder, s.held_since, l.pid AS backend_pid
    FROM csm_sync_sites s
    JOIN pg_locks l ON l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
        AND ((l.classid::bigint << 32) | l.objid::bigint) = s.lock_key;
";

/// Creates the tables (a plan: inside its transaction, never committed), or finds them; a
/// database whose schema is newer than this version's is refused, and left as it was.
pub(super) fn apply(client: &mut Client, plan: bool) -> Result<(), String> {
    let sql = |e: postgres::Error| super::message(&e);
    client.batch_execute("BEGIN").map_err(sql)?;
    let done = (|| -> Result<(), String> {
        client
            .execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])
            .map_err(sql)?;
        let exists: bool = client
            .query_one("SELECT to_regclass('csm_sync_meta') IS NOT NULL", &[])
            .map_err(sql)?
            .get(0);
        if exists {
            let version: Option<String> = client
                .query_opt(
                    "SELECT value FROM csm_sync_meta WHERE name = 'schema_version'",
                    &[],
                )
                .map_err(sql)?
                .map(|row| row.get(0));
            let version = version.and_then(|v| v.parse::<i64>().ok()).ok_or(
                "it holds a csm_sync_meta table without a schema version: not a sync state; \
                 it was left as it was",
            )?;
            if version > SCHEMA_VERSION {
                return Err(format!(
                    "it was written by a newer version of atlassian-csm (schema {version}; this \
                     version reads up to {SCHEMA_VERSION}); it was left as it was"
                ));
            }
        }
        client.batch_execute(SCHEMA).map_err(sql)?;
        client
            .execute(
                "INSERT INTO csm_sync_meta (name, value) VALUES ('schema_version', $1) \
                 ON CONFLICT (name) DO NOTHING",
                &[&SCHEMA_VERSION.to_string()],
            )
            .map_err(sql)?;
        Ok(())
    })();
    match (done, plan) {
        // A plan keeps its transaction open to the end, and never commits it.
        (Ok(()), true) => Ok(()),
        (Ok(()), false) => client.batch_execute("COMMIT").map_err(sql),
        (Err(error), _) => {
            let _ = client.batch_execute("ROLLBACK");
            Err(error)
        }
    }
}

/// The number the site's rows are kept under (its base URL is written once, in
/// `csm_sync_site_ids`: the records' keys stay short).
pub(super) fn site_id(client: &mut Client, site: &str) -> Result<i32, String> {
    let sql = |e: postgres::Error| super::message(&e);
    client
        .execute(
            "INSERT INTO csm_sync_site_ids (site) VALUES ($1) ON CONFLICT (site) DO NOTHING",
            &[&site],
        )
        .map_err(sql)?;
    client
        .query_one("SELECT id FROM csm_sync_site_ids WHERE site = $1", &[&site])
        .map(|row| row.get(0))
        .map_err(sql)
}

/// Checks how the entity's records are keyed in this site's namespace. A new entity is added:
/// the namespace is the site itself, so no state of another site can be taken for this one.
pub(super) fn check_key_scheme(client: &mut Client, wanted: &Identity) -> Result<(), String> {
    let sql = |e: postgres::Error| super::message(&e);
    let scheme: Option<String> = client
        .query_opt(
            "SELECT key_scheme FROM csm_sync_sites WHERE site = $1 AND entity = $2",
            &[&wanted.site, &wanted.entity],
        )
        .map_err(sql)?
        .map(|row| row.get(0));
    if let Some(scheme) = scheme.filter(|scheme| scheme != wanted.key_scheme) {
        return Err(format!(
            "it keys {} of {} as \"{scheme}\", and this version keys them as \"{}\"; nothing \
             was sent",
            wanted.entity, wanted.site, wanted.key_scheme
        ));
    }
    Ok(())
}
