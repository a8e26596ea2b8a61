//! Reading an answer's body with a bound: a server (or a proxy) that sends more than any CSM
//! answer holds, with or without `Content-Length`, fails the call instead of filling memory.

use bytes::Bytes;
use http_body_util::BodyExt as _;
use reqwest::header::{HeaderMap, CONTENT_LENGTH, LOCATION};
use reqwest::StatusCode;

/// The most an answer of the API may hold unless the client is told otherwise: far more than any
/// CSM answer (a page of 100 products or profiles is well under 1 MiB).
pub(crate) const DEFAULT_MAX_RESPONSE_BYTES: u64 = 16 * 1024 * 1024;

/// The most a token or site-discovery answer may hold: such answers are a few hundred bytes.
pub(crate) const MAX_SMALL_ANSWER_BYTES: u64 = 1024 * 1024;

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
    let declared = declared_length(response.headers());
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

fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
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
