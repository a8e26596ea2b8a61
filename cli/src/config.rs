//! Which site `csm` talks to, and as whom: flags and environment variables, as admins expect.
//! Credentials are read from the environment only, never from flags (which other users of the
//! machine can see), and are never printed.

use crate::exit::ConfigError;
use crate::terminal::tell;
use atlassian_csm::{Client, Credentials};

/// The flags every command takes, under their own heading in every command's help.
#[derive(clap::Args, Debug, Clone)]
#[command(next_help_heading = "Global options")]
pub struct Connection {
    /// A site named in the configuration file (`$XDG_CONFIG_HOME/csm/config.toml`,
    /// `[profile.NAME]`): its cloud id or site, email and `token_command`. Flags and variables
    /// naming a site override its values.
    #[arg(long, global = true, env = "CSM_PROFILE", value_name = "NAME")]
    pub profile: Option<String>,
    /// The site's cloud id.
    #[arg(long, global = true, env = "CSM_CLOUD_ID", value_name = "ID")]
    pub cloud_id: Option<String>,
    /// The site (`acme` or `acme.atlassian.net`), whose cloud id is looked up.
    #[arg(long, global = true, env = "CSM_SITE", value_name = "SITE")]
    pub site: Option<String>,
    /// Another API root, e.g. the fake's `http://127.0.0.1:8790`.
    #[arg(long, global = true, env = "CSM_BASE_URL", value_name = "URL")]
    pub base_url: Option<String>,
    /// Print each request on standard error, one line per attempt: method, path, status,
    /// duration, what comes next (a retry and why) and the rate limit left; with -vv the
    /// transport's detail too (connections, the client's waits). Credentials are never printed.
    #[arg(long, short, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// How import, sync, fields apply and tasks wait report: `json` prints one summary object
    /// (counts, failures file, duration, exit code) as the last line of standard output, the
    /// lines for people going to standard error.
    #[arg(long, global = true, value_enum, default_value_t = crate::summary::OutputFormat::Text)]
    pub output: crate::summary::OutputFormat,
    /// For import and sync: write the run's metrics to this file as a Prometheus text exposition
    /// (counts by outcome, duration, exit code, last success time), every 10 s while it runs and
    /// when it ends, replacing it atomically; for node_exporter's textfile collector, name it
    /// `*.prom` in the collector's directory.
    #[arg(long, global = true, value_name = "PATH")]
    pub metrics_file: Option<std::path::PathBuf>,
}

const HOW_TO: &str = "set CSM_CLOUD_ID (or --site), and CSM_EMAIL with CSM_API_TOKEN or \
                      CSM_ACCESS_TOKEN; or name a profile of the configuration file \
                      (--profile); or start the fake with `csm mock`";

impl Connection {
    /// The client this configuration names. With no site named at all, the fake a `csm mock`
    /// of this user is serving, if one is (said on standard error). A base URL on this
    /// machine's loopback is taken for such a fake: it needs no credentials (those of the
    /// environment are sent if set, since the URL was named).
    ///
    /// A configuration that cannot make a client is a [`ConfigError`] (exit 3); a site whose
    /// cloud id cannot be looked up fails as the client says (exit 5 when it cannot be reached).
    pub async fn client(&self) -> anyhow::Result<Client> {
        Ok(self.client_for_site().await?.0)
    }

    /// [`client`](Self::client), starting from what earlier runs of `csm` learned of the site's
    /// pace (see [`crate::site_pace`]), with the name that pace is kept under.
    pub async fn client_for_site(&self) -> anyhow::Result<(Client, String)> {
        match &self.profile {
            Some(name) => {
                let profile = crate::profile::load(name)?;
                let credentials = match (profile.token(name)?, &profile.email) {
                    (Some(token), Some(email)) => Some(Credentials::basic(email, token)),
                    (Some(token), None) => Some(Credentials::bearer(token)),
                    (None, _) => credentials_from_env()?,
                };
                let named = Self {
                    profile: None,
                    cloud_id: self.cloud_id.clone().or(profile.cloud_id),
                    site: self.site.clone().or(profile.site),
                    base_url: self.base_url.clone().or(profile.base_url),
                    ..self.clone()
                };
                named.client_with(credentials).await
            }
            None => self.client_with(credentials_from_env()?).await,
        }
    }

