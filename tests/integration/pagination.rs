//! Paginated operations as streams: lazily fetched, ending exactly at the last page.

use crate::support::scripted_server::{Reply, ScriptedServer};
use atlassian_csm::{types, Client};
use futures::{StreamExt, TryStreamExt};
use serde_json::json;

fn client_for(server: &ScriptedServer) -> Client {
    crate::support::client(&server.base_url)
}

fn product_page(names: &[&str], next: Option<&str>) -> Reply {
    let results: Vec<_> = names
        .iter()
        .map(|n| json!({"id": format!("id-{n}"), "name": n}))
        .collect();
    let mut page = json!({"results": results});
    if let Some(next) = next {
        page["nextPageCursor"] = json!(next);
    }
    Reply::json(200, page)
}

fn search() -> types::CustomerSearchByDetailFieldRequest {
    types::CustomerSearchByDetailFieldRequest::builder()
        .detail_fields([types::SearchDetailField::builder()
            .name("Plan")
            .value("Pro")])
        .try_into()
        .unwrap()
}

fn customer_page(page: i64, count: usize, is_last: Option<bool>) -> Reply {
    let customers: Vec<_> = (0..count)
        .map(|i| json!({"id": format!("c-{page}-{i}"), "name": format!("Customer {page}.{i}")}))
        .collect();
    let mut body = json!({"page": page, "maxResults": 2, "total": 5, "customers": customers});
    if let Some(is_last) = is_last {
        body["isLast"] = json!(is_last);
    }
    Reply::json(200, body)
}

#[tokio::test]
async fn an_empty_product_list_is_one_request_and_no_item() {
    let server = ScriptedServer::start(vec![product_page(&[], None)]).await;
    let client = client_for(&server);
    let products: Vec<_> = client.products(None).try_collect().await.unwrap();
    assert!(products.is_empty());
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn a_single_page_ends_without_a_second_request() {
    let server = ScriptedServer::start(vec![product_page(&["a", "b"], None)]).await;
    let client = client_for(&server);
    let products: Vec<_> = client.products(Some(50)).try_collect().await.unwrap();
    assert_eq!(products.len(), 2);
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].target, "/api/v1/product?limit=50");
}

#[tokio::test]
async fn many_pages_follow_the_cursor_and_retry_like_any_call() {
    let server = ScriptedServer::start(vec![
        product_page(&["a", "b"], Some("c2")),
        Reply::status(503),
        product_page(&["c", "d"], Some("c3")),
        product_page(&["e"], None),
    ])
    .await;
    let client = client_for(&server);
    let names: Vec<String> = client
        .products(Some(2))
        .map_ok(|p| p.name.to_string())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(names, ["a", "b", "c", "d", "e"]);
    let targets: Vec<_> = server.requests().into_iter().map(|r| r.target).collect();
    assert_eq!(
        targets,
        [
            "/api/v1/product?limit=2",
            "/api/v1/product?cursor=c2&limit=2",
            "/api/v1/product?cursor=c2&limit=2",
            "/api/v1/product?cursor=c3&limit=2"
        ]
    );
}

#[tokio::test]
async fn pages_are_fetched_only_when_needed() {
    let server = ScriptedServer::start(vec![
        product_page(&["a", "b"], Some("c2")),
        product_page(&["c"], None),
    ])
    .await;
    let client = client_for(&server);
    let first: Vec<_> = client.products(None).take(2).try_collect().await.unwrap();
    assert_eq!(first.len(), 2);
    assert_eq!(
        server.requests().len(),
        1,
        "the second page was never asked for"
    );
}

#[tokio::test]
async fn a_cursor_that_does_not_move_ends_the_stream_with_an_error_after_its_page() {
    let server = ScriptedServer::start(vec![
        product_page(&["a"], Some("same")),
        product_page(&["b"], Some("same")),
    ])
    .await;
    let client = client_for(&server);
    let products: Vec<_> = client.products(None).collect().await;
    assert_eq!(products.len(), 3, "two products, then the error");
    assert!(matches!(
        products[2],
        Err(atlassian_csm::Error::Pagination { pages: 2, .. })
    ));
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn a_customer_search_pages_until_is_last() {
    let server = ScriptedServer::start(vec![
        customer_page(1, 2, Some(false)),
        customer_page(2, 2, Some(false)),
        customer_page(3, 1, Some(true)),
    ])
    .await;
    let client = client_for(&server);
    let customers: Vec<_> = client
        .search_customers(search(), Some(2))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(customers.len(), 5);
    let targets: Vec<_> = server.requests().into_iter().map(|r| r.target).collect();
    assert_eq!(
        targets,
        [
            "/api/v1/customer/search-by-detail-field?maxResults=2&page=1",
            "/api/v1/customer/search-by-detail-field?maxResults=2&page=2",
            "/api/v1/customer/search-by-detail-field?maxResults=2&page=3"
        ]
    );
    assert!(server
        .requests()
        .iter()
        .all(|r| r.body == br#"{"detailFields":[{"name":"Plan","value":"Pro"}]}"#));
}

#[tokio::test]
async fn a_customer_search_without_is_last_stops_at_a_short_or_empty_page() {
    let server =
        ScriptedServer::start(vec![customer_page(1, 2, None), customer_page(2, 0, None)]).await;
    let client = client_for(&server);
    let pages: Vec<_> = client
        .customer_search_pages(search(), Some(2))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages.len(), 2);

    let server = ScriptedServer::start(vec![customer_page(1, 0, Some(true))]).await;
    let client = client_for(&server);
    let customers: Vec<_> = client
        .search_customers(search(), None)
        .try_collect()
        .await
        .unwrap();
    assert!(customers.is_empty());
    assert_eq!(server.requests().len(), 1);
}
