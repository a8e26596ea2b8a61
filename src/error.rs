//! The one error type of the crate.

use crate::field_path::FieldPath;
use crate::rate_limit::RateLimit;
use crate::types::{RestError, TaskStatusResponse};
use reqwest::StatusCode;
use std::time::Duration;

/// Everything that can go wrong, as one type to match on. `Display` is one sentence; no variant
/// ever holds a token or a password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The client was configured in a way that cannot work (a builder's settings, a sync's
    /// state location, a site that cannot be found); nothing was sent.
    #[error("invalid client configuration: {0}")]
    Config(String),

    /// The input breaks a rule the API documents; nothing was sent.
    #[error("invalid input ({field}): {message}; nothing was sent")]
    InvalidInput {
        /// The field (and record) at fault, e.g. `customerProfiles[3].payload.email`:
        /// [`FieldPath::record`] is the record's index.
        field: FieldPath,
        /// What is wrong with it.
        message: String,
    },

    /// A sync's input names one key on two records (or twice on one): which of them describes
    /// the item cannot be told, so nothing was sent.
    #[error(
        "invalid input ({field}): {}; nothing was sent",
        duplicate_message(key, *record, *first_record)
    )]
    DuplicateKey {
        /// The later record, e.g. `customerProfiles[5]`.
        field: FieldPath,
        /// The key, as the sync's state keeps it (`email:ada@example.com`).
        key: String,
        /// The index of the record that repeats it.
        record: usize,
        /// The index of the first record that had it (`record` when one record names it twice).
        first_record: usize,
    },

    /// A failure inside the client, not caused by the configuration, the input or the server
    /// (a background task that panicked, a broken invariant): worth reporting as a bug.
    #[error("internal error: {0}")]
    Internal(String),

    /// The API answered with an error status (after any retries).
    #[error("{operation}: the API answered {status}{attempts}{}", describe(.error))]
    Api {
        /// The operation, e.g. `get_customer`.
        operation: &'static str,
        /// The HTTP status.
        status: StatusCode,
        /// The attempts the call made.
        attempts: Attempts,
        /// The decoded error body, when it was one.
        error: Option<Box<RestError>>,
        /// The start of the body when it was not a `RestError` (e.g. a proxy's HTML page).
        body_excerpt: Option<String>,
        /// The rate-limit headers of the answer.
        rate_limit: Box<RateLimit>,
    },

    /// Still rate limited (429, or 503 with `Retry-After`) when the retries ran out, or asked to
    /// wait longer than the retry policy allows.
    #[error("{operation}: rate limited (HTTP {status}){attempts}{}", retry_hint(.rate_limit))]
    RateLimited {
        /// The operation.
        operation: &'static str,
        /// 429 or 503.
        status: StatusCode,
        /// The attempts the call made (none when a bulk import refused a submission it did not
        /// send, its quota being used up).
        attempts: Attempts,
        /// The rate-limit headers, including the server's `Retry-After`.
        rate_limit: Box<RateLimit>,
    },

    /// Authentication failed: the API answered 401 even with a renewed token, or a token could
    /// not be obtained.
    #[error("authentication failed: {message}")]
    Auth {
        /// What happened (never the token).
        message: String,
    },

    /// A call (with all its retries) or one attempt took too long.
    #[error("{operation}: timed out after {after:?}{}", attempts.in_brackets())]
    Timeout {
        /// The operation.
        operation: &'static str,
        /// The limit that was reached.
        after: Duration,
        /// The attempts the call made.
        attempts: Attempts,
    },

    /// The request could not be sent or its answer not read (connection refused or reset…), on
    /// the last attempt, or on the attempt before the call timeout ended the retries. `Display`
    /// names the host, what was tried and the root cause once (e.g. "could not reach
    /// api.atlassian.com after 5 attempts over 2.9 s: Connection refused"); the cause is also
    /// the error's `source`.
    #[error("{operation}: could not reach {host}{attempts}: {}", causes(.source))]
    Transport {
        /// The operation.
        operation: &'static str,
        /// The host (and port, when not the scheme's) the request was for.
        host: String,
        /// The attempts the call made.
        attempts: Attempts,
        /// The underlying error (its URL removed).
        #[source]
        source: reqwest::Error,
    },

    /// The answer was larger than the client accepts
    /// ([`ClientBuilder::max_response_size`](crate::ClientBuilder::max_response_size)): it was not
    /// read further, and the call was not retried.
    #[error("{operation}: the {status} answer holds more than {limit} bytes ({seen} seen); it was not read further")]
    ResponseTooLarge {
        /// The operation.
        operation: &'static str,
        /// The HTTP status of the answer.
        status: StatusCode,
        /// The bytes declared by `Content-Length`, or read before the limit was passed.
        seen: u64,
        /// The limit.
        limit: u64,
    },

    /// The server answered with a redirect, which the client never follows: the API documents
    /// none, and following one could carry the request, its body and its credentials to another
    /// origin.
    #[error("{operation}: the API answered {status} redirecting to {location}; redirects are not followed")]
    Redirected {
        /// The operation.
        operation: &'static str,
        /// The 3xx status.
        status: StatusCode,
        /// The `Location` the server named (not contacted).
        location: String,
    },

    /// A paginated listing was stopped: the server gave a cursor it had given before (its pages
    /// would repeat forever), or the listing passed the client's page cap
    /// ([`ClientBuilder::max_pages`](crate::ClientBuilder::max_pages)). The pages before were
    /// yielded.
    #[error("{operation}: {reason}; the listing was stopped after {pages} pages")]
    Pagination {
        /// The operation.
        operation: &'static str,
        /// The pages fetched.
        pages: u64,
        /// What was wrong.
        reason: String,
    },

    /// A success answer whose body is not what the spec describes.
    #[error("{operation}: the {status} answer could not be decoded: {message} (body starts: {body_excerpt:?})")]
    Decode {
        /// The operation.
        operation: &'static str,
        /// The HTTP status.
        status: StatusCode,
        /// What the decoder said.
        message: String,
        /// The start of the body.
        body_excerpt: String,
    },

    /// A bulk task ended `FAILED` or `CANCELLED`.
    #[error("task {} ended {}", .task.id, .task.status)]
    TaskFailed {
        /// The final status, with whatever `failures` the server listed.
        task: Box<TaskStatusResponse>,
    },

    /// The task is unknown: it never existed, or its result expired (results are kept 3 days).
    #[error("task {task_id} was not found: it never existed or its result expired (kept 3 days)")]
    TaskNotFound {
        /// The task id asked for.
        task_id: String,
    },

    /// The task had not ended when the wait's deadline came.
    #[error("task {task_id} was still {last_status} after {waited:?}")]
    TaskDeadline {
        /// The task id.
        task_id: String,
        /// The last status seen.
        last_status: String,
        /// How long the wait lasted.
        waited: Duration,
    },

    /// The import was stopped ([`StopHandle::stop`](crate::bulk::StopHandle::stop)) before this
    /// record was sent: nothing was sent for it.
    #[error("the import was stopped before this record was sent; nothing was sent for it")]
    Stopped,

    /// A bulk import's journal could not be read or written, or is not this import's (another
    /// endpoint, namespace or input).
    #[error("import journal {}: {message}", path.display())]
    Journal {
        /// The journal file.
        path: std::path::PathBuf,
        /// What went wrong.
        message: String,
    },

    /// A sync's state could not be read or written, or is not one this version reads.
    #[cfg(feature = "sync")]
    #[error("sync state {}: {message}", path.display())]
    State {
        /// The state file.
        path: std::path::PathBuf,
        /// What went wrong.
        message: String,
    },

    /// Another sync holds the state (its lock, beside the file, is taken): nothing was read or
    /// sent. Run the syncs of one state one after the other.
    #[cfg(feature = "sync")]
    #[error("sync state {}: another sync is running on it ({holder}); nothing was sent", path.display())]
    StateLocked {
        /// The state file.
        path: std::path::PathBuf,
        /// Who holds it, as that sync wrote it (`process 4242 since 2026-12-02T03:00:00Z`).
        holder: String,
    },
}

