//! Documented limits are checked before anything is sent: the server here fails the test if it
//! is called at all.

use crate::support::scripted_server::{Reply, ScriptedServer};
use atlassian_csm::{types, Client, Error};
use serde_json::{json, Value};

async fn refused<T: std::fmt::Debug>(
    server: &ScriptedServer,
    call: impl std::future::Future<Output = Result<T, Error>>,
) -> (String, String) {
    let result = call.await;
    assert!(
        server.requests().is_empty(),
        "a request was sent: {:?}",
        server.requests()
    );
    match result {
        Err(Error::InvalidInput { field, message }) => (field.to_string(), message),
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

async fn setup() -> (ScriptedServer, Client) {
    let server = ScriptedServer::start(vec![Reply::status(500)]).await;
    let client = crate::support::client(&server.base_url);
    (server, client)
}

fn from_json<T: serde::de::DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).unwrap()
}

#[tokio::test]
async fn more_than_100_profiles_in_one_request_are_refused() {
    let (server, client) = setup().await;
    let profiles: Vec<Value> = (0..101)
        .map(|i| json!({"operationType": "UPSERT", "payload": {"email": format!("c{i}@example.com")}}))
        .collect();
    let body: types::BulkManageCustomerProfilesRequest =
        from_json(json!({"customerProfiles": profiles}));
    let (field, message) = refused(
        &server,
        client
            .bulk_manage_multiple_customer_profiles()
            .body(body)
            .send(),
    )
    .await;
    assert_eq!(field, "customerProfiles");
    assert!(message.contains("at most 100"), "{message}");
}

#[tokio::test]
async fn fetch_and_associate_limits_are_refused_with_the_record() {
    let (server, client) = setup().await;
    let fetch: types::FetchCustomerProfilesRequest =
        from_json(json!({"customerIds": vec!["qm:a:b"; 26]}));
    let (field, _) = refused(
        &server,
        client.get_multiple_customer_profiles().body(fetch).send(),
    )
    .await;
    assert_eq!(field, "customerIds");

    let fetch: types::FetchOrganizationRequest =
        from_json(json!({"organizationIds": vec!["1"; 51]}));
    let (field, _) = refused(
        &server,
        client.get_multiple_organizations().body(fetch).send(),
    )
    .await;
    assert_eq!(field, "organizationIds");

    let profiles: types::BulkManageOrganizationProfilesRequest = from_json(
        json!({"organizationProfiles": [
            {"operationType": "CREATE", "payload": {"name": "Acme"}},
            {"operationType": "CREATE", "payload": {"name": "Initech", "associateProducts": {"productIds": ["1", "2", "3", "4", "5", "6"]}}}
        ]}),
    );
    let (field, _) = refused(
        &server,
        client
            .bulk_manage_organization_profiles()
            .body(profiles)
            .send(),
    )
    .await;
    assert_eq!(
        field,
        "organizationProfiles[1].payload.associateProducts.productIds"
    );
}

#[tokio::test]
async fn more_than_1000_detail_operations_across_customers_are_refused() {
    let (server, client) = setup().await;
    let operation =
        json!({"operationType": "UPDATE", "payload": {"name": "Region", "values": ["EMEA"]}});
    let body: types::BulkCustomerDetailFieldRequest = from_json(json!({"customers": [
        {"customerId": "qm:a:1", "operations": vec![operation.clone(); 500]},
        {"customerId": "qm:a:2", "operations": vec![operation; 501]}
    ]}));
    let (field, message) = refused(
        &server,
        client.bulk_update_customer_details().body(body).send(),
    )
    .await;
    assert_eq!(field, "customers[].operations");
    assert!(message.contains("1001"), "{message}");
}

#[tokio::test]
async fn detail_field_names_are_checked() {
    let (server, client) = setup().await;
    for name in ["Label", "Re:gion"] {
        let body = types::CreateDetailFieldRequest::builder()
            .name(name)
            .type_(types::DetailFieldType::builder().name("TEXT"));
        let (field, _) = refused(&server, client.create_customer_detail().body(body).send()).await;
        assert_eq!(field, "name");
    }
    let definitions: types::BulkCreateDetailFieldsRequest = from_json(json!({"detailFields": [
        {"name": "Region", "type": {"name": "TEXT"}},
        {"name": "REGION ", "type": {"name": "TEXT"}}
    ]}));
    let (field, _) = refused(
        &server,
        client
            .bulk_create_customer_detail_fields()
            .body(definitions)
            .send(),
    )
    .await;
    assert_eq!(field, "detailFields[1].name");
}

#[tokio::test]
async fn string_lengths_are_checked_when_the_request_is_built() {
    let (server, client) = setup().await;
    let long = "x".repeat(201);
    let product = types::ProductRequest::builder().name(long.clone());
    refused(&server, client.create_product().body(product).send()).await;
    let organization = types::OrganizationCreateRequest::builder().name(long);
    refused(
        &server,
        client.create_organization().body(organization).send(),
    )
    .await;
    // Detail values are typed: a value over 255 characters cannot even be constructed.
    let error = types::UpdateDetailFieldRequestValuesItem::try_from("v".repeat(256)).unwrap_err();
    assert!(error.to_string().contains("255"), "{error}");
    assert!(types::BulkDetailFieldOperationPayloadValuesItem::try_from("v".repeat(256)).is_err());
}
