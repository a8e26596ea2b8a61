//! What a sync asks of its state, whichever database keeps it: one SQLite file
//! ([`SqliteState`](super::state::SqliteState)), or a PostgreSQL database shared by many sites,
//! entities and machines (feature `postgres`). Every call runs on a blocking thread
//! ([`on_state`](super::job::on_state)); each write that must survive a crash is one transaction.

use super::entity::Item;
use super::history::RecordedRun;
use super::identity::Identity;
use super::open::Mode;
use super::state::SqliteState;
use super::state::{AbsentItem, LookUp, PendingItem, PendingRequest, Tracked};
use crate::error::Error;
use std::path::Path;
use std::sync::Weak;

/// An open state, locked for one sync of one site and entity.
pub(crate) trait Store: Send {
    /// Records of `entity` in the state.
    fn count(&mut self, entity: &str) -> Result<u64, Error>;

    /// The requests of `entity` an earlier run did not see end.
    fn pending(&mut self, entity: &str) -> Result<Vec<PendingRequest>, Error>;

    /// Starts reading an input: forgets the names seen and the records to send of an earlier
    /// reading.
    fn start_input(&mut self) -> Result<(), Error>;

    /// Marks the items of `rows` (row number, items) seen and returns what the state holds of
    /// each, or the first record named twice in the input. An item is found by its key, or by a
    /// second name of the same record; every name of a record counts as seen.
    fn look_up(&mut self, entity: &str, rows: &[(usize, Vec<Item>)]) -> Result<LookUp, Error>;

    /// The rows a reading of the input looks up at once.
    fn batch_size(&self) -> usize {
        500
    }

    /// Adds records to send: (row, record as JSON, items as JSON).
    fn push_todo(&mut self, todo: &[(usize, String, String)]) -> Result<(), Error>;

    /// Up to `limit` records to send from position `from` on: (position, row, record, items).
    fn todo(
        &mut self,
        from: usize,
        limit: usize,
    ) -> Result<Vec<(usize, usize, String, String)>, Error>;

    /// The items of `entity` in the state that the input did not hold by any of their names.
    fn absent(&mut self, entity: &str) -> Result<Vec<AbsentItem>, Error>;

    /// Whether each item (key, field) was named by the input being read.
    fn seen_of(&mut self, items: &[(String, String)]) -> Result<Vec<bool>, Error>;

    /// Keeps a request before it is first sent: its key, its records and the items they carry.
    fn planned(
        &mut self,
        entity: &str,
        idempotency_key: &str,
        body: &str,
        items: &[PendingItem],
        now: i64,
    ) -> Result<(), Error>;

    /// The request sent under `idempotency_key` started `task_id`.
    fn submitted(&mut self, idempotency_key: &str, task_id: &str) -> Result<(), Error>;

    /// What one finished request did, in one transaction: the items it confirmed are written
    /// with their fingerprint (and the rows they replace removed), those it deleted removed; the
    /// request is no longer pending unless `keep_pending`.
    fn finished(
        &mut self,
        entity: &str,
        idempotency_key: Option<&str>,
        keep_pending: bool,
        confirmed: &[Tracked],
        now: i64,
    ) -> Result<(), Error>;

    /// Records a second sent by the last run of `entity` that sent any.
    fn last_pace(&mut self, entity: &str) -> Result<Option<f64>, Error>;

    /// What the last run learned of the site's pace.
    fn site_pace(&mut self) -> Result<Option<crate::SitePace>, Error>;

    /// Keeps what this run knows of the site's pace, for the next run.
    fn keep_site_pace(&mut self, pace: &crate::SitePace) -> Result<(), Error>;

    /// Keeps a run and its counts.
    fn record_run(&mut self, run: &RecordedRun) -> Result<(), Error>;
}

/// The open state of a sync.
pub(crate) type State = dyn Store;

/// Whether `location` names a PostgreSQL database (`postgres://…` or `postgresql://…`) rather
/// than an SQLite file.
pub(crate) fn is_postgres_url(location: &Path) -> bool {
    location
        .to_str()
        .is_some_and(|text| text.starts_with("postgres://") || text.starts_with("postgresql://"))
}

/// Opens the state at `location` for a sync of `wanted` (see
/// [`SqliteState::open`](super::state::SqliteState)): an SQLite file, or with the `postgres`
/// feature a PostgreSQL database named by its URL.
pub(crate) fn open(
    location: &Path,
    mode: Mode,
    wanted: &Identity,
    owner: &Weak<()>,
) -> Result<Box<State>, Error> {
    if is_postgres_url(location) {
        #[cfg(feature = "postgres")]
        return Ok(Box::new(super::postgres::PgState::open(
            location, mode, wanted, owner,
        )?));
        #[cfg(not(feature = "postgres"))]
        return Err(Error::Config(
            "a PostgreSQL state needs the crate's `postgres` feature".into(),
        ));
    }
    Ok(Box::new(SqliteState::open(location, mode, wanted, owner)?))
}
