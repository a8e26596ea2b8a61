//! Limits the API documents, checked before a request is sent.
//!
//! Item counts and string lengths come from the spec (`minItems`/`maxItems`,
//! `minLength`/`maxLength`, read at build time into `request_limits`): we check what we send, and
//! accept what we get (the generated types carry no length limits). The rules no schema can state are written here:
//! detail-field names (forbidden characters, reserved words, unique within one request) and the
//! 1000 detail operations one bulk request may carry across all its customers.

use crate::error::Error;
use crate::field_path::FieldPath;
use crate::generated::{request_assertions, request_limits, BodyAssertion, Condition, LimitKind};
use serde_json::Value;

tokio::task_local! {
    /// Set while a request built from checked records is sent: its body is not checked again.
    static CHECKED_BODIES: ();
}

/// Runs `send`, telling the request hook that its request bodies were built from checked
/// records.
pub(crate) async fn checked_bodies<F: std::future::Future>(send: F) -> F::Output {
    CHECKED_BODIES.scope((), send).await
}

/// Whether the request being sent was built from checked records.
pub(crate) fn body_is_checked() -> bool {
    CHECKED_BODIES.try_with(|_| ()).is_ok()
}

/// Detail operations one `bulk_update_customer_details` request may carry, counted across its
/// customers.
pub(crate) const MAX_DETAIL_OPERATIONS_PER_REQUEST: usize = 1000;

/// Characters a detail-field name may not contain.
pub(crate) const FORBIDDEN_NAME_CHARACTERS: [char; 6] = ['?', ':', ';', '.', '=', '“'];

/// Detail-field names that are reserved (case ignored).
pub(crate) const RESERVED_NAMES: [&str; 5] = ["name", "key", "created", "updated", "label"];

/// Checks a request body against every documented limit of its operation. An enum value the
/// spec does not list (`Unknown`) is refused unless `allow_unknown_values`.
pub(crate) fn check_request(
    method_name: &str,
    body: &[u8],
    allow_unknown_values: bool,
) -> Result<(), Error> {
    let limits = request_limits(method_name);
    let names = detail_field_names_at(method_name);
    let counts_operations = method_name == "bulk_update_customer_details";
    let asserts = !request_assertions(method_name).is_empty();
    if limits.is_empty() && names.is_none() && !counts_operations && !asserts {
        return Ok(());
    }
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return Ok(()); // not JSON: nothing of ours to check
    };
    check_value(method_name, &value, allow_unknown_values)
}

/// [`check_request`] on a parsed body.
pub(crate) fn check_value(
    method_name: &str,
    value: &Value,
    allow_unknown_values: bool,
) -> Result<(), Error> {
    for limit in request_limits(method_name) {
        if let LimitKind::OneOf(allowed) = limit.kind {
            if allow_unknown_values {
                continue;
            }
            for (field, text) in strings_at(value, limit.path, FieldPath::new()) {
                if !allowed.contains(&text) {
                    return Err(invalid(
                        field,
                        format!(
                            "{text:?} is not one of {} (a value newer than this client is sent \
                             only by a client built with `allow_unknown_enum_values`)",
                            allowed.join(", ")
                        ),
                    ));
                }
            }
            continue;
        }
        if let LimitKind::Format(format) = limit.kind {
            for (field, text) in strings_at(value, limit.path, FieldPath::new()) {
                if crate::formats::conforms(format, text) == Some(false) {
                    return Err(invalid(field, not_in_format(text, format)));
                }
            }
            continue;
        }
        let counted: Vec<(FieldPath, usize)> = match limit.kind {
            LimitKind::Items | LimitKind::OneOf(_) | LimitKind::Format(_) => {
                arrays_at(value, limit.path, FieldPath::new())
            }
            LimitKind::Chars => strings_at(value, limit.path, FieldPath::new())
                .into_iter()
                .map(|(field, text)| (field, text.chars().count()))
                .collect(),
        };
        let unit = match limit.kind {
            LimitKind::Chars => "characters",
            _ => "items",
        };
        for (field, count) in counted {
            if let Some(max) = limit.max.filter(|max| count > *max) {
                let scope = match limit.kind {
                    LimitKind::Chars => "",
                    _ => " per request",
                };
                return Err(invalid(
                    field,
                    format!("{count} {unit}; at most {max}{scope}"),
                ));
            }
            if let Some(min) = limit.min.filter(|min| count < *min) {
                return Err(invalid(field, format!("{count} {unit}; at least {min}")));
            }
        }
    }
    for assertion in request_assertions(method_name) {
        check_assertion(value, assertion)?;
    }
    if let Some(path) = detail_field_names_at(method_name) {
        check_detail_field_names(value, path)?;
    }
    if method_name == "bulk_update_customer_details" {
        let operations: usize = value["customers"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|customer| customer["operations"].as_array().map_or(0, Vec::len))
            .sum();
        if operations > MAX_DETAIL_OPERATIONS_PER_REQUEST {
            return Err(invalid(
                FieldPath::new().field("customers[]").field("operations"),
                format!(
                    "{operations} detail operations; at most {MAX_DETAIL_OPERATIONS_PER_REQUEST} per request, counted across customers"
                ),
            ));
        }
    }
    Ok(())
}

