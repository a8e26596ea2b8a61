//! Requests that cannot go silently wrong: a misspelt key, an unknown enum value and an invalid
//! value in a nested builder are each refused before anything is sent, naming the field (and
//! the record); the short builders produce exactly the documented JSON.

use atlassian_csm::types::{
    self, BulkCustomerDetailFieldOperation, BulkDetailFieldOperation,
    BulkManageCustomerProfileOperation as Profile, BulkManageCustomerProfileOperationOperationType,
};
use atlassian_csm::{Client, Credentials, Error};
use atlassian_csm_mock::{Entity, FakeCsm, FAKE_TOKEN};
use serde_json::json;

async fn fake() -> FakeCsm {
    let fake = FakeCsm::start().await.unwrap();
    fake.state(|site| site.add_field(Entity::Customer, "Plan", "SELECT", &["Free", "Pro"]));
    fake
}

fn invalid_input(error: Error) -> (String, String) {
    match error {
        Error::InvalidInput { field, message } => (field.to_string(), message),
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

#[test]
fn a_misspelt_key_in_a_request_body_is_an_error_naming_it() {
    let error = serde_json::from_value::<Profile>(json!({
        "operationType": "UPSERT",
        "payload": {"email": "ada@example.com", "displayname": "Ada"}
    }))
    .unwrap_err();
    assert!(error.to_string().contains("displayname"), "{error}");
    // At the top level too.
    let error = serde_json::from_value::<types::CustomerCreateRequest>(
        json!({"email": "ada@example.com", "displayNmae": "Ada"}),
    )
    .unwrap_err();
    assert!(error.to_string().contains("displayNmae"), "{error}");
}

#[test]
fn answers_keep_ignoring_fields_they_do_not_know() {
    let product: types::Product =
        serde_json::from_value(json!({"id": "1", "name": "Widget", "addedLater": true})).unwrap();
    assert_eq!(product.name, "Widget");
}

#[test]
fn the_short_builder_makes_the_documented_record() {
    let record = Profile::upsert()
        .email("ada@example.com")
        .display_name("Ada")
        .detail("Plan", ["Pro"])
        .detail("Region", vec![String::from("EMEA")]);
    let record = Profile::try_from(record).unwrap();
    assert_eq!(
        serde_json::to_value(&record).unwrap(),
        json!({
            "operationType": "UPSERT",
            "payload": {
                "email": "ada@example.com",
                "displayName": "Ada",
                "details": [
                    {"name": "Plan", "values": ["Pro"]},
                    {"name": "Region", "values": ["EMEA"]}
                ]
            }
        })
    );
    let details = BulkCustomerDetailFieldOperation::builder()
        .customer_id("qm:1:2")
        .operations([
            BulkDetailFieldOperation::update()
                .name("Plan")
                .values(["Pro"]),
            BulkDetailFieldOperation::delete().name("Region"),
        ]);
    assert_eq!(
        serde_json::to_value(BulkCustomerDetailFieldOperation::try_from(details).unwrap()).unwrap(),
        json!({"customerId": "qm:1:2", "operations": [
            {"operationType": "UPDATE", "payload": {"name": "Plan", "values": ["Pro"]}},
            {"operationType": "DELETE", "payload": {"name": "Region"}}
        ]})
    );
}

#[test]
fn a_missing_required_field_is_named() {
    let error = Profile::try_from(Profile::builder().email("ada@example.com")).unwrap_err();
    assert_eq!(error.path(), "operationType");
    let error = types::OrganizationProfileCreateRequest::try_from(
        types::OrganizationProfileCreateRequest::builder().detail("Tier", ["Gold"]),
    )
    .unwrap_err();
    assert_eq!(error.path(), "name");
}

#[tokio::test]
async fn an_invalid_value_in_a_nested_builder_names_its_record_and_nothing_is_sent() {
    let fake = fake().await;
    let client = fake.client();
    let records = (0..150).map(|i| {
        let plan = if i == 117 {
            "x".repeat(256)
        } else {
            "Pro".into()
        };
        Profile::upsert()
            .email(format!("customer{i}@example.com"))
            .detail("Plan", [plan])
    });
    let error = client.import_customer_profiles(records).await.unwrap_err();
    let (field, message) = invalid_input(error);
    assert_eq!(field, "customerProfiles[117].payload.details[0].values[0]");
    assert!(message.contains("255"), "{message}");
    assert!(fake.requests().is_empty(), "nothing is sent");
}

#[tokio::test]
async fn a_builder_given_as_a_body_is_checked_at_send() {
    let fake = fake().await;
    let body = types::CustomerCreateRequest::builder().display_name("Ada");
    let error = fake
        .client()
        .create_customer()
        .body(body)
        .send()
        .await
        .unwrap_err();
    let (field, message) = invalid_input(error);
    assert!(field == "request" || field == "body", "{field}");
    assert!(message.contains("email"), "{message}");
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn an_unknown_enum_value_in_a_request_is_refused_naming_the_record() {
    let fake = fake().await;
    let client = fake.client();
    let records: Vec<_> = (0..20)
        .map(|i| {
            let kind = if i == 17 { "UPSRT" } else { "UPSERT" };
            Profile::builder()
                .operation_type(kind)
                .email(format!("customer{i}@example.com"))
        })
        .collect();
    let error = client
        .import_customer_profiles(records.clone())
        .await
        .unwrap_err();
    let (field, message) = invalid_input(error);
    assert_eq!(field, "customerProfiles[17].operationType");
    assert!(
        message.contains("\"UPSRT\"") && message.contains("CREATE, UPDATE, UPSERT"),
        "{message}"
    );
    // The same refusal for a body sent directly.
    let error = client
        .bulk_manage_multiple_customer_profiles()
        .body(types::BulkManageCustomerProfilesRequest::builder().customer_profiles(records))
        .send()
        .await
        .unwrap_err();
    assert_eq!(invalid_input(error).0, "customerProfiles[17].operationType");
    assert!(fake.requests().is_empty(), "nothing is sent");
}

#[tokio::test]
async fn a_client_built_to_allow_it_sends_an_unknown_enum_value() {
    let fake = fake().await;
    let client = Client::builder()
        .base_url(fake.base_url())
        .credentials(Credentials::bearer(FAKE_TOKEN))
        .allow_unknown_enum_values(true)
        .build()
        .unwrap();
    assert!(client.config().allows_unknown_enum_values());
    let newer = BulkManageCustomerProfileOperationOperationType::from("MERGE");
    let body =
        types::BulkManageCustomerProfilesRequest::builder().customer_profiles([Profile::builder()
            .operation_type(newer)
            .email("ada@example.com")]);
    // The fake knows only the documented values: what matters is that the value was sent.
    let _ = client
        .bulk_manage_multiple_customer_profiles()
        .body(body)
        .send()
        .await;
    let sent = fake.requests();
    assert_eq!(sent.len(), 1);
    let body: serde_json::Value = serde_json::from_slice(&sent[0].body).unwrap();
    assert_eq!(body["customerProfiles"][0]["operationType"], "MERGE");
}

#[tokio::test]
async fn a_search_takes_a_builder_and_reports_one_it_cannot_build() {
    use futures::TryStreamExt;
    let fake = fake().await;
    let client = fake.client();
    let incomplete = types::CustomerSearchByDetailFieldRequest::builder()
        .detail_fields([types::SearchDetailField::builder().name("Plan")]);
    let error = client
        .search_customers(incomplete, None)
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert_eq!(invalid_input(error).0, "body.detailFields[0].value");
    assert!(fake.requests().is_empty());
    let search = types::CustomerSearchByDetailFieldRequest::builder().detail_fields([
        types::SearchDetailField::builder()
            .name("Plan")
            .value("Pro"),
    ]);
    let found: Vec<_> = client
        .search_customers(search, None)
        .try_collect()
        .await
        .unwrap();
    assert!(found.is_empty());
}

const HELP_CENTER: &str = "f17913e0-58f9-4be7-b6e6-a10ca70ccb55";

fn intake_request() -> types::builder::ExternalFormIntakeRequestBuilder {
    types::ExternalFormIntakeRequest::builder()
        .help_center_id(HELP_CENTER)
        .origin("voice")
        .summary("Cannot log in")
}

#[tokio::test]
async fn a_request_raised_from_an_intake_channel_takes_a_comment() {
    let fake = fake().await;
    let client = fake.client();
    let created = client
        .create_request_from_external_intake()
        .body(intake_request().reporter_email("ada@example.com"))
        .send()
        .await
        .unwrap()
        .into_inner();
    let document = json!({"type": "doc", "version": 1, "content": [
        {"type": "paragraph", "content": [{"type": "text", "text": "Reset."}]}]});
    let comment = client
        .add_request_comment()
        .help_center_id(HELP_CENTER)
        .issue_id_or_key(&created.key)
        .body(
            types::IssueCommentRequest::builder()
                .body(document.as_object().unwrap().clone())
                .public(true),
        )
        .send()
        .await
        .unwrap()
        .into_inner();
    fake.state(|site| {
        let request = &site.requests[0];
        assert_eq!(request.key, created.key);
        assert_eq!(request.comments[0].id, comment.id);
        assert_eq!(request.comments[0].body, document);
        assert!(request.comments[0].public);
    });
}

#[tokio::test]
async fn the_request_operations_accept_any_success_status() {
    use crate::support::scripted_server::{Reply, ScriptedServer};
    let answer = json!({"id": "r-1", "key": "SD-1", "helpCenterId": HELP_CENTER, "link": "https://x.example/SD-1"});
    for status in [200, 201, 202] {
        let server = ScriptedServer::start(vec![Reply::json(status, answer.clone())]).await;
        let client = Client::builder()
            .base_url(&server.base_url)
            .credentials(Credentials::bearer("token"))
            .build()
            .unwrap();
        let created = client
            .create_request_from_external_intake()
            .body(intake_request())
            .send()
            .await
            .unwrap_or_else(|e| panic!("{status}: {e}"));
        assert_eq!(created.key, "SD-1");
    }
}
