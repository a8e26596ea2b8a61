//! What the steps of a sync share: the run under way (its options, its open state), the items
//! a request carries, and work on the state off the async threads.

use super::entity::Item;
use super::entity::SyncEndpoint;
use super::report::{StateKey, SyncReport};
use super::settings::{Options, ProgressCallback, Settings};
use super::state::State;
use crate::bulk::BulkEndpoint;
use crate::error::Error;
use crate::Client;
use futures::stream::BoxStream;
use std::marker::PhantomData;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Records read back from the records to send at a time.
pub(super) const PAGE: usize = 500;
pub(super) type Shared = Arc<Mutex<State>>;

/// An item a request carries: written with its fingerprint when the request succeeds, or
/// removed from the state (`None`: the request deletes it).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub(super) struct Tracked {
    pub(super) key: String,
    pub(super) field: String,
    pub(super) fingerprint: Option<String>,
}

impl From<Item> for Tracked {
    fn from(item: Item) -> Self {
        Self {
            key: item.key,
            field: item.field,
            fingerprint: Some(item.fingerprint),
        }
    }
}

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
    tokio::task::spawn_blocking(move || work(&mut state.lock().unwrap_or_else(|e| e.into_inner())))
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
    pub(super) path: PathBuf,
    pub(super) state: Shared,
    pub(super) started_at: i64,
    pub(super) endpoint: PhantomData<E>,
}

/// A run given up before its end (its future dropped) may leave a write on a blocking thread
/// that still holds the state: its lock is marked as being released, so that a new sync of the
/// state in this process waits for it instead of being refused.
impl<E: SyncEndpoint> Drop for Job<'_, E> {
    fn drop(&mut self) {
        if Arc::strong_count(&self.state) > 1 {
            self.state
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .releasing();
        }
    }
}

pub(super) type Source<'a, E> = BoxStream<'a, Result<<E as BulkEndpoint>::Record, Error>>;

pub(super) async fn open<'a, E: SyncEndpoint>(
    settings: Settings<'a, E>,
) -> Result<(Job<'a, E>, Source<'a, E>), Error> {
    let Settings {
        client,
        source,
        state,
        options,
        on_progress,
    } = settings;
    let path = state.ok_or_else(|| {
        Error::Config("a sync needs its state file: call .state(path) on it".into())
    })?;
    let opened = {
        let path = path.clone();
        tokio::task::spawn_blocking(move || State::open(&path))
            .await
            .unwrap_or_else(|e| {
                Err(Error::State {
                    path: PathBuf::new(),
                    message: format!("opening was interrupted: {e}"),
                })
            })?
    };
    let job = Job {
        client,
        options,
        on_progress,
        path,
        state: Arc::new(Mutex::new(opened)),
        started_at: now(),
        endpoint: PhantomData,
    };
    Ok((job, source))
}

pub(super) fn count_deleted(report: &mut SyncReport, confirmed: &[Tracked]) {
    report.counts.deleted += confirmed.iter().filter(|t| t.fingerprint.is_none()).count();
}

pub(super) fn confirmed_items(tracked: &[Tracked]) -> Vec<Item> {
    tracked
        .iter()
        .filter_map(|t| {
            Some(Item {
                key: t.key.clone(),
                field: t.field.clone(),
                fingerprint: t.fingerprint.clone()?,
            })
        })
        .collect()
}

pub(super) fn removed(tracked: &[Tracked]) -> Vec<(String, String)> {
    tracked
        .iter()
        .filter(|t| t.fingerprint.is_none())
        .map(|t| (t.key.clone(), t.field.clone()))
        .collect()
}
