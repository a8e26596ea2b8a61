//! The client against servers that answer as a broken proxy or an attacker would.
//!
//! | case | the server (or a proxy) | expected outcome | test |
//! | --- | --- | --- | --- |
//! | huge body, declared | 200, `Content-Length: 4 GiB`, bytes without end | `ResponseTooLarge` before reading, one request | `oversized_answers_fail_at_the_limit_with_bounded_memory` |
//! | huge body, undeclared | 200, bytes until the connection closes | `ResponseTooLarge` at 16 MiB, peak memory near the limit | same |
//! | huge body, chunked | 200, chunks without end | `ResponseTooLarge` at 16 MiB, peak memory near the limit | same |
//! | huge error body | 500 with a 4 GiB body on a `GET` | `ResponseTooLarge`, not retried | same |
//! | huge token answer | the token endpoint answers without end | `Auth` naming the size, nothing sent to the API | `an_endless_token_answer_is_an_auth_error` |
//! | configured limit | 2 KiB limit, 4 KiB answer | `ResponseTooLarge { limit: 2048 }` | `the_limit_is_configurable` |
//! | bulk redirect | 307 / 308 to another origin on a bulk `POST` | `Redirected` naming the `Location`; the other origin receives nothing | `a_redirect_is_never_followed_with_data` |
//! | token redirect | 307 to another origin on the token request | `Auth` naming the `Location`; the other origin receives no secret | `a_token_endpoint_redirect_sends_no_secret_elsewhere` |
//! | discovery redirect | 302 to another origin on tenant info | `Config` naming the `Location`; nothing sent there | `a_discovery_redirect_is_refused` |
//! | id with `\` and `..` | `customer_id("..\\..\\product\\p-victim")` | one segment: `/api/v1/customer/account/..%5C..%5Cproduct%5Cp-victim` | `ids_stay_in_their_segment` |
//! | dot and empty ids | `""`, `.`, `..` | `InvalidInput` naming the parameter, nothing sent | `dot_and_empty_ids_are_refused_before_sending` |
//! | hostile task id | the submit answer's task id is `..\\customer\\qm-victim` / `..` | polls stay under `/api/v1/tasks/`; `..` refused | `a_task_id_from_the_server_stays_in_its_segment` |
//! | long strings | a 300-character product name, a 400-character detail value | decoded as sent | `answers_decode_past_the_documented_lengths` |
//! | `null` lists | `"failures": null`, `"details": null`, `"organizations": null` | decoded as empty; a bulk import completes | `null_optional_lists_read_as_empty` |
//! | hanging poll | a task poll that never answers | `TaskDeadline` within the deadline + 1 s | `a_task_deadline_holds_whatever_the_server_does` |
//! | long Retry-After | a poll answered 429 `Retry-After: 30` | `TaskDeadline` (or the rate limit) within the deadline + 1 s | same |
//! | lost bulk answer | a keyed submit answered 500, or cut mid-answer | `Unconfirmed`, never `NotSubmitted` | `an_unanswered_submit_is_unconfirmed_not_unsent` |
//! | refused bulk | 400, or the connection refused | `NotSubmitted` | same |
//! | non-ASCII header | `.idempotency_key("clé-42")`, `" padded"`, `"ключ"` | `InvalidInput { field: "idempotency-key header" }`, nothing sent (control characters: `InvalidInput` as the request is built); a bearer token or user agent so made: `Config` at build | `edges::a_header_value_that_is_not_visible_ascii_is_refused_before_sending` |
//! | huge error text | 400 with a 10 MB `errorMessage`; 502 with 3 MB of HTML; 307 to a 50 KB `Location` | `Display` under 8 KiB ending `(cut: the server's text was 10485760 bytes)`; `Debug` bounded too | `edges::a_huge_error_message_is_kept_to_a_few_kib_saying_how_much_was_cut` |
//! | echoed secrets | the error body (JSON, escaped, or plain text) repeats the Basic header, the API token, a bearer token | `<redacted>` in `Display` and `Debug`, no part of the secret kept | `edges::secrets_a_server_echoes_are_redacted_from_errors` |
//! | empty bulk | a bulk call with `[]`; a detail record with no operation; an import of nothing | `InvalidInput` naming the array, nothing sent; the import sends nothing | `edges::a_bulk_request_with_no_record_is_refused_before_sending` |
//! | base URL | a query, an empty query, a fragment, user info, `ftp:`, `file:`, no scheme | `Config` naming what is wrong, user info and query not echoed | `edges::a_base_url_the_request_paths_cannot_be_appended_to_is_refused` |
//! | cursor cycle | cursors A → B → A, or A → A | every page yielded, then `Pagination` | `edges::cursors_that_cycle_end_the_listing_with_an_error` |
//! | endless pages | a new cursor on every page; search pages never last | `Pagination { pages: N }` at `max_pages(N)` | `edges::a_listing_that_never_ends_stops_at_the_page_cap` |
//! | short-lived token | tokens granted for 30 s (margin 60 s), or for 0 s, 200 concurrent calls | one token request (0 s: at most one a second) | `auth::a_token_shorter_lived_than_the_renewal_margin_is_not_renewed_per_call` |
//!
//! `csm`'s own edges (escape sequences and echoed tokens in a server's text, several fakes, a
//! loopback base URL, definitions refused before sending, an unreachable host) are in the CLI's
//! `tests/edges.rs`.
//!
//! Longer than 500 lines on purpose: each hostile server is written out in the test that meets it,
//! so what it sends is read beside what the client must make of it.

