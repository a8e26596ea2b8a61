//! The fake against its document, with requests generated from it: for every operation, a request
//! built from its schemas (every property, the first enum value, a valid email…), then every
//! invalid variant of a valid request the schemas imply (each required property removed, each
//! property of the wrong type, each length, count, format and enum broken, each rule the document
//! states in words broken), wrong query parameters and missing or invalid headers. Every answer
//! must carry a status the document lists for the operation, with the body it documents; every
//! invalid request must be refused with `400` and the API's error body; no answer is a 5xx.
//!
//! A JSON Schema validator reading the same document (formats checked as the client checks them)
//! is the judge of what is valid, so a variant that stays valid is not counted as invalid.

mod support;

use atlassian_csm_mock::FakeCsm;
use serde_json::{json, Value};
use support::*;

/// The document's judgement of a body: the validator the document implies (one per schema).
fn is_valid(doc: &Value, schema: &Value, body: &Value) -> bool {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static VALIDATORS: OnceLock<Mutex<HashMap<String, jsonschema::Validator>>> = OnceLock::new();
    let mut validators = VALIDATORS.get_or_init(Default::default).lock().unwrap();
    let validator = validators.entry(schema.to_string()).or_insert_with(|| {
        let mut whole = json!({"allOf": [schema]});
        whole["components"] = doc["components"].clone();
        jsonschema::options()
            .should_validate_formats(true)
            .with_format("email", atlassian_csm::formats::is_email)
            .build(&whole)
            .expect("the document's schemas compile")
    });
    validator.is_valid(body)
}

const ALL_HEADERS: [(&str, &str); 3] = [
    ("authorization", "Bearer t"),
    ("x-experimentalapi", "opt-in"),
    ("idempotency-key", "conformance-key"),
];

/// The path of an operation with the demo site's ids, and its required query parameters.
fn concrete(path: &str, site: &Site) -> String {
    let mut concrete = path.to_string();
    while let Some(start) = concrete.find('{') {
        let end = concrete[start..].find('}').unwrap() + start;
        let name = concrete[start + 1..end].to_string();
        concrete.replace_range(start..=end, &parameter(&name, path, site, true));
    }
    concrete
}

fn required_query(id: &str) -> &'static str {
    match id {
        "update-field-value-for-customer" => "fieldName=Plan",
        "update-field-value-for-organizations" => "fieldName=Tier",
        "update-field-value-for-entitlement" => "fieldName=Seats",
        _ => "",
    }
}

/// A value for `schema` built from the document alone: every property, one item per array, the
/// first enum value, a valid email, the example where it fits.
fn generate(doc: &Value, schema: &Value, depth: usize) -> Value {
    let schema = resolve(doc, schema);
    if let Some(first) = schema["oneOf"].as_array().and_then(|all| all.first()) {
        return generate(doc, first, depth + 1);
    }
    match schema["type"].as_str() {
        Some("string") => {
            if let Some(first) = schema["enum"].as_array().and_then(|v| v.first()) {
                return first.clone();
            }
            if schema["format"] == "email" {
                return json!("ada@example.com");
            }
            if schema["format"] == "date-time" {
                return json!("2026-01-22T10:15:30Z");
            }
            let fits = |text: &str| {
                let length = text.chars().count() as u64;
                schema["maxLength"].as_u64().is_none_or(|max| length <= max)
                    && schema["minLength"].as_u64().is_none_or(|min| length >= min)
            };
            match schema["example"].as_str() {
                Some(example) if fits(example) => json!(example),
                _ => json!("Generated"),
            }
        }
        Some("integer") => json!(schema["example"].as_i64().unwrap_or(1)),
        Some("number") => json!(1.5),
        Some("boolean") => json!(true),
        Some("array") if depth < 8 => json!([generate(doc, &schema["items"], depth + 1)]),
        Some("array") => json!([]),
        _ => {
            let mut object = serde_json::Map::new();
            if depth < 8 {
                for (name, property) in schema["properties"].as_object().into_iter().flatten() {
                    object.insert(name.clone(), generate(doc, property, depth + 1));
                }
            }
            Value::Object(object)
        }
    }
}

/// One change to a request body, at a JSON pointer.
#[derive(Clone, Debug)]
enum Change {
    Remove(String),
    Replace(String, Value),
}

fn apply(body: &Value, changes: &[Change]) -> Value {
    let mut body = body.clone();
    for change in changes {
        match change {
            Change::Remove(pointer) => {
                let (parent, name) = pointer.rsplit_once('/').unwrap();
                if let Some(object) = body.pointer_mut(parent).and_then(Value::as_object_mut) {
                    object.remove(name);
                }
            }
            Change::Replace(pointer, value) => {
                if let Some(slot) = body.pointer_mut(pointer) {
                    *slot = value.clone();
                }
            }
        }
    }
    body
}

/// A value of a type other than `schema`'s.
fn wrong_type(doc: &Value, schema: &Value) -> Value {
    match resolve(doc, schema)["type"].as_str() {
        Some("string") => json!(12345),
        Some("array") => json!("not a list"),
        Some("object") => json!([1]),
        _ => json!("not a number"),
    }
}

