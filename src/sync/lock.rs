//! One sync per state at a time: an advisory lock of the operating system on a file beside the
//! state, taken without waiting.

use crate::error::Error;
use std::fs::File;
use std::path::{Path, PathBuf};

/// The lock beside the state (`<state>-lock`): an advisory lock of the operating system, held
/// while the state is open and released when the process ends, however it ends.
pub(super) fn lock(path: &Path) -> Result<File, Error> {
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
    match file.try_lock() {
        Ok(()) => {}
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
    Ok(file)
}
