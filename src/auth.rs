//! Credentials and the `Authorization` header they produce.

use base64::Engine as _;
use reqwest::header::HeaderValue;
use std::fmt;

/// A secret string (token, password) that never appears in `Debug` output or logs.
///
/// ```
/// let secret = atlassian_csm::Secret::new("s3cr3t");
/// assert_eq!(format!("{secret:?}"), "Secret(<redacted>)");
/// assert_eq!(secret.expose(), "s3cr3t");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself; call it only where the value must be sent.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_string())
    }
}

/// How the client authenticates every request.
///
/// ```
/// use atlassian_csm::Credentials;
/// let oauth = Credentials::bearer("eyJ...");
/// let script = Credentials::basic("admin@example.com", "ATATT3x...");
/// // Secrets are redacted in debug output:
/// assert!(!format!("{script:?}").contains("ATATT3x"));
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Credentials {
    /// An OAuth 2.0 access token (or any bearer token), sent as `Authorization: Bearer <token>`.
    Bearer(Secret),
    /// An Atlassian account email and API token, sent as HTTP Basic auth ("for scripts and bots").
    Basic {
        /// The account's email address.
        email: String,
        /// The API token created at id.atlassian.com.
        api_token: Secret,
    },
}

impl Credentials {
    /// Bearer token credentials (OAuth 2.0 3LO access token, service account token…).
    pub fn bearer(token: impl Into<Secret>) -> Self {
        Self::Bearer(token.into())
    }

    /// Basic credentials: an Atlassian account email and an API token.
    pub fn basic(email: impl Into<String>, api_token: impl Into<Secret>) -> Self {
        Self::Basic {
            email: email.into(),
            api_token: api_token.into(),
        }
    }

    /// The `Authorization` header value, marked sensitive so `reqwest` never prints it.
    pub(crate) fn header_value(&self) -> Result<HeaderValue, reqwest::header::InvalidHeaderValue> {
        let text = match self {
            Self::Bearer(token) => format!("Bearer {}", token.expose()),
            Self::Basic { email, api_token } => {
                let pair = format!("{email}:{}", api_token.expose());
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                )
            }
        };
        let mut value = HeaderValue::from_str(&text)?;
        value.set_sensitive(true);
        Ok(value)
    }
}
