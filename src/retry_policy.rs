//! Deciding *whether* a failed attempt is tried again ([`RetryPolicy::verdict`]), and after how
//! long; [`retry`](crate::retry) does the attempts.

use crate::headers::{retry_after, IDEMPOTENCY_KEY_HEADER};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use std::fmt;
use std::time::{Duration, SystemTime};

/// How the client retries one logical call.
///
/// * 429 and 503 are always retried (the request was not processed), after the `Retry-After` the
///   server sent, or after the backoff below when it sent none. A `Retry-After` longer than
///   [`max_retry_after`](Self::max_retry_after) is not waited out: the call fails at once with
///   [`Error::RateLimited`](crate::Error::RateLimited), carrying the hint.
/// * 500, 502, 504, connection failures and timeouts are retried only when the request is safe
///   to repeat: `GET`, `PUT`, `DELETE`, or a `POST` that carries an `Idempotency-Key` (every
///   attempt carries the same key).
/// * Backoff is "full jitter": a random delay between zero and
///   `min(max_delay, base_delay × 2^(retry − 1))`.
///
/// ```
/// use atlassian_csm::RetryPolicy;
/// use std::time::Duration;
/// let patient = RetryPolicy::default().max_attempts(8).max_delay(Duration::from_secs(60));
/// assert_eq!(patient.attempts(), 8);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    base_delay: Duration,
    max_delay: Duration,
    max_retry_after: Duration,
}

impl Default for RetryPolicy {
    /// 5 attempts (4 retries), 1 s base delay, 30 s cap, `Retry-After` honoured up to 60 s.
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// No retries: every call is attempted once.
    pub fn never() -> Self {
        Self::default().max_attempts(1)
    }

    /// How many attempts one call may make in all (at least 1).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The first backoff's upper bound; each retry doubles it.
    pub fn base_delay(mut self, delay: Duration) -> Self {
        self.base_delay = delay;
        self
    }

    /// The largest backoff.
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// The longest `Retry-After` the client waits out before giving up with the hint.
    pub fn max_retry_after(mut self, delay: Duration) -> Self {
        self.max_retry_after = delay;
        self
    }

    /// How many attempts one call may make.
    pub fn attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The upper bound of the backoff before retry number `retry` (1 for the first retry).
    pub fn backoff_ceiling(&self, retry: u32) -> Duration {
        let doublings = retry.saturating_sub(1).min(30);
        self.base_delay
            .saturating_mul(1 << doublings)
            .min(self.max_delay)
    }

    fn backoff(&self, retry: u32) -> Duration {
        self.backoff_ceiling(retry).mul_f64(random_fraction())
    }

    /// What to do after attempt number `attempt` (1-based) ended with `outcome`.
    pub(crate) fn verdict(&self, attempt: u32, outcome: &Outcome, safe_to_repeat: bool) -> Verdict {
        if attempt >= self.max_attempts {
            return Verdict::GiveUp;
        }
        match *outcome {
            Outcome::Status(status, retry_after)
                if status == StatusCode::TOO_MANY_REQUESTS
                    || status == StatusCode::SERVICE_UNAVAILABLE =>
            {
                match retry_after {
                    Some(wait) if wait > self.max_retry_after => Verdict::GiveUp,
                    Some(wait) => Verdict::RetryAfter(wait),
                    None => Verdict::RetryAfter(self.backoff(attempt)),
                }
            }
            Outcome::Status(status, _)
                if safe_to_repeat
                    && matches!(
                        status,
                        StatusCode::INTERNAL_SERVER_ERROR
                            | StatusCode::BAD_GATEWAY
                            | StatusCode::GATEWAY_TIMEOUT
                    ) =>
            {
                Verdict::RetryAfter(self.backoff(attempt))
            }
            Outcome::Failed(_) if safe_to_repeat => Verdict::RetryAfter(self.backoff(attempt)),
            _ => Verdict::GiveUp,
        }
    }
}

/// How one attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// A response, with the server's `Retry-After` if it sent one.
    Status(StatusCode, Option<Duration>),
    /// No response: the connection failed or the attempt timed out (what kind of failure).
    Failed(&'static str),
}

