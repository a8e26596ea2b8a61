//! The rate-limit headers Atlassian sends, readable on every response and on rate-limited errors.

use crate::ResponseValue;
use reqwest::header::HeaderMap;
use std::time::{Duration, SystemTime};

/// What the server said about its rate limits in one response. Every field is `None` (or
/// `false`) when the header was absent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimit {
    /// `X-RateLimit-Limit`: the budget of the current window.
    pub limit: Option<u64>,
    /// `X-RateLimit-Remaining`: what is left of it.
    pub remaining: Option<u64>,
    /// `X-RateLimit-Reset`: when the window resets (ISO-8601).
    pub reset: Option<chrono::DateTime<chrono::Utc>>,
    /// `X-RateLimit-NearLimit: true`: less than 20 % of a budget is left.
    pub near_limit: bool,
    /// `RateLimit-Reason`, e.g. `jira-burst-based`, `jira-quota-based`, `jira-cost-based`.
    pub reason: Option<String>,
    /// `Retry-After`, as a wait from the moment the response was read.
    pub retry_after: Option<Duration>,
}

impl RateLimit {
    /// Reads the rate-limit headers of a response.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let text = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
        };
        Self {
            limit: text("x-ratelimit-limit").and_then(|v| v.parse().ok()),
            remaining: text("x-ratelimit-remaining").and_then(|v| v.parse().ok()),
            reset: text("x-ratelimit-reset")
                .and_then(|v| chrono::DateTime::parse_from_rfc3339(v).ok())
                .map(|date| date.with_timezone(&chrono::Utc)),
            near_limit: text("x-ratelimit-nearlimit")
                .is_some_and(|v| v.eq_ignore_ascii_case("true")),
            reason: text("ratelimit-reason").map(str::to_string),
            retry_after: crate::retry::retry_after(headers, SystemTime::now()),
        }
    }
}

/// Reads [`RateLimit`] from a successful response.
///
/// ```no_run
/// use atlassian_csm::RateLimitExt;
/// # async fn run(client: atlassian_csm::Client) -> Result<(), atlassian_csm::Error> {
/// let page = client.get_products().send().await?;
/// if page.rate_limit().near_limit {
///     eprintln!("slowing down: {:?} left", page.rate_limit().remaining);
/// }
/// # Ok(()) }
/// ```
pub trait RateLimitExt {
    /// The rate-limit headers of this response.
    fn rate_limit(&self) -> RateLimit;
}

impl<T> RateLimitExt for ResponseValue<T> {
    fn rate_limit(&self) -> RateLimit {
        RateLimit::from_headers(self.headers())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rate_limit_header_is_read() {
        let mut headers = HeaderMap::new();
        headers.insert("x-ratelimit-limit", "100".parse().unwrap());
        headers.insert("x-ratelimit-remaining", "7".parse().unwrap());
        headers.insert("x-ratelimit-reset", "2026-11-22T10:00:00Z".parse().unwrap());
        headers.insert("x-ratelimit-nearlimit", "true".parse().unwrap());
        headers.insert("ratelimit-reason", "jira-burst-based".parse().unwrap());
        headers.insert("retry-after", "5".parse().unwrap());
        let limit = RateLimit::from_headers(&headers);
        assert_eq!(limit.limit, Some(100));
        assert_eq!(limit.remaining, Some(7));
        assert_eq!(
            limit.reset.unwrap().to_rfc3339(),
            "2026-11-22T10:00:00+00:00"
        );
        assert!(limit.near_limit);
        assert_eq!(limit.reason.as_deref(), Some("jira-burst-based"));
        assert_eq!(limit.retry_after, Some(Duration::from_secs(5)));
        assert_eq!(
            RateLimit::from_headers(&HeaderMap::new()),
            RateLimit::default()
        );
    }
}
