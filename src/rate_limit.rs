//! The rate-limit headers Atlassian sends, readable on every response and on rate-limited errors:
//! the `X-RateLimit-*` family (per-second burst limits), the points quotas of 2026 in the IETF
//! `RateLimit` / `RateLimit-Policy` structured fields and their `Beta-` previews, and the reason.

use crate::ResponseValue;
use reqwest::header::HeaderMap;
use std::time::{Duration, SystemTime};

/// What the server said about its rate limits in one response. Every field is `None` (or
/// `false`, or empty) when the header was absent or could not be read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimit {
    /// `X-RateLimit-Limit`: the budget of the current window.
    pub limit: Option<u64>,
    /// `X-RateLimit-Remaining`: what is left of it.
    pub remaining: Option<u64>,
    /// `X-RateLimit-Reset`: when the window resets, written `2026-12-02T10:00Z` (as documented)
    /// or with seconds and an offset (RFC 3339). Live sites have sent a time already past:
    /// [`resets_in`](Self::resets_in) then takes it as unknown.
    pub reset: Option<chrono::DateTime<chrono::Utc>>,
    /// `X-RateLimit-NearLimit: true` (or `X-Beta-RateLimit-NearLimit`): less than 20 % of a
    /// budget is left.
    pub near_limit: bool,
    /// `RateLimit-Reason` (or `X-Beta-RateLimit-Reason`), e.g. `jira-burst-based` (slow down on
    /// this endpoint), `jira-quota-tenant-based` (a quota: nothing more until it resets).
    pub reason: Option<String>,
    /// `Retry-After`, as a wait from the moment the response was read.
    pub retry_after: Option<Duration>,
    /// The quotas the site applies (`RateLimit-Policy`, or `Beta-RateLimit-Policy`):
    /// `"tenant-app-quota";q=100100;w=3600`. Sites stop sending the policy once its quota is
    /// used up: on an [`Error`](crate::Error), an answer without it carries the last policy the
    /// client saw.
    pub policies: Vec<QuotaPolicy>,
    /// What is left of them (`RateLimit`, or `Beta-RateLimit`):
    /// `"tenant-app-quota";r=17842;t=2107`.
    pub quotas: Vec<QuotaLeft>,
}

/// One quota a site applies: so many points per window.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct QuotaPolicy {
    /// Its name, e.g. `tenant-app-quota`.
    pub name: String,
    /// `q`: the points of one window.
    pub quota: Option<u64>,
    /// `w`: the window.
    pub window: Option<Duration>,
}

