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
//!    Two records with the same key are an [`Error::InvalidInput`] naming both, and so is an
//!    invalid record (unless [`skip_invalid`](SyncImport::skip_invalid)); either way nothing
//!    is sent. The input is held on disk (temporary tables), not in memory.
//! 2. **Finishes what an interrupted run left in flight**: a request that started a task is
//!    polled by its task id; one that may not have reached the site is sent again under the
//!    same `Idempotency-Key` with the same body. No write is ever sent under two keys.
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
//! plan) on the same state while one runs is refused at once with [`Error::StateLocked`], the
//! state named by any path (a link, a relative path) alike.
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
//! One SQLite file (WAL mode; `-wal` and `-shm` files beside it while open, and `-lock`, the lock
//! a running sync holds). Read it with `sqlite3`:
//!
//! ```sql
//! -- what was confirmed synced
//! CREATE TABLE records (
//!     entity       TEXT NOT NULL,          -- customer_profiles, customer_details, organizations…
//!     key          TEXT NOT NULL,          -- email:…, id:…, name:…, or a detail value's owner
//!     field        TEXT NOT NULL DEFAULT '', -- the detail field, for detail values
//!     fingerprint  TEXT NOT NULL,          -- of the content last confirmed
//!     confirmed_at INTEGER NOT NULL,       -- Unix seconds: when its task finished without it failing
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
//!     PRIMARY KEY (idempotency_key, key, field)
//! );
//! CREATE TABLE runs (id INTEGER PRIMARY KEY, entity TEXT NOT NULL, started_at INTEGER NOT NULL,
//!     finished_at INTEGER NOT NULL, new INTEGER NOT NULL, changed INTEGER NOT NULL,
//!     resent INTEGER NOT NULL, unchanged INTEGER NOT NULL, absent INTEGER NOT NULL,
//!     deleted INTEGER NOT NULL, failed INTEGER NOT NULL);
//! CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID; -- schema_version
//! ```
//!
//! One state file can hold the syncs of several entities (a nightly job syncing profiles, then
//! detail values), run one after the other. It holds keys (emails, ids) and the bodies of the
//! requests in flight; never a credential.

mod delete;
mod diff;
mod entity;
mod fingerprint;
mod job;
mod lock;
mod recover;
mod report;
mod run;
mod send;
mod state;

pub use entity::SyncEndpoint;
pub use report::{StateKey, SyncCounts, SyncFailure, SyncPlan, SyncProgress, SyncReport};

use crate::bulk::{
    CustomerAccounts, CustomerDetails, CustomerProfiles, OrganizationDetails, OrganizationProfiles,
    Organizations,
};
use crate::error::Error;
use crate::Client;
use futures::stream::{self, BoxStream, Stream};
use std::future::{Future, IntoFuture};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

type ProgressCallback<'a> = Arc<dyn Fn(&SyncProgress) + Send + std::marker::Sync + 'a>;

/// A sync, configured with its builder methods, then awaited (for a [`SyncReport`]) or
/// [planned](Self::plan). See the [module](self) docs.
#[must_use = "a sync does nothing until awaited or planned"]
pub struct SyncImport<'a, E: SyncEndpoint> {
    client: &'a Client,
    source: BoxStream<'a, Result<E::Record, Error>>,
    state: Option<PathBuf>,
    options: Options,
    on_progress: Option<ProgressCallback<'a>>,
}

/// How a sync runs, as its builder set it.
#[derive(Clone, Copy, Debug)]
struct Options {
    max_age: Option<Duration>,
    full: bool,
    delete_absent: bool,
    max_delete_fraction: f64,
    skip_invalid: bool,
    max_in_flight: usize,
    task_deadline: Duration,
    lanes: crate::bulk::Lanes,
}

