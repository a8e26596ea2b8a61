//! `--metrics-file PATH`: the run as a Prometheus text exposition, for node_exporter's textfile
//! collector (name the file `*.prom` in its directory), written while a long import or sync runs
//! and when it ends:
//!
//! ```text
//! csm_run_in_progress{command="sync",entity="customer-profiles"} 0
//! csm_run_records{command="sync",entity="customer-profiles",outcome="changed"} 12
//! csm_run_duration_seconds{command="sync",entity="customer-profiles"} 3.2
//! csm_run_exit_code{command="sync",entity="customer-profiles"} 0
//! csm_rate_limit_remaining{command="sync",entity="customer-profiles",limit="tenant-app-quota"} 99120
//! csm_rate_limit_limit{command="sync",entity="customer-profiles",limit="tenant-app-quota"} 100100
//! csm_run_last_success_timestamp_seconds{command="sync",entity="customer-profiles"} 1796000000
//! ```
//!
//! Every count the run's summary holds (`--output json`) is a `csm_run_records` sample named by
//! its key. The file is replaced atomically (written beside it, then renamed), so the collector
//! never reads half of it; the last success time of an earlier run is carried over by a run that
//! fails.

use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

/// How often the file is rewritten while a run goes on.
const WRITTEN_EVERY: Duration = Duration::from_secs(10);

/// Where the run writes its metrics.
struct File {
    path: PathBuf,
    /// The command, as its summary names it (`import`, `sync`).
    command: &'static str,
    /// When the file was last written while the run went on.
    last: Option<Instant>,
}

static FILE: Mutex<Option<File>> = Mutex::new(None);

/// Writes the metrics of `command`'s run to `path`, for the rest of the run.
pub fn write_to(path: &Path, command: &'static str) {
    *FILE.lock().unwrap_or_else(|e| e.into_inner()) = Some(File {
        path: path.to_path_buf(),
        command,
        last: None,
    });
}

/// A run under way: `done` of `total` records, `elapsed` since it started. Written at most every
/// 10 s; a failure to write is said once at the end, not here.
pub fn running(done: u64, total: u64, elapsed: Duration) {
    let mut file = FILE.lock().unwrap_or_else(|e| e.into_inner());
    let Some(File {
        path,
        command,
        last,
    }) = file.as_mut()
    else {
        return;
    };
    if last.is_some_and(|at| at.elapsed() < WRITTEN_EVERY) {
        return;
    }
    *last = Some(Instant::now());
    let mut summary = crate::summary::fields();
    summary.insert("command".into(), Value::from(*command));
    summary.insert("done".into(), Value::from(done));
    summary.insert("total".into(), Value::from(total));
    summary.insert(
        "duration_seconds".into(),
        Value::from(elapsed.as_secs_f64()),
    );
    let _ = replace(path, &exposition(&summary, true, carried_success(path)));
}

/// What the site's last answer with rate-limit headers said is left, by limit: `burst` (its
/// `X-RateLimit-Remaining` of `X-RateLimit-Limit`) and each quota by name (`r` of its policy's
/// `q`).
static HEADROOM: Mutex<Vec<(String, u64, Option<u64>)>> = Mutex::new(Vec::new());

/// Keeps what the client's last answer with rate-limit headers said is left.
pub fn rate_limit(seen: Option<atlassian_csm::RateLimit>) {
    let Some(seen) = seen else {
        return;
    };
    let burst = seen
        .remaining
        .map(|left| ("burst".to_string(), left, seen.limit));
    let quotas = seen.quotas.iter().filter_map(|quota| {
        let limit = seen
            .policies
            .iter()
            .find(|policy| policy.name == quota.name)
            .and_then(|policy| policy.quota);
        Some((quota.name.clone(), quota.remaining?, limit))
    });
    let headroom: Vec<_> = burst.into_iter().chain(quotas).collect();
    if !headroom.is_empty() {
        *HEADROOM.lock().unwrap_or_else(|e| e.into_inner()) = headroom;
    }
}

/// Where the metrics go, if anywhere.
pub fn path() -> Option<PathBuf> {
    let file = FILE.lock().unwrap_or_else(|e| e.into_inner());
    file.as_ref().map(|file| file.path.clone())
}

