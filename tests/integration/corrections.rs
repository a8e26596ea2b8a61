//! Each correction in `spec/corrections/` has a test here that fails without it.

use crate::support;

use crate::support::mock_api::{Expected, MockApi};
use crate::support::spec::spec;
use atlassian_csm::types;
use serde_json::{json, Value};

/// Calls `visit` on every JSON object in the document, with its JSON pointer.
fn walk<'a>(value: &'a Value, pointer: &str, visit: &mut dyn FnMut(&str, &'a Value)) {
    match value {
        Value::Object(map) => {
            visit(pointer, value);
            for (key, child) in map {
                walk(child, &format!("{pointer}/{key}"), visit);
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                walk(child, &format!("{pointer}/{index}"), visit);
            }
        }
        _ => {}
    }
}

// Corrections 01, 02, 03: every required field is one of the schema's properties.
#[test]
fn every_required_field_is_a_defined_property() {
    let mut undefined = Vec::new();
    walk(spec(), "", &mut |pointer, object| {
        if let (Some(required), Some(properties)) = (
            object.get("required").and_then(Value::as_array),
            object.get("properties").and_then(Value::as_object),
        ) {
            for name in required.iter().filter_map(Value::as_str) {
                if !properties.contains_key(name) {
                    undefined.push(format!("{pointer}: {name}"));
                }
            }
        }
    });
    assert!(
        undefined.is_empty(),
        "required but undefined: {undefined:?}"
    );
}

// Correction 01.
#[test]
fn a_task_status_without_name_or_progress_decodes() {
    let status: types::TaskStatusResponse = serde_json::from_value(json!({
        "id": "3858a61a-d337-42e6-993e-e13e1c366d4f",
        "type": "BULK_CUSTOMER_PROFILE_CREATE_UPDATE",
        "status": "IN_PROGRESS",
        "createdAt": "2025-01-15T11:12:13Z",
        "updatedAt": "2025-01-15T11:12:13Z"
    }))
    .expect("decodes");
    assert_eq!(status.status, types::TaskStatusResponseStatus::InProgress);
}

// Correction 02.
#[test]
fn the_last_product_page_decodes_without_has_next_page() {
    let page: types::PaginatedProducts = serde_json::from_value(json!({
        "results": [{"id": "3858a61a-d337-42e6-993e-e13e1c366d4f", "name": "Acme Widget"}]
    }))
    .expect("decodes");
    assert_eq!(page.results.len(), 1);
    assert_eq!(page.next_page_cursor, None);
}

// Correction 03.
#[test]
fn an_issue_comment_request_needs_its_body_not_a_comment() {
    let comment: types::IssueCommentRequest =
        serde_json::from_value(json!({"body": {"type": "doc", "version": 1}, "public": true}))
            .expect("a request with a body decodes");
    assert_eq!(comment.public, Some(true));
    assert!(serde_json::from_value::<types::IssueCommentRequest>(json!({"public": true})).is_err());
}

// Correction 04.
#[test]
fn a_rest_error_decodes_with_a_numeric_or_a_string_status_code() {
    for status_code in [json!(404), json!("404")] {
        let error: types::RestError = serde_json::from_value(json!({
            "errorMessage": "Organization 1 does not exist",
            "errors": ["NOT_FOUND"],
            "statusCode": status_code
        }))
        .expect("decodes");
        assert_eq!(error.status_code.unwrap().to_string(), "404");
    }
}

// Correction 05.
#[test]
fn no_reference_has_siblings_other_than_a_description() {
    let mut offenders = Vec::new();
    walk(spec(), "", &mut |pointer, object| {
        let map = object.as_object().unwrap();
        if map.contains_key("$ref") && map.keys().any(|k| k != "$ref" && k != "description") {
            offenders.push(pointer.to_string());
        }
    });
    assert!(offenders.is_empty(), "$ref with siblings: {offenders:?}");
}

// Correction 06.
#[test]
fn item_counts_are_only_limited_on_arrays() {
    let mut offenders = Vec::new();
    walk(spec(), "", &mut |pointer, object| {
        let limited = object.get("maxItems").is_some() || object.get("minItems").is_some();
        if limited && object.get("type") != Some(&json!("array")) {
            offenders.push(pointer.to_string());
        }
    });
    assert!(
        offenders.is_empty(),
        "item limits on non-arrays: {offenders:?}"
    );
    let customer_ids =
        &spec()["components"]["schemas"]["AssociateCustomers"]["properties"]["customerIds"];
    assert_eq!(customer_ids["maxItems"], 25);
}

// Correction 07 is proven by the contract test `bulk_create_customer_detail_fields`.

// The rule that replaced correction 08: a bulk call answered 200 (as documented) and 202 (as
// served) both succeed.
#[tokio::test]
async fn a_bulk_call_accepts_200_and_202() {
    for status in [200, 202] {
        let api = MockApi::start().await;
        let task = json!({"id": "t-1", "statusUrl": "/api/v1/tasks/t-1"});
        let mock = api
            .expect(
                &Expected::post("/api/v1/organization/bulk")
                    .experimental()
                    .idempotency_key(".+")
                    .json(support::bodies::one_organization_json()),
                status,
                Some(task),
            )
            .await;
        let body = support::bodies::one_organization();
        let submitted = api
            .client
            .bulk_manage_organizations()
            .body(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("a {status} is a success: {e:?}"));
        assert_eq!(submitted.id, "t-1");
        mock.assert_async().await;
    }
}

// The rules that replaced corrections 09 and 10: neither header is a parameter a caller must
// set. The generated source has no `X-ExperimentalApi` parameter at all, and every bulk call
// works without a key (the contract tests send none).
#[test]
fn the_experimental_header_is_never_a_parameter() {
    let generated = include_str!(concat!(env!("OUT_DIR"), "/csm_client.rs"));
    assert!(!generated.contains("x_experimental_api"));
    assert!(!generated.contains("X-ExperimentalApi\""));
    for operation in support::spec::operations() {
        let parameters = operation.definition["parameters"].as_array();
        let names: Vec<_> = parameters
            .into_iter()
            .flatten()
            .map(|p| {
                support::spec::resolve(p)["name"]
                    .as_str()
                    .unwrap_or_default()
            })
            .collect();
        assert!(!names.contains(&"X-ExperimentalApi"), "{}", operation.id());
    }
}

// Correction 11: an experimental operation's 412 decodes as a RestError.
#[tokio::test]
async fn a_precondition_failure_on_an_experimental_delete_decodes() {
    let api = MockApi::start().await;
    let error = json!({"errorMessage": "Missing X-ExperimentalApi header", "statusCode": 412});
    api.expect(
        &Expected::delete("/api/v1/organization/7").experimental(),
        412,
        Some(error),
    )
    .await;
    match api
        .client
        .delete_organization()
        .organization_id("7")
        .send()
        .await
    {
        Err(atlassian_csm::Error::Api {
            status,
            error: Some(error),
            ..
        }) => {
            assert_eq!(status.as_u16(), 412);
            assert_eq!(
                error.error_message.as_deref(),
                Some("Missing X-ExperimentalApi header")
            );
        }
        other => panic!("expected a decoded RestError, got {other:?}"),
    }
}
