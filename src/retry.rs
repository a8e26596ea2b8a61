//! Retries: deciding *whether* a failed attempt is tried again ([`RetryPolicy::verdict`]) apart
//! from *doing* it ([`execute`]: the attempts of one call, a 401 renewing the token once).

use crate::body::{read_bounded, ReadError};
use crate::call::record;
use crate::Client;
use reqwest::header::{HeaderMap, AUTHORIZATION, RETRY_AFTER};
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

tokio::task_local! {
    /// Set while a caller that shares one back-off between many calls (a bulk import) makes a
    /// call: a 429 is then returned to it at once, to pause all of its calls, instead of being
    /// waited out by this call alone.
    static RATE_LIMITS_HANDLED_BY_CALLER: ();
}

/// Runs `call` with its 429 answers returned at once (see `RATE_LIMITS_HANDLED_BY_CALLER`).
pub(crate) async fn with_rate_limits_handled_by_caller<F: std::future::Future>(
    call: F,
) -> F::Output {
    RATE_LIMITS_HANDLED_BY_CALLER.scope((), call).await
}

fn caller_handles_rate_limits() -> bool {
    RATE_LIMITS_HANDLED_BY_CALLER.try_with(|_| ()).is_ok()
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
    fn of(result: &reqwest::Result<reqwest::Response>) -> Self {
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

/// Sends `request`, then repeats it as the client's retry policy says; a 401 renews the token
/// once. Returns the last attempt's result and how many attempts were made.
pub(crate) async fn execute(
    client: &Client,
    mut request: reqwest::Request,
) -> (reqwest::Result<reqwest::Response>, u32) {
    let policy = &client.inner.retry;
    let safe_to_repeat = is_safe_to_repeat(request.method(), request.headers());
    let mut renewed_token = false;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let next = request.try_clone();
        let sent = crate::attempt_log::AttemptLine::of(&request, attempt);
        let result = match attempt_once(client, request).await {
            Attempt::Done(result) => result,
            Attempt::TooLarge(cut) => {
                sent.log(&Ok(&cut), "answer too large");
                record(|call| call.attempts = attempt);
                return (Ok(cut), attempt);
            }
        };
        let outcome = Outcome::of(&result);
        let done = |then: &str| sent.log(&result.as_ref(), then);
        if let Ok(response) = &result {
            tracing::Span::current().record("status", response.status().as_u16());
        }
        record(|call| {
            call.attempts = attempt;
            call.last_failure = None;
            if let Ok(response) = &result {
                call.status = Some(response.status());
                // Only an error answer's headers are needed later (rate limits).
                if !response.status().is_success() {
                    call.headers = response.headers().clone();
                }
            }
        });
        // A body that cannot be replayed (a stream) cannot be retried.
        let Some(mut next) = next else {
            done("done (a stream is not sent again)");
            return (result, attempt);
        };

        if matches!(outcome, Outcome::Status(StatusCode::UNAUTHORIZED, _)) && !renewed_token {
            renewed_token = true;
            let Some(rejected) = next.headers().get(AUTHORIZATION).cloned() else {
                return (result, attempt);
            };
            match client
                .inner
                .credentials
                .renew_after_rejection(&rejected)
                .await
            {
                Some(Ok(fresh)) => {
                    done("again once, with a renewed token");
                    tracing::info!(attempt, "401: renewed the token, retrying once");
                    client.inner.sent_tokens.sent(&fresh);
                    next.headers_mut().insert(AUTHORIZATION, fresh);
                    request = next;
                    continue;
                }
                Some(Err(error)) => {
                    done("done (the token could not be renewed)");
                    record(|call| call.error = Some(error));
                    return (result, attempt);
                }
                None => {
                    done("done");
                    return (result, attempt);
                }
            }
        }

        if matches!(outcome, Outcome::Status(StatusCode::TOO_MANY_REQUESTS, _))
            && caller_handles_rate_limits()
        {
            done("done (the caller paces rate limits)");
            return (result, attempt);
        }
        // A quota used up for its window (an hour) lets nothing through until it resets: the
        // call ends with `Error::RateLimited` saying when, instead of retrying into it.
        if let Ok(response) = &result {
            if response.status() == StatusCode::TOO_MANY_REQUESTS
                && crate::RateLimit::from_headers(response.headers()).quota_exhausted()
            {
                done("not retried: a quota is used up");
                tracing::warn!(attempt, "rate limited: a quota is used up; not retried");
                return (result, attempt);
            }
        }
        match policy.verdict(attempt, &outcome, safe_to_repeat) {
            Verdict::GiveUp => {
                done("done");
                return (result, attempt);
            }
            Verdict::RetryAfter(delay) => {
                done(&format!("retry in {} ms: {outcome}", delay.as_millis()));
                tracing::warn!(
                    attempt,
                    delay_ms = delay.as_millis() as u64,
                    reason = %outcome,
                    "retrying"
                );
                // Kept, so that a call timeout during the wait still names the cause.
                if let Err(error) = result {
                    record(|call| call.last_failure = Some(error));
                }
                tokio::time::sleep(delay).await;
                request = next;
            }
        }
    }
}

/// How one attempt ended, as the retry loop sees it.
enum Attempt {
    /// An answer read whole, or no answer.
    Done(reqwest::Result<reqwest::Response>),
    /// An answer larger than the client accepts: the call ends with the error recorded, and the
    /// answer's status is handed on with an empty body.
    TooLarge(reqwest::Response),
}

/// Sends one attempt and reads its whole body (within the client's bound), so that a connection
/// lost mid-body fails the attempt (and can be retried) instead of failing later while the body
/// is decoded.
async fn attempt_once(client: &Client, request: reqwest::Request) -> Attempt {
    let response = match client.client.execute(request).await {
        Ok(response) => response,
        Err(error) => return Attempt::Done(Err(error)),
    };
    let status = response.status();
    let limit = client.inner.max_response_bytes;
    match read_bounded(response, limit).await {
        // Through `http::Response`, which keeps the response's URL, so nothing is re-parsed.
        Ok((parts, body)) => Attempt::Done(Ok(http::Response::from_parts(parts, body).into())),
        Err(ReadError::Transport(error)) => Attempt::Done(Err(error)),
        Err(ReadError::TooLarge { seen, limit }) => {
            tracing::warn!(
                status = status.as_u16(),
                seen,
                limit,
                "answer too large; not read further"
            );
            record(|call| {
                call.error = Some(crate::Error::ResponseTooLarge {
                    operation: call.operation,
                    status,
                    seen,
                    limit,
                })
            });
            let mut empty = http::Response::new(bytes::Bytes::new());
            *empty.status_mut() = status;
            Attempt::TooLarge(empty.into())
        }
    }
}

/// Whether repeating `request` cannot apply a write twice.
pub(crate) fn is_safe_to_repeat(method: &Method, headers: &HeaderMap) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE
    ) || headers.contains_key(crate::headers::IDEMPOTENCY_KEY_HEADER)
}

/// The server's `Retry-After`: delta-seconds or an HTTP-date (a date in the past means now).
pub(crate) fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let at = SystemTime::from(date);
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
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

    fn headers(retry_after: &str) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert(RETRY_AFTER, retry_after.parse().unwrap());
        map
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(
            retry_after(&headers("7"), now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            retry_after(&headers("Sun, 06 Nov 1994 08:49:47 GMT"), now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            retry_after(&headers("Sun, 06 Nov 1994 08:49:00 GMT"), now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after(&headers("soon"), now), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

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
