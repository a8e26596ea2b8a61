//! One logical call: what its attempts saw, and the conversion of its result into [`Error`].
//!
//! The generated `send()` runs the generated request inside [`send`], which opens a task-local
//! record. The hooks write into it (attempts, the last status and headers, a typed error) so the
//! final error keeps what the generated code alone would lose, such as the status of a response
//! whose body is not JSON.

use crate::error::Error;
use crate::{ApiError, Client};
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use std::cell::RefCell;
use std::future::Future;
use std::time::Duration;

/// What the attempts of one call saw.
#[derive(Debug, Default)]
pub(crate) struct CallRecord {
    pub attempts: u32,
    /// The per-attempt timeout, to report when an attempt timed out.
    pub attempt_timeout: Duration,
    pub status: Option<StatusCode>,
    pub headers: HeaderMap,
    /// A typed error raised by a hook (e.g. the token could not be renewed).
    pub error: Option<Error>,
}

tokio::task_local! {
    static CALL: RefCell<CallRecord>;
}

/// Updates the current call's record; does nothing outside a call.
pub(crate) fn record(update: impl FnOnce(&mut CallRecord)) {
    let _ = CALL.try_with(|call| update(&mut call.borrow_mut()));
}

/// Runs one generated call within the client's overall timeout and turns its error into [`Error`].
pub(crate) async fn send<T>(
    client: &Client,
    operation: &'static str,
    call: impl Future<Output = Result<T, ApiError>>,
) -> Result<T, Error> {
    let overall = client.inner.call_timeout;
    let start = CallRecord {
        attempt_timeout: client.inner.attempt_timeout,
        ..CallRecord::default()
    };
    // Boxed once, so the generated call's large state is not copied by the wrappers around it.
    let call = Box::pin(call);
    let recorded = CALL.scope(RefCell::new(start), async {
        let result = call.await;
        (result, CALL.with(|call| call.take()))
    });
    match tokio::time::timeout(overall, recorded).await {
        Err(_) => Err(Error::Timeout {
            operation,
            after: overall,
        }),
        Ok((Ok(value), _)) => Ok(value),
        Ok((Err(error), record)) => Err(Error::from_call(operation, error, record).await),
    }
}