impl Outcome {
    pub(crate) fn of(result: &reqwest::Result<reqwest::Response>) -> Self {
        match result {
            Ok(response) => Self::Status(
                response.status(),
                retry_after(response.headers(), SystemTime::now()),
            ),
            Err(error) => Self::Failed(failure_kind(error)),
        }
    }
}

/// Why an attempt is retried, as the `warn` event says it: `status 503` or `connect error`.
impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Status(status, _) => write!(f, "status {}", status.as_u16()),
            Self::Failed(kind) => f.write_str(kind),
        }
    }
}

/// The kind of a failed attempt, without its URL.
fn failure_kind(error: &reqwest::Error) -> &'static str {
    if error.is_timeout() {
        "timeout"
    } else if error.is_connect() {
        "connect error"
    } else if error.is_body() || error.is_decode() {
        "connection lost while reading the answer"
    } else if error.is_request() {
        "connection lost while sending the request"
    } else {
        "transport error"
    }
}

/// What to do next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    GiveUp,
    RetryAfter(Duration),
}

/// Whether repeating `request` cannot apply a write twice.
pub(crate) fn is_safe_to_repeat(method: &Method, headers: &HeaderMap) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE
    ) || headers.contains_key(IDEMPOTENCY_KEY_HEADER)
}

/// A uniformly distributed number in [0, 1), from the operating system's random source (the same
/// one UUID v4 keys come from).
fn random_fraction() -> f64 {
    let (bits, _) = uuid::Uuid::new_v4().as_u64_pair();
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn backoff_doubles_up_to_the_cap_and_jitter_stays_below_it() {
        let policy = RetryPolicy::default();
        let ceilings: Vec<u64> = (1..=7)
            .map(|r| policy.backoff_ceiling(r).as_secs())
            .collect();
        assert_eq!(ceilings, [1, 2, 4, 8, 16, 30, 30]);
        for retry in 1..=7 {
            for _ in 0..50 {
                assert!(policy.backoff(retry) <= policy.backoff_ceiling(retry));
            }
        }
    }

    #[test]
    fn rate_limits_are_retried_for_any_method_after_the_servers_wait() {
        let policy = RetryPolicy::default();
        let limited = Outcome::Status(StatusCode::TOO_MANY_REQUESTS, Some(Duration::from_secs(3)));
        assert_eq!(
            policy.verdict(1, &limited, false),
            Verdict::RetryAfter(Duration::from_secs(3))
        );
        let too_long = Outcome::Status(
            StatusCode::SERVICE_UNAVAILABLE,
            Some(Duration::from_secs(600)),
        );
        assert_eq!(policy.verdict(1, &too_long, true), Verdict::GiveUp);
        assert_eq!(
            policy.verdict(5, &limited, true),
            Verdict::GiveUp,
            "attempts exhausted"
        );
    }

    #[test]
    fn server_errors_and_lost_connections_are_retried_only_when_safe() {
        let policy = RetryPolicy::default();
        for outcome in [
            Outcome::Status(StatusCode::INTERNAL_SERVER_ERROR, None),
            Outcome::Status(StatusCode::BAD_GATEWAY, None),
            Outcome::Status(StatusCode::GATEWAY_TIMEOUT, None),
            Outcome::Failed("connect error"),
        ] {
            assert!(matches!(
                policy.verdict(1, &outcome, true),
                Verdict::RetryAfter(_)
            ));
            assert_eq!(policy.verdict(1, &outcome, false), Verdict::GiveUp);
        }
        let client_error = Outcome::Status(StatusCode::BAD_REQUEST, None);
        assert_eq!(policy.verdict(1, &client_error, true), Verdict::GiveUp);
    }

    #[test]
    fn a_post_is_safe_to_repeat_only_with_an_idempotency_key() {
        let mut keyed = HeaderMap::new();
        keyed.insert(crate::headers::IDEMPOTENCY_KEY_HEADER, "k".parse().unwrap());
        assert!(is_safe_to_repeat(&Method::POST, &keyed));
        assert!(!is_safe_to_repeat(&Method::POST, &HeaderMap::new()));
        assert!(is_safe_to_repeat(&Method::PUT, &HeaderMap::new()));
    }
}
