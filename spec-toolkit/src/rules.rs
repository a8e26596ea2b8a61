//! What the client does to every operation, decided by rules over the document rather than by
//! lists of operations, so that the next document Atlassian publishes generates a correct client
//! with no line written for its new operations.
//!
//! * An `X-ExperimentalApi` header parameter is dropped and the operation is marked
//!   `x-experimental`: the client sends `opt-in` itself (the service answers 412 without it, and
//!   ignores it once the operation leaves the experimental phase).
//! * An `Idempotency-Key` header parameter becomes optional: the client generates a UUID v4 for
//!   every call not given one, the same on every retry.
//! * An operation answering `TaskSubmitResponse` accepts any 2xx with that body: bulk calls are
//!   documented as 200 and answered 202.
//! * An operation lists the `404` the other operations of its path list: the path names a
//!   resource, and the same unknown `{productId}` is not found by a `DELETE` either (five
//!   `DELETE`s of the document list none, while the `GET` or `PUT` beside them do).
//! * An operation that takes a body or query parameters lists `400`, the status the document
//!   gives every other refused request: 42 of its operations list it, and the six that take a
//!   body or query and do not (`create-customer`, `search-by-detail-field`…) are refused the same
//!   way when their input breaks the schema.

use crate::openapi::{resolve, METHODS};
use serde_json::Value;

/// The header experimental operations need.
pub const EXPERIMENTAL_HEADER: &str = "X-ExperimentalApi";
/// The header bulk operations need.
pub const IDEMPOTENCY_KEY_HEADER: &str = "Idempotency-Key";
/// The answer of every call that starts a task.
const TASK_SUBMIT_RESPONSE: &str = "#/components/schemas/TaskSubmitResponse";

/// The document the types are generated from: the corrected one without string-length and
/// item-count limits in every schema an answer can hold, so that answers decode whatever their
/// lengths ("we check what we send, we accept what we get"). Schemas only requests use keep
/// theirs, and every request body is also checked against the corrected document's limits
/// before it is sent (`request_limits`).
pub fn relaxed_for_reading(doc: &Value) -> Value {
    let mut relaxed = doc.clone();
    let mut reachable: Vec<String> = Vec::new();
    let mut pending: Vec<&Value> = crate::openapi::operations(doc)
        .flat_map(|op| op.definition["responses"].as_object().into_iter().flatten())
        .map(|(_, response)| resolve(doc, response))
        .collect();
    while let Some(value) = pending.pop() {
        match value {
            Value::Object(map) => {
                if let Some(name) = map
                    .get("$ref")
                    .and_then(Value::as_str)
                    .and_then(|r| r.strip_prefix("#/components/schemas/"))
                {
                    if !reachable.iter().any(|seen| seen == name) {
                        reachable.push(name.to_string());
                        if let Some(target) = doc["components"]["schemas"].get(name) {
                            pending.push(target);
                        }
                    }
                }
                pending.extend(map.values());
            }
            Value::Array(items) => pending.extend(items),
            _ => {}
        }
    }
    for name in &reachable {
        if let Some(schema) = relaxed["components"]["schemas"].get_mut(name) {
            strip_limits(schema);
        }
    }
    for item in relaxed["paths"].as_object_mut().into_iter().flatten() {
        for (_, operation) in item.1.as_object_mut().into_iter().flatten() {
            if let Some(responses) = operation.get_mut("responses") {
                strip_limits(responses);
            }
        }
    }
    relaxed
}

/// Removes every length and item-count limit under `value`.
fn strip_limits(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for key in ["minLength", "maxLength", "minItems", "maxItems"] {
                map.shift_remove(key);
            }
            map.values_mut().for_each(strip_limits);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_limits),
        _ => {}
    }
}

