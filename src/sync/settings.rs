//! What a sync was asked to do, as its runs read it.

use super::entity::SyncEndpoint;
use super::report::SyncProgress;
use crate::error::Error;
use crate::Client;
use futures::stream::BoxStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub(super) type ProgressCallback<'a> = Arc<dyn Fn(&SyncProgress) + Send + std::marker::Sync + 'a>;

/// A [`SyncImport`](super::SyncImport)'s settings, handed whole to its run.
pub(super) struct Settings<'a, E: SyncEndpoint> {
    pub(super) client: &'a Client,
    /// An invalid record is an inner error; an outer one ends the input unread.
    pub(super) source: BoxStream<'a, Result<Result<E::Record, Error>, Error>>,
    pub(super) state: Option<PathBuf>,
    pub(super) options: Options,
    pub(super) on_progress: Option<ProgressCallback<'a>>,
    pub(super) stop: crate::bulk::StopHandle,
}

/// How a sync runs, as its builder set it.
#[derive(Clone, Copy, Debug)]
pub(super) struct Options {
    pub(super) max_age: Option<Duration>,
    pub(super) full: bool,
    pub(super) delete_absent: bool,
    pub(super) max_delete_fraction: f64,
    pub(super) skip_invalid: bool,
    pub(super) max_in_flight: usize,
    pub(super) task_deadline: Duration,
    pub(super) lanes: crate::bulk::Lanes,
    pub(super) site_moved: bool,
    pub(super) add_entity: bool,
    /// The records come checked ([`Checked`](crate::bulk::Checked)): only their keys and
    /// contents are looked at.
    pub(super) input_checked: bool,
}
