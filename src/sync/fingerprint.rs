//! The fingerprint of a record's content: a hash of its canonical JSON, so that two records that
//! say the same thing have the same fingerprint however they were written.
//!
//! Canonical means: object keys in sorted order, no white space, `null` members left out (an
//! absent optional field and a `null` one say the same), and **every array sorted** by its
//! elements' canonical text. Every list in the records a sync sends is a set: detail values
//! (`["Gold", "EU"]` and `["EU", "Gold"]` set the same multi-select value), a profile's details
//! (one per field name), the organization, product and customer ids to associate. Repeated
//! elements are kept, so `["a", "a"]` and `["a"]` differ.

use serde_json::Value;

/// The namespace of fingerprints (a fixed random UUID), so they never equal another UUID v5 the
/// crate derives, such as idempotency keys.
const NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x5c1e_61a0_2b7d_4e3f_9a51_8d0c_e4f2_7b16);

/// The fingerprint of `content`: 32 hexadecimal digits (a UUID v5, SHA-1 based, of its canonical
/// JSON).
pub(crate) fn fingerprint(content: &Value) -> String {
    let mut text = Vec::with_capacity(256);
    write_canonical(content, &mut text);
    uuid::Uuid::new_v5(&NAMESPACE, &text).simple().to_string()
}

fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(members) => {
            let mut members: Vec<(&String, &Value)> =
                members.iter().filter(|(_, v)| !v.is_null()).collect();
            members.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push(b'{');
            for (position, (key, member)) in members.into_iter().enumerate() {
                if position > 0 {
                    out.push(b',');
                }
                serde_json::to_writer(&mut *out, key).expect("strings serialize");
                out.push(b':');
                write_canonical(member, out);
            }
            out.push(b'}');
        }
        // Nothing to sort (the common case): written in place.
        Value::Array(elements) if elements.len() < 2 => {
            out.push(b'[');
            if let Some(element) = elements.first() {
                write_canonical(element, out);
            }
            out.push(b']');
        }
        Value::Array(elements) => {
            let mut texts: Vec<Vec<u8>> = elements
                .iter()
                .map(|element| {
                    let mut text = Vec::new();
                    write_canonical(element, &mut text);
                    text
                })
                .collect();
            texts.sort_unstable();
            out.push(b'[');
            for (position, text) in texts.iter().enumerate() {
                if position > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(text);
            }
            out.push(b']');
        }
        scalar => serde_json::to_writer(&mut *out, scalar).expect("scalars serialize"),
    }
}

#[cfg(test)]
mod tests {
    use super::fingerprint;
    use serde_json::json;

    #[test]
    fn key_order_nulls_and_set_order_do_not_matter() {
        let a = json!({"email": "a@x.io", "details": [
            {"name": "Plan", "values": ["Pro", "EU"]}, {"name": "Tier", "values": ["1"]}
        ]});
        let b = json!({"details": [
            {"values": ["1"], "name": "Tier"}, {"values": ["EU", "Pro"], "name": "Plan"}
        ], "displayName": null, "email": "a@x.io"});
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_eq!(fingerprint(&a).len(), 32);
    }

    #[test]
    fn any_change_of_a_value_or_a_repeat_changes_it() {
        let base = json!({"email": "a@x.io", "values": ["a"]});
        assert_ne!(
            fingerprint(&base),
            fingerprint(&json!({"email": "a@x.io", "values": ["b"]}))
        );
        assert_ne!(
            fingerprint(&base),
            fingerprint(&json!({"email": "a@x.io", "values": ["a", "a"]}))
        );
        assert_ne!(
            fingerprint(&base),
            fingerprint(&json!({"email": "A@x.io", "values": ["a"]}))
        );
    }
}