/// Applies every rule to `doc`, in place. Applying them twice changes nothing more.
pub fn apply(doc: &mut Value) {
    let snapshot = doc.clone();
    if let Some(parameters) = doc
        .pointer_mut("/components/parameters")
        .and_then(Value::as_object_mut)
    {
        for parameter in parameters.values_mut() {
            make_idempotency_key_optional(parameter);
        }
    }
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for item in paths.values_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        // Parameters declared on the path apply to each of its operations.
        let shared_experimental = item
            .get_mut("parameters")
            .is_some_and(|parameters| drop_experimental_header(&snapshot, parameters));
        for (method, operation) in item.iter_mut() {
            if !METHODS.contains(&method.as_str()) {
                continue;
            }
            let Some(operation) = operation.as_object_mut() else {
                continue;
            };
            let dropped = operation
                .get_mut("parameters")
                .is_some_and(|parameters| drop_experimental_header(&snapshot, parameters));
            if dropped || shared_experimental {
                operation.insert("x-experimental".into(), Value::Bool(true));
            }
            for parameter in operation
                .get_mut("parameters")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                make_idempotency_key_optional(parameter);
            }
            let takes_input = operation.contains_key("requestBody")
                || operation
                    .get("parameters")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .any(|p| resolve(&snapshot, p)["in"] == "query");
            if let Some(responses) = operation
                .get_mut("responses")
                .and_then(Value::as_object_mut)
            {
                accept_any_success_for_tasks(&snapshot, responses);
                if takes_input && !responses.contains_key("400") {
                    if let Some(bad_request) = bad_request(&snapshot) {
                        responses.insert("400".into(), bad_request);
                    }
                }
            }
        }
        let not_found = item
            .iter()
            .filter(|(method, _)| METHODS.contains(&method.as_str()))
            .find_map(|(_, operation)| operation.pointer("/responses/404").cloned());
        if let Some(not_found) = not_found {
            for (method, operation) in item.iter_mut() {
                if let Some(responses) = METHODS
                    .contains(&method.as_str())
                    .then(|| operation.get_mut("responses"))
                    .flatten()
                    .and_then(Value::as_object_mut)
                {
                    if !responses.contains_key("404") {
                        responses.insert("404".into(), not_found.clone());
                    }
                }
            }
        }
    }
}

/// The document's answer for a refused request: its `BadRequest` response, or the first `400`
/// an operation lists.
fn bad_request(doc: &Value) -> Option<Value> {
    if doc.pointer("/components/responses/BadRequest").is_some() {
        return Some(serde_json::json!({"$ref": "#/components/responses/BadRequest"}));
    }
    crate::openapi::operations(doc)
        .find_map(|operation| operation.definition.pointer("/responses/400").cloned())
}

fn is_header(doc: &Value, parameter: &Value, name: &str) -> bool {
    let parameter = resolve(doc, parameter);
    parameter["in"] == "header"
        && parameter["name"]
            .as_str()
            .is_some_and(|n| n.eq_ignore_ascii_case(name))
}

/// Removes the `X-ExperimentalApi` header parameters from a parameter list; true if any was there.
fn drop_experimental_header(doc: &Value, parameters: &mut Value) -> bool {
    let Some(list) = parameters.as_array_mut() else {
        return false;
    };
    let before = list.len();
    list.retain(|parameter| !is_header(doc, parameter, EXPERIMENTAL_HEADER));
    list.len() != before
}

fn make_idempotency_key_optional(parameter: &mut Value) {
    let is_key = parameter["in"] == "header"
        && parameter["name"]
            .as_str()
            .is_some_and(|n| n.eq_ignore_ascii_case(IDEMPOTENCY_KEY_HEADER));
    if is_key {
        parameter["required"] = Value::Bool(false);
    }
}

