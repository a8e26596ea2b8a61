//! What happens around every generated request: the headers a caller never writes (before it is
//! sent) and retries, token renewal and tracing (while it is executed).
//!
//! Which operation needs which header is read from the spec at build time
//! ([`operation_rules`](crate::operation_rules)), so a new operation needs no line here.

use crate::call::record;
use crate::config::ClientConfig;
use crate::generated::operation_rules;
use crate::limits;
use crate::retry::{is_safe_to_repeat, retry_after, Outcome, Verdict};
use crate::Client;
use progenitor_client::{ClientHooks, Error, OperationInfo};
use reqwest::header::{HeaderName, HeaderValue, AUTHORIZATION};
use std::time::SystemTime;
use tracing::Instrument as _;

/// `X-ExperimentalApi`: experimental operations answer 412 without `opt-in`.
pub const EXPERIMENTAL_HEADER: HeaderName = HeaderName::from_static("x-experimentalapi");
/// `Idempotency-Key`: bulk operations answer 412 without one.
pub const IDEMPOTENCY_KEY_HEADER: HeaderName = HeaderName::from_static("idempotency-key");
/// The header the generator adds to every request; the CSM API defines none.
const GENERATOR_VERSION_HEADER: &str = "api-version";

impl ClientHooks<ClientConfig> for Client {
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        info: &OperationInfo,
    ) -> Result<(), Error<E>> {
        if let Some(body) = request.body().and_then(|body| body.as_bytes()) {
            limits::check_request(info.operation_id, body).map_err(refuse)?;
        }
        let Some(rules) = operation_rules(info.operation_id) else {
            return Err(refuse(crate::Error::Config(format!(
                "no header rules for operation {}",
                info.operation_id
            ))));
        };
        let authorization = match &self.inner.fixed_authorization {
            Some(value) => value.clone(),
            None => self
                .inner
                .credentials
                .authorization()
                .await
                .map_err(refuse)?,
        };
        let headers = request.headers_mut();
        headers.remove(GENERATOR_VERSION_HEADER);
        headers.insert(AUTHORIZATION, authorization);
        if rules.experimental {
            headers.insert(EXPERIMENTAL_HEADER, HeaderValue::from_static("opt-in"));
        }
        // Generated once per logical call, here and not per attempt, so every retry of the call
        // carries the same key.
        if rules.idempotency_key && !headers.contains_key(IDEMPOTENCY_KEY_HEADER) {
            headers.insert(IDEMPOTENCY_KEY_HEADER, new_idempotency_key());
        }
        Ok(())
    }

    async fn exec(
        &self,
        request: reqwest::Request,
        info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        let span = tracing::info_span!(
            "csm.call",
            operation = info.operation_id,
            method = %request.method(),
            attempts = tracing::field::Empty,
            status = tracing::field::Empty,
        );
        self.execute_with_retries(request).instrument(span).await
    }
}

/// Stops a call before it is sent: the typed error is kept in the call's record (the generated
/// code can only carry a message), and `send()` returns it.
fn refuse<E>(error: crate::Error) -> Error<E> {
    let message = error.to_string();
    record(|call| call.error = Some(error));
    Error::Custom(message)
}

impl Client {
    /// Sends `request`, then repeats it as the retry policy says; a 401 renews the token once.
    async fn execute_with_retries(
        &self,
        mut request: reqwest::Request,
    ) -> reqwest::Result<reqwest::Response> {
        let policy = &self.inner.retry;
        let safe_to_repeat = is_safe_to_repeat(request.method(), request.headers());
        let mut renewed_token = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let next = request.try_clone();
            let result = self.attempt(request).await;
            let span = tracing::Span::current();
            span.record("attempts", attempt);
            let outcome = match &result {
                Ok(response) => {
                    span.record("status", response.status().as_u16());
                    record(|call| {
                        call.attempts = attempt;
                        call.status = Some(response.status());
                        // Only an error answer's headers are needed later (rate limits).
                        if !response.status().is_success() {
                            call.headers = response.headers().clone();
                        }
                    });
                    Outcome::Status(
                        response.status(),
                        retry_after(response.headers(), SystemTime::now()),
                    )
                }
                Err(error) => {
                    record(|call| call.attempts = attempt);
                    tracing::debug!(attempt, timeout = error.is_timeout(), "no response");
                    Outcome::Failed
                }
            };
            // A body that cannot be replayed (a stream) cannot be retried.
            let Some(mut next) = next else {
                return result;
            };

            if matches!(outcome, Outcome::Status(status, _) if status == reqwest::StatusCode::UNAUTHORIZED)
                && !renewed_token
            {
                renewed_token = true;
                let Some(rejected) = next.headers().get(AUTHORIZATION).cloned() else {
                    return result;
                };
                match self
                    .inner
                    .credentials
                    .renew_after_rejection(&rejected)
                    .await
                {
                    Some(Ok(fresh)) => {
                        tracing::info!(attempt, "401: renewed the token, retrying once");
                        next.headers_mut().insert(AUTHORIZATION, fresh);
                        request = next;
                        continue;
                    }
                    Some(Err(error)) => {
                        record(|call| call.error = Some(error));
                        return result;
                    }
                    None => return result,
                }
            }

            match policy.verdict(attempt, &outcome, safe_to_repeat) {
                Verdict::GiveUp => return result,
                Verdict::RetryAfter(delay) => {
                    tracing::warn!(attempt, delay_ms = delay.as_millis() as u64, outcome = ?outcome, "retrying");
                    drop(result);
                    tokio::time::sleep(delay).await;
                    request = next;
                }
            }
        }
    }
}

impl Client {
    /// Sends one attempt and reads its whole body, so that a connection lost mid-body fails the
    /// attempt (and can be retried) instead of failing later while the body is decoded.
    async fn attempt(&self, request: reqwest::Request) -> reqwest::Result<reqwest::Response> {
        use http_body_util::BodyExt as _;
        let response = self.client.execute(request).await?;
        // Through `http::Response`, which keeps the response's URL, so nothing is re-parsed.
        let (parts, body) = http::Response::<reqwest::Body>::from(response).into_parts();
        let body = body.collect().await?.to_bytes();
        Ok(http::Response::from_parts(parts, body).into())
    }
}

/// A fresh UUID v4, generated once per logical call (before any retry) so every attempt of the
/// call carries the same key.
pub fn new_idempotency_key() -> HeaderValue {
    let mut buffer = uuid::Uuid::encode_buffer();
    let text = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut buffer);
    HeaderValue::from_str(text).expect("a UUID is a valid header value")
}