/// What a call tried before it ended with an error: how many attempts, over how long (the first
/// attempt's start to the error). `Display` says it when there was more than one attempt
/// (` after 5 attempts over 2.9 s`), and nothing otherwise.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Attempts {
    /// The attempts made (0 when the request was never sent).
    pub count: u32,
    /// From the first attempt to the error.
    pub elapsed: Duration,
}

impl Attempts {
    /// `count` attempts over `elapsed`.
    pub fn new(count: u32, elapsed: Duration) -> Self {
        Self { count, elapsed }
    }

    /// ` (5 attempts over 2.9 s)`, or nothing for one attempt or none.
    fn in_brackets(&self) -> String {
        match self.count {
            0 | 1 => String::new(),
            count => format!(
                " ({count} attempts over {:.1} s)",
                self.elapsed.as_secs_f64()
            ),
        }
    }
}

impl std::fmt::Display for Attempts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.count > 1 {
            write!(
                f,
                " after {} attempts over {:.1} s",
                self.count,
                self.elapsed.as_secs_f64()
            )?;
        }
        Ok(())
    }
}

fn duplicate_message(key: &str, record: usize, first_record: usize) -> String {
    if record == first_record {
        format!("it names {key} twice")
    } else {
        format!(
            "its key {key} is record {first_record}'s too: a key may appear once in a sync's input"
        )
    }
}

