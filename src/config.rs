//! The configuration every request of a [`Client`](crate::Client) reads: what the hooks need.

use crate::auth::Credentials;
use reqwest::header::HeaderValue;
use std::fmt;

/// State shared by all requests of one client: the credentials and the header they produce.
///
/// Built by [`ClientBuilder`](crate::ClientBuilder); it cannot be constructed elsewhere.
#[derive(Clone)]
pub struct ClientConfig {
    pub(crate) credentials: Credentials,
    pub(crate) authorization: HeaderValue,
}

impl ClientConfig {
    /// The credentials the client authenticates with.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `credentials` redacts its secrets; the header is left out entirely.
        f.debug_struct("ClientConfig")
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}
