//! One logical call: what its attempts saw, and the conversion of its result into [`Error`].
//!
//! The generated `send()` runs the generated request inside [`send`], which opens a task-local
//! record. The hooks write into it (attempts, the last status and headers, why the last attempt
//! got no answer, a typed error) so the final error keeps what the generated code alone would
//! lose, such as the status of a response whose body is not JSON.

use crate::config::ClientConfig;
use crate::error::Error;
use crate::server_text::excerpt;
use crate::types::RestError;
use progenitor_client::Error as GeneratedError;
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// What the attempts of one call saw.
#[derive(Debug, Default)]
pub(crate) struct CallRecord {
    /// The operation, e.g. `get_customer`.
    pub operation: &'static str,
    pub attempts: u32,
    /// The per-attempt timeout, to report when an attempt timed out.
    pub attempt_timeout: Duration,
    pub status: Option<StatusCode>,
    /// An error answer's headers (boxed, like `error`: the record is moved in and out of its
    /// task-local slot each time the call is polled, so it is kept small).
    pub headers: Option<Box<HeaderMap>>,
    /// Why the last attempt got no answer (cleared by an answer), so that a call whose overall
    /// timeout ends its retries still names the cause.
    pub last_failure: Option<reqwest::Error>,
    /// A typed error raised by a hook (e.g. the token could not be renewed, an answer was too
    /// large): it ends the call, whatever the generated code made of the answer.
    pub error: Option<Box<Error>>,
}

tokio::task_local! {
    static CALL: RefCell<CallRecord>;
}

/// The operation of the current call (`unknown` outside one).
pub(crate) fn current_operation() -> &'static str {
    CALL.try_with(|call| call.borrow().operation)
        .unwrap_or("unknown")
}

/// Updates the current call's record; does nothing outside a call.
pub(crate) fn record(update: impl FnOnce(&mut CallRecord)) {
    let _ = CALL.try_with(|call| update(&mut call.borrow_mut()));
}

/// Runs one generated call within the client's overall timeout and turns its error into [`Error`].
///
/// `E` is the error body the operation declares (`RestError`, another schema, or `()` for none):
/// any of them becomes an [`Error`] that keeps the status, the headers and the body.
///
/// The generated call comes boxed (the generated `send()` boxes it where it is made): its state
/// is large, and every future around it would otherwise hold, and move, a copy.
pub(crate) async fn send<T, E: serde::Serialize>(
    config: &ClientConfig,
    operation: &'static str,
    call: Pin<Box<impl Future<Output = Result<T, GeneratedError<E>>>>>,
) -> Result<T, Error> {
    let overall = config.call_timeout;
    let started = tokio::time::Instant::now();
    let start = CallRecord {
        operation,
        attempt_timeout: config.attempt_timeout,
        ..CallRecord::default()
    };
    let (result, record) = CALL
        .scope(RefCell::new(start), async {
            let result = tokio::time::timeout(overall, call).await;
            (result, CALL.with(|call| call.take()))
        })
        .await;
    let attempts = record.attempts;
    let result = match result {
        Err(_) => Err(match record.last_failure {
            // The retries were cut short, but what stopped the call is the connection.
            Some(source) if !source.is_timeout() => Error::transport(operation, source),
            _ => Error::Timeout {
                operation,
                after: overall,
                attempts: Default::default(),
            },
        }),
        Ok(Ok(value)) => match record.error {
            // The answer was cut short (too large): what the generated code made of it is void.
            Some(error) => Err(*error),
            None => Ok(value),
        },
        Ok(Err(error)) => Err(into_error(operation, error, record).await),
    };
    let tried = crate::error::Attempts::new(attempts, started.elapsed());
    result.map_err(|error| {
        let mut error = error.with_attempts(tried);
        if let Some(rate_limit) = error.rate_limit_mut() {
            config.seen_policies.fill(rate_limit);
        }
        error.with_server_text_kept(&config.secrets())
    })
}

/// Turns what the generated call returned into an [`Error`], with what its attempts recorded.
async fn into_error<E: serde::Serialize>(
    operation: &'static str,
    error: GeneratedError<E>,
    record: CallRecord,
) -> Error {
    if let Some(error) = record.error {
        return *error;
    }
    match error {
        GeneratedError::InvalidRequest(message) => Error::InvalidInput {
            field: crate::FieldPath::from("request"),
            message,
        },
        GeneratedError::CommunicationError(source)
        | GeneratedError::ResponseBodyError(source)
        | GeneratedError::InvalidUpgrade(source) => {
            Error::from_reqwest(operation, source, record.attempt_timeout)
        }
        GeneratedError::ErrorResponse(response) => {
            let status = response.status();
            let headers = response.headers().clone();
            let (decoded, excerpt) = declared_error_body(&response.into_inner());
            Error::from_status(operation, status, &headers, decoded, excerpt)
        }
        GeneratedError::UnexpectedResponse(response) => {
            let status = response.status();
            let headers = response.headers().clone();
            let body = response.bytes().await.unwrap_or_default();
            let (decoded, excerpt) = match serde_json::from_slice(&body) {
                Ok(value) => rest_error_or_excerpt(value),
                Err(_) => (None, Some(excerpt(&body))),
            };
            Error::from_status(operation, status, &headers, decoded, excerpt)
        }
        GeneratedError::InvalidResponsePayload(body, source) => match record.status {
            Some(status) if !status.is_success() => Error::from_status(
                operation,
                status,
                &record.headers.unwrap_or_default(),
                None,
                Some(excerpt(&body)),
            ),
            status => Error::Decode {
                operation,
                status: status.unwrap_or(StatusCode::OK),
                message: source.to_string(),
                body_excerpt: excerpt(&body),
            },
        },
        GeneratedError::Custom(message) => Error::Auth { message },
    }
}

/// An error body of the type the operation declares (`()` when it declares none).
fn declared_error_body<E: serde::Serialize>(body: &E) -> (Option<RestError>, Option<String>) {
    match serde_json::to_value(body) {
        Ok(serde_json::Value::Null) | Err(_) => (None, None),
        Ok(value) => rest_error_or_excerpt(value),
    }
}

/// A JSON error body as a `RestError` when it is one (it has one of its fields: every field of
/// `RestError` is optional, so any object would decode), and otherwise as the start of its JSON.
fn rest_error_or_excerpt(value: serde_json::Value) -> (Option<RestError>, Option<String>) {
    let looks_like_rest_error = ["errorMessage", "errors", "statusCode"]
        .iter()
        .any(|field| value.get(field).is_some());
    if looks_like_rest_error {
        if let Ok(error) = serde_json::from_value::<RestError>(value.clone()) {
            return (Some(error), None);
        }
    }
    (None, Some(excerpt(value.to_string().as_bytes())))
}

/// Stops a call before it is sent: the typed error is kept in the call's record (the generated
/// code can only carry a message), and `send()` returns it.
pub(crate) fn refuse<E>(error: Error) -> GeneratedError<E> {
    let message = error.to_string();
    record(|call| call.error = Some(Box::new(error)));
    GeneratedError::Custom(message)
}