/// The run ended as `summary` (`--output json`'s object) says: the file's last version.
pub fn ended(summary: &Value) -> std::io::Result<()> {
    let Some(path) = FILE
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .map(|file| file.path.clone())
    else {
        return Ok(());
    };
    let Some(summary) = summary.as_object() else {
        return Ok(());
    };
    let succeeded = summary.get("exit_code").and_then(Value::as_u64) == Some(0);
    let last_success = match succeeded {
        true => Some(seconds_since_epoch(SystemTime::now())),
        false => carried_success(&path),
    };
    replace(&path, &exposition(summary, false, last_success))
}

/// The exposition of a summary object.
fn exposition(
    summary: &Map<String, Value>,
    in_progress: bool,
    last_success: Option<f64>,
) -> String {
    let mut labels = vec![("command", text(summary.get("command")))];
    if let Some(entity) = summary.get("entity").and_then(Value::as_str) {
        labels.push(("entity", entity.to_string()));
    }
    let labels = |extra: Option<(&str, &str)>| -> String {
        let all = labels
            .iter()
            .map(|(name, value)| (*name, value.as_str()))
            .chain(extra)
            .map(|(name, value)| format!("{name}=\"{}\"", escaped(value)))
            .collect::<Vec<_>>();
        format!("{{{}}}", all.join(","))
    };
    let mut out = String::new();
    let mut metric = |name: &str, help: &str, samples: Vec<(String, f64)>| {
        if samples.is_empty() {
            return;
        }
        out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} gauge\n"));
        for (labels, value) in samples {
            out.push_str(&format!("{name}{labels} {value}\n"));
        }
    };
    metric(
        "csm_run_in_progress",
        "1 while the run goes on, 0 once it ended.",
        vec![(labels(None), f64::from(u8::from(in_progress)))],
    );
    let counts: Vec<(String, f64)> = summary
        .iter()
        .filter(|(key, _)| !matches!(key.as_str(), "duration_seconds" | "exit_code"))
        .filter_map(|(key, value)| Some((labels(Some(("outcome", key))), value.as_f64()?)))
        .collect();
    metric(
        "csm_run_records",
        "The run's counts, by what they count (its --output json summary).",
        counts,
    );
    let one = |key: &str| summary.get(key).and_then(Value::as_f64);
    let at = |value: Option<f64>| value.map(|v| (labels(None), v)).into_iter().collect();
    metric(
        "csm_run_duration_seconds",
        "How long the run has taken.",
        at(one("duration_seconds")),
    );
    metric(
        "csm_run_exit_code",
        "The exit code of the run (0: everything succeeded).",
        at(one("exit_code")),
    );
    let headroom = HEADROOM.lock().unwrap_or_else(|e| e.into_inner()).clone();
    metric(
        "csm_rate_limit_remaining",
        "What the site's last answer with rate-limit headers said is left, by limit.",
        headroom
            .iter()
            .map(|(name, left, _)| (labels(Some(("limit", name))), *left as f64))
            .collect(),
    );
    metric(
        "csm_rate_limit_limit",
        "The limit each of those counts is against, where the answer said.",
        headroom
            .iter()
            .filter_map(|(name, _, limit)| Some((labels(Some(("limit", name))), (*limit)? as f64)))
            .collect(),
    );
    metric(
        "csm_run_last_success_timestamp_seconds",
        "When a run last ended with exit code 0 (seconds since the Unix epoch).",
        at(last_success),
    );
    out
}

/// The last success time an earlier run wrote to the file, if it did.
fn carried_success(path: &Path) -> Option<f64> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .filter(|line| line.starts_with("csm_run_last_success_timestamp_seconds{"))
        .find_map(|line| line.rsplit_once(' ')?.1.parse().ok())
}

/// Replaces `path` with `text` atomically: written beside it, flushed, then renamed over it.
fn replace(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Not `*.prom`: the collector skips it while it is written.
    let partial = path.with_file_name(format!(".{name}.{}.partial", std::process::id()));
    let written = (|| {
        let mut file = std::fs::File::create(&partial)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&partial, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    written
}

fn text(value: Option<&Value>) -> String {
    value
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// A label value as the exposition format writes it.
fn escaped(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn seconds_since_epoch(at: SystemTime) -> f64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |since| since.as_secs() as f64)
}