use crate::support::scripted_server::{Framing, Reply, ScriptedServer};
use atlassian_csm::{
    types, Client, Credentials, Error, OAuthTokenSource, PollPolicy, RecordOutcome, RetryPolicy,
    TaskOutcome,
};
use serde_json::json;
use std::time::{Duration, Instant};

const MIB: u64 = 1024 * 1024;

use crate::support::client;

/// Resets the process's peak memory, so the next reading is the peak since now.
fn reset_peak_memory() {
    std::fs::write("/proc/self/clear_refs", "5").expect("the peak RSS can be reset");
}

/// A memory figure of this process from `/proc/self/status`, in MiB: `VmHWM` (the peak since
/// the last reset) or `VmRSS` (now).
fn memory_mib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib / 1024
}

fn too_large(error: &Error) -> (u16, u64, u64) {
    match error {
        Error::ResponseTooLarge {
            status,
            seen,
            limit,
            ..
        } => (status.as_u16(), *seen, *limit),
        other => panic!("expected ResponseTooLarge, got {other:?}"),
    }
}

#[tokio::test]
async fn oversized_answers_fail_at_the_limit_with_bounded_memory() {
    let cases = [
        (200, Framing::Declared(4 << 30)),
        (200, Framing::UntilClose),
        (200, Framing::Chunked),
        (500, Framing::Declared(4 << 30)),
    ];
    for (status, framing) in cases {
        let server = ScriptedServer::start(vec![Reply::Flood { status, framing }]).await;
        let before = memory_mib("VmRSS:");
        reset_peak_memory();
        let started = Instant::now();
        let error = client(&server.base_url)
            .get_products()
            .send()
            .await
            .unwrap_err();
        let took = started.elapsed();
        let growth = memory_mib("VmHWM:").saturating_sub(before);
        let (seen_status, seen, limit) = too_large(&error);
        assert_eq!(seen_status, status, "{framing:?}");
        assert_eq!(limit, 16 * MIB);
        assert!(seen > limit, "{framing:?}: {seen}");
        assert_eq!(server.requests().len(), 1, "{framing:?}: never retried");
        assert!(
            growth <= 16 + 24,
            "{framing:?}: peak memory grew {growth} MiB for a 16 MiB limit"
        );
        assert!(took < Duration::from_secs(10), "{framing:?}: {took:?}");
        eprintln!("{status} {framing:?}: {error} — {took:?}, peak +{growth} MiB");
    }
}

#[tokio::test]
async fn the_limit_is_configurable() {
    let server = ScriptedServer::start(vec![Reply::raw(
        200,
        "application/json",
        &format!("{{\"results\": [], \"pad\": \"{}\"}}", "x".repeat(4096)),
    )])
    .await;
    let client = Client::builder()
        .base_url(&server.base_url)
        .credentials(Credentials::bearer("token"))
        .max_response_size(2048)
        .build()
        .unwrap();
    assert_eq!(client.config().max_response_size(), 2048);
    let error = client.get_products().send().await.unwrap_err();
    let (_, seen, limit) = too_large(&error);
    assert_eq!(limit, 2048);
    assert!(seen > 2048);
    assert!(error.to_string().contains("2048 bytes"), "{error}");
}

