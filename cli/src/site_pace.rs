//! What `csm import` learned of each site's pace, kept for the next import of the same site:
//! `$XDG_STATE_HOME/csm/site-pace.json` (else `~/.local/state/csm/site-pace.json`), one entry per
//! site as it was named (a base URL, a cloud id, a site). An import then polls a site known to
//! run tasks one at a time about when each task's time is up, from its first task on.
//!
//! The file is a cache: one that cannot be read or written costs the next import its head start,
//! nothing else (said at debug level, never as a failure).

use atlassian_csm::SitePace;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The most sites kept; the ones written longest ago go first.
const SITES_KEPT: usize = 64;

/// One site's entry: its pace, and when it was written (for keeping the newest).
#[derive(serde::Serialize, serde::Deserialize)]
struct Entry {
    written_at: i64,
    pace: SitePace,
}

fn path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_STATE_HOME")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local").join("state"))
        })?;
    Some(base.join("csm").join("site-pace.json"))
}

fn read() -> BTreeMap<String, Entry> {
    let Some(path) = path() else {
        return BTreeMap::new();
    };
    // A file of another program's, or grown past any size this one writes, is not read.
    let small = std::fs::metadata(&path).is_ok_and(|m| m.len() <= 1 << 20);
    let text = small.then(|| std::fs::read_to_string(&path).ok()).flatten();
    text.and_then(|text| match serde_json::from_str(&text) {
        Ok(entries) => Some(entries),
        Err(error) => {
            tracing::debug!(%error, path = %path.display(), "the sites' pace file cannot be read");
            None
        }
    })
    .unwrap_or_default()
}

/// What earlier imports learned of `site` (nothing when none did).
pub fn load(site: &str) -> SitePace {
    read()
        .remove(site)
        .map(|entry| entry.pace)
        .unwrap_or_default()
}

/// Keeps what an import learned of `site` (written to a temporary file, then renamed over the
/// old one: a reader never sees half a file).
pub fn keep(site: &str, pace: &SitePace) {
    if pace.is_unknown() {
        return;
    }
    let Some(path) = path() else {
        return;
    };
    let mut entries = read();
    entries.insert(
        site.to_string(),
        Entry {
            written_at: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64),
            pace: pace.clone(),
        },
    );
    while entries.len() > SITES_KEPT {
        let oldest = entries
            .iter()
            .min_by_key(|(_, entry)| entry.written_at)
            .map(|(site, _)| site.clone())
            .expect("not empty");
        entries.remove(&oldest);
    }
    let written = (|| -> std::io::Result<()> {
        let dir = path.parent().expect("a file in a directory");
        std::fs::create_dir_all(dir)?;
        let temporary = dir.join(format!(".site-pace.{}.tmp", std::process::id()));
        let json = serde_json::to_vec_pretty(&entries).expect("entries serialize");
        std::fs::write(&temporary, json)?;
        std::fs::rename(&temporary, &path).inspect_err(|_| {
            let _ = std::fs::remove_file(&temporary);
        })
    })();
    if let Err(error) = written {
        tracing::debug!(%error, path = %path.display(), "the sites' pace file cannot be written");
    }
}