    async fn client_with(
        &self,
        credentials: Option<Credentials>,
    ) -> anyhow::Result<(Client, String)> {
        let named = self.cloud_id.is_some() || self.site.is_some() || self.base_url.is_some();
        if !named {
            let Some(fake) = crate::mock::running_fake() else {
                return Err(ConfigError(format!("no site configured: {HOW_TO}")).into());
            };
            tell!("csm: no site configured: using {}", fake.describe());
            // The user's credentials are for their site, not for a local fake.
            let site = fake.base_url.clone();
            return Ok((fake_client(&fake.base_url, None, &site)?, site));
        }
        // The site as named (a cloud id, a site, a base URL), before any lookup.
        let site = [&self.base_url, &self.cloud_id, &self.site]
            .into_iter()
            .flatten()
            .cloned()
            .collect::<Vec<_>>()
            .join(" ");
        if let Some(base_url) = self.base_url.as_deref().filter(|url| on_loopback(url)) {
            if self.cloud_id.is_none() && self.site.is_none() {
                return Ok((fake_client(base_url, credentials, &site)?, site));
            }
        }
        let Some(credentials) = credentials else {
            return Err(ConfigError(format!("no credentials: {HOW_TO}")).into());
        };
        let mut builder = Client::builder()
            .user_agent(USER_AGENT)
            .credentials(credentials)
            .site_pace(crate::site_pace::load(&site));
        if let Some(cloud_id) = &self.cloud_id {
            builder = builder.cloud_id(cloud_id);
        }
        if let Some(site) = &self.site {
            builder = builder.site(site);
        }
        if let Some(base_url) = &self.base_url {
            builder = builder.base_url(base_url);
        }
        Ok((builder.build_async().await?, site))
    }
}

/// What `csm` calls itself in every request, so a site's admins can tell its calls from another
/// program's on the same library.
pub(crate) const USER_AGENT: &str = concat!("csm/", env!("CARGO_PKG_VERSION"));

/// A client of a fake on this machine, with `credentials` or a placeholder.
fn fake_client(
    base_url: &str,
    credentials: Option<Credentials>,
    site: &str,
) -> Result<Client, ConfigError> {
    Client::builder()
        .base_url(base_url)
        .user_agent(USER_AGENT)
        .site_pace(crate::site_pace::load(site))
        .credentials(credentials.unwrap_or_else(|| Credentials::bearer("fake")))
        .build()
        .map_err(|e| ConfigError(e.to_string()))
}

/// Whether `url` names a host of this machine's loopback (`127.0.0.1`, `[::1]`, `localhost`).
fn on_loopback(url: &str) -> bool {
    let Ok(url) = atlassian_csm::reqwest::Url::parse(url) else {
        return false;
    };
    match url.host_str() {
        Some("localhost") => true,
        Some(host) => host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

/// `CSM_ACCESS_TOKEN` (OAuth or a service account's bearer token), or `CSM_EMAIL` with
/// `CSM_API_TOKEN` (Basic).
fn credentials_from_env() -> Result<Option<Credentials>, ConfigError> {
    let read = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    for secret in ["CSM_ACCESS_TOKEN", "CSM_API_TOKEN"]
        .into_iter()
        .filter_map(read)
    {
        crate::terminal::keep_secret(&secret);
    }
    match (
        read("CSM_ACCESS_TOKEN"),
        read("CSM_EMAIL"),
        read("CSM_API_TOKEN"),
    ) {
        (Some(token), _, _) => Ok(Some(Credentials::bearer(token))),
        (None, Some(email), Some(token)) => Ok(Some(Credentials::basic(email, token))),
        (None, Some(_), None) => Err(ConfigError("CSM_EMAIL is set but not CSM_API_TOKEN".into())),
        (None, None, Some(_)) => Err(ConfigError("CSM_API_TOKEN is set but not CSM_EMAIL".into())),
        (None, None, None) => Ok(None),
    }
}
