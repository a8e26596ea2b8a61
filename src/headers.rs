//! The headers the client writes, and the one rule for what may go in any of them: visible ASCII,
//! with spaces and tabs only between words. `http` accepts bytes from 0x80 up as "opaque" values,
//! so a key or a token with non-ASCII characters would otherwise be sent as raw bytes that each
//! proxy and server reads its own way.

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use std::time::{Duration, SystemTime};

/// `X-ExperimentalApi`: experimental operations answer 412 without `opt-in`.
pub(crate) const EXPERIMENTAL_HEADER: HeaderName = HeaderName::from_static("x-experimentalapi");
/// `Idempotency-Key`: bulk operations answer 412 without one.
pub(crate) const IDEMPOTENCY_KEY_HEADER: HeaderName = HeaderName::from_static("idempotency-key");

/// Why `value` may not be sent in a header, if it may not: empty (where `required`), a character
/// that is not visible ASCII, or white space at either end.
pub(crate) fn refusal(value: &[u8], required: bool) -> Option<String> {
    if value.is_empty() {
        return required.then(|| "is empty".to_string());
    }
    // The common case, every byte visible ASCII or a space, in one pass the compiler vectorizes;
    // the byte at fault is looked for only when there is one.
    let plain = value.iter().all(|&byte| byte.wrapping_sub(0x20) < 0x5f);
    if plain && value[0] != b' ' && value[value.len() - 1] != b' ' {
        return None;
    }
    if let Some((at, byte)) = value
        .iter()
        .enumerate()
        .find(|(_, byte)| !matches!(byte, b' ' | b'\t' | 0x21..=0x7e))
    {
        let shown = match byte {
            0x80.. => "a character that is not ASCII".to_string(),
            _ => format!("the control character {:?}", char::from(*byte)),
        };
        return Some(format!(
            "holds {shown} at byte {at}: a header carries visible ASCII only"
        ));
    }
    if value.first().is_some_and(u8::is_ascii_whitespace)
        || value.last().is_some_and(u8::is_ascii_whitespace)
    {
        return Some("begins or ends with white space".to_string());
    }
    None
}

/// `text` as a header value, or why it cannot be one.
pub(crate) fn value(text: &str) -> Result<HeaderValue, String> {
    match refusal(text.as_bytes(), true) {
        Some(reason) => Err(reason),
        None => HeaderValue::from_str(text).map_err(|e| e.to_string()),
    }
}

/// The first header of `headers` that may not be sent, and why (every value the generated code
/// or a caller put there is checked, so no header is exempt).
pub(crate) fn first_refused(headers: &HeaderMap) -> Option<(&HeaderName, String)> {
    headers.iter().find_map(|(name, value)| {
        let required = *name == IDEMPOTENCY_KEY_HEADER;
        refusal(value.as_bytes(), required).map(|reason| (name, reason))
    })
}

/// A fresh UUID v4, generated once per logical call (before any retry) so every attempt of the
/// call carries the same key.
pub(crate) fn new_idempotency_key() -> HeaderValue {
    let mut buffer = uuid::Uuid::encode_buffer();
    let text = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut buffer);
    HeaderValue::from_str(text).expect("a UUID is a valid header value")
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
    fn only_visible_ascii_with_inner_spaces_passes() {
        assert_eq!(refusal(b"import-42 part 1", true), None);
        assert!(refusal("clé".as_bytes(), true)
            .unwrap()
            .contains("not ASCII"));
        assert!(refusal(b"a\x1bb", true).unwrap().contains("control"));
        assert!(refusal(b"a\rb", true).is_some());
        assert!(refusal(b"a\x7f", true).is_some());
        assert!(refusal(b" key", true).unwrap().contains("white space"));
        assert!(refusal(b"", true).unwrap().contains("empty"));
        assert_eq!(refusal(b"", false), None);
    }
}
