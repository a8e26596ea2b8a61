//! OAuth 2.0 access tokens that renew themselves: 3LO refresh tokens (which Atlassian rotates)
//! and client credentials (service accounts).

use crate::auth::{Secret, TokenFuture, TokenSource};
use crate::body::{describe, read_bounded, redirect_location, MAX_SMALL_ANSWER_BYTES};
use crate::error::Error;
use crate::server_text::Secrets;
use serde::Deserialize;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// Atlassian's token endpoint, for both refresh and client-credentials grants.
pub(crate) const ATLASSIAN_TOKEN_URL: &str = "https://auth.atlassian.com/oauth/token";

/// What a renewal produced. Atlassian **rotates** refresh tokens: the old one stops working soon
/// after, so persist `refresh_token` whenever it is present.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RefreshedTokens {
    /// The new access token.
    pub access_token: Secret,
    /// The new refresh token (3LO only); the previous one is no longer valid.
    pub refresh_token: Option<Secret>,
    /// How long the access token lives.
    pub expires_in: Duration,
}

type OnRefresh = Arc<dyn Fn(&RefreshedTokens) + Send + Sync>;

enum Grant {
    RefreshToken(Secret),
    ClientCredentials,
}

struct Current {
    token: Secret,
    obtained_at: Instant,
    lifetime: Duration,
}

impl Current {
    fn new(token: Secret, lifetime: Duration) -> Self {
        Self {
            token,
            obtained_at: Instant::now(),
            lifetime,
        }
    }

    /// Whether it is still used: until `margin` before it expires or, for a token that lives
    /// less than four margins, until a quarter of its life is left; and in any case for a second
    /// after it was obtained, so that even a token granted for no time at all is renewed at most
    /// once a second, never once per call.
    fn is_fresh(&self, margin: Duration) -> bool {
        let used_for = self.obtained_at.elapsed();
        used_for + margin.min(self.lifetime / 4) < self.lifetime || used_for < MIN_TOKEN_USE
    }
}

/// The least time a token is used before it is renewed (unless the API rejects it).
const MIN_TOKEN_USE: Duration = Duration::from_secs(1);

struct State {
    grant: Grant,
    current: Option<Current>,
}

/// A [`TokenSource`] that renews OAuth 2.0 access tokens at Atlassian's token endpoint shortly
/// before they expire. Concurrent requests share one renewal: the others wait for it and use its
/// token. A token that lives less than four renewal margins is renewed when a quarter of its
/// life is left, so short-lived tokens are never renewed per call.
///
/// ```no_run
/// use atlassian_csm::{Client, Credentials, OAuthTokenSource};
///
/// let tokens = OAuthTokenSource::refresh_token("client-id", "client-secret", "refresh-token")
///     .on_refresh(|renewed| {
///         // Atlassian rotates refresh tokens: store the new one now.
///         if let Some(refresh_token) = &renewed.refresh_token {
///             std::fs::write("refresh-token", refresh_token.expose()).unwrap();
///         }
///     });
/// let client = Client::builder()
///     .cloud_id("a436116f-02ce-4520-8fbb-7301462a1674")
///     .credentials(Credentials::token_source(tokens))
///     .build()?;
/// # Ok::<(), atlassian_csm::Error>(())
/// ```
pub struct OAuthTokenSource {
    client_id: String,
    client_secret: Secret,
    token_url: String,
    renew_before: Duration,
    http: reqwest::Client,
    on_refresh: Option<OnRefresh>,
    state: Mutex<State>,
}

impl OAuthTokenSource {
    /// OAuth 2.0 (3LO): renews with `grant_type=refresh_token` (request the `offline_access` scope
    /// to get a refresh token).
    pub fn refresh_token(
        client_id: impl Into<String>,
        client_secret: impl Into<Secret>,
        refresh_token: impl Into<Secret>,
    ) -> Self {
        Self::new(
            client_id.into(),
            client_secret.into(),
            Grant::RefreshToken(refresh_token.into()),
        )
    }

    /// Service accounts (2LO): fetches a new token with `grant_type=client_credentials` before the
    /// current one expires; there is no refresh token.
    pub fn client_credentials(
        client_id: impl Into<String>,
        client_secret: impl Into<Secret>,
    ) -> Self {
        Self::new(
            client_id.into(),
            client_secret.into(),
            Grant::ClientCredentials,
        )
    }

    fn new(client_id: String, client_secret: Secret, grant: Grant) -> Self {
        Self {
            client_id,
            client_secret,
            token_url: ATLASSIAN_TOKEN_URL.to_string(),
            renew_before: Duration::from_secs(60),
            http: token_endpoint_client(),
            on_refresh: None,
            state: Mutex::new(State {
                grant,
                current: None,
            }),
        }
    }

    /// Starts with an access token you already have, valid for `expires_in`.
    pub fn with_access_token(self, token: impl Into<Secret>, expires_in: Duration) -> Self {
        let state = State {
            current: Some(Current::new(token.into(), expires_in)),
            ..self.state.into_inner()
        };
        Self {
            state: Mutex::new(state),
            ..self
        }
    }

    /// Another token endpoint (a test server, a proxy).
    pub fn token_url(mut self, url: impl Into<String>) -> Self {
        self.token_url = url.into();
        self
    }

    /// How long before expiry a token is renewed (default 60 s; a token that lives less than four
    /// times this is renewed when a quarter of its life is left).
    pub fn renew_before(mut self, margin: Duration) -> Self {
        self.renew_before = margin;
        self
    }

