//! What the fake's document tests share: the corrected document, a demo site with one of
//! everything, bodies valid for it, and the check that an answer is one the document lists.

#![allow(dead_code)]

use atlassian_csm_mock::{CsmRequest, FakeCsm};
use serde_json::{json, Value};

pub const DOCUMENT: &str = atlassian_csm_mock::DOCUMENT;

pub fn document() -> Value {
    serde_json::from_str(DOCUMENT).unwrap()
}

/// Follows a `$ref` to what it names.
pub fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value["$ref"].as_str() {
        Some(reference) => resolve(doc, doc.pointer(reference.trim_start_matches('#')).unwrap()),
        None => value,
    }
}

/// Checks `body` against the schema the operation documents for `status`.
pub fn assert_conforms(doc: &Value, operation: &Value, id: &str, status: u16, body: &Value) {
    let responses = operation["responses"].as_object().unwrap();
    let documented = responses
        .get(&status.to_string())
        .or_else(|| responses.get(&format!("{}XX", status / 100)));
    let schema = match documented {
        Some(response) => match resolve(doc, response).pointer("/content/application~1json/schema")
        {
            Some(schema) => schema.clone(),
            None => {
                assert!(
                    body.is_null(),
                    "{id}: {status} documents no body, got {body}"
                );
                return;
            }
        },
        None => panic!("{id}: answered {status}, which the document does not list: {body}"),
    };
    let mut schema = schema;
    schema["components"] = doc["components"].clone();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let problems: Vec<String> = validator
        .iter_errors(body)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(problems.is_empty(), "{id} {status}: {problems:?}\n{body}");
}

/// A help center of the demo site (the fake takes any id).
pub const HELP_CENTER: &str = "f17913e0-58f9-4be7-b6e6-a10ca70ccb55";

pub struct Site {
    pub customer: String,
    pub organization: String,
    pub product: String,
    pub entitlement: String,
    pub task: String,
    pub help_center: String,
    pub request_key: String,
}

/// The body a call of `id` sends, valid for the demo site.
pub fn body(id: &str, schema: &str, site: &Site) -> Value {
    let schema = schema.rsplit('/').next().unwrap();
    match schema {
        "CreateDetailFieldRequest" => json!({"name": "Segment", "type": {"name": "TEXT"}}),
        "EditDetailFieldRequest" => json!({"name": "Renamed"}),
        "UpdateDetailFieldRequest" => match id {
            "update-field-value-for-customer" => json!({"values": ["Pro"]}),
            "update-field-value-for-organizations" => json!({"values": ["Silver"]}),
            _ => json!({"values": ["10"]}),
        },
        "OrganizationUpdateRequest" | "OrganizationCreateRequest" | "ProductRequest" => {
            json!({"name": "Initech"})
        }
        "EntitlementRequest" => json!({"productId": site.product}),
        "FetchOrganizationRequest" => json!({"organizationIds": [site.organization]}),
        "OrganizationProfileCreateRequest" => json!({"name": "Initech",
            "details": [{"name": "Tier", "values": ["Gold"]}],
            "associateCustomers": {"customerIds": [site.customer]},
            "associateProducts": {"productIds": [site.product]}}),
        "FetchOrganizationProfilesRequest" => {
            json!({"organizationIds": [site.organization], "expand": ["entitlements"]})
        }
        "BulkManageOrganizationProfilesRequest" => json!({"organizationProfiles": [
            {"operationType": "UPSERT", "payload": {"name": "Initech"}}]}),
        "BulkOrganizationRequest" => json!({"organizations": [
            {"operationType": "CREATE", "payload": {"name": "Initech"}}]}),
        "BulkOrganizationDetailFieldRequest" => json!({"organizations": [{"id": site.organization,
            "operations": [{"operationType": "UPDATE", "payload": {"name": "Tier", "values": ["Silver"]}}]}]}),
        "CustomerSearchByDetailFieldRequest" => {
            json!({"detailFields": [{"name": "Plan", "value": "Pro"}]})
        }
        "CustomerCreateRequest" => json!({"email": "new@example.com", "displayName": "New"}),
        "CustomerUpdateRequest" => json!({"displayName": "Renamed"}),
        "CustomerProfileCreateRequest" => json!({"email": "new@example.com",
            "details": [{"name": "Plan", "values": ["Pro"]}],
            "associateOrganizations": {"organizationIds": [site.organization.parse::<i64>().unwrap()]}}),
        "FetchCustomerProfilesRequest" => {
            json!({"customerIds": [site.customer], "expand": ["entitlements"]})
        }
        "BulkCustomerDetailFieldRequest" => json!({"customers": [{"customerId": site.customer,
            "operations": [{"operationType": "UPDATE", "payload": {"name": "Plan", "values": ["Free"]}}]}]}),
        "BulkCustomerAccountRequest" => json!({"customerAccounts": [
            {"operationType": "CREATE", "payload": {"email": "new@example.com"}}]}),
        "BulkManageCustomerProfilesRequest" => json!({"customerProfiles": [
            {"operationType": "UPSERT", "payload": {"email": "new@example.com"}}]}),
        "BulkCreateDetailFieldsRequest" => {
            json!({"detailFields": [{"name": "Segment", "type": {"name": "TEXT"}}]})
        }
        "ExternalFormIntakeRequest" => json!({"helpCenterId": site.help_center,
            "origin": "voice", "summary": "Cannot log in", "reporterEmail": "ada@example.com",
            "metadata": {"agentId": "a-1", "attempts": 2, "vip": true}}),
        "IssueCommentRequest" => json!({"body": {"type": "doc", "version": 1, "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": "Fixed."}]}]}, "public": true}),
        other => panic!("{id}: no body for {other}: add one"),
    }
}