fn describe(error: &Option<Box<RestError>>) -> String {
    match error.as_ref().and_then(|e| e.error_message.as_deref()) {
        Some(message) => format!(": {message}"),
        None => String::new(),
    }
}

/// An error and its sources as one line, each message once: reqwest's own message ("error sending
/// request") says nothing of the cause, which is at the end of the chain.
fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut messages: Vec<String> = Vec::new();
    let mut next = Some(error);
    while let Some(error) = next {
        let message = error.to_string();
        if !messages.iter().any(|seen| seen.contains(&message)) {
            messages.push(message);
        }
        next = error.source();
    }
    messages.join(": ")
}

fn retry_hint(rate_limit: &RateLimit) -> String {
    if rate_limit.quota_exhausted() {
        let reason = rate_limit.reason.as_deref().unwrap_or("a quota");
        // The quota's size and window, when the site said them (on this answer or earlier).
        let reason = match rate_limit.spent_policy() {
            Some(crate::rate_limit::QuotaPolicy {
                quota: Some(points),
                window: Some(window),
                name,
            }) => format!(
                "{reason} ({name}: {points} points per {} s)",
                window.as_secs()
            ),
            _ => reason.to_string(),
        };
        return match rate_limit.resets_in() {
            Some(wait) => format!(
                "; {reason}: the quota is used up until it resets in {} s",
                wait.as_secs()
            ),
            None => format!("; {reason}: the quota is used up until its window resets"),
        };
    }
    match rate_limit.retry_after {
        Some(wait) => format!("; the server asks to retry after {wait:?}"),
        None => String::new(),
    }
}

