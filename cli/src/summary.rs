//! `--output json`: what `import`, `sync`, `fields apply` and `tasks wait` did, as one JSON object
//! on the last line of standard output, for cron jobs and monitoring scripts:
//!
//! ```text
//! {"command":"import","entity":"customer-profiles","records":250,"succeeded":249,"failed":1,
//!  "invalid":0,"failures_file":"failed.csv","duration_seconds":3.2,"exit_code":1}
//! ```
//!
//! The commands record their counts as they go ([`set`]); `main` prints the object once the
//! command ends, whichever way it ends (an error adds `"error"`). Lines for people go to standard
//! error meanwhile, so standard output holds the object alone.

use serde_json::{Map, Value};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

/// How the commands that report report.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OutputFormat {
    /// Lines for people.
    #[default]
    Text,
    /// One JSON summary object, the last line of standard output.
    Json,
}

static JSON: OnceLock<bool> = OnceLock::new();
static FIELDS: Mutex<Option<Map<String, Value>>> = Mutex::new(None);

/// Reports as `format` says, for the rest of the run.
pub fn report_as(format: OutputFormat) {
    let _ = JSON.set(format == OutputFormat::Json);
}

/// Whether the run reports as JSON.
pub fn json() -> bool {
    JSON.get().copied().unwrap_or(false)
}

/// Records `value` under `key` in the summary.
pub fn set(key: &str, value: impl serde::Serialize) {
    let value = serde_json::to_value(value).unwrap_or(Value::Null);
    FIELDS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_or_insert_with(Map::new)
        .insert(key.to_string(), value);
}

/// The counts recorded so far.
pub fn fields() -> Map<String, Value> {
    FIELDS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
        .unwrap_or_default()
}

/// The summary of `command`, which started at `started` and ends with `exit_code` (and `error`).
pub fn object(command: &str, started: Instant, exit_code: u8, error: Option<&str>) -> Value {
    let mut object = Map::new();
    object.insert("command".into(), Value::from(command));
    if let Some(fields) = FIELDS.lock().unwrap_or_else(|e| e.into_inner()).take() {
        object.extend(fields);
    }
    if let Some(error) = error {
        object.insert("error".into(), Value::from(error));
    }
    let seconds = (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0;
    object.insert("duration_seconds".into(), Value::from(seconds));
    object.insert("exit_code".into(), Value::from(exit_code));
    Value::Object(object)
}

/// The commands that report a summary, by their name in the command line.
pub fn reports(matches: &clap::ArgMatches) -> Option<&'static str> {
    match matches.subcommand() {
        Some(("import", _)) => Some("import"),
        Some(("sync", _)) => Some("sync"),
        Some(("fields", sub)) if matches!(sub.subcommand(), Some(("apply", _))) => {
            Some("fields apply")
        }
        Some(("tasks", sub)) if matches!(sub.subcommand(), Some(("wait", _))) => Some("tasks wait"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_holds_what_was_set_then_the_end() {
        set("records", 3);
        set("failures_file", Some("failed.csv"));
        let object = object("import", Instant::now(), 1, Some("boom"));
        assert_eq!(object["command"], "import");
        assert_eq!(object["records"], 3);
        assert_eq!(object["failures_file"], "failed.csv");
        assert_eq!(object["error"], "boom");
        assert_eq!(object["exit_code"], 1);
        assert!(object["duration_seconds"].as_f64().unwrap() >= 0.0);
        let again = super::object("import", Instant::now(), 0, None);
        assert!(again.get("records").is_none(), "taken once");
    }
}
