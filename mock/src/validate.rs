//! Request bodies checked against the corrected document's schemas (every documented limit:
//! required fields, item counts, string lengths, enum values, `format`s, and the rules the
//! document states in words, which its corrections write as assertions), with a JSON Schema
//! validator. Formats are checked as the client checks them (`atlassian_csm::formats`), so the
//! two never disagree on what an email address is.

use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// The corrected document the client is generated from.
pub(crate) fn document() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        serde_json::from_str(crate::DOCUMENT).expect("the corrected document is JSON")
    })
}

/// A JSON Schema for `reference` (`#/components/schemas/X`): the reference, with the document's
/// components beside it so every `$ref` resolves.
pub(crate) fn schema_for(reference: &str) -> Value {
    json!({"$ref": reference, "components": document()["components"]})
}

/// Every way `body` breaks the schema at `reference`, as `path: message` lines.
pub(crate) fn problems(reference: &'static str, body: &Value) -> Vec<String> {
    cached(reference, || schema_for(reference))
        .iter_errors(body)
        .map(|error| {
            let path = error.instance_path().to_string();
            if path.is_empty() {
                error.to_string()
            } else {
                format!("{path}: {error}")
            }
        })
        .collect()
}

/// A validator that checks `format` too, with the client's own checks for the formats it knows.
pub(crate) fn validator_options() -> jsonschema::ValidationOptions<'static> {
    jsonschema::options()
        .should_validate_formats(true)
        .with_format("email", atlassian_csm::formats::is_email)
        .with_format("date-time", atlassian_csm::formats::is_date_time)
        .with_format("uuid", atlassian_csm::formats::is_uuid)
}

/// Every way `value` breaks `schema` (a parameter's, as JSON), as messages.
pub(crate) fn value_problems(schema: &'static str, value: &Value) -> Vec<String> {
    cached(schema, || {
        let parsed: Value = serde_json::from_str(schema).unwrap_or(Value::Null);
        json!({"allOf": [parsed], "components": document()["components"]})
    })
    .iter_errors(value)
    .map(|e| e.to_string())
    .collect()
}

/// The validator of the schema `whole` builds, compiled once per `name` for the life of the
/// process (there is one per request and parameter schema of the document).
fn cached(name: &'static str, whole: impl FnOnce() -> Value) -> &'static jsonschema::Validator {
    static VALIDATORS: OnceLock<Mutex<HashMap<&'static str, &'static jsonschema::Validator>>> =
        OnceLock::new();
    let mut validators = VALIDATORS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let validator: &&'static jsonschema::Validator = validators.entry(name).or_insert_with(|| {
        let validator = validator_options()
            .build(&whole())
            .expect("the document's schemas compile");
        Box::leak(Box::new(validator))
    });
    validator
}
