//! Building a [`Client`]: where it sends requests, how it authenticates, how long it waits.

use crate::auth::Credentials;
use crate::config::ClientConfig;
use crate::discovery;
use crate::error::Error;
use crate::retry_policy::RetryPolicy;
use crate::transport::http_client;
use crate::Client;
use std::time::Duration;

/// The public CSM API host; requests go to `{CLOUD_BASE_URL}/{cloudId}`.
pub(crate) const CLOUD_BASE_URL: &str = "https://api.atlassian.com/jsm/csm/cloudid";

/// The `User-Agent` every request carries unless [`ClientBuilder::user_agent`] says otherwise.
pub(crate) const DEFAULT_USER_AGENT: &str = concat!("atlassian-csm/", env!("CARGO_PKG_VERSION"));

/// Builds a [`Client`].
///
/// ```
/// use atlassian_csm::{Client, Credentials};
/// let client = Client::builder()
///     .cloud_id("a436116f-02ce-4520-8fbb-7301462a1674")
///     .credentials(Credentials::bearer("access-token"))
///     .build()?;
/// assert_eq!(
///     client.base_url(),
///     "https://api.atlassian.com/jsm/csm/cloudid/a436116f-02ce-4520-8fbb-7301462a1674"
/// );
/// # Ok::<(), atlassian_csm::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    cloud_id: Option<String>,
    base_url: Option<String>,
    site: Option<String>,
    tenant_info_url: Option<String>,
    accessible_resources_url: String,
    credentials: Option<Credentials>,
    user_agent: String,
    timeout: Duration,
    connect_timeout: Duration,
    call_timeout: Duration,
    retry: RetryPolicy,
    max_response_bytes: u64,
    max_pages: u64,
    allow_unknown_enum_values: bool,
    http_client: Option<reqwest::Client>,
    site_pace: crate::bulk::SitePace,
    #[cfg(feature = "metrics")]
    meter: Option<opentelemetry::metrics::Meter>,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            cloud_id: None,
            base_url: None,
            site: None,
            tenant_info_url: None,
            accessible_resources_url: discovery::ACCESSIBLE_RESOURCES_URL.to_string(),
            credentials: None,
            user_agent: DEFAULT_USER_AGENT.to_string(),
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            call_timeout: Duration::from_secs(300),
            retry: RetryPolicy::default(),
            max_response_bytes: crate::body::DEFAULT_MAX_RESPONSE_BYTES,
            max_pages: crate::pagination::DEFAULT_MAX_PAGES,
            allow_unknown_enum_values: false,
            http_client: None,
            site_pace: Default::default(),
            #[cfg(feature = "metrics")]
            meter: None,
        }
    }
}

impl ClientBuilder {
    /// The site's cloud id: requests go to `https://api.atlassian.com/jsm/csm/cloudid/{cloud_id}`.
    pub fn cloud_id(mut self, cloud_id: impl Into<String>) -> Self {
        self.cloud_id = Some(cloud_id.into());
        self
    }

