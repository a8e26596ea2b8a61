//! What the steps of a sync share: the run under way (its options, its open state), the items
//! a request carries, and work on the state off the async threads.

use super::entity::SyncEndpoint;
use super::identity::Identity;
use super::lock::RunAlive;
use super::open::Mode;
use super::report::{StateKey, SyncReport};
use super::settings::{Options, ProgressCallback, Settings};
use super::state::Tracked;
use super::store::State;
use crate::bulk::{BulkEndpoint, StopHandle};
use crate::error::Error;
use crate::Client;
use futures::stream::BoxStream;
use std::marker::PhantomData;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Records read back from the records to send at a time.
pub(super) const PAGE: usize = 500;
pub(super) type Shared = Arc<Mutex<Box<State>>>;

impl Tracked {
    pub(super) fn state_key(&self) -> StateKey {
        StateKey::new(self.key.clone(), self.field.clone())
    }
}

pub(super) fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Runs `work` on the state, off the async threads.
pub(super) async fn on_state<T: Send + 'static>(
    state: &Shared,
    path: &std::path::Path,
    work: impl FnOnce(&mut State) -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    let state = state.clone();
    tokio::task::spawn_blocking(move || {
        work(&mut **state.lock().unwrap_or_else(|e| e.into_inner()))
    })
    .await
    .unwrap_or_else(|e| {
        Err(Error::State {
            path: path.to_path_buf(),
            message: format!("a read or write was interrupted: {e}"),
        })
    })
}

/// A sync under way: its settings and its open state (the input is read apart).
pub(super) struct Job<'a, E: SyncEndpoint> {
    pub(super) client: &'a Client,
    pub(super) options: Options,
    pub(super) on_progress: Option<ProgressCallback<'a>>,
    pub(super) stop: StopHandle,
    pub(super) path: PathBuf,
    pub(super) state: Shared,
    pub(super) started_at: i64,
    pub(super) endpoint: PhantomData<E>,
    /// Dropped with the run, however it ends: a lock whose run is gone is waited for by the next
    /// sync of the state in this process, not refused (a last write may still hold it).
    _alive: RunAlive,
}

/// The records of a sync's input: an invalid record is an inner error; an outer error means the
/// input could not be read to its end, which no option skips.
pub(super) type Source<'a, E> =
    BoxStream<'a, Result<Result<<E as BulkEndpoint>::Record, Error>, Error>>;

/// What the state of a sync through `E` by `client` must describe.
pub(super) fn identity<E: SyncEndpoint>(client: &Client, options: &Options) -> Identity {
    Identity {
        site: progenitor_client::ClientInfo::baseurl(client)
            .trim_end_matches('/')
            .to_string(),
        entity: E::ENTITY,
        key_scheme: E::KEY_SCHEME,
        site_moved: options.site_moved,
        add_entity: options.add_entity,
    }
}

/// Opens the state a sync's settings name, for a run or a plan.
pub(super) async fn open<'a, E: SyncEndpoint>(
    settings: Settings<'a, E>,
    mode: Mode,
) -> Result<(Job<'a, E>, Source<'a, E>), Error> {
    let Settings {
        client,
        source,
        state,
        options,
        on_progress,
        stop,
    } = settings;
    let path = state.ok_or_else(|| {
        Error::Config("a sync needs its state file: call .state(path) on it".into())
    })?;
    let alive = RunAlive::default();
    let opened = {
        let (path, wanted) = (path.clone(), identity::<E>(client, &options));
        // Only a weak reference goes with the opening: a run dropped while it opens leaves a
        // lock that is waited for, not one that refuses.
        let owner = Arc::downgrade(&alive);
        tokio::task::spawn_blocking(move || {
            let mut opened = super::store::open(&path, mode, &wanted, &owner)?;
            let pace = opened.site_pace()?;
            Ok((opened, pace))
        })
        .await
        .unwrap_or_else(|e| {
            Err(Error::State {
                path: PathBuf::new(),
                message: format!("opening was interrupted: {e}"),
            })
        })?
    };
    // What the last run learned of the site: its imports start from it.
    let (opened, pace) = opened;
    if let Some(pace) = pace {
        client.config().site_pace.start_from(&pace);
    }
    let job = Job {
        client,
        options,
        on_progress,
        stop,
        path,
        state: Arc::new(Mutex::new(opened)),
        started_at: now(),
        endpoint: PhantomData,
        _alive: alive,
    };
    Ok((job, source))
}

pub(super) fn count_deleted(report: &mut SyncReport, confirmed: &[Tracked]) {
    report.counts.deleted += confirmed.iter().filter(|t| t.fingerprint.is_none()).count();
}
