//! OAuth token renewal, cloud id discovery, and secrets that never leak.

use crate::support;

use crate::support::scripted_server::{Reply, ScriptedServer};
use atlassian_csm::{Client, Credentials, Error, OAuthTokenSource, RetryPolicy};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const CLIENT_SECRET: &str = "client-secret-do-not-print";
const REFRESH_TOKEN: &str = "refresh-token-1-do-not-print";
const OLD_TOKEN: &str = "access-token-old-do-not-print";
const NEW_TOKEN: &str = "access-token-new-do-not-print";

fn products_page() -> Reply {
    Reply::json(200, json!({"results": []}))
}

fn granted(access_token: &str, refresh_token: &str) -> Reply {
    Reply::json(
        200,
        json!({"access_token": access_token, "expires_in": 3600, "refresh_token": refresh_token, "scope": "read:product:jira-service-management"}),
    )
}

fn client_with(api: &ScriptedServer, tokens: OAuthTokenSource) -> Client {
    Client::builder()
        .base_url(&api.base_url)
        .credentials(Credentials::token_source(tokens))
        .retry_policy(RetryPolicy::default().base_delay(Duration::from_millis(5)))
        .build()
        .unwrap()
}

fn body_json(request: &support::scripted_server::Recorded) -> Value {
    serde_json::from_slice(&request.body).unwrap()
}

#[tokio::test]
async fn a_401_renews_the_token_once_and_retries_with_the_new_one() {
    let token_server = ScriptedServer::start(vec![granted(NEW_TOKEN, "refresh-token-2")]).await;
    let api = ScriptedServer::start(vec![Reply::status(401), products_page()]).await;
    let rotated = Arc::new(Mutex::new(None));
    let persisted = rotated.clone();
    let tokens = OAuthTokenSource::refresh_token("client-id", CLIENT_SECRET, REFRESH_TOKEN)
        .token_url(format!("{}/oauth/token", token_server.base_url))
        .with_access_token(OLD_TOKEN, Duration::from_secs(3600))
        .on_refresh(move |renewed| {
            *persisted.lock().unwrap() = renewed
                .refresh_token
                .as_ref()
                .map(|t| t.expose().to_string());
        });

    client_with(&api, tokens)
        .get_products()
        .send()
        .await
        .unwrap();

    let calls = api.requests();
    assert_eq!(calls.len(), 2);
    assert_eq!(
        calls[0].header("authorization"),
        Some(format!("Bearer {OLD_TOKEN}").as_str())
    );
    assert_eq!(
        calls[1].header("authorization"),
        Some(format!("Bearer {NEW_TOKEN}").as_str())
    );
    let grants = token_server.requests();
    assert_eq!(grants.len(), 1);
    assert_eq!(
        body_json(&grants[0]),
        json!({"client_id": "client-id", "client_secret": CLIENT_SECRET, "grant_type": "refresh_token", "refresh_token": REFRESH_TOKEN})
    );
    assert_eq!(rotated.lock().unwrap().as_deref(), Some("refresh-token-2"));
}

#[tokio::test]
async fn a_second_401_is_an_auth_error_not_a_loop() {
    let token_server = ScriptedServer::start(vec![granted(NEW_TOKEN, "refresh-token-2")]).await;
    let api = ScriptedServer::start(vec![Reply::json(
        401,
        json!({"errorMessage": "Unauthorized"}),
    )])
    .await;
    let tokens = OAuthTokenSource::refresh_token("client-id", CLIENT_SECRET, REFRESH_TOKEN)
        .token_url(&token_server.base_url)
        .with_access_token(OLD_TOKEN, Duration::from_secs(3600));
    let error = client_with(&api, tokens)
        .get_products()
        .send()
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Auth { .. }), "{error:?}");
    assert_eq!(api.requests().len(), 2);
    assert_eq!(token_server.requests().len(), 1);
}

#[tokio::test]
async fn the_next_refresh_uses_the_rotated_refresh_token() {
    let token_server = ScriptedServer::start(vec![
        granted("access-2", "refresh-token-2"),
        granted("access-3", "refresh-token-3"),
    ])
    .await;
    // The second call's token is refused: it is renewed with the refresh token the first
    // renewal rotated in.
    let api = ScriptedServer::start(vec![
        products_page(),
        Reply::json(401, json!({"errorMessage": "expired"})),
        products_page(),
    ])
    .await;
    let tokens = OAuthTokenSource::refresh_token("client-id", CLIENT_SECRET, REFRESH_TOKEN)
        .token_url(&token_server.base_url);
    let client = client_with(&api, tokens);
    client.get_products().send().await.unwrap();
    client.get_products().send().await.unwrap();
    let grants = token_server.requests();
    assert_eq!(body_json(&grants[0])["refresh_token"], REFRESH_TOKEN);
    assert_eq!(body_json(&grants[1])["refresh_token"], "refresh-token-2");
    assert_eq!(
        api.requests()[2].header("authorization"),
        Some("Bearer access-3")
    );
}

