//! Every answer of the fake conforms to the corrected document: each operation is called on a
//! fresh demo site, and its success answer, and an error answer where it has a path
//! parameter, are validated against the document's response schemas with a JSON Schema validator.

use atlassian_csm_mock::{CsmRequest, FakeCsm};
use serde_json::{json, Value};

const DOCUMENT: &str = include_str!(concat!(env!("OUT_DIR"), "/csm.corrected.json"));

fn document() -> Value {
    serde_json::from_str(DOCUMENT).unwrap()
}

/// Follows a `$ref` to what it names.
fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value["$ref"].as_str() {
        Some(reference) => resolve(doc, doc.pointer(reference.trim_start_matches('#')).unwrap()),
        None => value,
    }
}

/// Checks `body` against the schema the operation documents for `status`.
fn assert_conforms(doc: &Value, operation: &Value, id: &str, status: u16, body: &Value) {
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
        // An error the operation does not list is answered as every error of the API is.
        None if status >= 400 => json!({"$ref": "#/components/schemas/RestError"}),
        None => panic!("{id}: answered {status}, which the document does not list"),
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
const HELP_CENTER: &str = "f17913e0-58f9-4be7-b6e6-a10ca70ccb55";

struct Site {
    customer: String,
    organization: String,
    product: String,
    entitlement: String,
    task: String,
    help_center: String,
    request_key: String,
}

/// The body a call of `id` sends, valid for the demo site.
fn body(id: &str, schema: &str, site: &Site) -> Value {
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
fn parameter(name: &str, path: &str, site: &Site, known: bool) -> String {
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

async fn call(fake: &FakeCsm, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .request(
            method.parse().unwrap(),
            format!("{}{path}", fake.base_url()),
        )
        .header("authorization", "Bearer t")
        .header("x-experimentalapi", "opt-in")
        .header("idempotency-key", uuid::Uuid::new_v4().to_string());
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{method} {path}: not JSON ({e}): {text}"))
    };
    (status, body)
}

#[tokio::test]
async fn every_answer_of_every_operation_conforms_to_the_document() {
    let doc = document();
    let mut covered = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if method == "parameters" {
                continue;
            }
            let id = operation["operationId"].as_str().unwrap();
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

            let body = operation
                .pointer("/requestBody/content/application~1json/schema/$ref")
                .and_then(Value::as_str)
                .map(|schema| body(id, schema, &site));
            let query = match id {
                "update-field-value-for-customer" => "?fieldName=Plan",
                "update-field-value-for-organizations" => "?fieldName=Tier",
                "update-field-value-for-entitlement" => "?fieldName=Seats",
                _ => "",
            };
            let has_parameters = path.contains('{');
            for known in [true, false] {
                if !known && !has_parameters {
                    continue;
                }
                let mut concrete = path.clone();
                while let Some(start) = concrete.find('{') {
                    let end = concrete[start..].find('}').unwrap() + start;
                    let name = concrete[start + 1..end].to_string();
                    let value = parameter(&name, path, &site, known);
                    concrete.replace_range(start..=end, &value);
                }
                let (status, answer) = call(
                    &fake,
                    &method.to_uppercase(),
                    &format!("{concrete}{query}"),
                    body.as_ref(),
                )
                .await;
                if known {
                    assert!((200..300).contains(&status), "{id}: {status} {answer}");
                } else {
                    assert_eq!(status, 404, "{id} with an unknown id: {answer}");
                }
                assert_conforms(&doc, operation, id, status, &answer);
            }
            covered += 1;
        }
    }
    assert_eq!(covered, 54, "every operation of the corrected document");
}

#[tokio::test]
async fn refusals_conform_too() {
    let doc = document();
    let fake = FakeCsm::start().await.unwrap();
    let products = &doc["paths"]["/api/v1/product"]["get"];
    let (status, answer) = {
        let response = reqwest::get(format!("{}/api/v1/product", fake.base_url()))
            .await
            .unwrap();
        (
            response.status().as_u16(),
            response.json::<Value>().await.unwrap(),
        )
    };
    assert_eq!(status, 401);
    assert_conforms(&doc, products, "get-products", status, &answer);
    let bulk = &doc["paths"]["/api/v1/customer/profile/bulk"]["post"];
    let too_many: Vec<Value> = (0..101)
        .map(|i| json!({"operationType": "UPSERT", "payload": {"email": format!("{i}@example.com")}}))
        .collect();
    let (status, answer) = call(
        &fake,
        "POST",
        "/api/v1/customer/profile/bulk",
        Some(&json!({"customerProfiles": too_many})),
    )
    .await;
    assert_eq!(status, 400, "at most 100 profiles: {answer}");
    assert_conforms(
        &doc,
        bulk,
        "bulk-manage-multiple-customer-profiles",
        status,
        &answer,
    );
}