    /// Any other base URL (a local mock, a proxy), used as given instead of a cloud id: `http` or
    /// `https`, a host, an optional path; [`build`](Self::build) refuses one with a query, a
    /// fragment or user info.
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = Some(base_url.into());
        self
    }

    /// The site (`acme`, `acme.atlassian.net`): its cloud id is looked up by
    /// [`build_async`](Self::build_async) at `https://{site}/_edge/tenant_info`.
    pub fn site(mut self, site: impl Into<String>) -> Self {
        self.site = Some(site.into());
        self
    }

    /// Where the site's cloud id is looked up (default `https://{site}/_edge/tenant_info`).
    pub fn tenant_info_url(mut self, url: impl Into<String>) -> Self {
        self.tenant_info_url = Some(url.into());
        self
    }

    /// Where an OAuth token's sites are listed, to find the cloud id when no site or cloud id is
    /// given (default `https://api.atlassian.com/oauth/token/accessible-resources`).
    pub fn accessible_resources_url(mut self, url: impl Into<String>) -> Self {
        self.accessible_resources_url = url.into();
        self
    }

    /// How every request authenticates.
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// The `User-Agent` header (default: `atlassian-csm/<version>`).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// How long one HTTP request may take, from connecting to the end of the body (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How long one call may take in all, retries and their waits included (default 5 min).
    pub fn call_timeout(mut self, timeout: Duration) -> Self {
        self.call_timeout = timeout;
        self
    }

    /// How failed attempts are retried (default [`RetryPolicy::default`]).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// How long connecting may take (default 10 s).
    pub fn connect_timeout(mut self, connect_timeout: Duration) -> Self {
        self.connect_timeout = connect_timeout;
        self
    }

    /// The largest answer body the client reads (default 16 MiB, far more than any CSM answer).
    /// A larger answer, with or without `Content-Length`, ends the call with
    /// [`Error::ResponseTooLarge`](crate::Error::ResponseTooLarge) as soon as the limit is
    /// passed, and is not retried.
    pub fn max_response_size(mut self, bytes: u64) -> Self {
        self.max_response_bytes = bytes;
        self
    }

    /// The most pages one paginated listing ([`Client::products`], [`Client::search_customers`]
    /// and their `_pages` forms) fetches before it ends with [`Error::Pagination`] (default
    /// 100,000): a server whose pages never end cannot keep a stream going forever.
    pub fn max_pages(mut self, pages: u64) -> Self {
        self.max_pages = pages;
        self
    }

    /// Lets requests carry enum values this version of the client does not know (default: no).
    ///
    /// An enum value made from a string the spec does not list (`"UPSRT".into()` is the enum's
    /// `Unknown`) is otherwise refused before the request is sent, as
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) naming its field and the values
    /// allowed. Allow it to send a value the API gained after this version of the crate.
    pub fn allow_unknown_enum_values(mut self, allow: bool) -> Self {
        self.allow_unknown_enum_values = allow;
        self
    }

    /// A `reqwest::Client` of your own (proxies, TLS roots…). Its own timeouts, user agent and
    /// redirect policy then apply instead of this builder's: build it with
    /// `.redirect(reqwest::redirect::Policy::none())`, as the client's own is, or a redirect could
    /// carry a request and its credentials to another origin.
    ///
    /// With the `rustls` features, reqwest is built without a cryptography provider of its own
    /// (the client hands its own clients a configuration): install one before building yours
    /// (`rustls::crypto::ring::default_provider().install_default()`), hand it a configuration
    /// (`.tls_backend_preconfigured(…)`), or depend on reqwest with its `rustls` feature.
    pub fn http_client(mut self, http_client: reqwest::Client) -> Self {
        self.http_client = Some(http_client);
        self
    }

    /// Starts the client's imports from what an earlier run learned of the site's pace
    /// ([`Client::site_pace`]), instead of from nothing: see [`SitePace`](crate::SitePace).
    pub fn site_pace(mut self, pace: crate::bulk::SitePace) -> Self {
        self.site_pace = pace;
        self
    }

    /// The OpenTelemetry meter the client records its metrics with (feature `metrics`; see the
    /// [`metrics` section](crate#metrics) of the crate's documentation). Without it, the global
    /// meter provider's meter `atlassian-csm` is used: nothing is recorded until the
    /// application installs a provider.
    ///
    /// ```
    /// # #[cfg(feature = "metrics")]
    /// # fn run(provider: &dyn opentelemetry::metrics::MeterProvider) -> Result<(), atlassian_csm::Error> {
    /// let client = atlassian_csm::Client::builder()
    ///     .cloud_id("a436116f-02ce-4520-8fbb-7301462a1674")
    ///     .credentials(atlassian_csm::Credentials::bearer("access-token"))
    ///     .meter(provider.meter("atlassian-csm"))
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "metrics")]
    #[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
    pub fn meter(mut self, meter: opentelemetry::metrics::Meter) -> Self {
        self.meter = Some(meter);
        self
    }

    /// Builds the client, first looking up the cloud id when only a site (or only an OAuth
    /// token) was given: from the site's tenant info, or from the sites the token can reach.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), atlassian_csm::Error> {
    /// use atlassian_csm::{Client, Credentials};
    /// let client = Client::builder()
    ///     .site("acme.atlassian.net")
    ///     .credentials(Credentials::basic("admin@example.com", "api-token"))
    ///     .build_async()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn build_async(mut self) -> Result<Client, Error> {
        if self.cloud_id.is_none() && self.base_url.is_none() {
            let http = http_client(Some(&self.user_agent), self.timeout, self.connect_timeout)?;
            let cloud_id = match (&self.site, &self.tenant_info_url, &self.credentials) {
                (Some(site), None, _) => {
                    discovery::cloud_id_from_tenant_info(&http, &discovery::tenant_info_url(site))
                        .await?
                }
                (_, Some(url), _) => discovery::cloud_id_from_tenant_info(&http, url).await?,
                (None, None, Some(credentials @ Credentials::Bearer(_)))
                | (None, None, Some(credentials @ Credentials::TokenSource(_))) => {
                    let authorization = credentials.authorization().await?;
                    discovery::cloud_id_from_token(
                        &http,
                        &self.accessible_resources_url,
                        authorization,
                        None,
                    )
                    .await?
                }
                _ => {
                    return Err(Error::Config(
                        "set a cloud id, a base URL, a site, or OAuth credentials to find the site"
                            .into(),
                    ))
                }
            };
            self.cloud_id = Some(cloud_id);
        }
        self.build()
    }

    /// Checks the configuration and builds the client. Nothing is sent; use
    /// [`build_async`](Self::build_async) to look up a site's cloud id.
    pub fn build(self) -> Result<Client, Error> {
        if self.site.is_some() && self.cloud_id.is_none() && self.base_url.is_none() {
            return Err(Error::Config(
                "a site's cloud id must be looked up: use build_async().await".into(),
            ));
        }
        let base_url = match (self.cloud_id, self.base_url) {
            (Some(_), Some(_)) => {
                return Err(Error::Config(
                    "set either a cloud id or a base URL, not both".into(),
                ))
            }
            (None, None) => {
                return Err(Error::Config(
                    "set a cloud id (or a base URL) to say which site to call".into(),
                ))
            }
            (Some(cloud_id), None) => cloud_base_url(&cloud_id)?,
            (None, Some(base_url)) => checked_base_url(&base_url)?,
        };
        let credentials = self.credentials.ok_or_else(|| {
            Error::Config("set credentials: Credentials::bearer or Credentials::basic".into())
        })?;
        let http_client = match self.http_client {
            Some(client) => client,
            None => http_client(Some(&self.user_agent), self.timeout, self.connect_timeout)?,
        };
        let fixed_authorization = match credentials {
            Credentials::TokenSource(_) => None,
            _ => Some(
                credentials
                    .fixed_authorization()
                    .map_err(|e| Error::Config(e.to_string()))?,
            ),
        };
        let config = ClientConfig {
            fixed_authorization,
            credentials,
            retry: self.retry,
            call_timeout: self.call_timeout,
            attempt_timeout: self.timeout,
            max_response_bytes: self.max_response_bytes,
            max_pages: self.max_pages,
            sent_tokens: Default::default(),
            seen_policies: Default::default(),
            site_pace: crate::bulk::PaceMemory::new(self.site_pace),
            metrics: metrics(
                #[cfg(feature = "metrics")]
                self.meter,
                &base_url,
            ),
            allow_unknown_enum_values: self.allow_unknown_enum_values,
        };
        Ok(Client::new_with_client(&base_url, http_client, config))
    }
}