/// Every invalid variant of `value` (valid for `schema`) the schema implies, as the changes that
/// make it, with what each breaks.
fn variants(
    doc: &Value,
    schema: &Value,
    value: &Value,
    at: &str,
    out: &mut Vec<(String, Vec<Change>)>,
) {
    let schema = resolve(doc, schema);
    match value {
        Value::Object(object) => {
            for name in schema["required"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if object.contains_key(name) {
                    out.push((
                        format!("{at}/{name} removed"),
                        vec![Change::Remove(format!("{at}/{name}"))],
                    ));
                }
            }
            for (name, property) in schema["properties"].as_object().into_iter().flatten() {
                if let Some(child) = object.get(name) {
                    let pointer = format!("{at}/{name}");
                    out.push((
                        format!("{pointer} of the wrong type"),
                        vec![Change::Replace(pointer.clone(), wrong_type(doc, property))],
                    ));
                    variants(doc, property, child, &pointer, out);
                }
            }
            for member in schema["allOf"].as_array().into_iter().flatten() {
                if member.get("anyOf").is_some() {
                    let mut changes = Vec::new();
                    for branch in member["anyOf"].as_array().into_iter().flatten() {
                        breaking(branch, at, &mut changes);
                    }
                    let rule = member["description"].as_str().unwrap_or("a rule");
                    out.push((format!("{at}: {rule:?} broken"), changes));
                } else {
                    variants(doc, member, value, at, out);
                }
            }
        }
        Value::Array(items) => {
            if let Some(max) = schema["maxItems"].as_u64() {
                if let Some(first) = items.first() {
                    let many = vec![first.clone(); max as usize + 1];
                    out.push((
                        format!("{at} over {max} items"),
                        vec![Change::Replace(at.into(), json!(many))],
                    ));
                }
            }
            if let Some(min) = schema["minItems"].as_u64().filter(|min| *min >= 1) {
                let few: Vec<Value> = items.iter().take(min as usize - 1).cloned().collect();
                out.push((
                    format!("{at} under {min} items"),
                    vec![Change::Replace(at.into(), json!(few))],
                ));
            }
            if let Some(first) = items.first() {
                variants(doc, &schema["items"], first, &format!("{at}/0"), out);
            }
        }
        Value::String(_) => {
            let mut replace = |what: String, value: Value| {
                out.push((
                    format!("{at} {what}"),
                    vec![Change::Replace(at.into(), value)],
                ));
            };
            if let Some(max) = schema["maxLength"].as_u64() {
                replace(
                    format!("over {max} characters"),
                    json!("x".repeat(max as usize + 1)),
                );
            }
            if let Some(min) = schema["minLength"].as_u64().filter(|min| *min >= 1) {
                replace(
                    format!("under {min} characters"),
                    json!("x".repeat(min as usize - 1)),
                );
            }
            if schema["format"] == "email" {
                for bad in ["", "not-an-address", "ada@", "a b@example.com"] {
                    replace(format!("{bad:?} as an email"), json!(bad));
                }
            }
            if schema.get("enum").is_some() {
                replace("not one of its values".into(), json!("NOT_A_VALUE"));
            }
        }
        _ => {}
    }
}

/// The changes that break a condition of an assertion's branch: what it requires removed, what
/// it forbids set.
fn breaking(branch: &Value, at: &str, changes: &mut Vec<Change>) {
    for name in branch["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        changes.push(Change::Remove(format!("{at}/{name}")));
    }
    for (name, inner) in branch["properties"].as_object().into_iter().flatten() {
        let pointer = format!("{at}/{name}");
        if let Some(first) = inner.pointer("/not/enum/0") {
            changes.push(Change::Replace(pointer.clone(), first.clone()));
        }
        breaking(inner, &pointer, changes);
    }
}

/// Checks an answer against the document and the fake's error shape.
fn refused_as_documented(
    doc: &Value,
    operation: &Value,
    id: &str,
    what: &str,
    expected: u16,
    (status, body): (u16, Value),
) {
    assert_eq!(status, expected, "{id}, {what}: {body}");
    assert_eq!(
        body["errors"],
        json!([error_key(expected)]),
        "{id}, {what}: {body}"
    );
    assert_conforms(doc, operation, id, status, &body);
}

fn error_key(status: u16) -> &'static str {
    match status {
        400 => "BAD_REQUEST",
        401 => "UNAUTHORIZED",
        412 => "PRECONDITION_FAILED",
        _ => unreachable!("no other refusal is generated"),
    }
}