/// Where an operation's body holds detail-field names being created or renamed.
fn detail_field_names_at(method_name: &str) -> Option<&'static [&'static str]> {
    match method_name {
        "create_customer_detail"
        | "create_organization_detail"
        | "create_entitlement_detail"
        | "update_field_for_customers"
        | "update_field_for_organizations"
        | "update_field_for_entitlements" => Some(&["name"]),
        "bulk_create_customer_detail_fields" | "bulk_create_organization_detail_fields" => {
            Some(&["detailFields", "[]", "name"])
        }
        _ => None,
    }
}

fn invalid(field: FieldPath, message: String) -> Error {
    Error::InvalidInput { field, message }
}

/// Why `text` is not in `format`, quoting at most 100 characters of it.
fn not_in_format(text: &str, format: &str) -> String {
    let what = match format {
        "email" => "an email address",
        "date-time" => "an RFC 3339 date and time",
        "uuid" => "a UUID",
        other => other,
    };
    let shown: String = text.chars().take(100).collect();
    let cut = if shown.len() < text.len() { "…" } else { "" };
    if text.is_empty() {
        format!("an empty value is not {what} (`format: {format}`)")
    } else {
        format!("{shown:?}{cut} is not {what} (`format: {format}`)")
    }
}

/// A rule the document states in words (an assertion): every object at its path meets one of
/// its branches. The error names the missing field when only one would do.
fn check_assertion(value: &Value, assertion: &BodyAssertion) -> Result<(), Error> {
    for (field, object) in values_at(value, assertion.path, FieldPath::new()) {
        if !object.is_object() {
            continue; // the shape is the generated types' business
        }
        let holds = assertion
            .any_of
            .iter()
            .any(|branch| branch.iter().all(|condition| meets(object, condition)));
        if !holds {
            let named = missing_field(object, assertion.any_of)
                .map_or(field.clone(), |missing| missing.under(field.clone()));
            return Err(invalid(named, assertion.message.to_string()));
        }
    }
    Ok(())
}

fn meets(value: &Value, condition: &Condition) -> bool {
    match condition {
        Condition::Required(name) => value.get(*name).is_some_and(|v| !v.is_null()),
        Condition::OneOf(values) => value.as_str().is_some_and(|text| values.contains(&text)),
        Condition::Not(inner) => !inner.iter().all(|c| meets(value, c)),
        Condition::Property(name, inner) => match value.get(*name) {
            Some(child) => inner.iter().all(|c| meets(child, c)),
            None => true,
        },
    }
}

/// The one field whose absence broke an assertion, when exactly one branch asks for fields and
/// it asks for one: `payload.email` for "to create a customer, email must be provided".
fn missing_field(object: &Value, any_of: &[&[Condition]]) -> Option<FieldPath> {
    fn required(
        value: &Value,
        conditions: &[Condition],
        path: &FieldPath,
        out: &mut Vec<FieldPath>,
    ) {
        for condition in conditions {
            match condition {
                Condition::Required(name) if value.get(*name).is_none_or(Value::is_null) => {
                    out.push(path.clone().field(*name));
                }
                Condition::Property(name, inner) => {
                    if let Some(child) = value.get(*name) {
                        required(child, inner, &path.clone().field(*name), out);
                    }
                }
                _ => {}
            }
        }
    }
    let mut asking: Vec<Vec<FieldPath>> = any_of
        .iter()
        .map(|branch| {
            let mut missing = Vec::new();
            required(object, branch, &FieldPath::new(), &mut missing);
            missing
        })
        .filter(|missing| !missing.is_empty())
        .collect();
    match (asking.len(), asking.first().map(Vec::len)) {
        (1, Some(1)) => asking.pop().and_then(|mut fields| fields.pop()),
        _ => None,
    }
}

/// Every value at `path` in `value`, with its concrete field path (`[]` steps into each item).
fn values_at<'a>(value: &'a Value, path: &[&str], field: FieldPath) -> Vec<(FieldPath, &'a Value)> {
    match path.split_first() {
        None => vec![(field, value)],
        Some((&"[]", rest)) => value
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
            .flat_map(|(index, item)| values_at(item, rest, field.clone().index(index)))
            .collect(),
        Some((name, rest)) => match value.get(*name) {
            Some(child) => values_at(child, rest, field.field(*name)),
            None => Vec::new(),
        },
    }
}

