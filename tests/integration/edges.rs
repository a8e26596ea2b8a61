//! The client's edges, as a hostile server and a careless caller try them (listed in the table
//! of [`hostile`](super::hostile)): headers, server text in errors, echoed secrets, empty bulk
//! requests, base URLs, endless pagination.

use crate::support::scripted_server::{Reply, ScriptedServer};
use atlassian_csm::types::{self, BulkManageCustomerProfileOperation as Profile};
use atlassian_csm::{Client, Credentials, Error};
use futures::TryStreamExt;
use serde_json::json;

fn client_with(server: &ScriptedServer, credentials: Credentials) -> Client {
    crate::support::client_builder(&server.base_url)
        .credentials(credentials)
        .build()
        .unwrap()
}

fn client_for(server: &ScriptedServer) -> Client {
    client_with(server, Credentials::bearer("token"))
}

fn invalid_input(error: Error) -> (String, String) {
    match error {
        Error::InvalidInput { field, message } => (field.to_string(), message),
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

fn one_profile() -> types::builder::BulkManageCustomerProfilesRequestBuilder {
    types::BulkManageCustomerProfilesRequest::builder()
        .customer_profiles([Profile::upsert().email("ada@example.com")])
}

#[tokio::test]
async fn a_header_value_that_is_not_visible_ascii_is_refused_before_sending() {
    let server = ScriptedServer::start(vec![Reply::json(
        202,
        json!({"id": "t", "statusUrl": "/api/v1/tasks/t"}),
    )])
    .await;
    let client = client_for(&server);
    for key in ["clé-42", " padded", "padded\t", "ключ"] {
        let error = client
            .bulk_manage_multiple_customer_profiles()
            .idempotency_key(key)
            .body(one_profile())
            .send()
            .await
            .unwrap_err();
        let (field, message) = invalid_input(error);
        assert_eq!(field, "idempotency-key header", "{key:?}: {message}");
        assert!(!message.is_empty());
    }
    // Control characters are refused as the request is built.
    for key in ["key\u{7f}", "line\nend", "nul\u{0}"] {
        let error = client
            .bulk_manage_multiple_customer_profiles()
            .idempotency_key(key)
            .body(one_profile())
            .send()
            .await
            .unwrap_err();
        assert!(
            matches!(error, Error::InvalidInput { .. }),
            "{key:?}: {error:?}"
        );
    }
    // An empty key is invalid too, not taken for a missing one.
    let error = client
        .bulk_manage_multiple_customer_profiles()
        .idempotency_key("")
        .body(one_profile())
        .send()
        .await
        .unwrap_err();
    let (field, message) = invalid_input(error);
    assert!(message.contains("idempotency_key"), "{field}: {message}");
    assert!(server.requests().is_empty(), "nothing was sent");

    // Credentials and the user agent follow the same rule, at build time.
    for built in [
        Client::builder()
            .base_url(&server.base_url)
            .credentials(Credentials::bearer("tøken"))
            .build(),
        Client::builder()
            .base_url(&server.base_url)
            .credentials(Credentials::bearer("token"))
            .user_agent("agent\u{1b}[2J")
            .build(),
    ] {
        let error = built.unwrap_err();
        assert!(matches!(error, Error::Config(_)), "{error:?}");
        assert!(!error.to_string().contains("tøken"));
    }
}

#[tokio::test]
async fn a_huge_error_message_is_kept_to_a_few_kib_saying_how_much_was_cut() {
    let huge = "x".repeat(10 * 1024 * 1024);
    let server = ScriptedServer::start(vec![Reply::json(
        400,
        json!({"errorMessage": huge, "errors": ["BAD_REQUEST"]}),
    )])
    .await;
    let client = client_for(&server);
    let error = client.get_products().send().await.unwrap_err();
    let shown = error.to_string();
    let debugged = format!("{error:?}");
    assert!(shown.len() < 8 * 1024, "Display of {} bytes", shown.len());
    assert!(
        debugged.len() < 16 * 1024,
        "Debug of {} bytes",
        debugged.len()
    );
    assert!(
        shown.contains("cut: the server's text was 10485760 bytes"),
        "{}",
        &shown[shown.len() - 200..]
    );
    // Likewise for a body that is not an error the API documents, and for a redirect's target.
    let server = ScriptedServer::start(vec![
        Reply::raw(502, "text/html", &"<p>".repeat(1_000_000)),
        Reply::status(307).with_header(
            "location",
            &format!("https://elsewhere/{}", "a".repeat(50_000)),
        ),
    ])
    .await;
    let client = client_for(&server);
    for _ in 0..2 {
        let error = client.get_products().send().await.unwrap_err();
        assert!(format!("{error:?}").len() < 8 * 1024, "{error}");
    }
}

#[tokio::test]
async fn secrets_a_server_echoes_are_redacted_from_errors() {
    let api_token = "ATATT3xFfGF0-the-real-api-token";
    let echo = |sent: &str| {
        Reply::json(
            400,
            json!({"errorMessage": format!("bad request; you sent Authorization: {sent}"), "errors": [sent]}),
        )
    };
    let basic = format!(
        "Basic {}",
        base64_of(&format!("admin@example.com:{api_token}"))
    );
    let server = ScriptedServer::start(vec![
        echo(&basic),
        echo(&format!("token {api_token}")),
        Reply::raw(500, "text/plain", &format!("proxy saw {basic}")),
    ])
    .await;
    let client = client_with(&server, Credentials::basic("admin@example.com", api_token));
    for _ in 0..3 {
        let error = client.get_products().send().await.unwrap_err();
        for text in [error.to_string(), format!("{error:?}")] {
            assert!(!text.contains(api_token), "{text}");
            assert!(!text.contains(&basic[6..20]), "{text}");
        }
        assert!(format!("{error:?}").contains("<redacted>"), "{error:?}");
    }

    // A bearer token, echoed in a header-like line and JSON-escaped.
    let token = "eyJhbGciOi/JIUzI1NiJ9.payload";
    let server = ScriptedServer::start(vec![Reply::raw(
        400,
        "application/json",
        &format!(r#"{{"note": "Bearer {}"}}"#, token.replace('/', "\\/")),
    )])
    .await;
    let client = client_with(&server, Credentials::bearer(token));
    let error = client.get_products().send().await.unwrap_err();
    let text = format!("{error:?}");
    assert!(!text.contains("JIUzI1NiJ9"), "{text}");
}

fn base64_of(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}

#[tokio::test]
async fn a_bulk_request_with_no_record_is_refused_before_sending() {
    let server = ScriptedServer::start(vec![Reply::json(
        202,
        json!({"id": "t", "statusUrl": "/api/v1/tasks/t"}),
    )])
    .await;
    let client = client_for(&server);
    let error = client
        .bulk_manage_multiple_customer_profiles()
        .body(
            types::BulkManageCustomerProfilesRequest::builder()
                .customer_profiles(Vec::<Profile>::new()),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(invalid_input(error).0, "customerProfiles");
    // Each bulk request, and a detail record with no operation.
    let error = client
        .bulk_update_customer_details()
        .body(
            types::BulkCustomerDetailFieldRequest::builder()
                .customers(Vec::<types::BulkCustomerDetailFieldOperation>::new()),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(invalid_input(error).0, "customers");
    let nothing_to_do: types::BulkCustomerDetailFieldOperation =
        serde_json::from_value(json!({"customerId": "c-1", "operations": []})).unwrap();
    let error = client
        .bulk_update_customer_details()
        .body(types::BulkCustomerDetailFieldRequest::builder().customers([nothing_to_do]))
        .send()
        .await
        .unwrap_err();
    assert_eq!(invalid_input(error).0, "customers[0].operations");
    let error = client
        .bulk_manage_organization_profiles()
        .body(
            types::BulkManageOrganizationProfilesRequest::builder()
                .organization_profiles(Vec::<types::BulkManageOrganizationProfileOperation>::new()),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(invalid_input(error).0, "organizationProfiles");
    assert!(server.requests().is_empty(), "nothing was sent");
    // An import of nothing sends nothing and reports nothing.
    let report = client
        .import_customer_profiles(Vec::<Profile>::new())
        .await
        .unwrap();
    assert!(report.requests.is_empty());
    assert!(server.requests().is_empty());
}

#[test]
fn a_base_url_the_request_paths_cannot_be_appended_to_is_refused() {
    for (url, why) in [
        ("http://host/base?x=1", "query"),
        ("http://host/base?", "query"),
        ("http://host/base#frag", "fragment"),
        ("http://user:pass@host/base", "user info"),
        ("http://user@host", "user info"),
        ("ftp://host/base", "scheme"),
        ("file:///etc/passwd", "scheme"),
        ("host/base", "not a URL"),
    ] {
        let error = Client::builder()
            .base_url(url)
            .credentials(Credentials::bearer("token"))
            .build()
            .unwrap_err();
        match &error {
            Error::Config(message) => assert!(message.contains(why), "{url}: {message}"),
            other => panic!("{url}: {other:?}"),
        }
        assert!(!error.to_string().contains("pass@"), "{error}");
    }
    for url in [
        "http://127.0.0.1:8790",
        "https://proxy.example/csm/",
        "http://[::1]:80/a/b",
    ] {
        assert!(Client::builder()
            .base_url(url)
            .credentials(Credentials::bearer("token"))
            .build()
            .is_ok());
    }
}

fn product_page(name: &str, next: Option<&str>) -> Reply {
    let mut page = json!({"results": [{"id": format!("id-{name}"), "name": name}]});
    if let Some(next) = next {
        page["nextPageCursor"] = json!(next);
    }
    Reply::json(200, page)
}

#[tokio::test]
async fn cursors_that_cycle_end_the_listing_with_an_error() {
    // A → B → A: the third page's cursor was given before.
    for script in [
        vec![
            product_page("1", Some("A")),
            product_page("2", Some("B")),
            product_page("3", Some("A")),
        ],
        vec![product_page("1", Some("A")), product_page("2", Some("A"))],
    ] {
        let pages = script.len();
        let server = ScriptedServer::start(script).await;
        let client = client_for(&server);
        let mut products = std::pin::pin!(client.products(None));
        let mut names = Vec::new();
        let error = loop {
            match products.try_next().await {
                Ok(Some(product)) => names.push(product.name),
                Ok(None) => panic!("the listing ended after {names:?}"),
                Err(error) => break error,
            }
        };
        assert_eq!(names.len(), pages, "every page before was yielded");
        assert!(matches!(error, Error::Pagination { .. }), "{error:?}");
        assert!(error.to_string().contains("cursor"), "{error}");
        assert_eq!(server.requests().len(), pages);
    }
}

#[tokio::test]
async fn a_listing_that_never_ends_stops_at_the_page_cap() {
    // Every page has a new cursor, and search pages are never the last.
    let pages: Vec<Reply> = (0..20)
        .map(|i| product_page(&i.to_string(), Some(&format!("c{i}"))))
        .collect();
    let server = ScriptedServer::start(pages).await;
    let client = Client::builder()
        .base_url(&server.base_url)
        .credentials(Credentials::bearer("token"))
        .max_pages(5)
        .build()
        .unwrap();
    assert_eq!(client.config().max_pages(), 5);
    let result: Result<Vec<_>, _> = client.product_pages(None).try_collect().await;
    let error = result.unwrap_err();
    assert!(
        matches!(error, Error::Pagination { pages: 5, .. }),
        "{error:?}"
    );
    assert_eq!(server.requests().len(), 5);

    let full_page = Reply::json(
        200,
        json!({"page": 1, "maxResults": 1, "isLast": false, "customers": [{"id": "c", "name": "C"}]}),
    );
    let server = ScriptedServer::start(vec![full_page]).await;
    let client = Client::builder()
        .base_url(&server.base_url)
        .credentials(Credentials::bearer("token"))
        .max_pages(3)
        .build()
        .unwrap();
    let search = types::CustomerSearchByDetailFieldRequest::builder().detail_fields([
        types::SearchDetailField::builder()
            .name("Plan")
            .value("Pro"),
    ]);
    let result: Result<Vec<_>, _> = client.search_customers(search, Some(1)).try_collect().await;
    assert!(
        matches!(result, Err(Error::Pagination { pages: 3, .. })),
        "{result:?}"
    );
    assert_eq!(server.requests().len(), 3);
}