/// 200 concurrent calls with tokens that live `lifetime`: how many tokens were asked for, and
/// how long the calls took.
async fn renewals_for_concurrent_calls(lifetime: u64) -> (usize, Duration) {
    let token_server = ScriptedServer::start(vec![Reply::json(
        200,
        json!({"access_token": NEW_TOKEN, "expires_in": lifetime, "token_type": "Bearer"}),
    )])
    .await;
    let api = ScriptedServer::start(vec![products_page()]).await;
    let tokens = OAuthTokenSource::client_credentials("client-id", CLIENT_SECRET)
        .token_url(&token_server.base_url);
    let client = client_with(&api, tokens);
    let started = std::time::Instant::now();
    let calls: Vec<_> = (0..200)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.get_products().send().await.map(|_| ()) })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    assert_eq!(api.requests().len(), 200);
    (token_server.requests().len(), started.elapsed())
}

#[tokio::test]
async fn a_token_shorter_lived_than_the_renewal_margin_is_not_renewed_per_call() {
    // 30 s against the default margin of 60 s: used until a quarter of its life is left.
    assert_eq!(renewals_for_concurrent_calls(30).await.0, 1);
}

#[tokio::test]
async fn a_token_granted_for_no_time_is_renewed_at_most_once_a_second() {
    let (renewals, took) = renewals_for_concurrent_calls(0).await;
    assert!(
        renewals as u64 <= 1 + took.as_secs(),
        "{renewals} renewals in {took:?}"
    );
}

#[tokio::test]
async fn concurrent_requests_share_one_renewal() {
    let token_server = ScriptedServer::start(vec![Reply::After(
        Duration::from_millis(100),
        Box::new(granted(NEW_TOKEN, "refresh-token-2")),
    )])
    .await;
    let api = ScriptedServer::start(vec![products_page()]).await;
    let tokens = OAuthTokenSource::refresh_token("client-id", CLIENT_SECRET, REFRESH_TOKEN)
        .token_url(&token_server.base_url);
    let client = client_with(&api, tokens);
    let calls = (0..10).map(|_| {
        let client = client.clone();
        tokio::spawn(async move { client.get_products().send().await.map(|_| ()) })
    });
    for call in calls.collect::<Vec<_>>() {
        call.await.unwrap().unwrap();
    }
    assert_eq!(
        token_server.requests().len(),
        1,
        "one renewal for ten requests"
    );
    assert_eq!(api.requests().len(), 10);
}

#[tokio::test]
async fn client_credentials_fetch_a_token_and_reuse_it_until_it_expires() {
    let token_server = ScriptedServer::start(vec![Reply::json(
        200,
        json!({"access_token": NEW_TOKEN, "expires_in": 3600, "token_type": "Bearer"}),
    )])
    .await;
    let api = ScriptedServer::start(vec![products_page()]).await;
    let tokens = OAuthTokenSource::client_credentials("service-account", CLIENT_SECRET)
        .token_url(&token_server.base_url);
    let client = client_with(&api, tokens);
    for _ in 0..3 {
        client.get_products().send().await.unwrap();
    }
    let grants = token_server.requests();
    assert_eq!(grants.len(), 1);
    assert_eq!(
        body_json(&grants[0]),
        json!({"client_id": "service-account", "client_secret": CLIENT_SECRET, "grant_type": "client_credentials"})
    );
    assert!(api
        .requests()
        .iter()
        .all(|r| r.header("authorization") == Some(format!("Bearer {NEW_TOKEN}").as_str())));
}

#[tokio::test]
async fn a_refused_refresh_is_an_auth_error_that_names_no_secret() {
    let token_server = ScriptedServer::start(vec![Reply::json(
        403,
        json!({"error": "invalid_grant", "error_description": "Unknown or invalid refresh token."}),
    )])
    .await;
    let api = ScriptedServer::start(vec![products_page()]).await;
    let tokens = OAuthTokenSource::refresh_token("client-id", CLIENT_SECRET, REFRESH_TOKEN)
        .token_url(&token_server.base_url);
    let client = client_with(&api, tokens);
    let error = client.get_products().send().await.unwrap_err();
    let text = format!("{error} {error:?}");
    assert!(matches!(error, Error::Auth { .. }));
    assert!(text.contains("invalid_grant"), "{text}");
    for secret in [CLIENT_SECRET, REFRESH_TOKEN] {
        assert!(!text.contains(secret), "{text}");
    }
    assert!(api.requests().is_empty(), "nothing is sent without a token");
}

