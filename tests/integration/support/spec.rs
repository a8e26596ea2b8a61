//! The corrected spec the client was generated from, and the examples it documents.

use serde_json::{Map, Value};
use std::sync::OnceLock;

/// The corrected spec, exactly as the build script generated the client from it.
pub fn spec() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| {
        serde_json::from_str(include_str!(concat!(
            env!("OUT_DIR"),
            "/csm.corrected.json"
        )))
        .expect("the corrected spec is JSON")
    })
}

pub use atlassian_csm_spec::openapi::Operation;

/// Every operation in the corrected spec.
pub fn operations() -> Vec<Operation<'static>> {
    atlassian_csm_spec::openapi::operations(spec()).collect()
}

/// The operation whose client method is `method_name` (snake case).
pub fn operation(method_name: &str) -> Operation<'static> {
    operations()
        .into_iter()
        .find(|op| op.method_name() == method_name)
        .unwrap_or_else(|| panic!("no operation `{method_name}` in the spec"))
}

/// Follows `$ref`s (schemas and responses) to the definition they name.
pub fn resolve(value: &'static Value) -> &'static Value {
    let target = atlassian_csm_spec::openapi::resolve(spec(), value);
    if let Some(reference) = target.get("$ref") {
        panic!("dangling {reference}");
    }
    target
}

/// An example value for `schema`, built from the examples the spec gives: an `example` where the
/// schema has one, otherwise assembled from its properties or items.
pub fn example(schema: &'static Value) -> Value {
    let schema = resolve(schema);
    if let Some(example) = schema.get("example") {
        return example.clone();
    }
    // An object with properties is assembled from them: its `allOf` holds only the rules the
    // document states in words (assertions), which examples meet by their own values.
    let composed = schema.get("properties").is_none();
    if let Some(first) = schema["allOf"].as_array().and_then(|all| all.first()) {
        if composed {
            return example(first);
        }
    }
    if let Some(first) = schema["oneOf"].as_array().and_then(|all| all.first()) {
        return example(first);
    }
    match schema["type"].as_str() {
        Some("array") => Value::Array(vec![example(&schema["items"])]),
        Some("string") => match schema["enum"].as_array() {
            Some(values) => values[0].clone(),
            None if schema["format"] == "date-time" => "2025-01-15T11:12:13Z".into(),
            None if schema["format"] == "email" => "ada@example.com".into(),
            None => "text".into(),
        },
        Some("integer") | Some("number") => 1.into(),
        Some("boolean") => true.into(),
        _ => {
            let mut object = Map::new();
            for (name, property) in schema["properties"].as_object().into_iter().flatten() {
                object.insert(name.clone(), example(property));
            }
            Value::Object(object)
        }
    }
}

/// The JSON body example of an operation's request, if it takes one.
pub fn request_example(method_name: &str) -> Option<Value> {
    operation(method_name).request_schema().map(example)
}

/// The success status an operation's mock answers with, and its body example (None: no body).
pub fn success_example(method_name: &str) -> (u16, Option<Value>) {
    let op = operation(method_name);
    let responses = op.definition["responses"].as_object().unwrap();
    let (code, response) = responses
        .iter()
        .find(|(code, _)| code.starts_with('2'))
        .expect("every operation has a success response");
    // "2XX" (the bulk calls) is answered with 202, as the live service does.
    let status = if code == "2XX" {
        202
    } else {
        code.parse().unwrap()
    };
    let body = resolve(response)
        .pointer("/content/application~1json/schema")
        .map(example);
    (status, body)
}

/// The first client error the operation documents, other than 401, to answer with a `RestError`.
pub fn documented_client_error(method_name: &str) -> u16 {
    let op = operation(method_name);
    op.definition["responses"]
        .as_object()
        .unwrap()
        .keys()
        .find(|code| code.starts_with('4') && *code != "401")
        .expect("every operation documents a client error")
        .parse()
        .unwrap()
}

/// The spec's own `RestError` example.
pub fn rest_error_example() -> Value {
    example(&spec()["components"]["schemas"]["RestError"])
}
