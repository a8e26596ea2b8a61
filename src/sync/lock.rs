//! One sync per state at a time: an advisory lock of the operating system on a file beside the
//! state, taken without waiting.

use crate::error::Error;
use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Locks of this process whose run was dropped (its future given up) while a write of it still
/// runs on a blocking thread: they are released when that write ends, and a new sync of the
/// same state waits for that (at most `OWN_RELEASE`) instead of being refused.
static RELEASING: Mutex<BTreeMap<PathBuf, usize>> = Mutex::new(BTreeMap::new());

/// How long a lock a dropped run of this process still holds is waited for.
const OWN_RELEASE: std::time::Duration = std::time::Duration::from_secs(5);

/// A held lock; released (and no longer counted as releasing) when dropped.
pub(crate) struct Lock {
    path: PathBuf,
    _file: File,
}

impl Lock {
    /// Says the run holding this lock was dropped: the lock is released once the state's last
    /// user ends.
    pub fn releasing(&self) {
        *RELEASING
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(self.path.clone())
            .or_default() += 1;
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let mut releasing = RELEASING.lock().unwrap_or_else(|e| e.into_inner());
        releasing.remove(&self.path);
    }
}

fn is_releasing(path: &Path) -> bool {
    RELEASING
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .contains_key(path)
}

/// The lock beside the state (`<state>-lock`): an advisory lock of the operating system, held
/// while the state is open and released when the process ends, however it ends.
pub(super) fn lock(path: &Path) -> Result<Lock, Error> {
    use std::io::{Read, Seek, Write};
    // The file itself, however it is named (a link, a relative path), so every sync of one
    // state takes the same lock.
    let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let mut lock_path = real.into_os_string();
    lock_path.push("-lock");
    let lock_path = PathBuf::from(lock_path);
    let fail = |message: String| Error::State {
        path: path.to_path_buf(),
        message,
    };
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_path)
        .map_err(|e| fail(format!("cannot open its lock {}: {e}", lock_path.display())))?;
    let patience = std::time::Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => break,
            // A dropped run of this process, finishing its last write: soon released.
            Err(std::fs::TryLockError::WouldBlock)
                if is_releasing(&lock_path) && patience.elapsed() < OWN_RELEASE =>
            {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                return Err(Error::StateLocked {
                    path: path.to_path_buf(),
                    holder: holder.trim().chars().take(200).collect(),
                });
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(fail(format!("cannot lock {}: {e}", lock_path.display())))
            }
        }
    }
    // Who holds it, for the message another sync prints (best effort: the lock is the rule).
    let _ = file.set_len(0).and_then(|()| {
        file.rewind()?;
        write!(
            file,
            "process {} since {}",
            std::process::id(),
            chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ")
        )
    });
    Ok(Lock {
        path: lock_path,
        _file: file,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_a_dropped_run_still_holds_is_waited_for_and_a_live_one_refused() {
        let dir = std::env::temp_dir().join(format!("csm-lock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let state = dir.join("state.db");
        // Held by a run still going: refused at once.
        let held = lock(&state).unwrap();
        assert!(matches!(lock(&state), Err(Error::StateLocked { .. })));
        // Held by a run given up, whose last write ends on another thread: waited for.
        held.releasing();
        let last_write = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(50));
            drop(held);
        });
        let again = lock(&state).expect("the released lock is taken");
        last_write.join().unwrap();
        assert!(!is_releasing(&again.path));
        drop(again);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