/// Replaces the 2xx answers of a task-starting operation by one `2XX` answer with the same body.
/// Left alone when the operation's success answers differ in body (the generator needs one
/// success type) or already include a range.
fn accept_any_success_for_tasks(doc: &Value, responses: &mut serde_json::Map<String, Value>) {
    let successes: Vec<String> = responses
        .keys()
        .filter(|code| code.starts_with('2'))
        .cloned()
        .collect();
    if successes.is_empty() || successes.iter().any(|code| code == "2XX") {
        return;
    }
    let starts_task = |response: &Value| {
        resolve(doc, response)
            .pointer("/content/application~1json/schema/$ref")
            .and_then(Value::as_str)
            == Some(TASK_SUBMIT_RESPONSE)
    };
    if !successes.iter().all(|code| starts_task(&responses[code])) {
        return;
    }
    let response = responses[&successes[0]].clone();
    for code in &successes {
        responses.shift_remove(code);
    }
    // The range goes first, where the document had its success answer.
    let rest = std::mem::take(responses);
    responses.insert("2XX".into(), response);
    responses.extend(rest);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn document(operation: Value) -> Value {
        json!({
            "paths": {"/api/v1/thing": {"post": operation}},
            "components": {"schemas": {"TaskSubmitResponse": {"type": "object"}}}
        })
    }

    #[test]
    fn the_experimental_header_is_dropped_and_the_operation_marked() {
        let mut doc = document(json!({
            "operationId": "new-thing",
            "parameters": [
                {"in": "header", "name": "X-ExperimentalApi", "required": true, "schema": {"type": "string"}},
                {"in": "header", "name": "X-Other", "required": true, "schema": {"type": "string"}}
            ],
            "responses": {}
        }));
        apply(&mut doc);
        let operation = &doc["paths"]["/api/v1/thing"]["post"];
        assert_eq!(operation["x-experimental"], true);
        let names: Vec<_> = operation["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["X-Other"], "other headers stay parameters");
    }

    #[test]
    fn the_idempotency_key_becomes_optional_and_task_answers_accept_any_success() {
        let mut doc = document(json!({
            "operationId": "bulk-thing",
            "parameters": [{"in": "header", "name": "Idempotency-Key", "required": true, "schema": {"type": "string"}}],
            "responses": {
                "200": {"description": "", "content": {"application/json": {"schema": {"$ref": TASK_SUBMIT_RESPONSE}}}},
                "400": {"description": ""}
            }
        }));
        apply(&mut doc);
        let again = doc.clone();
        apply(&mut doc);
        assert_eq!(doc, again, "the rules are idempotent");
        let operation = &doc["paths"]["/api/v1/thing"]["post"];
        assert_eq!(operation["parameters"][0]["required"], false);
        let codes: Vec<_> = operation["responses"].as_object().unwrap().keys().collect();
        assert_eq!(codes, ["2XX", "400"]);
        assert!(operation.get("x-experimental").is_none());
    }

    #[test]
    fn the_document_for_reading_has_no_length_limits() {
        let doc = json!({
            "paths": {"/p": {"get": {"responses": {"200": {"content": {"application/json":
                {"schema": {"$ref": "#/components/schemas/Page"}}}}}}}},
            "components": {"schemas": {
                "Page": {"type": "object", "properties": {"items": {"type": "array",
                    "items": {"$ref": "#/components/schemas/Product"}}}},
                "Product": {"type": "object", "properties": {
                    "name": {"type": "string", "maxLength": 200, "minLength": 1},
                    "tags": {"type": "array", "maxItems": 5, "items": {"type": "string", "maxLength": 9}}
                }},
                "Request": {"type": "object", "properties": {"name": {"type": "string", "maxLength": 200}}}
            }}
        });
        let relaxed = relaxed_for_reading(&doc);
        let product = relaxed["components"]["schemas"]["Product"].to_string();
        for key in ["maxLength", "minLength", "maxItems"] {
            assert!(!product.contains(key), "{key} left in {product}");
        }
        assert_eq!(
            relaxed["components"]["schemas"]["Request"], doc["components"]["schemas"]["Request"],
            "a schema only requests use keeps its limits"
        );
        assert!(
            doc.to_string().contains("maxLength"),
            "the strict document is untouched"
        );
    }

    #[test]
    fn a_path_lists_its_404_for_every_method_and_input_can_be_refused() {
        let mut doc = json!({
            "paths": {
                "/thing/{id}": {
                    "get": {"operationId": "get-thing", "responses": {"200": {}, "404": {"description": "gone"}}},
                    "delete": {"operationId": "delete-thing", "responses": {"204": {}}}
                },
                "/things": {
                    "post": {"operationId": "find-things", "requestBody": {}, "responses": {"200": {}}},
                    "get": {"operationId": "list-things", "parameters": [{"in": "query", "name": "page"}], "responses": {"200": {}}}
                },
                "/other": {"get": {"operationId": "get-other", "responses": {"200": {}}}}
            },
            "components": {"responses": {"BadRequest": {"description": "bad"}}}
        });
        apply(&mut doc);
        let thing = &doc["paths"]["/thing/{id}"];
        assert_eq!(
            thing["delete"]["responses"]["404"],
            json!({"description": "gone"})
        );
        assert!(thing["get"]["responses"].get("400").is_none(), "no input");
        let bad = json!({"$ref": "#/components/responses/BadRequest"});
        assert_eq!(doc["paths"]["/things"]["post"]["responses"]["400"], bad);
        assert_eq!(doc["paths"]["/things"]["get"]["responses"]["400"], bad);
        let other = doc["paths"]["/other"]["get"]["responses"]
            .as_object()
            .unwrap();
        assert_eq!(
            other.keys().collect::<Vec<_>>(),
            ["200"],
            "nothing to refuse, nothing found"
        );
    }

    #[test]
    fn other_successes_are_left_as_documented() {
        let mut doc = document(json!({
            "operationId": "get-thing",
            "responses": {"200": {"description": "", "content": {"application/json": {"schema": {"type": "object"}}}}}
        }));
        let before = doc.clone();
        apply(&mut doc);
        assert_eq!(doc, before);
    }
}
