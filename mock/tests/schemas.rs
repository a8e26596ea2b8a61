//! Every answer of the fake conforms to the corrected document: each operation is called on a
//! fresh demo site, and its success answer, and an error answer where it has a path
//! parameter, are validated against the document's response schemas with a JSON Schema validator.

use atlassian_csm_mock::FakeCsm;
use serde_json::{json, Value};

mod support;

use support::*;

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
            let (fake, site) = demo_site().await;

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
        // reqwest is built without a TLS provider of its own (the client hands it a configuration);
        // a bare reqwest client needs the process's default one, even for plain HTTP.
        let _ = rustls::crypto::ring::default_provider().install_default();
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
