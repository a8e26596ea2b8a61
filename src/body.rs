//! Reading an answer's body with a bound: a server (or a proxy) that sends more than any CSM
//! answer holds, with or without `Content-Length`, fails the call instead of filling memory.

use bytes::Bytes;
use http_body_util::BodyExt as _;
use reqwest::header::{HeaderMap, LOCATION};
use reqwest::StatusCode;

/// The most an answer of the API may hold unless the client is told otherwise: far more than any
/// CSM answer (a page of 100 products or profiles is well under 1 MiB).
pub(crate) const DEFAULT_MAX_RESPONSE_BYTES: u64 = 16 * 1024 * 1024;

/// The most a token or site-discovery answer may hold: such answers are a few hundred bytes.
pub(crate) const MAX_SMALL_ANSWER_BYTES: u64 = 1024 * 1024;

/// An answer's body decoded as JSON, with its status and headers: what
/// `ResponseValue::from_response` does, but the headers are moved out of the answer, not copied.
/// (Every generated `send_raw()` calls this: the build script rewrites the calls.)
pub(crate) async fn response_value<T: serde::de::DeserializeOwned, E>(
    mut response: reqwest::Response,
) -> Result<progenitor_client::ResponseValue<T>, progenitor_client::Error<E>> {
    use progenitor_client::Error;
    let status = response.status();
    let headers = std::mem::take(response.headers_mut());
    let full = response.bytes().await.map_err(Error::ResponseBodyError)?;
    let inner =
        serde_json::from_slice(&full).map_err(|e| Error::InvalidResponsePayload(full, e))?;
    Ok(progenitor_client::ResponseValue::new(
        inner, status, headers,
    ))
}

/// Why a body was not read whole.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// More than `limit` bytes: declared by `Content-Length` before reading, or seen while
    /// reading.
    TooLarge { seen: u64, limit: u64 },
    /// The connection failed while the body was read.
    Transport(reqwest::Error),
}

/// Reads `response`'s whole body, failing as soon as it holds more than `limit` bytes. At most
/// `limit` bytes and one network frame are ever held.
pub(crate) async fn read_bounded(
    response: reqwest::Response,
    limit: u64,
) -> Result<(http::response::Parts, Bytes), ReadError> {
    // What `Content-Length` declared, as the connection read it.
    let declared = response.content_length();
    if let Some(declared) = declared.filter(|declared| *declared > limit) {
        return Err(ReadError::TooLarge {
            seen: declared,
            limit,
        });
    }
    let (parts, mut body) = http::Response::<reqwest::Body>::from(response).into_parts();
    // Never trust the declared length for the allocation: it only bounds it.
    let mut buffer = Vec::with_capacity(declared.unwrap_or(0).min(64 * 1024) as usize);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(ReadError::Transport)?;
        if let Ok(data) = frame.into_data() {
            let seen = (buffer.len() + data.len()) as u64;
            if seen > limit {
                return Err(ReadError::TooLarge { seen, limit });
            }
            buffer.extend_from_slice(&data);
        }
    }
    Ok((parts, Bytes::from(buffer)))
}

/// The `Location` of a redirect answer, for an error that names where it pointed.
pub(crate) fn redirect_location(status: StatusCode, headers: &HeaderMap) -> Option<String> {
    if !status.is_redirection() {
        return None;
    }
    Some(
        headers
            .get(LOCATION)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("(no Location header)")
            .chars()
            .take(500)
            .collect(),
    )
}

/// A body that could not be read, in words.
pub(crate) fn describe(error: ReadError) -> String {
    match error {
        ReadError::TooLarge { seen, limit } => {
            format!("the answer holds more than {limit} bytes ({seen} seen)")
        }
        ReadError::Transport(error) => error.without_url().to_string(),
    }
}
