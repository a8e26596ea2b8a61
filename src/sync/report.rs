//! What a sync reports: its plan (what a run would send), its progress, and what it did.

use crate::bulk::RecordOutcome;

/// An item of the state: a record's key, and for detail values the field.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub struct StateKey {
    /// `email:ada@example.com`, `id:qm:…`, `name:Acme`, or a detail value's owner id.
    pub key: String,
    /// The detail field of a detail value; `None` for whole records.
    pub field: Option<String>,
}

impl StateKey {
    pub(crate) fn new(key: String, field: String) -> Self {
        Self {
            key,
            field: (!field.is_empty()).then_some(field),
        }
    }
}

/// `email:ada@example.com`, or `qm:1:2 / Plan` for a detail value.
impl std::fmt::Display for StateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{} / {field}", self.key),
            None => f.write_str(&self.key),
        }
    }
}

/// How many records (items, for detail values) fell where.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SyncCounts {
    /// Rows read from the input.
    pub rows: usize,
    /// Items the state did not hold: sent.
    pub new: usize,
    /// Items whose content differs from what the state holds: sent.
    pub changed: usize,
    /// Items unchanged but sent again: confirmed longer ago than `max_age`, or `full`.
    pub resent: usize,
    /// Items whose key and fingerprint the state holds: not sent.
    pub unchanged: usize,
    /// Items the state holds that the input did not.
    pub absent: usize,
    /// Absent items deleted on the site (and from the state).
    pub deleted: usize,
    /// Records sent (or to delete) that did not succeed, and invalid records.
    pub failed: usize,
    /// Requests an interrupted earlier run left in flight, seen to their end first.
    pub recovered_requests: usize,
    /// Requests an interrupted earlier run left in flight whose task the site no longer knows
    /// (its result expired): what they did is unknown, so their records still in the input
    /// were sent again under new keys, and those no longer in it are failures
    /// ([`Unconfirmed`](crate::RecordOutcome::Unconfirmed)).
    pub expired_requests: usize,
    /// Records to send that were not sent because the sync was [stopped](super::SyncImport::stop_handle).
    pub not_sent: usize,
}

/// What a run would do, from [`SyncImport::plan`](super::SyncImport::plan): nothing is sent and the state is
/// not changed.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct SyncPlan {
    /// The counts (`deleted` and `failed` are 0; `failed` counts invalid records).
    pub counts: SyncCounts,
    /// Requests the records to send make.
    pub requests: usize,
    /// Absent items the run would delete (0 unless deletion is asked for and allowed).
    pub deletions: usize,
    /// Exactly the absent items the run would delete.
    pub to_delete: Vec<StateKey>,
    /// Why the absent items would not be deleted although deletion was asked for.
    pub deletion_refused: Option<String>,
    /// The absent items.
    pub absent: Vec<StateKey>,
    /// Requests an interrupted earlier run left in flight: the next run sees them to their end
    /// before anything else.
    pub pending_requests: usize,
    /// Records a second the site took from the last run that sent any (its sent records over
    /// its wall time, to the second), to estimate this one's time; `None` before any.
    pub last_pace: Option<f64>,
}

/// A record that did not succeed.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SyncFailure {
    /// Its index in the input; `None` for an absent item whose deletion failed, or a record of
    /// an earlier run's request.
    pub row: Option<usize>,
    /// Its key (the first of its items, for detail values); `None` for a record refused before
    /// its key was known.
    pub key: Option<StateKey>,
    /// What became of it.
    pub outcome: RecordOutcome,
}

/// What a sync did.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct SyncReport {
    /// The counts.
    pub counts: SyncCounts,
    /// Every record that did not succeed, in the order they were known.
    pub failures: Vec<SyncFailure>,
    /// The items the state holds that the input did not (deleted ones included).
    pub absent: Vec<StateKey>,
    /// Why absent items were not deleted although deletion was asked for (too many, the
    /// input gave no evidence, or the API cannot delete them).
    pub deletion_refused: Option<String>,
    /// Whether the sync was [stopped](super::SyncImport::stop_handle) before its end: the
    /// requests under way were seen to their end, `counts.not_sent` records were not sent, and
    /// nothing absent was deleted. The next run resumes.
    pub stopped: bool,
}

impl SyncReport {
    /// Whether everything sent succeeded, the run was not stopped and nothing asked for was
    /// refused.
    pub fn all_succeeded(&self) -> bool {
        self.counts.failed == 0 && self.deletion_refused.is_none() && !self.stopped
    }
}

/// How far a sync has come, passed to the progress callback.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SyncProgress {
    /// Rows of the input read and compared with the state.
    pub rows_read: usize,
    /// Whether the whole input has been read.
    pub input_read: bool,
    /// Records to send (known once the input is read).
    pub to_send: usize,
    /// Records sent whose outcome is known.
    pub sent_finished: usize,
    /// Tasks the site accepted and has not started (see
    /// [`BulkProgress::waiting_tasks`](crate::BulkProgress::waiting_tasks)).
    pub waiting_tasks: usize,
    /// The time left to send the rest, from the records left and the site's pace as this run
    /// has shown it or an earlier run learned it (kept in the state; see
    /// [`BulkProgress::estimated_time_left`](crate::BulkProgress::estimated_time_left)); `None`
    /// when neither says.
    pub estimated_time_left: Option<std::time::Duration>,
}