/// Every array at `path` in `value`, with its concrete field path and length.
fn arrays_at(value: &Value, path: &[&str], field: FieldPath) -> Vec<(FieldPath, usize)> {
    values_at(value, path, field)
        .into_iter()
        .filter_map(|(field, value)| value.as_array().map(|items| (field, items.len())))
        .collect()
}

/// Every string at `path` in `value`, with its concrete field path.
fn strings_at<'a>(value: &'a Value, path: &[&str], field: FieldPath) -> Vec<(FieldPath, &'a str)> {
    values_at(value, path, field)
        .into_iter()
        .filter_map(|(field, value)| value.as_str().map(|text| (field, text)))
        .collect()
}

/// A detail-field name is 2–255 characters, has none of `? : ; . = “`, is not a reserved word,
/// and appears once per request (case ignored, trimmed).
pub(crate) fn check_detail_field_names(value: &Value, path: &[&str]) -> Result<(), Error> {
    let mut seen: Vec<(FieldPath, String)> = Vec::new();
    for (field, name) in strings_at(value, path, FieldPath::new()) {
        let length = name.chars().count();
        if !(2..=255).contains(&length) {
            return Err(invalid(
                field,
                format!("{name:?} has {length} characters; 2 to 255 allowed"),
            ));
        }
        if let Some(c) = name.chars().find(|c| FORBIDDEN_NAME_CHARACTERS.contains(c)) {
            return Err(invalid(
                field,
                format!("{name:?} contains {c:?}, which names may not contain"),
            ));
        }
        let normalized = name.trim().to_lowercase();
        if RESERVED_NAMES.contains(&normalized.as_str()) {
            return Err(invalid(field, format!("{name:?} is a reserved name")));
        }
        if let Some((first, _)) = seen.iter().find(|(_, seen)| *seen == normalized) {
            return Err(invalid(
                field,
                format!("{name:?} repeats the name at {first} (names are unique, case ignored)"),
            ));
        }
        seen.push((field, normalized));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field_of(result: Result<(), Error>) -> String {
        match result {
            Err(Error::InvalidInput { field, .. }) => field.to_string(),
            other => panic!("expected invalid input, got {other:?}"),
        }
    }

    #[test]
    fn item_counts_from_the_spec_are_checked_with_the_field_and_record() {
        let profiles: Vec<_> = (0..101).map(|i| json!({"operationType": "UPSERT", "payload": {"email": format!("{i}@example.com")}})).collect();
        let body = json!({"customerProfiles": profiles});
        assert_eq!(
            field_of(check_value(
                "bulk_manage_multiple_customer_profiles",
                &body,
                false
            )),
            "customerProfiles"
        );

        let too_many_orgs = json!({"customerProfiles": [
            {"operationType": "UPSERT", "payload": {"email": "a@example.com"}},
            {"operationType": "UPSERT", "payload": {"email": "b@example.com", "associateOrganizations": {"organizationIds": [1, 2, 3, 4, 5, 6]}}}
        ]});
        assert_eq!(
            field_of(check_value(
                "bulk_manage_multiple_customer_profiles",
                &too_many_orgs,
                false
            )),
            "customerProfiles[1].payload.associateOrganizations.organizationIds"
        );
        let fetch = json!({"customerIds": vec!["qm:a:b"; 26]});
        assert_eq!(
            field_of(check_value("get_multiple_customer_profiles", &fetch, false)),
            "customerIds"
        );
        let ok = json!({"customerIds": vec!["qm:a:b"; 25]});
        assert!(check_value("get_multiple_customer_profiles", &ok, false).is_ok());
    }

    #[test]
    fn detail_operations_are_counted_across_customers() {
        let customer = |n: usize| json!({"customerId": "qm:a:b", "operations": vec![json!({"operationType": "DELETE", "payload": {"name": "Region"}}); n]});
        let at_limit = json!({"customers": [customer(600), customer(400)]});
        assert!(check_value("bulk_update_customer_details", &at_limit, false).is_ok());
        let over = json!({"customers": [customer(600), customer(401)]});
        assert_eq!(
            field_of(check_value("bulk_update_customer_details", &over, false)),
            "customers[].operations"
        );
    }

    #[test]
    fn detail_field_names_follow_the_documented_rules() {
        for bad in [
            "R",
            "Re:gion",
            "Region.",
            "a=b",
            "“quoted",
            "Name",
            " KEY ",
            "label",
        ] {
            let body = json!({"name": bad, "type": {"name": "TEXT"}});
            assert_eq!(
                field_of(check_value("create_customer_detail", &body, false)),
                "name",
                "{bad}"
            );
        }
        assert!(check_value("create_customer_detail", &json!({"name": "Region"}), false).is_ok());
        let repeated =
            json!({"detailFields": [{"name": "Region"}, {"name": "Tier"}, {"name": " region "}]});
        assert_eq!(
            field_of(check_value(
                "bulk_create_customer_detail_fields",
                &repeated,
                false
            )),
            "detailFields[2].name"
        );
    }
}
