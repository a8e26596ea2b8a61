//! Opening a state: what the path is, the lock, what the state describes, and only then the
//! writes that record it (none for a plan).

use super::identity::{self, Found, Identity};
use super::lock::{FileId, Holder};
use super::state::{state_error, SqliteState};
use crate::error::Error;
use rusqlite::{Connection, OpenFlags};
use std::path::Path;
use std::sync::Weak;

/// How a state is opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// A run: the state is created if missing, and written.
    Run,
    /// A plan: nothing is created or written (a missing state is an empty one, in memory).
    Plan,
}

impl SqliteState {
    /// Opens the state at `path` for a sync of `wanted`: checks what the path is, locks it
    /// (refusing at once, with [`Error::StateLocked`], a state another live sync holds), reads
    /// its version and what it describes, and only then writes (in [`Mode::Run`]).
    pub fn open(
        path: &Path,
        mode: Mode,
        wanted: &Identity,
        owner: &Weak<()>,
    ) -> Result<Self, Error> {
        let fail = |message: String| Error::State {
            path: path.to_path_buf(),
            message,
        };
        let mut existing = existing_file(path).map_err(fail)?;
        let mut created = None;
        if existing.is_none() {
            if mode == Mode::Plan {
                return Self::in_memory(path, wanted);
            }
            // Created empty (an empty file is an empty database), then locked like any other;
            // a sync that created it first is found holding it.
            match std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(path)
            {
                Ok(file) => created = Some(file),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    existing = existing_file(path).map_err(fail)?;
                }
                Err(e) => return Err(fail(format!("cannot create it: {e}"))),
            }
        }
        let (id, lock) = match (created, existing) {
            (Some(file), _) => {
                let metadata = file.metadata().map_err(|e| fail(e.to_string()))?;
                let id = FileId::of(path, &metadata);
                let lock = super::lock::lock(path, id.clone(), owner, move || Ok(file));
                (id, lock)
            }
            (None, None) => return Err(fail("it vanished while it was being created".into())),
            (None, Some(metadata)) => {
                let id = FileId::of(path, &metadata);
                let lock = super::lock::lock(path, id.clone(), owner, || std::fs::File::open(path));
                (id, lock)
            }
        };
        let lock = lock.map_err(|refused| match refused {
            (_, Some(error)) => error,
            (Holder::ThisProcess, None) => Error::StateLocked {
                path: path.to_path_buf(),
                holder: format!("a sync of this process, {}", std::process::id()),
            },
            (Holder::Other, None) => Error::StateLocked {
                path: path.to_path_buf(),
                holder: holder_of(path),
            },
        })?;
        let sql = |e: rusqlite::Error| state_error(path, e);
        let connection = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(sql)?;
        // The file opened is the one locked (nothing replaced it in between).
        let reopened = std::fs::metadata(path).map_err(|e| fail(e.to_string()))?;
        if FileId::of(path, &reopened) != id {
            return Err(fail(
                "it was replaced while it was being opened; nothing was written".into(),
            ));
        }
        connection
            .execute_batch(
                "PRAGMA foreign_keys = ON; PRAGMA temp_store = FILE; PRAGMA busy_timeout = 5000;",
            )
            .map_err(sql)?;
        // Read and checked before anything is written.
        let found = identity::read(&connection).map_err(fail)?;
        identity::check(&found, wanted).map_err(fail)?;
        match mode {
            Mode::Run => {
                // WAL: an admin may read the file with `sqlite3` while a sync writes it. FULL: a
                // committed write survives a power cut, as the requests it records were sent.
                connection
                    .execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;")
                    .map_err(sql)?;
                let holder = format!(
                    "process {} since {}",
                    std::process::id(),
                    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ")
                );
                let write = || -> rusqlite::Result<()> {
                    connection.execute_batch("BEGIN IMMEDIATE")?;
                    identity::record(&connection, &found, wanted)?;
                    connection.execute(
                        "INSERT OR REPLACE INTO meta (name, value) VALUES ('holder', ?1)",
                        [holder],
                    )?;
                    connection.execute_batch("COMMIT")
                };
                write().map_err(sql)?;
            }
            Mode::Plan if identity::is_recorded(&found, wanted) => {}
            // The same tables and records, in a transaction never committed: the plan reads the
            // state as a run would, and the file is left as it was.
            Mode::Plan => {
                let write = || -> rusqlite::Result<()> {
                    connection.execute_batch("BEGIN")?;
                    identity::record(&connection, &found, wanted)
                };
                write().map_err(sql)?;
            }
        }
        Ok(Self {
            path: path.to_path_buf(),
            connection,
            next_todo: 0,
            _lock: Some(lock),
        })
    }

    /// A state that does not exist yet, planned against: empty, in memory, nothing created.
    fn in_memory(path: &Path, wanted: &Identity) -> Result<Self, Error> {
        let sql = |e: rusqlite::Error| state_error(path, e);
        let connection = Connection::open_in_memory().map_err(sql)?;
        identity::record(&connection, &Found::Fresh, wanted).map_err(sql)?;
        Ok(Self {
            path: path.to_path_buf(),
            connection,
            next_todo: 0,
            _lock: None,
        })
    }
}

/// The file at `path`: `None` when nothing is there; an error when it is not a regular file (or
/// a link to one), so nothing is opened or created beside something else.
fn existing_file(path: &Path) -> Result<Option<std::fs::Metadata>, String> {
    let link = match std::fs::symlink_metadata(path) {
        Ok(link) => link,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read what it is: {e}")),
    };
    let target = match std::fs::metadata(path) {
        Ok(target) => target,
        Err(e) if link.file_type().is_symlink() => {
            return Err(format!(
                "it is a link to nothing ({e}); nothing was created where it points"
            ))
        }
        Err(e) => return Err(format!("cannot read what it is: {e}")),
    };
    if target.is_file() {
        return Ok(Some(target));
    }
    let what = if target.is_dir() {
        "a directory"
    } else {
        "not a regular file (a device, a pipe or a socket)"
    };
    Err(format!(
        "it is {what}, not a state file; nothing was opened or created"
    ))
}

/// Who holds the state, as it recorded it when it opened it (best effort: the lock is the rule).
fn holder_of(path: &Path) -> String {
    let read = || -> rusqlite::Result<String> {
        let connection = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        connection.query_row("SELECT value FROM meta WHERE name = 'holder'", [], |row| {
            row.get(0)
        })
    };
    read()
        .map(|holder| holder.chars().take(200).collect())
        .unwrap_or_else(|_| "another process".into())
}