#[tokio::test]
async fn every_generated_request_is_answered_as_the_document_says() {
    let doc = document();
    let (mut operations, mut invalid_bodies, mut skipped_as_valid) = (0, 0, 0);
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if method == "parameters" {
                continue;
            }
            operations += 1;
            let id = operation["operationId"].as_str().unwrap();
            let method = method.to_uppercase();
            let (fake, site) = demo_site().await;
            let query = required_query(id);
            let target = format!("{}?{query}", concrete(path, &site));
            let schema = operation.pointer("/requestBody/content/application~1json/schema");
            let valid = schema.map(|schema| {
                let reference = schema["$ref"].as_str().unwrap();
                body(id, reference, &site)
            });

            // Built from the schemas alone: a status the document lists, never a 5xx.
            if let Some(schema) = schema {
                let generated = generate(&doc, schema, 0);
                if is_valid(&doc, schema, &generated) {
                    let (status, answer) =
                        send(&fake, &method, &target, &ALL_HEADERS, Some(&generated)).await;
                    assert!(status < 500, "{id}: {status} {answer}");
                    assert_conforms(&doc, operation, id, status, &answer);
                }
            }

            // Every invalid variant of a valid body: 400.
            if let (Some(schema), Some(valid)) = (schema, &valid) {
                assert!(
                    is_valid(&doc, schema, valid),
                    "{id}: the valid body is not: {valid}"
                );
                let mut found = Vec::new();
                variants(&doc, schema, valid, "", &mut found);
                for (what, changes) in found {
                    let variant = apply(valid, &changes);
                    if is_valid(&doc, schema, &variant) {
                        skipped_as_valid += 1;
                        continue;
                    }
                    invalid_bodies += 1;
                    let answer = send(&fake, &method, &target, &ALL_HEADERS, Some(&variant)).await;
                    refused_as_documented(&doc, operation, id, &what, 400, answer);
                }
            }

            // Query parameters of the wrong type, or missing when required.
            let parameters = operation["parameters"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for parameter in parameters.iter().map(|p| resolve(&doc, p)) {
                if parameter["in"] != "query" {
                    continue;
                }
                let name = parameter["name"].as_str().unwrap();
                let base = concrete(path, &site);
                if parameter["required"] == true {
                    let answer = send(&fake, &method, &base, &ALL_HEADERS, valid.as_ref()).await;
                    refused_as_documented(
                        &doc,
                        operation,
                        id,
                        &format!("{name} missing"),
                        400,
                        answer,
                    );
                }
                if resolve(&doc, &parameter["schema"])["type"] == "integer" {
                    for bad in ["abc", "null", "1.5", ""] {
                        let target = format!("{base}?{name}={bad}&{query}");
                        let answer =
                            send(&fake, &method, &target, &ALL_HEADERS, valid.as_ref()).await;
                        refused_as_documented(
                            &doc,
                            operation,
                            id,
                            &format!("{name}={bad}"),
                            400,
                            answer,
                        );
                    }
                }
            }

            // Headers: credentials, the experimental opt-in, the idempotency key.
            let without = |name: &str| -> Vec<(&str, &str)> {
                ALL_HEADERS
                    .iter()
                    .filter(|(n, _)| *n != name)
                    .copied()
                    .collect()
            };
            let answer = send(
                &fake,
                &method,
                &target,
                &without("authorization"),
                valid.as_ref(),
            )
            .await;
            refused_as_documented(&doc, operation, id, "no credentials", 401, answer);
            if operation["x-experimental"] == true {
                let answer = send(
                    &fake,
                    &method,
                    &target,
                    &without("x-experimentalapi"),
                    valid.as_ref(),
                )
                .await;
                refused_as_documented(&doc, operation, id, "no opt-in", 412, answer);
            }
            let keyed = parameters
                .iter()
                .any(|p| resolve(&doc, p)["name"] == "Idempotency-Key");
            if keyed {
                let answer = send(
                    &fake,
                    &method,
                    &target,
                    &without("idempotency-key"),
                    valid.as_ref(),
                )
                .await;
                refused_as_documented(&doc, operation, id, "no key", 412, answer);
                for bad in [String::new(), "k".repeat(101)] {
                    let mut headers = without("idempotency-key");
                    headers.push(("idempotency-key", &bad));
                    let answer = send(&fake, &method, &target, &headers, valid.as_ref()).await;
                    refused_as_documented(
                        &doc,
                        operation,
                        id,
                        &format!("a key of {} characters", bad.len()),
                        400,
                        answer,
                    );
                }
            }
            assert!(
                fake.requests().iter().all(|r| r.status < 500),
                "{id}: a server error"
            );
        }
    }
    assert_eq!(operations, 54, "every operation of the corrected document");
    assert!(
        invalid_bodies >= 250,
        "{invalid_bodies} invalid bodies tried"
    );
    println!("{operations} operations, {invalid_bodies} invalid bodies refused, {skipped_as_valid} variants still valid");
}

#[tokio::test]
async fn a_method_no_operation_of_a_path_serves_is_not_allowed() {
    let fake = FakeCsm::start().await.unwrap();
    let response = support::http()
        .patch(format!("{}/api/v1/product/p-1", fake.base_url()))
        .header("authorization", "Bearer t")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 405);
    assert_eq!(response.headers()["allow"], "DELETE, GET, PUT");
}
