//! The client generated from a future document (`cargo xtask future-spec`): operations written the
//! way upstream writes them need no hand-written line to be called correctly.
//!
//! This file is copied into a scratch copy of the crate whose `spec/` holds the future document;
//! it does not compile against the vendored one.

use atlassian_csm::{types, Client, Credentials, Error};
use httpmock::prelude::*;
use serde_json::json;

const UUID_V4: &str = "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$";

fn client(server: &MockServer) -> Client {
    Client::builder()
        .base_url(server.base_url())
        .credentials(Credentials::bearer("token"))
        .retry_policy(atlassian_csm::RetryPolicy::never())
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_new_experimental_get_with_no_error_answer_sends_opt_in_and_maps_errors() {
    let server = MockServer::start_async().await;
    let ok = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/api/v1/customer/qm:1:2/customer-experiences")
                .header("x-experimentalapi", "opt-in");
            then.status(200)
                .json_body(json!({"experiences": [{"id": "e-1", "kind": "PORTAL"}]}));
        })
        .await;
    let answer = client(&server)
        .get_customer_experiences()
        .customer_id("qm:1:2")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.experiences.len(), 1);
    ok.assert_async().await;
    ok.delete_async().await;

    // The operation declares no error answer: a 404 is still an `Error::Api` with its body.
    server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/api/v1/customer/qm:1:2/customer-experiences");
            then.status(404)
                .json_body(json!({"errorMessage": "Customer not found", "statusCode": 404}));
        })
        .await;
    match client(&server)
        .get_customer_experiences()
        .customer_id("qm:1:2")
        .send()
        .await
    {
        Err(Error::Api {
            status,
            error: Some(error),
            ..
        }) => {
            assert_eq!(status.as_u16(), 404);
            assert_eq!(error.error_message.as_deref(), Some("Customer not found"));
        }
        other => panic!("expected Error::Api with the RestError, got {other:?}"),
    }
}

#[tokio::test]
async fn a_new_bulk_post_documented_as_200_gets_a_key_and_accepts_202() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/api/v1/organization/archive/bulk")
                .header_matches("idempotency-key", UUID_V4);
            then.status(202)
                .json_body(json!({"id": "t-1", "statusUrl": "/api/v1/tasks/t-1"}));
        })
        .await;
    let body = types::BulkArchiveOrganizationsRequest::builder()
        .organizations([types::BulkArchiveOrganizationsRequestOrganizationsItem::builder().id("7")]);
    let submitted = client(&server)
        .bulk_archive_organizations()
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(submitted.id, "t-1");
    mock.assert_async().await;
}

#[tokio::test]
async fn a_new_operation_answering_204_with_no_body_succeeds() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(DELETE)
                .path("/api/v1/helpcenter/7/access/organization/42")
                .header("x-experimentalapi", "opt-in");
            then.status(204);
        })
        .await;
    client(&server)
        .revoke_organization_access()
        .help_center_id("7")
        .organization_id("42")
        .send()
        .await
        .unwrap();
    mock.assert_async().await;
}

#[tokio::test]
async fn another_header_stays_a_parameter_and_another_error_schema_keeps_its_body() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/api/v1/entitlements")
                .query_param("entityType", "CUSTOMER")
                .header("x-request-source", "admin-cli");
            then.status(400)
                .json_body(json!({"problems": ["entityId is required"]}));
        })
        .await;
    let error = client(&server)
        .list_entitlements()
        .entity_type("CUSTOMER")
        .x_request_source("admin-cli")
        .send()
        .await
        .unwrap_err();
    mock.assert_async().await;
    match error {
        Error::Api {
            status,
            error: None,
            body_excerpt: Some(body),
            ..
        } => {
            assert_eq!(status.as_u16(), 400);
            assert!(body.contains("entityId is required"), "{body}");
        }
        other => panic!("expected Error::Api with the body, got {other:?}"),
    }
}

#[test]
fn a_new_enum_value_is_a_variant_and_a_new_tag_changes_nothing_else() {
    let status: types::TaskStatusResponseStatus = serde_json::from_value(json!("PAUSED")).unwrap();
    assert_eq!(status, types::TaskStatusResponseStatus::Paused);
}
