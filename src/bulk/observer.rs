//! A hook told of each request of an import before it is sent and when its task starts, so that
//! something outside the import (the sync state) can keep what is in flight durably.

use crate::error::Error;

/// Told of the requests of one import. Both calls block (they write to disk before returning),
/// and run off the async threads; an error ends the import, as a journal's does.
pub(crate) trait RequestObserver: Send + Sync {
    /// A request carrying the input's records `indexes`, serialized as `body` (the JSON array of
    /// records), is about to be sent under `key` for the first time.
    fn planned(&self, key: &str, indexes: &[usize], body: &str) -> Result<(), Error>;

    /// The request sent under `key` started the task `task_id`.
    fn submitted(&self, key: &str, task_id: &str) -> Result<(), Error>;
}
