//! Fault injection: what the client does when the network or the server misbehaves.

use crate::support;

use crate::support::scripted_server::{Reply, ScriptedServer};
use atlassian_csm::{types, Client, Credentials, Error, RateLimitExt, RetryPolicy};
use serde_json::json;
use std::time::Duration;

fn products_page() -> Reply {
    Reply::json(
        200,
        json!({"results": [{"id": "p-1", "name": "Acme Widget"}]}),
    )
}

/// A retry policy whose backoff is milliseconds, so tests wait no longer than they must.
fn fast_retries() -> RetryPolicy {
    crate::support::fast_retries().max_delay(Duration::from_millis(20))
}

fn client_for(server: &ScriptedServer) -> Client {
    crate::support::client_builder(&server.base_url)
        .retry_policy(fast_retries())
        .build()
        .unwrap()
}

/// The gap between the first two requests the server received is at least `least`.
fn assert_waited_at_least(server: &ScriptedServer, least: Duration) {
    let requests = server.requests();
    let waited = requests[1].received_at - requests[0].received_at;
    assert!(waited >= least, "waited only {waited:?}");
}

fn product_request() -> types::ProductRequest {
    types::ProductRequest::builder()
        .name("Acme Widget")
        .try_into()
        .unwrap()
}

#[tokio::test]
async fn a_429_is_retried_after_the_seconds_in_retry_after() {
    let server = ScriptedServer::start(vec![
        Reply::status(429).with_header("retry-after", "1"),
        products_page(),
    ])
    .await;
    let page = client_for(&server).get_products().send().await.unwrap();
    assert_eq!(page.results.len(), 1);
    assert_eq!(server.requests().len(), 2);
    assert_waited_at_least(&server, Duration::from_millis(950));
}

#[tokio::test]
async fn a_retry_after_http_date_is_honoured() {
    let at = chrono::Utc::now() + chrono::Duration::seconds(2);
    let date = at.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    let server = ScriptedServer::start(vec![
        Reply::status(429).with_header("retry-after", &date),
        products_page(),
    ])
    .await;
    client_for(&server).get_products().send().await.unwrap();
    // The date has whole seconds: the wait is between 1 and 2 seconds.
    assert_waited_at_least(&server, Duration::from_millis(900));
}

#[tokio::test]
async fn a_503_twice_then_success_succeeds_on_the_third_attempt() {
    let server = ScriptedServer::start(vec![
        Reply::status(503),
        Reply::status(503),
        products_page(),
    ])
    .await;
    client_for(&server).get_products().send().await.unwrap();
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn a_500_on_a_post_without_idempotency_key_is_not_retried() {
    let server = ScriptedServer::start(vec![
        Reply::json(500, json!({"errorMessage": "boom"})),
        Reply::json(200, json!({"id": "p", "name": "Acme Widget"})),
    ])
    .await;
    let error = client_for(&server)
        .create_product()
        .body(product_request())
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(500));
    assert_eq!(
        server.requests().len(),
        1,
        "a non-idempotent write is sent once"
    );
}

