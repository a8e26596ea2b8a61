//! The string `format`s the API document uses, checked as the client checks them before a request
//! is sent (and as `atlassian-csm-mock` checks what arrives): a value the document marks
//! `format: email` that is not an address is refused with the field that holds it, and nothing is
//! sent.
//!
//! ```
//! use atlassian_csm::formats;
//!
//! assert!(formats::is_email("ada@example.com"));
//! assert!(!formats::is_email("ada@"));
//! assert!(!formats::is_email(""));
//! assert_eq!(formats::conforms("email", "not an address"), Some(false));
//! assert_eq!(formats::conforms("a-format-of-tomorrow", "anything"), None);
//! ```

/// Whether `text` is in `format`; `None` for a format this client does not know, which it does
/// not check (as JSON Schema leaves unknown formats unchecked).
pub fn conforms(format: &str, text: &str) -> Option<bool> {
    match format {
        "email" => Some(is_email(text)),
        "date-time" => Some(is_date_time(text)),
        "uuid" => Some(is_uuid(text)),
        _ => None,
    }
}

/// Whether `text` is an email address as `format: email` means it: an RFC 5321 mailbox,
/// `local@domain`.
///
/// The local part is a dot-atom (letters, digits and ``!#$%&'*+-/=?^_`{|}~``, in runs separated
/// by single dots) or a quoted string, at most 64 bytes; the domain is a host name (labels of
/// letters, digits and inner hyphens, at most 63 bytes each) or an address literal (`[192.0.2.1]`,
/// `[IPv6:2001:db8::1]`); the whole at most 254 bytes. No spaces around it, no display name.
pub fn is_email(text: &str) -> bool {
    let Some((local, domain)) = text.rsplit_once('@') else {
        return false;
    };
    text.len() <= 254 && local_part(local) && (host_name(domain) || address_literal(domain))
}

fn local_part(local: &str) -> bool {
    if local.is_empty() || local.len() > 64 {
        return false;
    }
    if let Some(quoted) = local
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
    {
        let mut chars = quoted.chars();
        while let Some(c) = chars.next() {
            let printable = |c: char| (' '..='~').contains(&c);
            match c {
                '\\' if !chars.next().is_some_and(printable) => return false,
                '\\' => {}
                '"' => return false,
                c if !printable(c) => return false,
                _ => {}
            }
        }
        return true;
    }
    local.split('.').all(|atom| {
        !atom.is_empty()
            && atom
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c))
    })
}

/// A host name: dot-separated labels of 1 to 63 letters, digits and hyphens, neither first nor
/// last a hyphen; at most 253 bytes.
fn host_name(domain: &str) -> bool {
    !domain.is_empty()
        && domain.len() <= 253
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

fn address_literal(domain: &str) -> bool {
    let Some(inner) = domain
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
    else {
        return false;
    };
    match inner.strip_prefix("IPv6:") {
        Some(v6) => v6.parse::<std::net::Ipv6Addr>().is_ok(),
        None => inner.parse::<std::net::Ipv4Addr>().is_ok(),
    }
}

/// Whether `text` is an RFC 3339 date and time (`format: date-time`):
/// `2026-01-22T10:15:30.250Z`, `2026-01-22t10:15:30+01:00`.
pub fn is_date_time(text: &str) -> bool {
    let bytes = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = bytes.get(range)?;
        part.iter()
            .all(u8::is_ascii_digit)
            .then(|| part.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
    };
    let (Some(year), Some(month), Some(day)) = (digits(0..4), digits(5..7), digits(8..10)) else {
        return false;
    };
    let (Some(hour), Some(minute), Some(second)) = (digits(11..13), digits(14..16), digits(17..19))
    else {
        return false;
    };
    let separators = bytes.get(4) == Some(&b'-')
        && bytes.get(7) == Some(&b'-')
        && matches!(bytes.get(10), Some(b'T' | b't' | b' '))
        && bytes.get(13) == Some(&b':')
        && bytes.get(16) == Some(&b':');
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    if !separators || day == 0 || day > days || hour > 23 || minute > 59 || second > 60 {
        return false;
    }
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return false;
        }
        rest = &fraction[digits..];
    }
    match rest.as_bytes() {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => {
            let two = |a: u8, b: u8| {
                (a.is_ascii_digit() && b.is_ascii_digit()).then(|| (a - b'0') * 10 + (b - b'0'))
            };
            matches!((two(*h1, *h2), two(*m1, *m2)), (Some(h), Some(m)) if h <= 23 && m <= 59)
        }
        _ => false,
    }
}

/// Whether `text` is a UUID in its hyphenated form (`format: uuid`), any case.
pub fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(group, length)| {
            group.len() == length && group.chars().all(|c| c.is_ascii_hexdigit())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_told_from_what_only_looks_like_one() {
        for good in [
            "ada@example.com",
            "a@b",
            "first.last+tag@sub.example.co.uk",
            "!#$%&'*+-/=?^_`{|}~@example.com",
            "\"john doe\"@example.com",
            "\"a\\\"b\"@example.com",
            "x@[192.0.2.1]",
            "x@[IPv6:2001:db8::1]",
            "0@a-b.example",
        ] {
            assert!(is_email(good), "{good}");
        }
        let long_local = format!("{}@example.com", "a".repeat(65));
        let long_label = format!("a@{}.com", "b".repeat(64));
        let long_whole = format!("a@{}.com", vec!["b".repeat(60); 5].join("."));
        for bad in [
            "",
            "@",
            "ada",
            "ada@",
            "@example.com",
            "ada@@example.com",
            "a b@example.com",
            " ada@example.com",
            "ada@example.com ",
            "ada.@example.com",
            ".ada@example.com",
            "a..b@example.com",
            "ada@example..com",
            "ada@example.com.",
            "ada@-example.com",
            "ada@exa_mple.com",
            "ada@exämple.com",
            "Ada <ada@example.com>",
            "ada@[300.1.1.1]",
            "\"unclosed@example.com",
            "ada@example.com\n",
            &long_local,
            &long_label,
            &long_whole,
        ] {
            assert!(!is_email(bad), "{bad:?}");
        }
    }

    #[test]
    fn date_times_follow_rfc_3339() {
        for good in [
            "2026-01-22T10:15:30Z",
            "2026-01-22t10:15:30.250z",
            "2024-02-29T23:59:60+01:00",
            "2026-12-31T00:00:00-12:30",
        ] {
            assert!(is_date_time(good), "{good}");
        }
        for bad in [
            "",
            "2026-01-22",
            "2026-01-22T10:15Z",
            "2026-13-01T00:00:00Z",
            "2025-02-29T00:00:00Z",
            "2026-01-22T24:00:00Z",
            "2026-01-22T10:15:30",
            "2026-01-22T10:15:30.Z",
            "2026-01-22T10:15:30+0100",
            "2026-01-22T10:15:30+25:00",
        ] {
            assert!(!is_date_time(bad), "{bad}");
        }
    }

    #[test]
    fn uuids_and_unknown_formats() {
        assert!(is_uuid("3858a61a-d337-42e6-993e-e13e1c366d4f"));
        assert!(!is_uuid("3858a61a-d337-42e6-993e-e13e1c366d4"));
        assert!(!is_uuid("3858a61ad33742e6993ee13e1c366d4f"));
        assert_eq!(conforms("uuid", "x"), Some(false));
        assert_eq!(conforms("hostname", "x"), None);
    }
}
