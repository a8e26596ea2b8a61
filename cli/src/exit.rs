//! The exit codes `csm` documents (`csm --help` lists them).

use atlassian_csm::Error;
use std::process::ExitCode;

/// A configuration that cannot make a client (exit code 3).
#[derive(Debug)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

/// Every record imported, every call answered with success.
pub const SUCCESS: u8 = 0;
/// The command ran, but not everything succeeded: records of an import failed, a task ended
/// `FAILED` or `CANCELLED`, definitions differ from the site's.
pub const INCOMPLETE: u8 = 1;
/// The command line is wrong (clap's own code).
pub const USAGE: u8 = 2;
/// The input is invalid (a file that cannot be read or parsed, a row or body that breaks a rule
/// of the API, a missing configuration); nothing was sent.
pub const INVALID_INPUT: u8 = 3;
/// The API refused the request (a 4xx answer, including authentication).
pub const API_REFUSED: u8 = 4;
/// The API failed (a 5xx answer), or could not be reached, or did not answer in time.
pub const API_FAILED: u8 = 5;

/// The lines `csm --help` ends with.
pub const HELP: &str = "Exit codes:
  0  success
  1  the command ran, but not everything succeeded (failed records, a failed task, definitions
     that differ)
  2  usage: the command line is wrong
  3  invalid input or configuration, or a sync state that is another site's or another sync
     holds; nothing was sent
  4  the API refused the request (4xx)
  5  the API failed (5xx), or could not be reached in time
  130  stopped by Ctrl-C or SIGTERM: what was under way was finished, and the same command
     resumes";

/// The code for an error a command ended with.
pub fn code_of(error: &anyhow::Error) -> ExitCode {
    for cause in error.chain() {
        if let Some(error) = cause.downcast_ref::<Error>() {
            return ExitCode::from(code_of_client_error(error));
        }
        if cause.is::<ConfigError>()
            || cause.is::<serde_json::Error>()
            || cause.is::<std::io::Error>()
            || cause.is::<csv::Error>()
            || cause.is::<serde_norway::Error>()
        {
            return ExitCode::from(INVALID_INPUT);
        }
    }
    ExitCode::from(API_FAILED)
}

fn code_of_client_error(error: &Error) -> u8 {
    match error {
        Error::InvalidInput { .. } | Error::DuplicateKey { .. } => INVALID_INPUT,
        Error::Config(_) | Error::Journal { .. } => INVALID_INPUT,
        Error::State { .. } | Error::StateLocked { .. } => INVALID_INPUT,
        Error::TaskFailed { .. } => INCOMPLETE,
        Error::Auth { .. } | Error::TaskNotFound { .. } => API_REFUSED,
        _ => match error.status() {
            Some(status) if status.is_client_error() => API_REFUSED,
            _ => API_FAILED,
        },
    }
}
