//! Doing the attempts of one call ([`execute`]): as the [`RetryPolicy`] decides, a 401 renewing
//! the token once.

use crate::body::{read_bounded, ReadError};
use crate::call::record;
use crate::config::ClientConfig;
#[cfg(doc)]
use crate::retry_policy::RetryPolicy;
use crate::retry_policy::{is_safe_to_repeat, Outcome, Verdict};
use reqwest::header::AUTHORIZATION;
use reqwest::StatusCode;

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

/// Sends `request`, then repeats it as the client's retry policy says; a 401 renews the token
/// once. Returns the last attempt's result and how many attempts were made. Each answer's status
/// is recorded on `span` (`Span::none()` when nothing listens).
pub(crate) async fn execute(
    http: &reqwest::Client,
    config: &ClientConfig,
    mut request: reqwest::Request,
    span: &tracing::Span,
) -> (reqwest::Result<reqwest::Response>, u32) {
    let policy = &config.retry;
    let safe_to_repeat = is_safe_to_repeat(request.method(), request.headers());
    let mut renewed_token = false;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let next = request.try_clone();
        let sent = crate::attempt_log::AttemptLine::of(&request, attempt);
        let (method, started) = (request.method().clone(), std::time::Instant::now());
        let attempted = attempt_once(http, config, request).await;
        measure(config, &method, started.elapsed(), &attempted);
        let result = match attempted {
            Attempt::Done(result) => result,
            Attempt::TooLarge(cut) => {
                sent.log(&Ok(&cut), "answer too large");
                record(|call| call.attempts = attempt);
                return (Ok(cut), attempt);
            }
        };
        let outcome = Outcome::of(&result);
        let done = |then: &str| sent.log(&result.as_ref(), then);
        if let (Ok(response), false) = (&result, span.is_none()) {
            span.record("status", response.status().as_u16());
        }
        record(|call| {
            call.attempts = attempt;
            call.last_failure = None;
            if let Ok(response) = &result {
                config.seen_policies.remember(response.headers());
                call.status = Some(response.status());
                // Only an error answer's headers are needed later (rate limits).
                if !response.status().is_success() {
                    call.headers = Some(Box::new(response.headers().clone()));
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
            match config.credentials.renew_after_rejection(&rejected).await {
                Some(Ok(fresh)) => {
                    done("again once, with a renewed token");
                    config
                        .metrics
                        .retry(crate::call::current_operation(), "token_renewed");
                    tracing::info!(attempt, "401: renewed the token, retrying once");
                    config.sent_tokens.sent(&fresh);
                    next.headers_mut().insert(AUTHORIZATION, fresh);
                    request = next;
                    continue;
                }
                Some(Err(error)) => {
                    done("done (the token could not be renewed)");
                    record(|call| call.error = Some(Box::new(error)));
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
                config.metrics.retry(
                    crate::call::current_operation(),
                    crate::metrics::retry_reason(&outcome),
                );
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

/// Records an attempt in the client's metrics: its duration, its status or failure, and the
/// rate limit its answer says is left.
fn measure(
    config: &ClientConfig,
    method: &reqwest::Method,
    took: std::time::Duration,
    attempted: &Attempt,
) {
    use crate::metrics::Answered;
    if !config.metrics.enabled() {
        return;
    }
    let response = match attempted {
        Attempt::Done(Ok(response)) | Attempt::TooLarge(response) => Ok(response),
        Attempt::Done(Err(error)) => Err(error),
    };
    let (answered, left) = match response {
        Ok(response) => {
            let rate_limit = crate::RateLimit::from_headers(response.headers());
            let left = rate_limit.remaining.or_else(|| {
                rate_limit
                    .quotas
                    .iter()
                    .filter_map(|quota| quota.remaining)
                    .min()
            });
            (Answered::Status(response.status().as_u16()), left)
        }
        Err(error) if error.is_timeout() => (Answered::Failed("timeout"), None),
        Err(error) if error.is_connect() => (Answered::Failed("connect"), None),
        Err(_) => (Answered::Failed("transport"), None),
    };
    config.metrics.attempt(
        crate::call::current_operation(),
        method,
        answered,
        took,
        left,
    );
}

/// The answer again, around its body read whole, with the URL it came from: without it, reqwest
/// would parse a placeholder URL for every answer.
fn rebuilt(
    mut parts: http::response::Parts,
    body: bytes::Bytes,
    url: reqwest::Url,
) -> reqwest::Response {
    use reqwest::ResponseBuilderExt as _;
    // A builder given only an extension cannot fail; were it to, the answer keeps no URL.
    if let Ok(carrier) = http::Response::builder().url(url).body(()) {
        parts.extensions.extend(carrier.into_parts().0.extensions);
    }
    http::Response::from_parts(parts, body).into()
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
async fn attempt_once(
    http: &reqwest::Client,
    config: &ClientConfig,
    request: reqwest::Request,
) -> Attempt {
    let response = match http.execute(request).await {
        Ok(response) => response,
        Err(error) => return Attempt::Done(Err(error)),
    };
    let status = response.status();
    let limit = config.max_response_bytes;
    let url = response.url().clone();
    match read_bounded(response, limit).await {
        Ok((parts, body)) => Attempt::Done(Ok(rebuilt(parts, body, url))),
        Err(ReadError::Transport(error)) => Attempt::Done(Err(error)),
        Err(ReadError::TooLarge { seen, limit }) => {
            tracing::warn!(
                status = status.as_u16(),
                seen,
                limit,
                "answer too large; not read further"
            );
            record(|call| {
                call.error = Some(Box::new(crate::Error::ResponseTooLarge {
                    operation: call.operation,
                    status,
                    seen,
                    limit,
                }))
            });
            let mut empty = http::Response::new(bytes::Bytes::new());
            *empty.status_mut() = status;
            Attempt::TooLarge(empty.into())
        }
    }
}