#[tokio::test]
async fn a_500_on_a_get_is_retried() {
    let server = ScriptedServer::start(vec![Reply::status(500), products_page()]).await;
    client_for(&server).get_products().send().await.unwrap();
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn a_connection_cut_mid_response_is_retried_when_safe() {
    let cut = Reply::CutMidBody {
        status: 200,
        declared: 200,
        sent: br#"{"results": [{"id""#.to_vec(),
    };
    let server = ScriptedServer::start(vec![cut.clone(), products_page()]).await;
    client_for(&server).get_products().send().await.unwrap();
    assert_eq!(server.requests().len(), 2);

    let server = ScriptedServer::start(vec![cut]).await;
    let error = client_for(&server)
        .create_product()
        .body(product_request())
        .send()
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Transport { .. }), "{error:?}");
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn a_response_slower_than_the_timeout_fails_with_a_timeout() {
    let slow = Reply::After(Duration::from_secs(5), Box::new(products_page()));
    let server = ScriptedServer::start(vec![slow]).await;
    let client = Client::builder()
        .base_url(&server.base_url)
        .credentials(Credentials::bearer("token"))
        .timeout(Duration::from_millis(200))
        .retry_policy(RetryPolicy::never())
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let error = client.get_products().send().await.unwrap_err();
    assert!(
        matches!(error, Error::Timeout { after, .. } if after == Duration::from_millis(200)),
        "{error:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn the_overall_call_timeout_bounds_all_retries() {
    let server =
        ScriptedServer::start(vec![Reply::status(503).with_header("retry-after", "30")]).await;
    let client = Client::builder()
        .base_url(&server.base_url)
        .credentials(Credentials::bearer("token"))
        .call_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let error = client.get_products().send().await.unwrap_err();
    assert!(
        matches!(error, Error::Timeout { after, .. } if after == Duration::from_millis(300)),
        "{error:?}"
    );
}

#[tokio::test]
async fn truncated_json_is_a_decode_error_with_the_body_start() {
    let server = ScriptedServer::start(vec![Reply::raw(
        200,
        "application/json",
        r#"{"results": ["#,
    )])
    .await;
    let error = client_for(&server).get_products().send().await.unwrap_err();
    match error {
        Error::Decode {
            status,
            body_excerpt,
            ..
        } => {
            assert_eq!(status.as_u16(), 200);
            assert_eq!(body_excerpt, r#"{"results": ["#);
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
}

#[tokio::test]
async fn an_html_error_page_from_a_proxy_keeps_its_status() {
    let page = "<html><body><h1>502 Bad Gateway</h1></body></html>";
    for status in [502, 500] {
        // A POST without a key: not retried, so the page is the final answer.
        let server = ScriptedServer::start(vec![Reply::raw(status, "text/html", page)]).await;
        let error = client_for(&server)
            .create_product()
            .body(product_request())
            .send()
            .await
            .unwrap_err();
        match error {
            Error::Api {
                status: got,
                error: None,
                body_excerpt: Some(excerpt),
                ..
            } => {
                assert_eq!(got.as_u16(), status);
                assert!(excerpt.contains("502 Bad Gateway"));
            }
            other => panic!("expected an API error keeping status {status}, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn rate_limit_headers_are_readable_on_responses_and_on_the_final_error() {
    let limited = Reply::status(429)
        .with_header("retry-after", "0")
        .with_header("x-ratelimit-remaining", "0")
        .with_header("ratelimit-reason", "jira-burst-based");
    let server = ScriptedServer::start(vec![limited]).await;
    let error = client_for(&server).get_products().send().await.unwrap_err();
    assert_eq!(
        server.requests().len(),
        5,
        "the default policy makes 5 attempts"
    );
    match &error {
        Error::RateLimited { rate_limit, .. } => {
            assert_eq!(rate_limit.reason.as_deref(), Some("jira-burst-based"));
            assert_eq!(rate_limit.remaining, Some(0));
            assert_eq!(rate_limit.retry_after, Some(Duration::ZERO));
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }

    let ok = Reply::json(200, json!({"results": []}))
        .with_header("x-ratelimit-remaining", "42")
        .with_header("x-ratelimit-nearlimit", "true");
    let server = ScriptedServer::start(vec![ok]).await;
    let page = client_for(&server).get_products().send().await.unwrap();
    assert_eq!(page.rate_limit().remaining, Some(42));
    assert!(page.rate_limit().near_limit);
}

#[tokio::test]
async fn a_quota_used_up_for_the_hour_fails_at_once_saying_when_it_resets() {
    // The 2026 points quota, in its beta form: a quota reason, nothing left, 30 minutes to go.
    let quota = Reply::status(429)
        .with_header("retry-after", "0")
        .with_header("x-beta-ratelimit-reason", "jira-quota-tenant-based")
        .with_header(
            "beta-ratelimit-policy",
            "\"tenant-app-quota\";q=100100;w=3600",
        )
        .with_header("beta-ratelimit", "\"tenant-app-quota\";r=0;t=1800");
    let server = ScriptedServer::start(vec![quota]).await;
    let error = client_for(&server).get_products().send().await.unwrap_err();
    assert_eq!(server.requests().len(), 1, "a used-up quota is not retried");
    let text = error.to_string();
    assert!(text.contains("jira-quota-tenant-based"), "{text}");
    assert!(text.contains("resets in 1800 s"), "{text}");
    let rate_limit = error.rate_limit().unwrap();
    assert!(rate_limit.quota_exhausted());
    assert_eq!(rate_limit.resets_in(), Some(Duration::from_secs(1800)));
    assert_eq!(rate_limit.policies[0].quota, Some(100_100));

    // The IETF form with a quota at zero, and no reason, is the same.
    let ietf = Reply::status(429)
        .with_header("retry-after", "0")
        .with_header("ratelimit", "\"hourly\";r=0;t=60");
    let server = ScriptedServer::start(vec![ietf]).await;
    let error = client_for(&server).get_products().send().await.unwrap_err();
    assert_eq!(server.requests().len(), 1);
    assert!(error.to_string().contains("resets in 60 s"), "{error}");

    // A burst limit is waited out and retried, as before.
    let burst = Reply::status(429)
        .with_header("retry-after", "0")
        .with_header("ratelimit-reason", "jira-burst-based");
    let server = ScriptedServer::start(vec![burst, products_page()]).await;
    client_for(&server).get_products().send().await.unwrap();
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn a_retry_after_beyond_the_policy_fails_at_once_with_the_hint() {
    let server =
        ScriptedServer::start(vec![Reply::status(429).with_header("retry-after", "3600")]).await;
    let error = client_for(&server).get_products().send().await.unwrap_err();
    assert_eq!(server.requests().len(), 1);
    assert_eq!(
        error.rate_limit().and_then(|r| r.retry_after),
        Some(Duration::from_secs(3600))
    );
    assert!(error.to_string().contains("retry after"), "{error}");
}

/// Every bulk call, retried through 503 and 500, sends one and the same key on every attempt.
#[tokio::test]
async fn every_attempt_of_a_bulk_call_sends_the_same_idempotency_key() {
    use support::spec::request_example;
    fn body<T: serde::de::DeserializeOwned>(method_name: &str) -> T {
        serde_json::from_value(request_example(method_name).unwrap()).unwrap()
    }
    /// Calls the bulk method named `$name` with the spec's example body.
    macro_rules! submit {
        ($client:expr, $name:expr, $($method:ident => $body:ty),* $(,)?) => {
            match $name {
                $(stringify!($method) => $client.$method().body(body::<$body>($name)).send().await,)*
                other => panic!("a bulk operation this test does not know: {other}"),
            }
        };
    }
    let task = json!({"id": "t-1", "statusUrl": "/api/v1/tasks/t-1"});
    let script = || {
        vec![
            Reply::status(503),
            Reply::status(500),
            Reply::json(202, task.clone()),
        ]
    };

    let mut bulk_calls = 0;
    let bulk_operations = crate::support::spec::operations()
        .into_iter()
        .filter(|op| {
            op.parameters(crate::support::spec::spec())
                .any(|p| p["name"] == "Idempotency-Key")
        })
        .map(|op| op.method_name());
    for method_name in bulk_operations {
        let server = ScriptedServer::start(script()).await;
        let client = client_for(&server);
        let submitted = submit!(
            client,
            method_name.as_str(),
            bulk_manage_organization_profiles => types::BulkManageOrganizationProfilesRequest,
            bulk_manage_organizations => types::BulkOrganizationRequest,
            bulk_manage_organization_details => types::BulkOrganizationDetailFieldRequest,
            bulk_update_customer_details => types::BulkCustomerDetailFieldRequest,
            bulk_create_customer_accounts => types::BulkCustomerAccountRequest,
            bulk_manage_multiple_customer_profiles => types::BulkManageCustomerProfilesRequest,
            bulk_create_customer_detail_fields => types::BulkCreateDetailFieldsRequest,
            bulk_create_organization_detail_fields => types::BulkCreateDetailFieldsRequest,
        );
        assert_eq!(submitted.unwrap().id, "t-1");
        let keys: std::collections::BTreeSet<_> = server
            .requests()
            .iter()
            .map(|r| r.header("idempotency-key").unwrap().to_string())
            .collect();
        assert_eq!(server.requests().len(), 3, "{method_name}");
        assert_eq!(keys.len(), 1, "{method_name}: {keys:?}");
        bulk_calls += 1;
    }
    assert_eq!(bulk_calls, 8);
}

#[tokio::test]
async fn against_a_site_s_rate_limits_a_burst_is_waited_out_and_a_used_up_quota_is_not() {
    use atlassian_csm_mock::{FakeCsm, RateLimits};
    // A burst of 2 requests a second per operation, a quota of 1,000 points.
    let limits = RateLimits::live()
        .burst(2, Duration::from_secs(1))
        .quota(1_000, Duration::from_secs(3600));
    let fake = FakeCsm::builder()
        .rate_limits(limits)
        .start()
        .await
        .unwrap();
    let client = fake.client();
    let calls = (0..5).map(|_| client.get_products().send());
    let pages = futures::future::join_all(calls).await;
    assert!(pages.iter().all(Result::is_ok), "{pages:?}");
    let requests = fake.requests();
    let refused: Vec<_> = requests.iter().filter(|r| r.status == 429).collect();
    assert!(!refused.is_empty(), "the burst limit never answered");
    let page = pages[0].as_ref().unwrap();
    assert_eq!(page.rate_limit().limit, Some(2));
    assert_eq!(page.rate_limit().policies[0].quota, Some(1_000));
    assert!(page.rate_limit().quotas[0].remaining.unwrap() < 1_000);
    assert!(
        page.rate_limit().reset.is_some(),
        "the reset without seconds is read"
    );

    // A quota of 3 points: the fourth call fails at once, once, saying when it resets.
    let limits = RateLimits::live().quota(3, Duration::from_secs(3600));
    let fake = FakeCsm::builder()
        .rate_limits(limits)
        .start()
        .await
        .unwrap();
    let client = fake.client();
    for _ in 0..3 {
        client.get_products().send().await.unwrap();
    }
    let error = client.get_products().send().await.unwrap_err();
    assert!(matches!(error, Error::RateLimited { .. }), "{error}");
    assert_eq!(fake.requests().len(), 4, "the used-up quota was retried");
    assert!(error.to_string().contains("resets in"), "{error}");
}

/// Live sites' rate-limit headers as they come: the policy gone once its quota is spent, `t` at
/// 0 and a reset already past while nothing gets through. The last policy seen is kept, and a
/// reset that is no wait is taken as unknown.
#[tokio::test]
async fn a_spent_quota_without_its_policy_or_with_a_reset_already_past_is_said_as_it_is() {
    let past = (chrono::Utc::now() - chrono::Duration::minutes(3)).format("%Y-%m-%dT%H:%MZ");
    let spent = Reply::status(429)
        .with_header("x-beta-ratelimit-reason", "jira-quota-tenant-based")
        .with_header("beta-ratelimit", "\"tenant-app-quota\";r=0;t=0")
        .with_header("x-ratelimit-reset", &past.to_string());
    let server = ScriptedServer::start(vec![
        products_page()
            .with_header(
                "beta-ratelimit-policy",
                "\"tenant-app-quota\";q=100100;w=3600",
            )
            .with_header("beta-ratelimit", "\"tenant-app-quota\";r=1;t=40"),
        spent,
    ])
    .await;
    let client = client_for(&server);
    client.get_products().send().await.unwrap();
    let error = client.get_products().send().await.unwrap_err();
    assert_eq!(server.requests().len(), 2, "a spent quota is not retried");
    let rate_limit = error.rate_limit().unwrap();
    assert_eq!(
        rate_limit.policies[0].quota,
        Some(100_100),
        "the policy seen before"
    );
    assert_eq!(
        rate_limit.resets_in(),
        None,
        "0 s and a past reset say nothing"
    );
    assert_eq!(rate_limit.resets_within(), Some(Duration::from_secs(3600)));
    let text = error.to_string();
    assert!(
        text.contains("(tenant-app-quota: 100100 points per 3600 s): the quota is used up until its window resets"),
        "{text}"
    );
    assert!(!text.contains("resets in 0 s"), "{text}");
}
