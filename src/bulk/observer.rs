//! What an import tells the places that keep its requests durably: its journal, and a sync's
//! state. Both are told the same things at the same points, through one trait.

use crate::error::Error;
use crate::types::TaskFailure;

/// A request about to be sent (or polled again, when an earlier run sent it).
pub(crate) struct PlannedRequest<'a> {
    /// Its number, in the order the import planned its requests.
    pub number: usize,
    /// Its idempotency key.
    pub key: &'a str,
    /// The input's records it carries, by their index.
    pub indexes: &'a [usize],
    /// Its records as the JSON array sent, when an observer keeps bodies
    /// ([`RequestObserver::keeps_bodies`]); empty otherwise.
    #[cfg_attr(not(feature = "sync"), allow(dead_code))]
    pub body: &'a str,
}

/// Told of the requests of one import: each before it is sent, the task it started, how the
/// task ended. Every call blocks until what it was told is written, and runs off the async
/// threads; an error ends the import.
pub(crate) trait RequestObserver: Send + Sync {
    /// Whether [`planned`](Self::planned) needs the request's body (serialized only then).
    fn keeps_bodies(&self) -> bool {
        false
    }

    /// `request` is about to be sent, or polled by its task id when an earlier run sent it.
    fn planned(&self, request: &PlannedRequest<'_>) -> Result<(), Error>;

    /// The request numbered `number`, sent under `key`, started the task `task_id`.
    fn submitted(&self, number: usize, key: &str, task_id: &str) -> Result<(), Error>;

    /// The task of the request numbered `number` ended with `status` and `failures`.
    fn ended(&self, number: usize, status: &str, failures: &[TaskFailure]) -> Result<(), Error> {
        let _ = (number, status, failures);
        Ok(())
    }
}