/// The client's instruments: from `meter`, else from the global provider's meter.
#[cfg(feature = "metrics")]
fn metrics(
    meter: Option<opentelemetry::metrics::Meter>,
    base_url: &str,
) -> crate::metrics::Metrics {
    let meter = meter.unwrap_or_else(|| {
        let scope = opentelemetry::InstrumentationScope::builder(env!("CARGO_PKG_NAME"))
            .with_version(env!("CARGO_PKG_VERSION"))
            .build();
        opentelemetry::global::meter_with_scope(scope)
    });
    crate::metrics::Metrics::new(&meter, base_url)
}

#[cfg(not(feature = "metrics"))]
fn metrics(_base_url: &str) -> crate::metrics::Metrics {
    crate::metrics::Metrics::default()
}

fn cloud_base_url(cloud_id: &str) -> Result<String, Error> {
    let valid = !cloud_id.is_empty()
        && cloud_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-');
    if valid {
        Ok(format!("{CLOUD_BASE_URL}/{cloud_id}"))
    } else {
        Err(Error::Config(format!(
            "{cloud_id:?} is not a cloud id (letters, digits and dashes, like a UUID)"
        )))
    }
}

/// The base URL as requests will use it, or why it cannot be one: every request path is appended
/// to it as text, so a query or a fragment would swallow the paths (`/base?x=1/api/v1/product`,
/// `/base#frag/api/…` sent to `/base`), and user info would be sent as credentials of its own.
fn checked_base_url(base_url: &str) -> Result<String, Error> {
    let trimmed = base_url.trim_end_matches('/');
    let url = match reqwest::Url::parse(trimmed) {
        Ok(url) => url,
        Err(error) => {
            return Err(Error::Config(format!(
                "base URL {base_url:?}: not a URL ({error})"
            )))
        }
    };
    // Named without what may be a secret: its user info and its query.
    let mut shown = url.clone();
    if !shown.username().is_empty() || shown.password().is_some() {
        let _ = shown.set_password(None);
        let _ = shown.set_username("…");
    }
    if shown.query().is_some() {
        shown.set_query(Some("…"));
    }
    let refuse = |why: &str| {
        Err(Error::Config(format!(
            "base URL {:?}: {why}",
            shown.as_str()
        )))
    };
    if !matches!(url.scheme(), "http" | "https") {
        return refuse(&format!(
            "the scheme {:?} is not http or https",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return refuse("it names no host");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return refuse("it holds user info; give credentials with .credentials(…)");
    }
    if trimmed.contains('?') {
        return refuse("it holds a query, which the request paths would be appended to");
    }
    if trimmed.contains('#') {
        return refuse("it holds a fragment, which would swallow the request paths");
    }
    Ok(trimmed.to_string())
}

impl Client {
    /// Starts building a client; see [`ClientBuilder`].
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The base URL every request path is appended to.
    pub fn base_url(&self) -> &str {
        progenitor_client::ClientInfo::baseurl(self)
    }

    /// The client's configuration (credentials are redacted in its `Debug` output).
    pub fn config(&self) -> &ClientConfig {
        progenitor_client::ClientInfo::inner(self)
    }
}
