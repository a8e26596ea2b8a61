//! Finding a site's cloud id: from its name (no auth needed) or from an OAuth token.

use crate::body::{describe, read_bounded, redirect_location, MAX_SMALL_ANSWER_BYTES};
use crate::error::Error;
use crate::server_text::Secrets;
use serde::Deserialize;

/// Lists the sites an OAuth access token can reach.
pub(crate) const ACCESSIBLE_RESOURCES_URL: &str =
    "https://api.atlassian.com/oauth/token/accessible-resources";

/// `https://{site}/_edge/tenant_info` for a site given as `acme`, `acme.atlassian.net` or
/// `https://acme.atlassian.net/`.
pub(crate) fn tenant_info_url(site: &str) -> String {
    format!("https://{}/_edge/tenant_info", site_host(site))
}

/// The host of a site: scheme and slashes removed, `.atlassian.net` added to a bare name.
pub(crate) fn site_host(site: &str) -> String {
    let host = site
        .trim()
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/');
    if host.contains('.') {
        host.to_string()
    } else {
        format!("{host}.atlassian.net")
    }
}

/// Reads `{"cloudId": "…"}` from a site's tenant-info URL.
pub(crate) async fn cloud_id_from_tenant_info(
    http: &reqwest::Client,
    url: &str,
) -> Result<String, Error> {
    #[derive(Deserialize)]
    struct TenantInfo {
        #[serde(rename = "cloudId")]
        cloud_id: String,
    }
    let info: TenantInfo = get_json(http, url, None).await?;
    Ok(info.cloud_id)
}

/// Picks the cloud id of `site` (or of the only site) among those the token can reach.
pub(crate) async fn cloud_id_from_token(
    http: &reqwest::Client,
    url: &str,
    authorization: reqwest::header::HeaderValue,
    site: Option<&str>,
) -> Result<String, Error> {
    #[derive(Deserialize)]
    struct Resource {
        id: String,
        url: String,
    }
    let resources: Vec<Resource> = get_json(http, url, Some(authorization)).await?;
    let wanted = site.map(site_host);
    let matching: Vec<&Resource> = resources
        .iter()
        .filter(|resource| match &wanted {
            Some(host) => resource.url.trim_end_matches('/').ends_with(host.as_str()),
            None => true,
        })
        .collect();
    match matching.as_slice() {
        [only] => Ok(only.id.clone()),
        [] => Err(Error::Config(match wanted {
            Some(host) => format!("the token cannot reach {host}"),
            None => "the token cannot reach any site".into(),
        })),
        several => Err(Error::Config(Secrets::none().kept(&format!(
            "the token reaches several sites ({}); name one with .site(…)",
            several
                .iter()
                .map(|r| r.url.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )))),
    }
}

async fn get_json<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
    authorization: Option<reqwest::header::HeaderValue>,
) -> Result<T, Error> {
    let mut request = http
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json");
    // What the lookup's server says is kept bounded, and without the token it was sent.
    let mut secrets = Secrets::none();
    if let Some(value) = authorization {
        secrets.add_authorization(&value);
        request = request.header(reqwest::header::AUTHORIZATION, value);
    }
    let failed = |message: String| {
        Error::Config(secrets.kept(&format!("cloud id lookup at {url}: {message}")))
    };
    // Not reached: a network failure (exit 5 in `csm`), not a configuration one.
    let response = request
        .send()
        .await
        .map_err(|e| Error::transport("cloud id lookup", e))?;
    let status = response.status();
    if let Some(location) = redirect_location(status, response.headers()) {
        return Err(failed(format!(
            "answered {status} redirecting to {location}; redirects are not followed"
        )));
    }
    if !status.is_success() {
        return Err(failed(format!("answered {status}")));
    }
    let (_, body) = read_bounded(response, MAX_SMALL_ANSWER_BYTES)
        .await
        .map_err(|e| failed(describe(e)))?;
    serde_json::from_slice(&body).map_err(|e| failed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_site_may_be_named_in_several_ways() {
        for site in ["acme", "acme.atlassian.net", "https://acme.atlassian.net/"] {
            assert_eq!(
                tenant_info_url(site),
                "https://acme.atlassian.net/_edge/tenant_info"
            );
        }
    }
}
