//! The rate limits a site applies, as Atlassian's sites send them in 2026: a burst limit per
//! operation (requests per second) and an hourly points quota for the whole site, each answered
//! with its headers.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// The limits a fake applies ([`FakeCsmBuilder::rate_limits`](crate::FakeCsmBuilder::rate_limits)).
///
/// Every request costs 1 point, and a bulk request 1 more per record it carries (the fake's
/// model: the API does not publish its costs). Every answer carries the quota's state:
/// `Beta-RateLimit-Policy: "tenant-app-quota";q=…;w=…` and `Beta-RateLimit:
/// "tenant-app-quota";r=…;t=…`, with `X-Beta-RateLimit-NearLimit: true` below 20 % of it, and
/// the burst limit's `X-RateLimit-Limit` / `X-RateLimit-Remaining` / `X-RateLimit-Reset`
/// (written `2026-12-02T10:07Z`, as documented).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimits {
    /// Requests one operation may receive in `burst_window`; past it, `429` with
    /// `RateLimit-Reason: jira-burst-based` and a `Retry-After`.
    pub burst: u32,
    /// The window of the burst limit.
    pub burst_window: Duration,
    /// Points the site may spend in `quota_window`; past it, `429` with
    /// `X-Beta-RateLimit-Reason: jira-quota-tenant-based` and nothing more until the window
    /// resets.
    pub quota: u64,
    /// The window of the quota.
    pub quota_window: Duration,
}

impl RateLimits {
    /// 10 requests a second per operation, 100,100 points an hour (the figures sites show).
    pub fn live() -> Self {
        Self {
            burst: 10,
            burst_window: Duration::from_secs(1),
            quota: 100_100,
            quota_window: Duration::from_secs(3600),
        }
    }

    /// The burst limit: `requests` per operation in each `window`.
    pub fn burst(mut self, requests: u32, window: Duration) -> Self {
        self.burst = requests.max(1);
        self.burst_window = window;
        self
    }

    /// The site's quota: `points` in each `window`.
    pub fn quota(mut self, points: u64, window: Duration) -> Self {
        self.quota = points;
        self.quota_window = window;
        self
    }

    /// [`live`](Self::live) with both windows divided by `factor`, for tests and benchmarks.
    pub fn live_scaled(factor: u32) -> Self {
        let factor = factor.max(1);
        let live = Self::live();
        Self {
            burst_window: live.burst_window / factor,
            quota_window: live.quota_window / factor,
            ..live
        }
    }
}

/// What the limiter says of one request.
pub(crate) struct Decision {
    /// `Some(answer)` when the request is refused: its reason and `Retry-After`.
    pub refused: Option<(&'static str, Duration)>,
    /// The headers every answer carries.
    pub headers: Vec<(&'static str, String)>,
}

/// The limiter's counts.
#[derive(Debug)]
pub(crate) struct Limiter {
    limits: RateLimits,
    /// Arrival times per operation, within the burst window.
    recent: HashMap<&'static str, VecDeque<Instant>>,
    window_started: Instant,
    spent: u64,
}

impl Limiter {
    pub fn new(limits: RateLimits) -> Self {
        Self {
            limits,
            recent: HashMap::new(),
            window_started: Instant::now(),
            spent: 0,
        }
    }

    /// Counts a request to `operation` costing `points` at `now`, or refuses it.
    pub fn admit(&mut self, operation: &'static str, points: u64, now: Instant) -> Decision {
        let limits = self.limits;
        if now.duration_since(self.window_started) >= limits.quota_window {
            self.window_started = now;
            self.spent = 0;
        }
        let quota_resets_in = limits
            .quota_window
            .saturating_sub(now.duration_since(self.window_started));
        let recent = self.recent.entry(operation).or_default();
        while recent
            .front()
            .is_some_and(|at| now.duration_since(*at) >= limits.burst_window)
        {
            recent.pop_front();
        }
        let burst_resets_in = recent.front().map_or(limits.burst_window, |first| {
            limits
                .burst_window
                .saturating_sub(now.duration_since(*first))
        });
        let refused = if self.spent + points > limits.quota {
            Some(("jira-quota-tenant-based", quota_resets_in))
        } else if recent.len() >= limits.burst as usize {
            Some(("jira-burst-based", burst_resets_in))
        } else {
            self.spent += points;
            recent.push_back(now);
            None
        };
        let left = limits.quota.saturating_sub(self.spent);
        let burst_left = u64::from(limits.burst).saturating_sub(recent.len() as u64);
        let reset_at =
            chrono::Utc::now() + chrono::Duration::from_std(burst_resets_in).unwrap_or_default();
        let mut headers = vec![
            (
                "beta-ratelimit-policy",
                format!(
                    "\"tenant-app-quota\";q={};w={}",
                    limits.quota,
                    limits.quota_window.as_secs().max(1)
                ),
            ),
            (
                "beta-ratelimit",
                format!(
                    "\"tenant-app-quota\";r={left};t={}",
                    seconds_up(quota_resets_in)
                ),
            ),
            ("x-ratelimit-limit", limits.burst.to_string()),
            ("x-ratelimit-remaining", burst_left.to_string()),
            (
                "x-ratelimit-reset",
                reset_at.format("%Y-%m-%dT%H:%MZ").to_string(),
            ),
        ];
        if left * 5 < limits.quota {
            headers.push(("x-beta-ratelimit-nearlimit", "true".into()));
        }
        if let Some((reason, wait)) = refused {
            let header = if reason.contains("quota") {
                "x-beta-ratelimit-reason"
            } else {
                "ratelimit-reason"
            };
            headers.push((header, reason.into()));
            headers.push(("retry-after", seconds_up(wait).to_string()));
        }
        Decision { refused, headers }
    }
}

/// Whole seconds, rounded up (at least 1: `Retry-After: 0` would invite a storm).
fn seconds_up(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_refused_per_operation_and_the_quota_for_the_site() {
        let mut limiter = Limiter::new(RateLimits {
            burst: 2,
            burst_window: Duration::from_secs(1),
            quota: 5,
            quota_window: Duration::from_secs(60),
        });
        let now = Instant::now();
        assert!(limiter.admit("get-products", 1, now).refused.is_none());
        assert!(limiter.admit("get-products", 1, now).refused.is_none());
        let burst = limiter.admit("get-products", 1, now);
        assert_eq!(burst.refused.map(|r| r.0), Some("jira-burst-based"));
        // Another operation has a burst of its own.
        assert!(limiter.admit("get-customer", 1, now).refused.is_none());
        // A second later the burst is over; the quota (5 points) is not.
        let later = now + Duration::from_secs(1);
        assert!(limiter.admit("get-products", 1, later).refused.is_none());
        let quota = limiter.admit("get-products", 2, later);
        assert_eq!(quota.refused.map(|r| r.0), Some("jira-quota-tenant-based"));
        let left = quota.headers.iter().find(|(n, _)| *n == "beta-ratelimit");
        assert_eq!(left.unwrap().1, "\"tenant-app-quota\";r=1;t=59");
    }
}
