//! Path parameters confined to their segment: whatever an id holds (given by a caller, or taken
//! from a server's answer, like a task id), the server sees exactly one path segment.
//!
//! Every path parameter of every generated operation goes through [`segment`] (the build script
//! rewrites the generator's encoder, and fails if one is left), so a new operation needs no line
//! here.

use crate::error::Error;

/// The encoded segment for path parameter `name`, or the call refused before sending: an empty
/// value, `.` and `..` would drop or climb a segment, whatever the encoding, since URL parsers
/// resolve `.`/`..` (and `%2e`) segments. Everything but the characters a segment may hold
/// as they are (RFC 3986 `pchar` without `%`) is percent-encoded, `/`, `\`, `?`, `#` and `%`
/// included, so nothing can end the segment or be decoded into a dot segment.
// The generated code's own error type; the refusal itself is kept in the call's record.
#[allow(clippy::result_large_err)]
pub(crate) fn segment<E>(
    name: &'static str,
    value: &str,
) -> Result<String, progenitor_client::Error<E>> {
    if matches!(value, "" | "." | "..") {
        return Err(crate::call::refuse(Error::InvalidInput {
            field: crate::FieldPath::from(name),
            message: format!(
                "{value:?} is not an id: a path parameter may not be empty, `.` or `..`"
            ),
        }));
    }
    Ok(encode(value))
}

/// Percent-encodes every byte but unreserved characters, sub-delimiters, `:` and `@`.
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        let keep = byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&byte);
        if keep {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_can_leave_the_segment() {
        assert_eq!(
            encode("..\\..\\product\\p-victim"),
            "..%5C..%5Cproduct%5Cp-victim"
        );
        assert_eq!(encode("a/b?c#d%2e"), "a%2Fb%3Fc%23d%252e");
        assert_eq!(encode("Phone Number"), "Phone%20Number");
        assert_eq!(
            encode("qm:82a83bc1-d19a:a495e659"),
            "qm:82a83bc1-d19a:a495e659",
            "account ids keep their colons"
        );
        assert_eq!(encode("Région"), "R%C3%A9gion");
    }

    #[test]
    fn dot_segments_and_empty_ids_are_refused() {
        for value in ["", ".", ".."] {
            assert!(segment::<()>("customer_id", value).is_err(), "{value:?}");
        }
        assert_eq!(
            segment::<()>("customer_id", "...").ok().as_deref(),
            Some("...")
        );
    }
}