#[tokio::test]
async fn an_endless_token_answer_is_an_auth_error() {
    let tokens = ScriptedServer::start(vec![Reply::Flood {
        status: 200,
        framing: Framing::UntilClose,
    }])
    .await;
    let api = ScriptedServer::start(vec![Reply::json(200, json!({"results": []}))]).await;
    let started = Instant::now();
    let client = Client::builder()
        .base_url(&api.base_url)
        .credentials(Credentials::token_source(
            OAuthTokenSource::client_credentials("id", "secret").token_url(&tokens.base_url),
        ))
        .build()
        .unwrap();
    let error = client.get_products().send().await.unwrap_err();
    assert!(
        matches!(&error, Error::Auth { message } if message.contains("bytes")),
        "{error:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(api.requests().is_empty(), "no token, no request");
}

#[tokio::test]
async fn a_redirect_is_never_followed_with_data() {
    for status in [307, 308] {
        let elsewhere = ScriptedServer::start(vec![Reply::json(202, json!({"id": "t"}))]).await;
        let location = format!("{}/steal", elsewhere.base_url);
        let api = ScriptedServer::start(vec![
            Reply::status(status).with_header("location", &location)
        ])
        .await;
        let body: types::BulkManageCustomerProfilesRequest = serde_json::from_value(json!({
            "customerProfiles": [{"operationType": "UPSERT", "payload": {"email": "ada@example.com"}}]
        }))
        .unwrap();
        let error = client(&api.base_url)
            .bulk_manage_multiple_customer_profiles()
            .body(body)
            .send()
            .await
            .unwrap_err();
        match &error {
            Error::Redirected {
                status: seen,
                location: named,
                ..
            } => {
                assert_eq!(seen.as_u16(), status);
                assert_eq!(named, &location);
            }
            other => panic!("{status}: expected Redirected, got {other:?}"),
        }
        assert!(error.to_string().contains(&location), "{error}");
        assert_eq!(api.requests().len(), 1, "a redirect is not retried");
        assert!(
            elsewhere.requests().is_empty(),
            "{status}: the other origin received a request"
        );
    }
}

#[tokio::test]
async fn a_token_endpoint_redirect_sends_no_secret_elsewhere() {
    let elsewhere = ScriptedServer::start(vec![Reply::json(
        200,
        json!({"access_token": "stolen", "expires_in": 3600}),
    )])
    .await;
    let location = format!("{}/oauth/token", elsewhere.base_url);
    let tokens =
        ScriptedServer::start(vec![Reply::status(307).with_header("location", &location)]).await;
    let api = ScriptedServer::start(vec![Reply::json(200, json!({"results": []}))]).await;
    let client = Client::builder()
        .base_url(&api.base_url)
        .credentials(Credentials::token_source(
            OAuthTokenSource::refresh_token("id", "client-secret-value", "refresh-token-value")
                .token_url(&tokens.base_url),
        ))
        .build()
        .unwrap();
    let error = client.get_products().send().await.unwrap_err();
    assert!(
        matches!(&error, Error::Auth { message } if message.contains(&location)),
        "{error:?}"
    );
    assert!(
        elsewhere.requests().is_empty(),
        "no secret left for another origin"
    );
    assert!(
        api.requests().is_empty(),
        "no token from elsewhere was used"
    );
}

#[tokio::test]
async fn a_discovery_redirect_is_refused() {
    let elsewhere = ScriptedServer::start(vec![Reply::json(200, json!({"cloudId": "evil"}))]).await;
    let location = format!("{}/_edge/tenant_info", elsewhere.base_url);
    let site =
        ScriptedServer::start(vec![Reply::status(302).with_header("location", &location)]).await;
    let error = Client::builder()
        .site("acme")
        .tenant_info_url(format!("{}/_edge/tenant_info", site.base_url))
        .credentials(Credentials::bearer("token"))
        .build_async()
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Config(message) if message.contains(&location)),
        "{error:?}"
    );
    assert!(elsewhere.requests().is_empty());
}

#[tokio::test]
async fn ids_stay_in_their_segment() {
    let api = ScriptedServer::start(vec![Reply::status(204)]).await;
    let client = client(&api.base_url);
    let _ = client
        .delete_customer_account()
        .customer_id("..\\..\\product\\p-victim")
        .send()
        .await;
    let _ = client.get_product().product_id("a/b?c#d").send().await;
    let targets: Vec<String> = api.requests().into_iter().map(|r| r.target).collect();
    assert_eq!(
        targets,
        [
            "/api/v1/customer/account/..%5C..%5Cproduct%5Cp-victim",
            "/api/v1/product/a%2Fb%3Fc%23d"
        ]
    );
}

