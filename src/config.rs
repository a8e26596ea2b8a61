//! The configuration every request of a [`Client`](crate::Client) reads: what the hooks need.

use crate::auth::Credentials;
use crate::retry_policy::RetryPolicy;
use crate::server_text::Secrets;
use reqwest::header::HeaderValue;
use std::time::Duration;

/// State shared by all requests of one client: credentials, retry policy and timeouts.
///
/// Built by [`ClientBuilder`](crate::ClientBuilder); it cannot be constructed elsewhere. Its
/// `Debug` output redacts every secret.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    pub(crate) credentials: Credentials,
    /// The `Authorization` header of credentials that never change (bearer, Basic), computed
    /// once; `None` for a token source.
    pub(crate) fixed_authorization: Option<reqwest::header::HeaderValue>,
    pub(crate) retry: RetryPolicy,
    pub(crate) call_timeout: Duration,
    pub(crate) attempt_timeout: Duration,
    /// The largest answer body read (see `ClientBuilder::max_response_size`).
    pub(crate) max_response_bytes: u64,
    /// The most pages one listing fetches (see `ClientBuilder::max_pages`).
    pub(crate) max_pages: u64,
    /// Whether a request may carry an enum value the spec does not list (see
    /// `ClientBuilder::allow_unknown_enum_values`).
    pub(crate) allow_unknown_enum_values: bool,
    /// The last `Authorization` headers a token source gave, so that a server echoing one is
    /// redacted (see `server_text`).
    pub(crate) sent_tokens: SentTokens,
    /// The quota policies last seen, for the answers that come without them.
    pub(crate) seen_policies: crate::rate_limit::SeenPolicies,
    /// What the client's imports learned of the site's pace.
    pub(crate) site_pace: crate::bulk::PaceMemory,
    /// The client's OpenTelemetry instruments (nothing without the `metrics` feature).
    pub(crate) metrics: crate::metrics::Metrics,
}

/// The last few `Authorization` headers of a token source (its tokens renew); never printed.
#[derive(Clone, Default)]
pub(crate) struct SentTokens(
    std::sync::Arc<std::sync::Mutex<std::collections::VecDeque<HeaderValue>>>,
);

impl SentTokens {
    /// How many renewed tokens are remembered.
    const KEPT: usize = 4;

    /// Remembers `header` (once).
    pub fn sent(&self, header: &HeaderValue) {
        let mut sent = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if !sent.contains(header) {
            if sent.len() == Self::KEPT {
                sent.pop_front();
            }
            sent.push_back(header.clone());
        }
    }
}

impl std::fmt::Debug for SentTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SentTokens(<redacted>)")
    }
}

impl ClientConfig {
    /// Every secret this client sends, for redacting a server's text.
    pub(crate) fn secrets(&self) -> Secrets {
        let mut secrets = Secrets::none();
        if let Some(header) = &self.fixed_authorization {
            secrets.add_authorization(header);
        }
        let sent = self.sent_tokens.0.lock().unwrap_or_else(|e| e.into_inner());
        for header in sent.iter() {
            secrets.add_authorization(header);
        }
        secrets
    }

    /// The credentials the client authenticates with.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// The retry policy applied to every call.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    /// The longest one call may take, retries included.
    pub fn call_timeout(&self) -> Duration {
        self.call_timeout
    }

    /// The largest answer body the client reads, in bytes.
    pub fn max_response_size(&self) -> u64 {
        self.max_response_bytes
    }

    /// The most pages one paginated listing fetches.
    pub fn max_pages(&self) -> u64 {
        self.max_pages
    }

    /// Whether requests may carry enum values this version of the client does not know.
    pub fn allows_unknown_enum_values(&self) -> bool {
        self.allow_unknown_enum_values
    }
}
