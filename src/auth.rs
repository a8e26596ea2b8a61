//! Credentials and the `Authorization` header they produce.

use crate::error::Error;
use base64::Engine as _;
use reqwest::header::HeaderValue;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

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

/// A future returned by [`TokenSource`] methods.
pub type TokenFuture<'a> = Pin<Box<dyn Future<Output = Result<Secret, Error>> + Send + 'a>>;

/// Where the client gets a valid access token before each request.
///
/// The client calls [`token`](TokenSource::token) before every request and sends
/// `Authorization: Bearer <token>`. When the API answers 401 the client calls
/// [`refresh`](TokenSource::refresh) once with the rejected token and retries once with the new
/// one; it never loops. [`OAuthTokenSource`](crate::OAuthTokenSource) implements this for
/// OAuth 2.0 refresh tokens and client credentials.
pub trait TokenSource: Send + Sync + fmt::Debug {
    /// A token valid for at least the next request; implementations cache it and renew it
    /// shortly before it expires.
    fn token(&self) -> TokenFuture<'_>;

    /// A new token to replace `rejected`, which the API refused. An implementation should renew
    /// only if `rejected` is still its current token (a concurrent request may have renewed it).
    fn refresh<'a>(&'a self, rejected: &'a Secret) -> TokenFuture<'a>;
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
    /// Tokens from a [`TokenSource`], renewed as they expire (OAuth 2.0 refresh, service
    /// accounts, or your own).
    TokenSource(Arc<dyn TokenSource>),
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

    /// Tokens from a [`TokenSource`], such as an [`OAuthTokenSource`](crate::OAuthTokenSource).
    pub fn token_source(source: impl TokenSource + 'static) -> Self {
        Self::TokenSource(Arc::new(source))
    }

    /// The `Authorization` header for the next request.
    pub(crate) async fn authorization(&self) -> Result<HeaderValue, Error> {
        match self {
            Self::TokenSource(source) => bearer_header(&source.token().await?),
            fixed => fixed.fixed_authorization(),
        }
    }

    /// The header of credentials that do not renew (bearer, Basic).
    pub(crate) fn fixed_authorization(&self) -> Result<HeaderValue, Error> {
        match self {
            Self::Bearer(token) => bearer_header(token),
            Self::Basic { email, api_token } => {
                let pair = format!("{email}:{}", api_token.expose());
                let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
                sensitive_header(&format!("Basic {encoded}"))
            }
            Self::TokenSource(_) => Err(Error::Auth {
                message: "a token source has no fixed header".into(),
            }),
        }
    }

    /// After a 401: a new `Authorization` header if these credentials can renew themselves.
    pub(crate) async fn renew_after_rejection(
        &self,
        rejected: &HeaderValue,
    ) -> Option<Result<HeaderValue, Error>> {
        let Self::TokenSource(source) = self else {
            return None;
        };
        let rejected = rejected
            .to_str()
            .ok()
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(Secret::new)?;
        Some(match source.refresh(&rejected).await {
            Ok(token) => bearer_header(&token),
            Err(error) => Err(error),
        })
    }
}

fn bearer_header(token: &Secret) -> Result<HeaderValue, Error> {
    sensitive_header(&format!("Bearer {}", token.expose()))
}

/// A header value marked sensitive, so `reqwest` and `http` never print it.
fn sensitive_header(text: &str) -> Result<HeaderValue, Error> {
    let mut value = crate::headers::value(text).map_err(|reason| Error::Auth {
        // The reason names a position, never the text.
        message: format!("the Authorization header made of the credentials {reason}"),
    })?;
    value.set_sensitive(true);
    Ok(value)
}