#[tokio::test]
async fn dot_and_empty_ids_are_refused_before_sending() {
    let api = ScriptedServer::start(vec![Reply::status(204)]).await;
    let client = client(&api.base_url);
    for id in ["", ".", ".."] {
        let error = client
            .delete_organization()
            .organization_id(id)
            .send()
            .await
            .unwrap_err();
        assert!(
            matches!(&error, Error::InvalidInput { field, .. } if field == "organization_id"),
            "{id:?}: {error:?}"
        );
        let error = client
            .update_field_for_customers()
            .field_name(id)
            .body(types::EditDetailFieldRequest::builder().name("Region"))
            .send()
            .await
            .unwrap_err();
        assert!(
            matches!(&error, Error::InvalidInput { field, .. } if field == "field_name"),
            "{id:?}: {error:?}"
        );
    }
    assert!(api.requests().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn a_task_id_from_the_server_stays_in_its_segment() {
    let finished = json!({"id": "x", "type": "BULK_CUSTOMER_PROFILE_CREATE_UPDATE",
        "status": "FINISHED", "createdAt": "2025-01-15T11:12:13Z", "updatedAt": "2025-01-15T11:12:13Z"});
    let api = ScriptedServer::start(vec![Reply::json(200, finished)]).await;
    let client = client(&api.base_url);
    let fast = PollPolicy::default().first_delay(Duration::from_millis(1));
    let outcome = client
        .wait_for_task("..\\customer\\qm-victim")
        .policy(fast.clone())
        .await
        .unwrap();
    assert!(matches!(outcome, TaskOutcome::Finished(_)));
    assert_eq!(
        api.requests()[0].target,
        "/api/v1/tasks/..%5Ccustomer%5Cqm-victim"
    );
    let error = client.wait_for_task("..").policy(fast).await.unwrap_err();
    assert!(
        matches!(&error, Error::InvalidInput { field, .. } if field == "task_id"),
        "{error:?}"
    );
    assert_eq!(api.requests().len(), 1, "the `..` poll was never sent");
}

#[tokio::test]
async fn answers_decode_past_the_documented_lengths() {
    let long_name = "N".repeat(300);
    let long_value = "v".repeat(400);
    let api = ScriptedServer::start(vec![
        Reply::json(200, json!({"results": [{"id": "p-1", "name": long_name}]})),
        Reply::json(
            200,
            json!({"customerId": "qm:1:2", "displayName": "Ada",
                "details": [{"name": "Notes", "value": {"type": "TEXT", "text": [long_value]}}]}),
        ),
    ])
    .await;
    let client = client(&api.base_url);
    let page = client.get_products().send().await.unwrap();
    assert_eq!(page.results[0].name.chars().count(), 300);
    let profile = client
        .get_customer_profile()
        .customer_id("qm:1:2")
        .send()
        .await
        .unwrap();
    assert_eq!(profile.details[0].value.text[0].chars().count(), 400);
    let field: types::DetailField =
        serde_json::from_value(json!({"name": "Notes", "values": ["v".repeat(400)]})).unwrap();
    assert_eq!(field.values[0].len(), 400);
}

#[tokio::test]
async fn null_optional_lists_read_as_empty() {
    let task = json!({"id": "t-1", "type": "BULK_CUSTOMER_PROFILE_CREATE_UPDATE",
        "status": "FINISHED", "failures": null,
        "createdAt": "2025-01-15T11:12:13Z", "updatedAt": "2025-01-15T11:12:13Z"});
    let profile = json!({"customerId": "qm:1:2", "displayName": "Ada",
        "details": null, "organizations": null, "entitlements": null});
    let decoded: types::TaskStatusResponse = serde_json::from_value(task.clone()).unwrap();
    assert!(decoded.failures.is_empty());
    let decoded: types::CustomerAccountProfile = serde_json::from_value(profile).unwrap();
    assert!(decoded.details.is_empty() && decoded.organizations.is_empty());

    let api = ScriptedServer::start(vec![
        Reply::json(202, json!({"id": "t-1", "statusUrl": "/api/v1/tasks/t-1"})),
        Reply::json(200, task),
    ])
    .await;
    let records: Vec<types::BulkManageCustomerProfileOperation> = vec![serde_json::from_value(
        json!({"operationType": "UPSERT", "payload": {"email": "ada@example.com"}}),
    )
    .unwrap()];
    let report = client(&api.base_url)
        .import_customer_profiles(records)
        .await
        .unwrap();
    assert!(report.all_succeeded(), "{report:?}");
}

#[tokio::test]
async fn a_task_deadline_holds_whatever_the_server_does() {
    let pending = || {
        json!({"id": "t-1", "type": "BULK_CUSTOMER_PROFILE_CREATE_UPDATE", "status": "IN_PROGRESS",
            "createdAt": "2025-01-15T11:12:13Z", "updatedAt": "2025-01-15T11:12:13Z"})
    };
    let hanging = Reply::After(
        Duration::from_secs(60),
        Box::new(Reply::json(200, pending())),
    );
    let rate_limited = Reply::status(429).with_header("retry-after", "30");
    for reply in [hanging, rate_limited] {
        let api = ScriptedServer::start(vec![Reply::json(200, pending()), reply]).await;
        let started = Instant::now();
        let error = client(&api.base_url)
            .wait_for_task("t-1")
            .policy(
                PollPolicy::default()
                    .first_delay(Duration::from_millis(100))
                    .deadline(Duration::from_secs(2)),
            )
            .await
            .unwrap_err();
        let took = started.elapsed();
        assert!(
            matches!(
                error,
                Error::TaskDeadline { .. } | Error::RateLimited { .. }
            ),
            "{error:?}"
        );
        assert!(
            took < Duration::from_secs(3),
            "a 2 s deadline took {took:?}"
        );
    }
}

#[tokio::test]
async fn an_unanswered_submit_is_unconfirmed_not_unsent() {
    let record = || -> Vec<types::BulkManageCustomerProfileOperation> {
        vec![serde_json::from_value(
            json!({"operationType": "UPSERT", "payload": {"email": "ada@example.com"}}),
        )
        .unwrap()]
    };
    let no_retries = |base_url: &str| {
        Client::builder()
            .base_url(base_url)
            .credentials(Credentials::bearer("token"))
            .retry_policy(RetryPolicy::never())
            .build()
            .unwrap()
    };
    let lost = [
        Reply::status(500),
        Reply::CutMidBody {
            status: 202,
            declared: 100,
            sent: b"{\"id\": \"t".to_vec(),
        },
    ];
    for reply in lost {
        let api = ScriptedServer::start(vec![reply.clone()]).await;
        let report = no_retries(&api.base_url)
            .import_customer_profiles(record())
            .await
            .unwrap();
        assert!(
            matches!(report.records[0], RecordOutcome::Unconfirmed(_)),
            "{reply:?}: {:?}",
            report.records[0]
        );
    }
    let refused = ScriptedServer::start(vec![Reply::json(
        400,
        json!({"errorMessage": "Invalid email"}),
    )])
    .await;
    let report = no_retries(&refused.base_url)
        .import_customer_profiles(record())
        .await
        .unwrap();
    assert!(matches!(report.records[0], RecordOutcome::NotSubmitted(_)));

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let report = no_retries(&closed)
        .import_customer_profiles(record())
        .await
        .unwrap();
    assert!(
        matches!(report.records[0], RecordOutcome::NotSubmitted(_)),
        "{:?}",
        report.records[0]
    );
}

/// Every path parameter of every operation goes through the segment check: the generated client
/// builds each one with `crate::path::segment` (the build fails if a path is built otherwise).
#[test]
fn every_path_parameter_of_every_operation_is_confined() {
    use crate::support::spec::{operations, spec};
    let generated: String = include_str!(concat!(env!("OUT_DIR"), "/csm_client.rs"))
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let mut parameters = 0;
    for operation in operations() {
        for parameter in operation.parameters(spec()).filter(|p| p["in"] == "path") {
            let name = atlassian_csm_spec::openapi::snake_case(parameter["name"].as_str().unwrap());
            let confined = format!(">(\"{name}\",&{name}.to_string())?");
            assert!(
                generated.contains(&confined),
                "{}: `{name}` is not confined",
                operation.id()
            );
            parameters += 1;
        }
    }
    assert_eq!(
        generated.matches("crate::path::segment::<").count(),
        parameters,
        "one check per path parameter of every operation"
    );
    assert!(parameters >= 20, "{parameters}");
}

/// Tolerant reading, strict writing: a type answers share with requests (detail-field options)
/// reads any length, and a request carrying it is still checked against the documented limit.
#[tokio::test]
async fn requests_are_still_checked_against_every_limit() {
    let long_option = "o".repeat(256);
    let options: types::DetailFieldOptions =
        serde_json::from_value(json!(["Free", long_option])).expect("reading accepts any length");
    let api = ScriptedServer::start(vec![Reply::status(200)]).await;
    let field = types::CreateDetailFieldRequest::builder()
        .name("Plan")
        .type_(
            types::DetailFieldType::builder()
                .name("SELECT")
                .options(options),
        );
    let error = client(&api.base_url)
        .create_customer_detail()
        .body(field)
        .send()
        .await
        .unwrap_err();
    match &error {
        Error::InvalidInput { field, message } => {
            assert_eq!(field, "type.options[1]");
            assert!(message.contains("256 characters; at most 255"), "{message}");
        }
        other => panic!("expected InvalidInput, got {other:?}"),
    }
    assert!(api.requests().is_empty(), "nothing was sent");
}
