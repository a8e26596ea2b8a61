//! The one way the crate makes its own HTTP client: no redirect is followed (the API documents
//! none, and one could carry a request, its body and its credentials to another origin), with the
//! timeouts given, the user agent checked as every header is, and the TLS configuration of
//! `tls.rs`.

use crate::error::Error;
use std::time::Duration;

/// An HTTP client that follows no redirect. The user agent, when given, must be a valid header
/// value (`Error::Config` names the reason, as it does when the platform's certificates cannot
/// be loaded); nothing is sent by building one.
pub(crate) fn http_client(
    user_agent: Option<&str>,
    timeout: Duration,
    connect_timeout: Duration,
) -> Result<reqwest::Client, Error> {
    let mut builder = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(connect_timeout)
        .redirect(reqwest::redirect::Policy::none());
    #[cfg(all(
        any(feature = "rustls", feature = "rustls-aws-lc"),
        not(feature = "native-tls")
    ))]
    {
        let tls = crate::tls::rustls_config()
            .map_err(|e| Error::Config(format!("cannot build the HTTP client's TLS: {e}")))?;
        builder = builder.tls_backend_preconfigured(tls);
    }
    if let Some(user_agent) = user_agent {
        builder = builder.user_agent(
            crate::headers::value(user_agent)
                .map_err(|reason| Error::Config(format!("the user agent {reason}")))?,
        );
    }
    builder
        .build()
        .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))
}