#[test]
fn secrets_appear_in_no_log_debug_output_or_error() {
    let (texts, log) = support::logs::run_logged(async {
        let token_server = ScriptedServer::start(vec![granted(NEW_TOKEN, "refresh-token-2")]).await;
        let api = ScriptedServer::start(vec![
            Reply::status(401),
            Reply::status(503),
            Reply::json(404, json!({"errorMessage": "Product does not exist"})),
        ])
        .await;
        let tokens = OAuthTokenSource::refresh_token("client-id", CLIENT_SECRET, REFRESH_TOKEN)
            .token_url(&token_server.base_url)
            .with_access_token(OLD_TOKEN, Duration::from_secs(3600));
        let client = client_with(&api, tokens);
        let error = client
            .get_product()
            .product_id("p-1")
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            api.requests().len(),
            3,
            "401 renewed, 503 retried, 404 final"
        );
        vec![
            format!("{client:?}"),
            format!("{error}"),
            format!("{error:?}"),
        ]
    });
    assert!(log.contains("csm.call"), "the call is traced: {log}");
    assert!(log.contains("retrying"), "retries are traced: {log}");
    for text in texts.iter().chain([&log]) {
        for secret in [CLIENT_SECRET, REFRESH_TOKEN, OLD_TOKEN, NEW_TOKEN] {
            assert!(!text.contains(secret), "{secret} leaked in: {text}");
        }
    }
}

#[tokio::test]
async fn a_sites_cloud_id_is_looked_up_from_its_tenant_info() {
    let site = ScriptedServer::start(vec![Reply::json(
        200,
        json!({"cloudId": "1a2b3c4d-0000-4000-8000-000000000001"}),
    )])
    .await;
    let client = Client::builder()
        .site("acme.atlassian.net")
        .tenant_info_url(format!("{}/_edge/tenant_info", site.base_url))
        .credentials(Credentials::basic("admin@example.com", "api-token"))
        .build_async()
        .await
        .unwrap();
    assert_eq!(
        client.base_url(),
        "https://api.atlassian.com/jsm/csm/cloudid/1a2b3c4d-0000-4000-8000-000000000001"
    );
    assert_eq!(site.requests()[0].target, "/_edge/tenant_info");
    assert_eq!(
        site.requests()[0].header("authorization"),
        None,
        "no credentials sent"
    );
}

#[tokio::test]
async fn a_user_agent_no_header_can_carry_is_refused_before_the_cloud_id_lookup() {
    let site = ScriptedServer::start(vec![Reply::json(
        200,
        json!({"cloudId": "1a2b3c4d-0000-4000-8000-000000000001"}),
    )])
    .await;
    let result = Client::builder()
        .site("acme.atlassian.net")
        .tenant_info_url(format!("{}/_edge/tenant_info", site.base_url))
        .credentials(Credentials::basic("admin@example.com", "api-token"))
        .user_agent("agent\u{1b}[2J")
        .build_async()
        .await;
    assert!(
        matches!(&result, Err(Error::Config(message)) if message.contains("user agent")),
        "{:?}",
        result.err()
    );
    assert!(site.requests().is_empty(), "nothing is sent");
}

#[tokio::test]
async fn the_only_site_a_token_reaches_gives_the_cloud_id() {
    let resources = ScriptedServer::start(vec![Reply::json(
        200,
        json!([{"id": "cafe-0001", "url": "https://acme.atlassian.net", "name": "acme", "scopes": []}]),
    )])
    .await;
    let client = Client::builder()
        .accessible_resources_url(format!(
            "{}/oauth/token/accessible-resources",
            resources.base_url
        ))
        .credentials(Credentials::bearer(OLD_TOKEN))
        .build_async()
        .await
        .unwrap();
    assert!(client.base_url().ends_with("/cafe-0001"));
    assert_eq!(
        resources.requests()[0].header("authorization"),
        Some(format!("Bearer {OLD_TOKEN}").as_str())
    );
}

#[test]
fn a_site_without_a_lookup_is_refused_by_the_synchronous_build() {
    let result = Client::builder()
        .site("acme")
        .credentials(Credentials::bearer(OLD_TOKEN))
        .build();
    assert!(matches!(result, Err(Error::Config(message)) if message.contains("build_async")));
}

#[tokio::test]
async fn a_header_the_request_may_not_carry_is_refused_before_a_token_is_fetched() {
    let token_server = ScriptedServer::start(vec![granted(NEW_TOKEN, REFRESH_TOKEN)]).await;
    let api = ScriptedServer::start(vec![products_page()]).await;
    let tokens = OAuthTokenSource::client_credentials("service-account", CLIENT_SECRET)
        .token_url(&token_server.base_url);
    let error = client_with(&api, tokens)
        .bulk_create_customer_accounts()
        .idempotency_key("clé-42")
        .body(support::bodies::one_account())
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::InvalidInput { field, .. } if field == "idempotency-key header"),
        "{error:?}"
    );
    assert_eq!(token_server.requests().len(), 0, "no token was fetched");
    assert_eq!(api.requests().len(), 0, "nothing was sent");
}
