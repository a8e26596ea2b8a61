//! Syncs: imports that send only what changed since the last run (feature `sync`).
//!
//! A nightly job sends the whole CRM export; most of it is what the site already holds. A sync
//! keeps, in a state file, the **key** and the **fingerprint** of every record it saw succeed,
//! and sends only the records that are new or changed:
//!
//! ```no_run
//! # async fn run(client: atlassian_csm::Client) -> Result<(), atlassian_csm::Error> {
//! use atlassian_csm::types::BulkManageCustomerProfileOperation as Profile;
//!
//! let rows = [("ada@example.com", "Ada", "Pro"), ("alan@example.com", "Alan", "Free")];
//! let report = client
//!     .sync_customer_profiles(rows.iter().map(|(email, name, plan)| {
//!         Profile::upsert().email(*email).display_name(*name).detail("Plan", [*plan])
//!     }))
//!     .state("customers.sync.db")
//!     .max_age(std::time::Duration::from_secs(7 * 86_400))
//!     .await?;
//! let c = report.counts;
//! println!("{} new, {} changed, {} unchanged, {} absent", c.new, c.changed, c.unchanged, c.absent);
//! # Ok(()) }
//! ```
//!
//! # What a run does
//!
//! 1. **Reads the whole input** and compares each record with the state, sending nothing: a
//!    record whose key and fingerprint the state holds is *unchanged* and costs no request.
//!    Two records with the same key are an [`Error::InvalidInput`](crate::Error::InvalidInput) naming both, and so is an
//!    invalid record (unless [`skip_invalid`](SyncImport::skip_invalid)); either way nothing
//!    is sent. The input is held on disk (temporary tables), not in memory.
//! 2. **Finishes what an interrupted run left in flight**: a request that started a task is
//!    polled by its task id; one that may not have reached the site is sent again under the
//!    same `Idempotency-Key` with the same body. No write is ever sent under two keys. A request
//!    whose task the site no longer knows (results are kept 3 days) confirms nothing: its
//!    records still in the input are sent by this run under its own keys, the others are
//!    reported [`Unconfirmed`](crate::RecordOutcome::Unconfirmed)
//!    ([`SyncCounts::expired_requests`]).
//! 3. **Imports the new and changed records** through the bulk endpoint (as
//!    [`BulkImport`](crate::BulkImport) does: shared budget, tasks in flight, per-record
//!    outcomes). A record's fingerprint is written to the state **only when its outcome is
//!    `Succeeded`**, in one transaction per finished request; a failed, unconfirmed or unsent
//!    record is tried again by the next run (an unconfirmed one under the same key).
//! 4. **Reports what left the source**: keys in the state the input did not hold. Deleting them
//!    is opt-in ([`delete_absent`](SyncImport::delete_absent)) and refused when more than a
//!    fraction of the state would go (10 % unless [raised](SyncImport::max_delete_fraction)):
//!    an export cut short must not empty a site.
//!
//! [`plan`](SyncImport::plan) does step 1 and says what a run would send. A second sync (or
//! plan) on the same state while one runs is refused at once with
//! [`Error::StateLocked`](crate::Error::StateLocked), the state named by any path (a link, a
//! relative path, a hard link) alike; a run whose future was dropped releases it as its last write
//! ends, and a new sync of the state in this process waits for that instead of being refused.
//! [`stop_handle`](SyncImport::stop_handle) stops a run gracefully.
//!
//! # Keys and fingerprints
//!
//! | entity | key | content fingerprinted | absent ones deleted by |
//! | --- | --- | --- | --- |
//! | customer profiles | `id:<customerId>` when given (the API identifies by it first), else `email:<email>` (trimmed, lower case) | the payload | not deleted: reported (delete accounts with a customer-accounts sync) |
//! | customer accounts | as profiles | the payload | `DELETE /customer/account/{id}`, for `id:` keys |
//! | customer detail values | the customer id, and the field name | the operation (type and values) | a bulk `DELETE` operation |
//! | organizations | `id:<id>` when given, else `name:<name>` (trimmed) | the payload | `DELETE /organization/{id}`, for `id:` keys |
//! | organization profiles | as organizations | the payload | not deleted: reported |
//! | organization detail values | the organization id, and the field name | the operation | a bulk `DELETE` operation |
//!
//! The operation type (`CREATE`, `UPDATE`, `UPSERT`) is how a record is sent, not what it says,
//! so it is not part of the fingerprint. The fingerprint is of the content's canonical JSON: key
//! order, formatting and `null` members do not matter, and **every list is a set**: the values of
//! a multi-valued detail, a profile's details and the ids to associate are compared sorted, so
//! `["Gold", "EU"]` and `["EU", "Gold"]` are the same content. Detail-value records are tracked
//! one field at a time: a record changing one of its five fields sends one operation.
//! Detail-field definitions have no sync: their bulk endpoint only creates (use `csm fields
//! apply`).
//!
//! # Self-healing
//!
//! Someone may change a record on the site by hand; the state cannot see it.
//! [`max_age`](SyncImport::max_age) sends again records confirmed longer ago than that: each
//! record falls due between half of `max_age` and `max_age` after it was confirmed (a point fixed
//! by its key), so a state built in one night is re-sent over several runs, not all at once.
//! [`full`](SyncImport::full) sends everything and refreshes the state.
//!
//! # The state file
//!
//! One SQLite file (WAL mode; `-wal` and `-shm` files beside it while a run has it open). A
//! running sync holds an advisory lock of the operating system on the file itself, so every name
//! of it (a link, a relative path, a hard link) is one lock, and no lock file is made. Read it
//! with `sqlite3`:
//!
//! ```sql
//! -- what was confirmed synced
//! CREATE TABLE records (
//!     entity       TEXT NOT NULL,          -- customer_profiles, customer_details, organizations…
//!     key          TEXT NOT NULL,          -- email:…, id:…, name:…, or a detail value's owner
//!     field        TEXT NOT NULL DEFAULT '', -- the detail field, for detail values
//!     fingerprint  TEXT NOT NULL,          -- of the content last confirmed
//!     confirmed_at INTEGER NOT NULL,       -- Unix seconds: when its task finished without it failing
//!     alias        TEXT NOT NULL DEFAULT '', -- its second name (email:…, name:…) when known by id
//!     PRIMARY KEY (entity, key, field)
//! ) WITHOUT ROWID;
//! -- requests a run sent, or was about to send, whose end it has not seen
//! CREATE TABLE pending_requests (
//!     idempotency_key TEXT PRIMARY KEY,
//!     entity          TEXT NOT NULL,
//!     task_id         TEXT,                -- NULL until the API answered with it
//!     body            TEXT NOT NULL,       -- the records, as JSON, to send again under the same key
//!     planned_at      INTEGER NOT NULL
//! );
//! CREATE TABLE pending_records (           -- the items each pending request carries
//!     idempotency_key TEXT NOT NULL REFERENCES pending_requests ON DELETE CASCADE,
//!     position        INTEGER NOT NULL,    -- the record's place in the body
//!     key             TEXT NOT NULL,
//!     field           TEXT NOT NULL DEFAULT '',
//!     fingerprint     TEXT,                -- NULL: the request deletes the item
//!     alias           TEXT NOT NULL DEFAULT '', -- the second name it will be kept with
//!     replaces        TEXT,                -- the row it replaces (the record known by its alias)
//!     PRIMARY KEY (idempotency_key, key, field)
//! );
//! CREATE TABLE runs (id INTEGER PRIMARY KEY, entity TEXT NOT NULL, started_at INTEGER NOT NULL,
//!     finished_at INTEGER NOT NULL, new INTEGER NOT NULL, changed INTEGER NOT NULL,
//!     resent INTEGER NOT NULL, unchanged INTEGER NOT NULL, absent INTEGER NOT NULL,
//!     deleted INTEGER NOT NULL, failed INTEGER NOT NULL);
//! -- what the state describes: schema_version (2), site (the base URL the client calls),
//! -- entity:<name> (how that entity's records are keyed), holder (the run that last opened it)
//! CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
//! ```
//!
//! # A state in PostgreSQL (feature `postgres`)
//!
//! [`state`](SyncImport::state) also takes a PostgreSQL URL (`postgres://csm@db.internal/csm`;
//! the password from `PGPASSWORD`, never from the URL shown in errors): one database holds the
//! states of many sites and entities, each site in a namespace of its own (its base URL), for
//! workers on several machines. A sync holds its site and entity through an advisory lock of its
//! own session, which the server releases when the session ends (a worker killed, a dropped
//! connection, the server restarted); a second sync of them is refused with
//! [`Error::StateLocked`](crate::Error::StateLocked) naming the holder. Whoever syncs the site
//! next finishes the requests the last run left in flight, under their keys. The semantics are
//! the SQLite state's: one transaction per finished request, a newer schema refused and left as it
//! was. The input is compared set-based, 5,000 rows a batch: the batch goes in by `COPY`, one
//! query finds its items by key, a second the few new ones by their other names; the names seen
//! and the records to send go in temporary tables of the session. A site's namespace cannot hold
//! another site's records, so neither [`site_moved`](SyncImport::site_moved) nor
//! [`add_entity`](SyncImport::add_entity) is needed there (a moved site starts a namespace of
//! its own).
//!
//! ```sql
//! csm_sync_meta              -- schema_version
//! csm_sync_sites             -- site, entity, key_scheme, lock_key, site_pace, holder, held_since
//! csm_sync_records           -- the records table above, with the site first in its key
//! csm_sync_pending_requests  -- likewise
//! csm_sync_pending_records   -- likewise
//! csm_sync_runs              -- likewise
//! csm_sync_holders           -- a view: the syncs under way (a live session holds their lock)
//! ```
//!
//! # What a state describes
//!
//! A state knows the site it was built against and the entities it holds, and a run checks them
//! **before a byte of the state is written**: a sync through a client of another site (a state
//! built on a sandbox, pointed at production) would take records the other site never received
//! for unchanged, so it is refused with [`Error::State`](crate::Error::State) naming both sites;
//! [`site_moved`](SyncImport::site_moved) rebinds a state whose site moved (migrated with its
//! data, or its cloud id renamed). One state can hold the syncs of several entities (a nightly job
//! syncing profiles, then detail values), each added on purpose with
//! [`add_entity`](SyncImport::add_entity); a state holding others is refused otherwise, as a
//! state named by mistake would be. A file written by a newer version, one that is not a sync
//! state, and a path that is not a regular file (or a link to one) are refused and left exactly
//! as they were, with nothing created beside them. A state of the previous schema (version 1,
//! which recorded no site) is brought up to this one by the first run that opens it, which
//! records its own site.
//!
//! A customer named two ways (an id and an email) is one record: a record that gives both
//! teaches the state its second name, so a later input naming it by either finds it. Where the
//! state cannot know (a customer synced by id alone, an input naming new customers by email
//! only), no record that may still be present under another name is deleted, and the report
//! says why.
//!
//! # Evidence before deletion
//!
//! An input with no records, one that was not read to its end (an `Err` from
//! [`Client::sync_try_stream`](crate::Client::sync_try_stream)'s reader), or a run stopped before
//! it read its input takes nothing for absent, whatever
//! [`max_delete_fraction`](SyncImport::max_delete_fraction) allows. [`plan`](SyncImport::plan)
//! lists exactly what a run would delete ([`SyncPlan::to_delete`]).
//!
//! The state holds keys (emails, ids) and the bodies of the requests in flight; never a
//! credential.

mod delete;
mod diff;
mod entity;
mod fingerprint;
mod history;
mod identity;
mod import;
mod job;
mod lock;
mod look_up;
mod open;
#[cfg(feature = "postgres")]
mod postgres;
mod recover;
mod report;
mod run;
mod send;
mod settings;
mod state;
mod store;

pub use entity::SyncEndpoint;
pub use history::{recorded_runs, RecordedRun};
pub use import::SyncImport;
pub use report::{StateKey, SyncCounts, SyncFailure, SyncPlan, SyncProgress, SyncReport};
