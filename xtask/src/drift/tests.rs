//! The drift report's cases: each kind of change, and which of them break callers.

use super::*;
use serde_json::json;

fn doc(schema: Value, op: Value) -> Value {
    json!({"paths": {"/things": {"get": op}}, "components": {"schemas": {"Thing": schema}}})
}

#[test]
fn identical_documents_have_no_changes() {
    let d = doc(
        json!({"type": "object"}),
        json!({"operationId": "get-things", "responses": {}}),
    );
    assert!(compare(&d, &d).is_empty());
}

#[test]
fn removed_fields_new_requirements_and_removed_enum_values_are_breaking() {
    let old = doc(
        json!({"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string", "enum": ["X", "Y"]}}}),
        json!({"operationId": "get-things", "responses": {}}),
    );
    let new = doc(
        json!({"type": "object", "required": ["b"], "properties": {"b": {"type": "string", "enum": ["X", "Z"]}}}),
        json!({"operationId": "get-things", "responses": {}}),
    );
    let report = compare(&old, &new);
    let changes = &report.schemas_changed[0].changes;
    let find = |text: &str| {
        changes
            .iter()
            .find(|c| c.detail.contains(text))
            .unwrap_or_else(|| panic!("{text}: {changes:?}"))
    };
    assert!(find("Thing.a: property removed").breaking);
    assert!(find("`b` became required").breaking);
    assert!(find("enum value \"Y\" removed").breaking);
    assert!(!find("enum value \"Z\" added").breaking);
    assert_eq!(report.breaking, 3);
}

#[test]
fn a_widened_type_is_not_breaking_and_a_narrowed_one_is() {
    let int = json!({"type": "integer"});
    let either = json!({"oneOf": [{"type": "integer"}, {"type": "string"}]});
    let mut widened = Vec::new();
    schema_changes("S", &int, &either, &mut widened);
    assert!(!widened[0].breaking);
    let mut narrowed = Vec::new();
    schema_changes("S", &either, &int, &mut narrowed);
    assert!(narrowed[0].breaking);
}

#[test]
fn operations_added_removed_and_changed_are_listed() {
    let old = json!({"paths": {
        "/a": {"get": {"operationId": "get-a", "responses": {"200": {"description": ""}}}},
        "/b": {"get": {"operationId": "get-b", "responses": {}}}
    }});
    let new = json!({"paths": {
        "/a": {"get": {"operationId": "get-a", "x-experimental": true,
            "parameters": [{"in": "query", "name": "limit", "required": false, "schema": {"type": "integer"}}],
            "responses": {"2XX": {"description": ""}}}},
        "/c": {"post": {"operationId": "post-c", "responses": {}}}
    }});
    let report = compare(&old, &new);
    assert_eq!(report.operations_added, ["POST /c (post-c)"]);
    assert_eq!(report.operations_removed, ["GET /b (get-b)"]);
    let details: Vec<_> = report.operations_changed[0]
        .changes
        .iter()
        .map(|c| c.detail.as_str())
        .collect();
    assert_eq!(
        details,
        [
            "experimental: false → true",
            "query `limit` parameter added",
            "response 2XX added (no body)",
            "response 200 removed (no body), covered by 2XX"
        ]
    );
    assert!(report.operations_changed[0]
        .changes
        .iter()
        .all(|c| !c.breaking));
    assert_eq!(
        report.breaking, 1,
        "only the removed operation breaks callers"
    );
}
