//! One writer per state, whatever path reaches it: an advisory lock of the operating system on
//! the state file itself (its inode, so a link, a relative path or a second name of the same file
//! all take the same lock), taken without waiting; and, within this process, a note of which run
//! holds it, so that a run given up (its future dropped at any await) is told apart from a live
//! one.
//!
//! No lock file is made: the lock is on the file the user named. (On systems without `flock`,
//! a lock file beside the state's canonical path stands in, as SQLite's own locks forbid locking
//! the whole file there.)

use crate::error::Error;
use std::collections::HashMap;
use std::fs::File;
use std::path::Path;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

/// What a running sync holds while it runs: dropped with its future, however it ends. A lock
/// keeps only a weak reference to it.
pub(crate) type RunAlive = Arc<()>;

/// Which file a lock is on: its device and inode (its canonical path where there are none).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct FileId(String);

impl FileId {
    /// The identity of the file `metadata` describes, reached by `path`.
    #[cfg(unix)]
    pub(crate) fn of(_path: &Path, metadata: &std::fs::Metadata) -> Self {
        use std::os::unix::fs::MetadataExt;
        Self(format!("{}:{}", metadata.dev(), metadata.ino()))
    }

    #[cfg(not(unix))]
    pub(crate) fn of(path: &Path, _metadata: &std::fs::Metadata) -> Self {
        let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        Self(real.to_string_lossy().to_lowercase())
    }
}

/// The states this process holds, and whether the run holding each is still alive. Every
/// lock is taken and released under this mutex, so a run that finds a state locked knows
/// whether this process holds it.
static HELD: Mutex<Option<HashMap<FileId, Weak<()>>>> = Mutex::new(None);

/// How long a lock held by a run of this process that was given up is waited for: its last
/// write (one batch) ends on a blocking thread, then the state is closed.
const GIVEN_UP_RELEASE: Duration = Duration::from_secs(10);

/// A held lock: released when dropped (after the state's connection, which is closed first).
pub(crate) struct Lock {
    id: FileId,
    owner: Weak<()>,
    file: Option<File>,
}

impl Drop for Lock {
    fn drop(&mut self) {
        let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
        // The file closed first, then the note removed, under the mutex: a run that finds the
        // lock free finds no note either.
        drop(self.file.take());
        if let Some(map) = held.as_mut() {
            if map
                .get(&self.id)
                .is_some_and(|owner| owner.ptr_eq(&self.owner))
            {
                map.remove(&self.id);
            }
        }
    }
}

/// Who holds a state another run was refused.
pub(crate) enum Holder {
    /// A live run of this process.
    ThisProcess,
    /// Another process.
    Other,
}

/// Locks the state reached by `path` and identified by `id` for the run `owner`, refusing at once
/// when a live run (of this process or another) holds it, and waiting for a run of this process
/// that was given up to let it go. `open` opens the file to lock; it is called only once this
/// process is known not to hold the state, since closing a second descriptor of a file drops
/// every POSIX lock the process holds on it (SQLite's among them).
pub(crate) fn lock(
    path: &Path,
    id: FileId,
    owner: &Weak<()>,
    open: impl FnOnce() -> std::io::Result<File>,
) -> Result<Lock, (Holder, Option<Error>)> {
    let fail = |message: String| Error::State {
        path: path.to_path_buf(),
        message,
    };
    let mut open = Some(open);
    let patience = Instant::now();
    loop {
        {
            let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
            let map = held.get_or_insert_with(HashMap::new);
            let given_up = match map.get(&id) {
                Some(other) if other.upgrade().is_some() => {
                    return Err((Holder::ThisProcess, None))
                }
                Some(_) => true,
                None => false,
            };
            if !given_up {
                let open = open
                    .take()
                    .expect("opened once: a free state is taken or refused");
                let file = open()
                    .map_err(|e| fail(format!("cannot open it: {e}")))
                    .and_then(|file| lockable(path, file))
                    .map_err(|e| (Holder::Other, Some(e)))?;
                return match file.try_lock() {
                    Ok(()) => {
                        map.insert(id.clone(), owner.clone());
                        Ok(Lock {
                            id,
                            owner: owner.clone(),
                            file: Some(file),
                        })
                    }
                    Err(std::fs::TryLockError::WouldBlock) => Err((Holder::Other, None)),
                    Err(std::fs::TryLockError::Error(e)) => {
                        Err((Holder::Other, Some(fail(format!("cannot lock it: {e}")))))
                    }
                };
            }
        }
        if patience.elapsed() >= GIVEN_UP_RELEASE {
            return Err((Holder::ThisProcess, None));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The file the lock is taken on: the state itself where `flock` exists.
#[cfg(unix)]
fn lockable(_path: &Path, file: File) -> Result<File, Error> {
    Ok(file)
}

/// Elsewhere a whole-file lock would stop SQLite's own reads: a file beside the state's
/// canonical path is locked instead.
#[cfg(not(unix))]
fn lockable(path: &Path, _file: File) -> Result<File, Error> {
    let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let mut lock_path = real.into_os_string();
    lock_path.push("-lock");
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_path)
        .map_err(|e| Error::State {
            path: path.to_path_buf(),
            message: format!("cannot open its lock {}: {e}", lock_path.display()),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(path: &Path) -> FileId {
        FileId::of(path, &std::fs::metadata(path).unwrap())
    }

    #[test]
    fn a_lock_a_given_up_run_still_holds_is_waited_for_and_a_live_one_refused() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state.db");
        std::fs::write(&state, b"").unwrap();
        let (first_run, second_run) = (RunAlive::default(), RunAlive::default());
        // Held by a run still going: refused at once.
        let held = lock(&state, id(&state), &Arc::downgrade(&first_run), || {
            File::open(&state)
        })
        .ok()
        .unwrap();
        assert!(matches!(
            lock(
                &state,
                id(&state),
                &Arc::downgrade(&second_run),
                || unreachable!("not opened")
            ),
            Err((Holder::ThisProcess, None))
        ));
        // Held by a run given up, whose last write ends on another thread: waited for.
        drop(first_run);
        let last_write = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            drop(held);
        });
        let again = lock(&state, id(&state), &Arc::downgrade(&second_run), || {
            File::open(&state)
        })
        .ok()
        .unwrap();
        last_write.join().unwrap();
        drop(again);
        // Nothing is left beside the state.
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
    }
}
