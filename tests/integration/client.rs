//! Building a client, the headers it adds, and what it never reveals.

use crate::support;

use crate::support::scripted_server::{Reply, ScriptedServer};
use atlassian_csm::{Client, Credentials, Error};
use httpmock::MockServer;
use serde_json::json;

const TOKEN: &str = "very-secret-token-value";

#[test]
fn a_cloud_id_selects_the_public_api_host() {
    let client = Client::builder()
        .cloud_id("a436116f-02ce-4520-8fbb-7301462a1674")
        .credentials(Credentials::bearer(TOKEN))
        .build()
        .unwrap();
    assert_eq!(
        client.base_url(),
        "https://api.atlassian.com/jsm/csm/cloudid/a436116f-02ce-4520-8fbb-7301462a1674"
    );
}

#[test]
fn a_base_url_is_used_as_given_without_a_trailing_slash() {
    let client = Client::builder()
        .base_url("http://127.0.0.1:9999/csm/")
        .credentials(Credentials::bearer(TOKEN))
        .build()
        .unwrap();
    assert_eq!(client.base_url(), "http://127.0.0.1:9999/csm");
}

#[test]
fn an_incomplete_or_contradictory_configuration_is_refused() {
    let cases = [
        Client::builder().credentials(Credentials::bearer(TOKEN)),
        Client::builder().cloud_id("abc"),
        Client::builder()
            .cloud_id("abc")
            .base_url("http://localhost")
            .credentials(Credentials::bearer(TOKEN)),
        Client::builder()
            .cloud_id("abc/../other")
            .credentials(Credentials::bearer(TOKEN)),
        Client::builder()
            .base_url("ftp://example.com")
            .credentials(Credentials::bearer(TOKEN)),
    ];
    for builder in cases {
        assert!(matches!(builder.build(), Err(Error::Config(_))));
    }
}

#[tokio::test]
async fn basic_credentials_send_email_and_api_token() {
    let server = MockServer::start_async().await;
    // base64("admin@example.com:api-token")
    let mock = server
        .mock_async(|when, then| {
            when.path("/api/v1/product").header(
                "authorization",
                "Basic YWRtaW5AZXhhbXBsZS5jb206YXBpLXRva2Vu",
            );
            then.status(200).json_body(json!({"results": []}));
        })
        .await;
    let client = Client::builder()
        .base_url(server.base_url())
        .credentials(Credentials::basic("admin@example.com", "api-token"))
        .build()
        .unwrap();
    client.get_products().send().await.unwrap();
    mock.assert_async().await;
}

#[tokio::test]
async fn a_callers_idempotency_key_is_sent_as_given() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.path("/api/v1/customer/bulk")
                .header("idempotency-key", "import-2026-11-22-chunk-7");
            then.status(202)
                .json_body(json!({"id": "t", "statusUrl": "/api/v1/tasks/t"}));
        })
        .await;
    let client = Client::builder()
        .base_url(server.base_url())
        .credentials(Credentials::bearer(TOKEN))
        .build()
        .unwrap();
    client
        .bulk_create_customer_accounts()
        .idempotency_key("import-2026-11-22-chunk-7")
        .body(support::bodies::one_account())
        .send()
        .await
        .unwrap();
    mock.assert_async().await;
}

#[test]
fn an_idempotency_key_longer_than_100_characters_is_refused_before_sending() {
    let client = Client::builder()
        .base_url("http://127.0.0.1:9")
        .credentials(Credentials::bearer(TOKEN))
        .build()
        .unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let result = runtime.block_on(
        client
            .bulk_create_customer_accounts()
            .idempotency_key("k".repeat(101))
            .body(support::bodies::one_account())
            .send(),
    );
    assert!(matches!(result, Err(Error::InvalidInput { .. })));
}

#[tokio::test]
async fn each_logical_call_gets_its_own_generated_key() {
    let server = ScriptedServer::start(vec![Reply::json(
        202,
        json!({"id": "t", "statusUrl": "/api/v1/tasks/t"}),
    )])
    .await;
    let client = Client::builder()
        .base_url(&server.base_url)
        .credentials(Credentials::bearer(TOKEN))
        .build()
        .unwrap();
    for _ in 0..3 {
        let body = support::bodies::one_account();
        client
            .bulk_create_customer_accounts()
            .body(body)
            .send()
            .await
            .unwrap();
    }
    let keys: std::collections::BTreeSet<String> = server
        .requests()
        .iter()
        .map(|request| request.header("idempotency-key").unwrap().to_string())
        .collect();
    assert_eq!(keys.len(), 3, "three calls, three distinct keys: {keys:?}");
}

#[test]
fn secrets_never_appear_in_debug_output() {
    let bearer = Client::builder()
        .base_url("http://localhost")
        .credentials(Credentials::bearer(TOKEN))
        .build()
        .unwrap();
    let basic = Client::builder()
        .base_url("http://localhost")
        .credentials(Credentials::basic("admin@example.com", TOKEN))
        .build()
        .unwrap();
    for text in [
        format!("{bearer:?}"),
        format!("{basic:?}"),
        format!("{:?}", Credentials::bearer(TOKEN)),
        format!("{:?}", bearer.config()),
    ] {
        assert!(!text.contains(TOKEN), "secret leaked: {text}");
    }
    assert!(format!("{basic:?}").contains("admin@example.com"));
}