impl<'a, E: SyncEndpoint> SyncImport<'a, E> {
    fn new<S, R>(client: &'a Client, records: S) -> Self
    where
        S: Stream<Item = R> + Send + 'a,
        R: TryInto<E::Record>,
        R::Error: std::fmt::Display + 'static,
    {
        Self {
            client,
            source: crate::bulk::converted::<E, _, _>(records),
            state: None,
            options: Options {
                max_age: None,
                full: false,
                delete_absent: false,
                max_delete_fraction: 0.10,
                skip_invalid: false,
                max_in_flight: 5,
                task_deadline: Duration::from_secs(30 * 60),
                lanes: crate::bulk::Lanes::default(),
            },
            on_progress: None,
        }
    }

    /// The state file (created if missing): required.
    pub fn state(mut self, path: impl Into<PathBuf>) -> Self {
        self.state = Some(path.into());
        self
    }

    /// Sends again records confirmed longer ago than `age`, each between half of it and all of
    /// it after it was confirmed, spread by key over runs (default: never).
    pub fn max_age(mut self, age: Duration) -> Self {
        self.options.max_age = Some(age);
        self
    }

    /// Sends every record, changed or not, and refreshes the state (default `false`).
    pub fn full(mut self, full: bool) -> Self {
        self.options.full = full;
        self
    }

    /// Deletes on the site the items the state holds and the input does not, where the API can
    /// (see the [module](self) docs), unless more than
    /// [`max_delete_fraction`](Self::max_delete_fraction) of the state would go (default
    /// `false`: they are only reported).
    pub fn delete_absent(mut self, delete: bool) -> Self {
        self.options.delete_absent = delete;
        self
    }

    /// The largest share of the state's items one run may delete, from 0 to 1 (default 0.10).
    pub fn max_delete_fraction(mut self, fraction: f64) -> Self {
        // Not a number allows nothing: a share that compares false with everything must not
        // let every deletion through.
        self.options.max_delete_fraction = if fraction.is_nan() {
            0.0
        } else {
            fraction.clamp(0.0, 1.0)
        };
        self
    }

    /// Sends the valid records when some are invalid (each invalid one is a failure of the
    /// report); by default an invalid record fails the sync before anything is sent.
    pub fn skip_invalid(mut self, skip: bool) -> Self {
        self.options.skip_invalid = skip;
        self
    }

    /// At most this many tasks unfinished at once (default 5, the API's limit per site).
    pub fn max_in_flight(mut self, tasks: usize) -> Self {
        self.options.max_in_flight = tasks.max(1);
        self
    }

    /// Which calls the records go through (see [`Lanes`](crate::bulk::Lanes); default `Auto`).
    pub fn lanes(mut self, lanes: crate::bulk::Lanes) -> Self {
        self.options.lanes = lanes;
        self
    }

    /// How long to wait for one task (default 30 min).
    pub fn task_deadline(mut self, deadline: Duration) -> Self {
        self.options.task_deadline = deadline;
        self
    }

    /// Called as rows are read and as records sent finish.
    pub fn on_progress(
        mut self,
        callback: impl Fn(&SyncProgress) + Send + std::marker::Sync + 'a,
    ) -> Self {
        self.on_progress = Some(Arc::new(callback));
        self
    }

    /// What a run would do: reads the input and compares it with the state; sends nothing and
    /// changes nothing in the state.
    pub async fn plan(self) -> Result<SyncPlan, Error> {
        run::plan(self).await
    }
}

impl<'a, E: SyncEndpoint> IntoFuture for SyncImport<'a, E> {
    type Output = Result<SyncReport, Error>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send + 'a>>;

    /// Runs the sync (see the [module](self) docs).
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(run::sync(self))
    }
}

impl Client {
    /// A sync through the endpoint `E`, of records from any iterator; see the [`sync`](crate::sync)
    /// module and the `sync_*` methods, which name each endpoint's record type.
    pub fn sync<'a, E, R>(
        &'a self,
        records: impl IntoIterator<Item = R, IntoIter: Send + 'a>,
    ) -> SyncImport<'a, E>
    where
        E: SyncEndpoint,
        R: TryInto<E::Record> + Send,
        R::Error: std::fmt::Display + 'static,
    {
        SyncImport::new(self, stream::iter(records))
    }

    /// A sync whose records come from a `Stream`, through the endpoint `E`.
    pub fn sync_stream<'a, E, R>(
        &'a self,
        records: impl Stream<Item = R> + Send + 'a,
    ) -> SyncImport<'a, E>
    where
        E: SyncEndpoint,
        R: TryInto<E::Record>,
        R::Error: std::fmt::Display + 'static,
    {
        SyncImport::new(self, records)
    }
}

/// The `sync_*` methods: one per endpoint a sync supports, naming its record type.
macro_rules! syncs {
    ($($(#[$doc:meta])* $method:ident: $endpoint:ident, $record:ident;)*) => {
        impl Client {
            $(
                $(#[$doc])*
                ///
                #[doc = concat!(
                    "Each record is a [`", stringify!($record), "`](crate::types::", stringify!($record),
                    ") or its builder; see the [`sync`](crate::sync) module."
                )]
                pub fn $method<'a, R>(
                    &'a self,
                    records: impl IntoIterator<Item = R, IntoIter: Send + 'a>,
                ) -> SyncImport<'a, $endpoint>
                where
                    R: TryInto<crate::types::$record> + Send,
                    R::Error: std::fmt::Display + 'static,
                {
                    self.sync(records)
                }
            )*
        }
    };
}

syncs! {
    /// Syncs customer profiles: sends the new and changed ones (100 per request).
    sync_customer_profiles: CustomerProfiles, BulkManageCustomerProfileOperation;
    /// Syncs customer accounts (50 per request); absent ones known by id can be deleted.
    sync_customer_accounts: CustomerAccounts, BulkCustomerAccountOperationRequest;
    /// Syncs customers' detail values, field by field; absent ones can be cleared.
    sync_customer_details: CustomerDetails, BulkCustomerDetailFieldOperation;
    /// Syncs organizations (50 per request); absent ones known by id can be deleted.
    sync_organizations: Organizations, BulkOrganizationOperationRequest;
    /// Syncs organization profiles (100 per request).
    sync_organization_profiles: OrganizationProfiles, BulkManageOrganizationProfileOperation;
    /// Syncs organizations' detail values, field by field; absent ones can be cleared.
    sync_organization_details: OrganizationDetails, BulkOrganizationDetailFieldOperation;
}