/// The value of a path parameter on the demo site (`None`: an id that does not exist).
pub fn parameter(name: &str, path: &str, site: &Site, known: bool) -> String {
    if !known {
        return "does-not-exist".into();
    }
    match name {
        "customerId" => site.customer.clone(),
        "organizationId" => site.organization.clone(),
        "productId" => site.product.clone(),
        "entitlementId" => site.entitlement.clone(),
        "taskId" => site.task.clone(),
        "helpCenterId" => site.help_center.clone(),
        "issueIdOrKey" => site.request_key.clone(),
        "fieldName" if path.contains("/organization/") => "Tier".into(),
        "fieldName" if path.contains("/entitlement/") => "Seats".into(),
        "fieldName" => "Plan".into(),
        other => panic!("no value for path parameter {other}"),
    }
}

/// A request with credentials, the experimental opt-in and a new idempotency key.
pub async fn call(fake: &FakeCsm, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    let key = uuid::Uuid::new_v4().to_string();
    let headers = [
        ("authorization", "Bearer t"),
        ("x-experimentalapi", "opt-in"),
        ("idempotency-key", key.as_str()),
    ];
    send(fake, method, path, &headers, body).await
}

/// A request with exactly these headers.
pub async fn send(
    fake: &FakeCsm,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> (u16, Value) {
    let mut request = http().request(
        method.parse().unwrap(),
        format!("{}{path}", fake.base_url()),
    );
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {text}"))
    };
    (status, body)
}

/// A fresh demo site with a CSM request and a bulk task of its own, and the ids of one of each.
pub async fn demo_site() -> (FakeCsm, Site) {
    let fake = FakeCsm::builder().seed_demo(true).start().await.unwrap();
    let (mut site, _) = fake.state(|s| {
        let customer = s.customer_by_email("ada@example.com").unwrap().id.clone();
        let entitlement = s.entitlements.keys().next().unwrap().clone();
        s.requests.push(CsmRequest {
            id: uuid::Uuid::new_v4().to_string(),
            key: "CSM-1".into(),
            help_center_id: HELP_CENTER.into(),
            origin: "voice".into(),
            summary: "Cannot log in".into(),
            reporter_email: None,
            metadata: Value::Null,
            comments: Vec::new(),
        });
        (
            Site {
                customer,
                organization: s.organizations.keys().next().unwrap().clone(),
                product: s.products[0].id.clone(),
                entitlement,
                task: String::new(),
                help_center: HELP_CENTER.into(),
                request_key: "CSM-1".into(),
            },
            (),
        )
    });
    let (_, task) = call(
        &fake,
        "POST",
        "/api/v1/organization/bulk",
        Some(&json!({"organizations": [{"operationType": "CREATE", "payload": {"name": "T"}}]})),
    )
    .await;
    site.task = task["id"].as_str().unwrap().to_string();
    (fake, site)
}

/// One HTTP client per test thread (each test has its runtime on its thread): a new one per
/// request costs tens of milliseconds.
pub fn http() -> reqwest::Client {
    // reqwest is built without a TLS provider of its own (the client hands it a configuration);
    // a bare reqwest client needs the process's default one, even for plain HTTP.
    let _ = rustls::crypto::ring::default_provider().install_default();
    thread_local! {
        static CLIENT: reqwest::Client = reqwest::Client::new();
    }
    CLIENT.with(reqwest::Client::clone)
}