/// What is left of one quota.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct QuotaLeft {
    /// Its name, e.g. `tenant-app-quota`.
    pub name: String,
    /// `r`: the points left in this window.
    pub remaining: Option<u64>,
    /// `t`: when the window resets, from the moment the response was read.
    pub resets_in: Option<Duration>,
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
        let either = |name: &str, beta: &str| text(name).or_else(|| text(beta));
        let policies = either("ratelimit-policy", "beta-ratelimit-policy")
            .map(|v| {
                items(v)
                    .map(|(name, params)| QuotaPolicy {
                        quota: param(&params, "q"),
                        window: param(&params, "w").map(Duration::from_secs),
                        name,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let quotas = either("ratelimit", "beta-ratelimit")
            .map(|v| {
                items(v)
                    .map(|(name, params)| QuotaLeft {
                        remaining: param(&params, "r"),
                        resets_in: param(&params, "t").map(Duration::from_secs),
                        name,
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self {
            limit: text("x-ratelimit-limit").and_then(|v| v.parse().ok()),
            remaining: text("x-ratelimit-remaining").and_then(|v| v.parse().ok()),
            reset: text("x-ratelimit-reset").and_then(reset_time),
            near_limit: either("x-ratelimit-nearlimit", "x-beta-ratelimit-nearlimit")
                .is_some_and(|v| v.eq_ignore_ascii_case("true")),
            reason: either("ratelimit-reason", "x-beta-ratelimit-reason").map(str::to_string),
            retry_after: crate::headers::retry_after(headers, SystemTime::now()),
            policies,
            quotas,
        }
    }

    /// Whether the answer says a quota is used up for its window (a quota reason, or a quota
    /// with nothing left), rather than a burst to slow down from: nothing more gets through
    /// until it resets, so waiting a few seconds and trying again is pointless.
    pub fn quota_exhausted(&self) -> bool {
        let quota_reason = self
            .reason
            .as_deref()
            .is_some_and(|reason| reason.to_ascii_lowercase().contains("quota"));
        quota_reason || self.quotas.iter().any(|quota| quota.remaining == Some(0))
    }

    /// When the exhausted quota (or the window) resets, from now: the quota's `t`, else
    /// `X-RateLimit-Reset`, else `Retry-After`.
    ///
    /// Never zero: a reset already past, or due in 0 s, is what some sites send while the quota
    /// is still spent, and waiting nothing would send the next request straight into it. Such a
    /// value is taken as unknown.
    pub fn resets_in(&self) -> Option<Duration> {
        let known = |wait: &Duration| !wait.is_zero();
        let exhausted = self
            .quotas
            .iter()
            .filter(|quota| quota.remaining == Some(0))
            .filter_map(|quota| quota.resets_in)
            .filter(known)
            .max();
        let any_quota = self
            .quotas
            .iter()
            .filter_map(|quota| quota.resets_in)
            .filter(known)
            .max();
        let reset = self
            .reset
            .and_then(|reset| (reset - chrono::Utc::now()).to_std().ok())
            .filter(known);
        exhausted
            .or(any_quota)
            .or(reset)
            .or(self.retry_after.filter(known))
    }

    /// The policy of a quota this answer says is used up, when the site said it (on this answer,
    /// or, on an [`Error`](crate::Error), on an earlier one).
    pub fn spent_policy(&self) -> Option<&QuotaPolicy> {
        self.policies.iter().find(|policy| {
            self.quotas
                .iter()
                .any(|quota| quota.name == policy.name && quota.remaining == Some(0))
        })
    }

    /// [`resets_in`](Self::resets_in), else, for a used-up quota whose policy is known, one
    /// window of it: the latest the quota can reset. What a patient caller waits for when the
    /// site does not say when.
    pub fn resets_within(&self) -> Option<Duration> {
        self.resets_in().or_else(|| {
            self.spent_policy()
                .and_then(|policy| policy.window)
                .filter(|window| !window.is_zero())
        })
    }
}

/// The quota policies a client last saw, kept for the answers that come without them (sites stop
/// sending the policy once its quota is used up), and the last rate-limit headers seen. Shared by
/// the clones of a client.
#[derive(Clone, Debug, Default)]
pub(crate) struct SeenPolicies(std::sync::Arc<std::sync::Mutex<Seen>>);

#[derive(Debug, Default)]
struct Seen {
    policies: Vec<QuotaPolicy>,
    /// The last answer's rate-limit headers, of the answers that carried any.
    last: Option<RateLimit>,
}

/// The headers that say something of the rate limits.
const RATE_LIMIT_HEADERS: [&str; 7] = [
    "ratelimit",
    "beta-ratelimit",
    "ratelimit-policy",
    "beta-ratelimit-policy",
    "x-ratelimit-remaining",
    "x-ratelimit-limit",
    "x-ratelimit-nearlimit",
];

impl SeenPolicies {
    /// Keeps the rate-limit headers of an answer that has any (and its policies, if it has
    /// them); an answer without them changes nothing.
    pub fn remember(&self, headers: &HeaderMap) {
        // A few look-ups for most answers, which carry none: every answer passes here.
        if !RATE_LIMIT_HEADERS
            .iter()
            .any(|name| headers.contains_key(*name))
        {
            return;
        }
        let rate_limit = RateLimit::from_headers(headers);
        let mut seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if !rate_limit.policies.is_empty() {
            seen.policies = rate_limit.policies.clone();
        }
        seen.last = Some(rate_limit);
    }

    /// Gives `rate_limit` the last policies seen when its answer had none.
    pub fn fill(&self, rate_limit: &mut RateLimit) {
        if rate_limit.policies.is_empty() {
            let seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
            rate_limit.policies = seen.policies.clone();
        }
    }

    /// The last rate-limit headers seen, their policies filled in.
    pub fn last(&self) -> Option<RateLimit> {
        let mut last = self
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .last
            .clone()?;
        self.fill(&mut last);
        Some(last)
    }
}

impl crate::Client {
    /// The rate-limit headers of the last answer this client (or a clone of it) received that
    /// carried any, with the quota policies last seen when that answer had none: the headroom a
    /// long run has left, for a dashboard or a metrics file. `None` before any such answer.
    ///
    /// ```no_run
    /// # fn show(client: &atlassian_csm::Client) {
    /// if let Some(limit) = client.last_rate_limit() {
    ///     println!("{:?} of {:?} left", limit.remaining, limit.limit);
    /// }
    /// # }
    /// ```
    pub fn last_rate_limit(&self) -> Option<RateLimit> {
        self.config().seen_policies.last()
    }
}

/// `2026-12-02T10:00Z` (the documented form, without seconds) or RFC 3339.
fn reset_time(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    if let Ok(date) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(date.with_timezone(&chrono::Utc));
    }
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%MZ")
        .ok()
        .map(|naive| naive.and_utc())
}

/// The members of a structured-field list: `"name";a=1;b=2, other;c=3` as (name, parameters).
/// A member that cannot be read is left out.
fn items(text: &str) -> impl Iterator<Item = (String, Vec<(String, String)>)> + '_ {
    text.split(',').filter_map(|member| {
        let mut parts = member.split(';').map(str::trim);
        let name = parts.next()?.trim_matches('"').to_string();
        if name.is_empty() {
            return None;
        }
        let params = parts
            .filter_map(|part| {
                let (key, value) = part.split_once('=')?;
                Some((key.trim().to_ascii_lowercase(), value.trim().to_string()))
            })
            .collect();
        Some((name, params))
    })
}

fn param(params: &[(String, String)], key: &str) -> Option<u64> {
    params
        .iter()
        .find(|(k, _)| k == key)
        .and_then(|(_, v)| v.parse().ok())
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

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn every_rate_limit_header_is_read() {
        let limit = RateLimit::from_headers(&headers(&[
            ("x-ratelimit-limit", "100"),
            ("x-ratelimit-remaining", "7"),
            ("x-ratelimit-reset", "2026-11-22T10:00:00Z"),
            ("x-ratelimit-nearlimit", "true"),
            ("ratelimit-reason", "jira-burst-based"),
            ("retry-after", "5"),
        ]));
        assert_eq!(limit.limit, Some(100));
        assert_eq!(limit.remaining, Some(7));
        assert_eq!(
            limit.reset.unwrap().to_rfc3339(),
            "2026-11-22T10:00:00+00:00"
        );
        assert!(limit.near_limit);
        assert_eq!(limit.reason.as_deref(), Some("jira-burst-based"));
        assert_eq!(limit.retry_after, Some(Duration::from_secs(5)));
        assert!(!limit.quota_exhausted(), "a burst is not a quota");
        assert_eq!(
            RateLimit::from_headers(&HeaderMap::new()),
            RateLimit::default()
        );
    }

    #[test]
    fn the_reset_is_read_without_seconds_as_documented_and_with_an_offset() {
        let at = |text: &str| {
            RateLimit::from_headers(&headers(&[("x-ratelimit-reset", text)]))
                .reset
                .map(|r| r.to_rfc3339())
        };
        assert_eq!(
            at("2026-12-02T10:07Z").as_deref(),
            Some("2026-12-02T10:07:00+00:00")
        );
        assert_eq!(
            at("2026-12-02T11:07:30+01:00").as_deref(),
            Some("2026-12-02T10:07:30+00:00")
        );
        assert_eq!(at("soon"), None);
    }

    #[test]
    fn the_points_quotas_are_read_in_their_beta_and_ietf_forms() {
        let beta = RateLimit::from_headers(&headers(&[
            (
                "beta-ratelimit-policy",
                "\"tenant-app-quota\";q=100100;w=3600",
            ),
            ("beta-ratelimit", "\"tenant-app-quota\";r=17842;t=2107"),
            ("x-beta-ratelimit-reason", "jira-quota-tenant-based"),
            ("x-beta-ratelimit-nearlimit", "true"),
        ]));
        assert_eq!(
            beta.policies,
            [QuotaPolicy {
                name: "tenant-app-quota".into(),
                quota: Some(100_100),
                window: Some(Duration::from_secs(3600)),
            }]
        );
        assert_eq!(
            beta.quotas,
            [QuotaLeft {
                name: "tenant-app-quota".into(),
                remaining: Some(17_842),
                resets_in: Some(Duration::from_secs(2107)),
            }]
        );
        assert!(beta.near_limit);
        assert!(beta.quota_exhausted(), "a quota reason");
        assert_eq!(beta.resets_in(), Some(Duration::from_secs(2107)));

        let ietf = RateLimit::from_headers(&headers(&[
            (
                "ratelimit-policy",
                "burst;q=10;w=1, \"hourly\";q=5000;w=3600",
            ),
            ("ratelimit", "burst;r=3;t=1, \"hourly\";r=0;t=900"),
        ]));
        assert_eq!(ietf.policies.len(), 2);
        assert_eq!(ietf.quotas[1].remaining, Some(0));
        assert!(ietf.quota_exhausted(), "a quota with nothing left");
        assert_eq!(ietf.resets_in(), Some(Duration::from_secs(900)));
        // Members that cannot be read are left out; the rest is kept.
        let odd = RateLimit::from_headers(&headers(&[("ratelimit", ";r=1, ok;r=x;t=5")]));
        assert_eq!(odd.quotas.len(), 1);
        assert_eq!(odd.quotas[0].remaining, None);
    }

    #[test]
    fn a_reset_already_past_or_due_now_is_unknown_and_never_a_wait_of_nothing() {
        let spent = |pairs: &[(&'static str, &str)]| {
            let mut all = vec![("x-beta-ratelimit-reason", "jira-quota-tenant-based")];
            all.extend_from_slice(pairs);
            RateLimit::from_headers(&headers(&all))
        };
        let past = (chrono::Utc::now() - chrono::Duration::minutes(5)).to_rfc3339();
        assert_eq!(spent(&[("x-ratelimit-reset", &past)]).resets_in(), None);
        assert_eq!(
            spent(&[("beta-ratelimit", "\"tenant-app-quota\";r=0;t=0")]).resets_in(),
            None
        );
        assert_eq!(spent(&[("retry-after", "0")]).resets_in(), None);
        // A later value beside it is still read.
        let later = (chrono::Utc::now() + chrono::Duration::minutes(5)).to_rfc3339();
        let wait = spent(&[("x-ratelimit-reset", &later), ("retry-after", "0")]).resets_in();
        assert!(
            wait.is_some_and(|w| w > Duration::from_secs(250)),
            "{wait:?}"
        );
        // With nothing known but the quota's policy: unknown, and at the latest one window.
        let policy_only = spent(&[
            (
                "beta-ratelimit-policy",
                "\"tenant-app-quota\";q=100100;w=3600",
            ),
            ("beta-ratelimit", "\"tenant-app-quota\";r=0;t=0"),
        ]);
        assert_eq!(policy_only.resets_in(), None);
        assert_eq!(policy_only.resets_within(), Some(Duration::from_secs(3600)));
    }

    #[test]
    fn t_is_read_from_each_answer_as_it_comes() {
        let left = |t: &str| {
            RateLimit::from_headers(&headers(&[(
                "beta-ratelimit",
                &format!("\"tenant-app-quota\";r=10;t={t}"),
            )]))
            .resets_in()
        };
        // Jumping between calls, as live sites send it: each answer says its own.
        assert_eq!(left("2107"), Some(Duration::from_secs(2107)));
        assert_eq!(left("3540"), Some(Duration::from_secs(3540)));
        assert_eq!(left("12"), Some(Duration::from_secs(12)));
    }

    #[test]
    fn the_last_policy_seen_stays_when_an_answer_comes_without_it() {
        let seen = SeenPolicies::default();
        let with_policy = headers(&[(
            "beta-ratelimit-policy",
            "\"tenant-app-quota\";q=100100;w=3600",
        )]);
        seen.remember(&with_policy);
        seen.remember(&headers(&[(
            "beta-ratelimit",
            "\"tenant-app-quota\";r=0;t=0",
        )]));
        let mut without = RateLimit::from_headers(&headers(&[(
            "beta-ratelimit",
            "\"tenant-app-quota\";r=0;t=0",
        )]));
        seen.fill(&mut without);
        assert_eq!(
            without.policies,
            RateLimit::from_headers(&with_policy).policies
        );
        // An answer with its own policy keeps its own.
        let own = headers(&[("ratelimit-policy", "hourly;q=5;w=60")]);
        let mut kept = RateLimit::from_headers(&own);
        seen.fill(&mut kept);
        assert_eq!(kept.policies[0].name, "hourly");
        // The last headers seen: the spent quota, with the policy its answer lacked; an answer
        // without rate-limit headers leaves them.
        seen.remember(&headers(&[("content-type", "application/json")]));
        let last = seen.last().unwrap();
        assert_eq!(last.quotas[0].remaining, Some(0));
        assert_eq!(last.policies[0].name, "tenant-app-quota");
    }
}
