//! The next step after a refresh: which operations have no contract test yet, and a first
//! contract test for one, written from the spec (`cargo xtask contract-test OPERATION_ID`).

use atlassian_csm_spec::coverage as names;
use atlassian_csm_spec::openapi::{operations, snake_case, Operation};
use serde_json::Value;
use std::path::Path;

/// Where the contract tests live, relative to the workspace root.
pub const CONTRACT_DIR: &str = "tests/integration/contract";
/// Where `contract-test` writes new tests for review.
pub const PENDING_FILE: &str = "tests/integration/contract/pending.rs";

/// The client methods of `doc`'s operations that no contract test under `root` names.
pub fn missing(root: &Path, doc: &Value) -> Result<Vec<String>, String> {
    let dir = root.join(CONTRACT_DIR);
    let mut tested = Vec::new();
    for entry in
        std::fs::read_dir(&dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?
    {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.extension().is_some_and(|ext| ext == "rs") {
            tested.extend(names::contract_test_names(&crate::read(&path)?));
        }
    }
    Ok(operations(doc)
        .map(|op| op.method_name())
        .filter(|name| !tested.contains(name))
        .collect())
}

/// A sample value for a parameter: its example, else `<name>-1`.
fn sample(parameter: &Value) -> String {
    match &parameter["example"] {
        Value::String(text) => text.clone(),
        Value::Null => format!("{}-1", parameter["name"].as_str().unwrap_or("value")),
        other => other.to_string(),
    }
}

/// The `contract!` block for `operation`, in the form of its neighbours.
pub fn contract_test(doc: &Value, operation: &Operation) -> String {
    let name = operation.method_name();
    let mut path = operation.path.to_string();
    let mut expected_tail = String::new();
    let mut calls = String::new();
    for parameter in operation.parameters(doc) {
        let (Some(param), Some(location)) = (parameter["name"].as_str(), parameter["in"].as_str())
        else {
            continue;
        };
        let value = sample(parameter);
        let setter = snake_case(param);
        match location {
            "path" => {
                path = path.replace(&format!("{{{param}}}"), &value);
                calls.push_str(&format!("\n        .{setter}({value:?})"));
            }
            "query" if parameter["required"] == true => {
                expected_tail.push_str(&format!("\n        .query({param:?}, {value:?})"));
                calls.push_str(&format!("\n        .{setter}({value:?})"));
            }
            "header" if parameter["required"] == true => {
                calls.push_str(&format!("\n        .{setter}({value:?})"));
            }
            _ => {}
        }
    }
    if operation.definition["x-experimental"] == true {
        expected_tail.push_str("\n        .experimental()");
    }
    let keyed = operation.parameters(doc).any(|p| {
        p["in"] == "header"
            && p["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case("Idempotency-Key"))
    });
    if keyed {
        expected_tail.push_str("\n        .idempotency_key(crate::support::mock_api::UUID_V4)");
    }
    if let Some(schema) = operation.request_schema() {
        let type_name = schema["$ref"]
            .as_str()
            .and_then(|r| r.rsplit('/').next())
            .map(str::to_string)
            .unwrap_or_else(|| {
                format!(
                    "{}Body",
                    heck::ToUpperCamelCase::to_upper_camel_case(name.as_str())
                )
            });
        expected_tail.push_str(&format!("\n        .json(super::json({name:?}))"));
        calls.push_str(&format!(
            "\n        .body(super::body::<atlassian_csm::types::{type_name}>({name:?}))"
        ));
    }
    let method = operation.method.to_lowercase();
    format!(
        "\ncontract!(\n    {name},\n    crate::support::mock_api::Expected::{method}({path:?}){expected_tail},\n    |client| client\n        .{name}(){calls}\n        .send()\n);\n"
    )
}

/// Appends a first contract test for `operation_id` (the spec's id or the client method) to the
/// pending file, for the maintainer to review; returns the block written.
pub fn write(root: &Path, doc: &Value, operation_id: &str) -> Result<String, String> {
    let operation = operations(doc)
        .find(|op| op.id() == operation_id || op.method_name() == operation_id)
        .ok_or_else(|| format!("no operation {operation_id} in the corrected spec"))?;
    if !missing(root, doc)?.contains(&operation.method_name()) {
        return Err(format!("{operation_id} already has a contract test"));
    }
    let block = contract_test(doc, &operation);
    let pending = root.join(PENDING_FILE);
    let mut text = crate::read(&pending)?;
    if !text.contains("use crate::contract;") {
        text.push_str("\nuse crate::contract;\n");
    }
    text.push_str(&block);
    std::fs::write(&pending, text)
        .map_err(|e| format!("cannot write {}: {e}", pending.display()))?;
    Ok(block)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_first_contract_test_follows_the_operation() {
        let doc = json!({"paths": {"/api/v1/thing/{thingId}": {"post": {
            "operationId": "bulk-thing",
            "x-experimental": true,
            "parameters": [
                {"name": "thingId", "in": "path", "required": true, "example": "t-9"},
                {"name": "limit", "in": "query", "required": true},
                {"name": "Idempotency-Key", "in": "header", "required": false}
            ],
            "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ThingRequest"}}}},
            "responses": {}
        }}}});
        let operation = operations(&doc).next().unwrap();
        let block = contract_test(&doc, &operation);
        assert!(
            block.contains("Expected::post(\"/api/v1/thing/t-9\")"),
            "{block}"
        );
        assert!(block.contains(".query(\"limit\", \"limit-1\")"), "{block}");
        assert!(block.contains(".experimental()"), "{block}");
        assert!(block.contains(".idempotency_key("), "{block}");
        assert!(
            block.contains("body::<atlassian_csm::types::ThingRequest>(\"bulk_thing\")"),
            "{block}"
        );
        assert!(block.contains(".thing_id(\"t-9\")"), "{block}");
        assert_eq!(names::contract_test_names(&block), ["bulk_thing"]);
    }
}
