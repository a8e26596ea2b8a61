//! The configuration every request of a [`Client`](crate::Client) reads: what the hooks need.

use crate::auth::Credentials;
use crate::retry::RetryPolicy;
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
    /// Whether a request may carry an enum value the spec does not list (see
    /// `ClientBuilder::allow_unknown_enum_values`).
    pub(crate) allow_unknown_enum_values: bool,
}

impl ClientConfig {
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

    /// Whether requests may carry enum values this version of the client does not know.
    pub fn allows_unknown_enum_values(&self) -> bool {
        self.allow_unknown_enum_values
    }
}