impl Error {
    /// The HTTP status of the answer behind this error, if there was one.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Api { status, .. }
            | Self::RateLimited { status, .. }
            | Self::Decode { status, .. }
            | Self::ResponseTooLarge { status, .. }
            | Self::Redirected { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The attempts the call behind this error made, and over how long, when it was a call that
    /// ended after its attempts (an answer with an error status, a rate limit, no answer, a
    /// timeout).
    pub fn attempts(&self) -> Option<Attempts> {
        match self {
            Self::Api { attempts, .. }
            | Self::RateLimited { attempts, .. }
            | Self::Timeout { attempts, .. }
            | Self::Transport { attempts, .. } => Some(*attempts),
            _ => None,
        }
    }

    /// The rate-limit headers of the answer behind this error, to complete them.
    pub(crate) fn rate_limit_mut(&mut self) -> Option<&mut RateLimit> {
        match self {
            Self::Api { rate_limit, .. } | Self::RateLimited { rate_limit, .. } => Some(rate_limit),
            _ => None,
        }
    }

    /// The same error, saying the attempts the call made.
    pub(crate) fn with_attempts(mut self, tried: Attempts) -> Self {
        if let Self::Api { attempts, .. }
        | Self::RateLimited { attempts, .. }
        | Self::Timeout { attempts, .. }
        | Self::Transport { attempts, .. } = &mut self
        {
            *attempts = tried;
        }
        self
    }

    /// The rate-limit headers of the answer behind this error, if there was one.
    pub fn rate_limit(&self) -> Option<&RateLimit> {
        match self {
            Self::Api { rate_limit, .. } | Self::RateLimited { rate_limit, .. } => Some(rate_limit),
            _ => None,
        }
    }

    pub(crate) fn from_reqwest(
        operation: &'static str,
        source: reqwest::Error,
        timeout: Duration,
    ) -> Self {
        if source.is_timeout() {
            Self::Timeout {
                operation,
                after: timeout,
                attempts: Attempts::default(),
            }
        } else {
            Self::transport(operation, source)
        }
    }

    /// A transport failure, naming the host but not the rest of the URL (whose path may name a
    /// customer).
    pub(crate) fn transport(operation: &'static str, source: reqwest::Error) -> Self {
        let host = source
            .url()
            .and_then(|url| {
                let host = url.host_str()?;
                Some(match url.port() {
                    Some(port) => format!("{host}:{port}"),
                    None => host.to_string(),
                })
            })
            .unwrap_or_else(|| "the server".to_string());
        Self::Transport {
            operation,
            host,
            attempts: Attempts::default(),
            source: source.without_url(),
        }
    }

    pub(crate) fn from_status(
        operation: &'static str,
        status: StatusCode,
        headers: &reqwest::header::HeaderMap,
        error: Option<RestError>,
        body_excerpt: Option<String>,
    ) -> Self {
        let rate_limit = Box::new(RateLimit::from_headers(headers));
        let error = error.map(Box::new);
        let rate_limited = status == StatusCode::TOO_MANY_REQUESTS
            || (status == StatusCode::SERVICE_UNAVAILABLE && rate_limit.retry_after.is_some());
        if rate_limited {
            return Self::RateLimited {
                operation,
                status,
                attempts: Attempts::default(),
                rate_limit,
            };
        }
        if let Some(location) = crate::body::redirect_location(status, headers) {
            return Self::Redirected {
                operation,
                status,
                location,
            };
        }
        if status == StatusCode::UNAUTHORIZED {
            return Self::Auth {
                message: format!(
                    "{operation}: the API answered 401 Unauthorized{}",
                    describe(&error)
                ),
            };
        }
        Self::Api {
            operation,
            status,
            attempts: Attempts::default(),
            error,
            body_excerpt,
            rate_limit,
        }
    }
}

impl Error {
    /// Whether the request behind this error provably did nothing at the server: it was never
    /// sent (refused before sending, connection refused), or the server refused it (a 4xx, a
    /// rate limit, a redirect). A lost or 5xx answer to a request that was sent proves nothing.
    pub(crate) fn provably_not_processed(&self) -> bool {
        match self {
            Self::Config(_) | Self::InvalidInput { .. } | Self::DuplicateKey { .. } => true,
            Self::Auth { .. } => true,
            Self::Stopped => true,
            Self::RateLimited { .. } | Self::Redirected { .. } => true,
            Self::Api { status, .. } => status.is_client_error(),
            Self::Transport { source, .. } => source.is_connect(),
            _ => false,
        }
    }
}