    /// Called after every renewal, with the new tokens: persist the rotated refresh token here.
    pub fn on_refresh(
        mut self,
        callback: impl Fn(&RefreshedTokens) + Send + Sync + 'static,
    ) -> Self {
        self.on_refresh = Some(Arc::new(callback));
        self
    }

    /// The HTTP client used to reach the token endpoint (default: no redirects followed, 10 s to
    /// connect, 30 s in all). Build yours with `.redirect(reqwest::redirect::Policy::none())`: the
    /// token request carries the client secret and the refresh token.
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = http;
        self
    }

    async fn renew(&self, state: &mut State) -> Result<Secret, Error> {
        let mut form = vec![
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.client_secret.expose()),
        ];
        match &state.grant {
            Grant::RefreshToken(token) => {
                form.push(("grant_type", "refresh_token"));
                form.push(("refresh_token", token.expose()));
            }
            Grant::ClientCredentials => form.push(("grant_type", "client_credentials")),
        }
        let body: serde_json::Map<String, serde_json::Value> = form
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.into()))
            .collect();
        let response = self
            .http
            .post(&self.token_url)
            .json(&body)
            .send()
            .await
            .map_err(|e| Error::Auth {
                message: format!(
                    "the token endpoint could not be reached: {}",
                    e.without_url()
                ),
            })?;
        // The endpoint's words are kept bounded, and with none of the secrets the form carried
        // (or the token it replaces), should it echo them.
        let mut secrets = Secrets::none();
        secrets.add(self.client_secret.expose());
        if let Grant::RefreshToken(token) = &state.grant {
            secrets.add(token.expose());
        }
        if let Some(current) = &state.current {
            secrets.add(current.token.expose());
        }
        let status = response.status();
        if let Some(location) = redirect_location(status, response.headers()) {
            let location = secrets.keep(&location, 1024);
            // Never followed: the form holds the client secret and the refresh token.
            return Err(Error::Auth {
                message: format!(
                    "the token endpoint answered {status} redirecting to {location}; redirects are not followed"
                ),
            });
        }
        let (_, bytes) = read_bounded(response, MAX_SMALL_ANSWER_BYTES)
            .await
            .map_err(|e| Error::Auth {
                message: format!("the token endpoint's answer: {}", describe(e)),
            })?;
        if !status.is_success() {
            return Err(Error::Auth {
                message: format!(
                    "the token endpoint answered {status}{}",
                    secrets.kept(&token_endpoint_reason(&bytes))
                ),
            });
        }
        let granted: TokenResponse = serde_json::from_slice(&bytes).map_err(|e| Error::Auth {
            message: format!(
                "the token endpoint's answer is not a token response: {}",
                secrets.kept(&e.to_string())
            ),
        })?;
        let expires_in = Duration::from_secs(granted.expires_in.unwrap_or(3600));
        let renewed = RefreshedTokens {
            access_token: Secret::new(granted.access_token),
            refresh_token: granted.refresh_token.map(Secret::new),
            expires_in,
        };
        if let Some(rotated) = &renewed.refresh_token {
            state.grant = Grant::RefreshToken(rotated.clone());
        }
        state.current = Some(Current::new(renewed.access_token.clone(), expires_in));
        tracing::debug!(
            expires_in_s = expires_in.as_secs(),
            "renewed the access token"
        );
        if let Some(callback) = &self.on_refresh {
            callback(&renewed);
        }
        Ok(renewed.access_token)
    }
}

impl TokenSource for OAuthTokenSource {
    fn token(&self) -> TokenFuture<'_> {
        Box::pin(async move {
            let mut state = self.state.lock().await;
            match &state.current {
                Some(current) if current.is_fresh(self.renew_before) => Ok(current.token.clone()),
                _ => self.renew(&mut state).await,
            }
        })
    }

    fn refresh<'a>(&'a self, rejected: &'a Secret) -> TokenFuture<'a> {
        Box::pin(async move {
            let mut state = self.state.lock().await;
            match &state.current {
                // Another request already renewed the rejected token: use the new one.
                Some(current)
                    if current.token != *rejected && current.is_fresh(self.renew_before) =>
                {
                    Ok(current.token.clone())
                }
                _ => self.renew(&mut state).await,
            }
        })
    }
}

impl fmt::Debug for OAuthTokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthTokenSource")
            .field("client_id", &self.client_id)
            .field("token_url", &self.token_url)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: Option<u64>,
    refresh_token: Option<String>,
}

/// `: invalid_grant (Unknown or invalid refresh token.)` from an OAuth error body, if it has one.
fn token_endpoint_reason(body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct OAuthError {
        error: String,
        error_description: Option<String>,
    }
    match serde_json::from_slice::<OAuthError>(body) {
        Ok(OAuthError {
            error,
            error_description: Some(description),
        }) => {
            format!(": {error} ({description})")
        }
        Ok(OAuthError { error, .. }) => format!(": {error}"),
        Err(_) => String::new(),
    }
}

/// The token endpoint's own HTTP client: it follows no redirect (the request carries the client
/// secret and the refresh token), and has its own timeouts.
fn token_endpoint_client() -> reqwest::Client {
    crate::transport::http_client(None, Duration::from_secs(30), Duration::from_secs(10))
        .expect("the TLS backend initializes")
}
