//! The fake as a user's tests use it: the client against it, the API's answers and rules, tasks
//! on the fake's clock, faults, the request log and the state.
//!
//! Longer than 500 lines: the fake's user-facing surface, case by case; one file so that a user
//! looking for how to use the fake reads it in one place.

use atlassian_csm::{types, Credentials, Error, RecordOutcome, RetryPolicy, TaskOutcome};
use atlassian_csm_mock::{Entity, FakeCsm, Fault};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// A client of `fake` that makes one attempt per call, so each fault is seen as it is served.
fn never_retrying(fake: &FakeCsm) -> atlassian_csm::Client {
    atlassian_csm::Client::builder()
        .base_url(fake.base_url())
        .credentials(Credentials::bearer("t"))
        .retry_policy(RetryPolicy::never())
        .build()
        .unwrap()
}

fn profile(email: &str) -> types::BulkManageCustomerProfileOperation {
    serde_json::from_value(json!({
        "operationType": "UPSERT",
        "payload": {"email": email, "displayName": email, "details": [{"name": "Plan", "values": ["Pro"]}]}
    }))
    .unwrap()
}

/// A user's sync test: 1,000 profiles imported, 3 of them failing by the fake's rule.
#[tokio::test]
async fn an_import_of_1000_profiles_reports_the_3_the_site_failed() {
    let fake = FakeCsm::builder()
        .fail_records_where(|email| email.starts_with("bounce"))
        .start()
        .await
        .unwrap();
    fake.state(|site| site.add_field(Entity::Customer, "Plan", "SELECT", &["Free", "Pro"]));
    let records: Vec<_> = (0..1000)
        .map(|i| match i {
            17 | 500 | 999 => profile(&format!("bounce{i}@example.com")),
            _ => profile(&format!("user{i}@example.com")),
        })
        .collect();

    let report = fake
        .client()
        .import_customer_profiles(records)
        .await
        .unwrap();

    let failed: Vec<usize> = report.not_succeeded().map(|(index, _)| index).collect();
    assert_eq!(failed, [17, 500, 999]);
    for index in failed {
        match &report.records[index] {
            RecordOutcome::Failed(failures) => {
                assert_eq!(failures[0].entity_id, format!("bounce{index}@example.com"))
            }
            other => panic!("{index}: {other:?}"),
        }
    }
    assert_eq!(report.succeeded(), 997);
    assert_eq!(report.requests.len(), 10, "100 profiles per request");
    let stored = fake.state(|site| {
        let ada = site
            .customer_by_email("user3@example.com")
            .cloned()
            .unwrap();
        (site.customers.len(), ada.details["Plan"].clone())
    });
    assert_eq!(stored, (997, vec!["Pro".to_string()]));
}

/// Resubmitting a chunk under its key starts no second task.
#[tokio::test]
async fn the_same_key_and_body_give_the_same_task_and_another_body_is_refused() {
    let fake = FakeCsm::start().await.unwrap();
    let client = fake.client();
    let body = || {
        types::BulkManageCustomerProfilesRequest::builder()
            .customer_profiles(vec![profile("ada@example.com")])
    };
    let submit = |body| {
        client
            .bulk_manage_multiple_customer_profiles()
            .idempotency_key("chunk-7")
            .body(body)
            .send()
    };
    let first = submit(body()).await.unwrap().into_inner();
    let again = submit(body()).await.unwrap().into_inner();
    assert_eq!(first.id, again.id);
    assert_eq!(fake.state(|site| site.tasks.len()), 1);

    let other = types::BulkManageCustomerProfilesRequest::builder()
        .customer_profiles(vec![profile("grace@example.com")]);
    let error = submit(other).await.unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(400), "{error}");
    assert!(error.to_string().contains("Idempotency-Key"), "{error}");
    assert_eq!(fake.state(|site| site.tasks.len()), 1, "no second task");
}

#[tokio::test]
async fn tasks_go_through_their_states_on_the_fakes_clock_and_expire() {
    let fake = FakeCsm::builder()
        .task_timing(Duration::from_millis(100), Duration::from_millis(100))
        .retention(Duration::from_millis(300))
        .start()
        .await
        .unwrap();
    fake.state(|site| site.add_field(Entity::Customer, "Plan", "SELECT", &["Pro"]));
    let client = fake.client();
    let task = client
        .bulk_manage_multiple_customer_profiles()
        .body(
            types::BulkManageCustomerProfilesRequest::builder()
                .customer_profiles(vec![profile("ada@example.com")]),
        )
        .send()
        .await
        .unwrap()
        .into_inner();
    let status = |client: atlassian_csm::Client, id: String| async move {
        client
            .get_task_status()
            .task_id(id)
            .send()
            .await
            .map(|t| t.into_inner().status.to_string())
    };
    assert_eq!(
        status(client.clone(), task.id.clone()).await.unwrap(),
        "NOT_STARTED"
    );
    assert_eq!(
        fake.state(|site| site.customers.len()),
        0,
        "nothing applied yet"
    );
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert_eq!(
        status(client.clone(), task.id.clone()).await.unwrap(),
        "IN_PROGRESS"
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        status(client.clone(), task.id.clone()).await.unwrap(),
        "FINISHED"
    );
    assert_eq!(
        fake.state(|site| site.customers.len()),
        1,
        "applied when finished"
    );
    tokio::time::sleep(Duration::from_millis(320)).await;
    let expired = client.wait_for_task(task.id.clone()).await.unwrap_err();
    assert!(matches!(expired, Error::TaskNotFound { .. }), "{expired:?}");
}

#[tokio::test]
async fn a_sixth_unfinished_task_is_refused() {
    let fake = FakeCsm::builder()
        .task_timing(Duration::ZERO, Duration::from_secs(30))
        .start()
        .await
        .unwrap();
    let client = fake.client();
    for i in 0..5 {
        client
            .bulk_manage_multiple_customer_profiles()
            .body(
                types::BulkManageCustomerProfilesRequest::builder()
                    .customer_profiles(vec![profile(&format!("u{i}@example.com"))]),
            )
            .send()
            .await
            .unwrap();
    }
    let refused = client
        .bulk_manage_multiple_customer_profiles()
        .body(
            types::BulkManageCustomerProfilesRequest::builder()
                .customer_profiles(vec![profile("late@example.com")]),
        )
        .send()
        .await
        .unwrap_err();
    match refused {
        Error::Api {
            status,
            error: Some(error),
            ..
        } => {
            assert_eq!(status.as_u16(), 400);
            assert_eq!(
                error.error_message.as_deref(),
                Some("Maximum number of tasks reached")
            );
            // The shape a live site sends: `errors` holds the error key.
            assert_eq!(error.errors, ["BAD_REQUEST"]);
        }
        other => panic!("{other:?}"),
    }
}

/// Raw requests, to see what the fake answers a client that forgets a header.
async fn raw(
    fake: &FakeCsm,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (u16, Value) {
    // reqwest is built without a TLS provider of its own (the client hands it a configuration);
    // a bare reqwest client needs the process's default one, even for plain HTTP.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    let mut request = http.request(
        method.parse().unwrap(),
        format!("{}{path}", fake.base_url()),
    );
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn credentials_and_required_headers_are_checked_as_the_api_does() {
    let fake = FakeCsm::start().await.unwrap();
    let auth = ("authorization", "Bearer t");
    assert_eq!(raw(&fake, "GET", "/api/v1/product", &[], None).await.0, 401);
    assert_eq!(
        raw(&fake, "GET", "/api/v1/product", &[auth], None).await.0,
        200
    );
    let (status, error) = raw(
        &fake,
        "POST",
        "/api/v1/organization",
        &[auth],
        Some(json!({"name": "Acme"})),
    )
    .await;
    assert_eq!(status, 412, "experimental without opt-in: {error}");
    let opt_in = ("x-experimentalapi", "opt-in");
    let body = json!({"organizations": [{"operationType": "CREATE", "payload": {"name": "Acme"}}]});
    let (status, _) = raw(
        &fake,
        "POST",
        "/api/v1/organization/bulk",
        &[auth, opt_in],
        Some(body.clone()),
    )
    .await;
    assert_eq!(status, 412, "bulk without a key");
    let (status, task) = raw(
        &fake,
        "POST",
        "/api/v1/organization/bulk",
        &[auth, opt_in, ("idempotency-key", "k")],
        Some(body),
    )
    .await;
    assert_eq!(status, 202);
    assert_eq!(
        task["statusUrl"],
        format!("/api/v1/tasks/{}", task["id"].as_str().unwrap())
    );
}

#[tokio::test]
async fn documented_limits_and_server_rules_answer_400_and_unknown_ids_404() {
    let fake = FakeCsm::builder().seed_demo(true).start().await.unwrap();
    let client = fake.client();
    let http = |status: Option<reqwest::StatusCode>| status.map(|s| s.as_u16());

    // 101 profiles, sent as they are (past the client's own checks) to see the server's answer.
    let too_many: Vec<Value> = (0..101).map(|i| json!({"operationType": "UPSERT", "payload": {"email": format!("{i}@example.com")}})).collect();
    let (status, error) = raw(
        &fake,
        "POST",
        "/api/v1/customer/profile/bulk",
        &[
            ("authorization", "Bearer t"),
            ("x-experimentalapi", "opt-in"),
            ("idempotency-key", "k"),
        ],
        Some(json!({"customerProfiles": too_many})),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        error["errorMessage"]
            .as_str()
            .unwrap()
            .contains("customerProfiles"),
        "{error}"
    );

    let taken = client
        .create_customer_detail()
        .body(
            types::CreateDetailFieldRequest::builder()
                .name("plan")
                .type_(types::DetailFieldType::builder().name("TEXT")),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        http(taken.status()),
        Some(400),
        "names are unique, case ignored: {taken}"
    );

    let ada = fake.state(|site| {
        site.customer_by_email("ada@example.com")
            .unwrap()
            .id
            .clone()
    });
    let unknown_option = client
        .update_field_value_for_customer()
        .customer_id(&ada)
        .field_name("Plan")
        .body(types::UpdateDetailFieldRequest::builder().values(["Platinum"]))
        .send()
        .await
        .unwrap_err();
    assert_eq!(http(unknown_option.status()), Some(400), "{unknown_option}");

    let missing = client
        .get_customer()
        .customer_id("qm:0:0")
        .send()
        .await
        .unwrap_err();
    assert_eq!(http(missing.status()), Some(404));
    let missing = client
        .get_product()
        .product_id("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(http(missing.status()), Some(404));
}

#[tokio::test]
async fn faults_are_served_and_every_request_is_logged() {
    let fake = FakeCsm::builder()
        .fail_next(
            1,
            Fault::RateLimited {
                retry_after: Duration::from_secs(1),
            },
        )
        .fail_next(1, Fault::Unavailable)
        .start()
        .await
        .unwrap();
    let started = Instant::now();
    let page = fake.client().get_products().send().await.unwrap();
    assert!(page.results.is_empty());
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "the Retry-After was honoured"
    );
    let requests = fake.requests();
    assert_eq!(requests.len(), 3, "429, 503, then the answer");
    assert_eq!(requests[0].path, "/api/v1/product");
    assert_eq!(
        requests.iter().map(|r| r.status).collect::<Vec<_>>(),
        [429, 503, 200]
    );
    assert_eq!(
        requests[0].header("authorization"),
        Some("Bearer fake-csm-token")
    );

    fake.fail_next(1, Fault::CutConnection);
    let client = never_retrying(&fake);
    let cut = client.get_products().send().await.unwrap_err();
    assert!(matches!(cut, Error::Transport { .. }), "{cut:?}");

    fake.fail_next(1, Fault::ServerError);
    let error = client.get_products().send().await.unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(500));
}

#[tokio::test]
async fn faults_aimed_at_an_operation_or_a_predicate_meet_only_those_requests() {
    let fake = FakeCsm::builder()
        .seed_demo(true)
        .fail_next_for("get-products", 2, Fault::Status(503))
        .start()
        .await
        .unwrap();
    let client = never_retrying(&fake);
    // Other operations are served while the aimed faults wait for theirs.
    client.get_all_customer_details().send().await.unwrap();
    for _ in 0..2 {
        let error = client.get_products().send().await.unwrap_err();
        assert_eq!(error.status().map(|s| s.as_u16()), Some(503), "{error}");
        match &error {
            Error::Api {
                error: Some(body), ..
            } => {
                assert_eq!(body.errors, ["SERVICE_UNAVAILABLE"]);
            }
            other => panic!("{other:?}"),
        }
    }
    client.get_products().send().await.unwrap();

    // The client's method name works too; a predicate sees the request as the log shows it.
    fake.fail_next_for("get_customer", 1, Fault::ServerError);
    fake.fail_next_where(1, Fault::Status(429), |request| {
        request.method == "GET" && request.path.contains("limit=1")
    });
    client.get_products().send().await.unwrap();
    let limited = client.get_products().limit(1).send().await.unwrap_err();
    assert_eq!(limited.status().map(|s| s.as_u16()), Some(429));
    client.get_products().limit(1).send().await.unwrap();
    let customer = fake.state(|site| site.customers.keys().next().unwrap().clone());
    let error = client
        .get_customer()
        .customer_id(&customer)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(500));

    let log = fake.requests();
    let operations: Vec<_> = log
        .iter()
        .map(|r| r.operation.as_deref().unwrap())
        .collect();
    assert_eq!(
        operations,
        [
            "get-all-customer-details",
            "get-products",
            "get-products",
            "get-products",
            "get-products",
            "get-products",
            "get-products",
            "get-customer"
        ]
    );
    assert_eq!(
        log.iter().map(|r| r.status).collect::<Vec<_>>(),
        [200, 503, 503, 200, 200, 429, 200, 500]
    );
}

#[test]
#[should_panic(expected = "no operation \"get-productz\" in the document")]
fn a_fault_aimed_at_an_operation_the_document_lacks_is_refused() {
    let _ = FakeCsm::builder().fail_next_for("get-productz", 1, Fault::ServerError);
}

#[tokio::test]
async fn pages_follow_the_cursor_and_searches_the_page_number() {
    use futures::TryStreamExt;
    let fake = FakeCsm::start().await.unwrap();
    fake.state(|site| {
        site.add_field(Entity::Customer, "Plan", "SELECT", &["Free", "Pro"]);
        for i in 0..250 {
            site.add_product(&format!("Product {i}"));
        }
        for i in 0..7 {
            let id = site.add_customer(&format!("c{i}@example.com"), "C");
            site.customers
                .get_mut(&id)
                .unwrap()
                .details
                .insert("Plan".into(), vec!["Pro".into()]);
        }
    });
    let client = fake.client();
    let pages: Vec<_> = client.product_pages(Some(100)).try_collect().await.unwrap();
    assert_eq!(
        pages.iter().map(|p| p.results.len()).collect::<Vec<_>>(),
        [100, 100, 50]
    );
    let search = types::CustomerSearchByDetailFieldRequest::builder().detail_fields([
        types::SearchDetailField::builder()
            .name("Plan")
            .value("Pro"),
    ]);
    let pages: Vec<_> = client
        .customer_search_pages(search, Some(3))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        pages.iter().map(|p| p.customers.len()).collect::<Vec<_>>(),
        [3, 3, 1]
    );
    assert_eq!(pages[2].is_last, Some(true));
}

#[tokio::test]
async fn a_finished_task_is_waited_for_and_its_records_are_in_the_state() {
    let fake = FakeCsm::builder().seed_demo(true).start().await.unwrap();
    let client = fake.client();
    let body = types::BulkOrganizationRequest::builder()
        .organizations([types::BulkOrganizationOperationRequest::create().name("Initech")]);
    let outcome = client
        .bulk_manage_organizations()
        .body(body)
        .send_and_wait()
        .await
        .unwrap();
    assert!(matches!(outcome, TaskOutcome::Finished(_)));
    assert!(fake.state(|site| site.organizations.values().any(|o| o.name == "Initech")));
}

#[tokio::test]
async fn a_seeded_fraction_of_requests_fails_the_same_way_every_time() {
    let outcomes = |seed: u64| async move {
        let fake = FakeCsm::builder()
            .fail_fraction(0.5, seed, Fault::ServerError)
            .start()
            .await
            .unwrap();
        let client = never_retrying(&fake);
        let mut failed = Vec::new();
        for _ in 0..40 {
            failed.push(client.get_products().send().await.is_err());
        }
        failed
    };
    let first = outcomes(7).await;
    assert_eq!(first, outcomes(7).await, "the same seed, the same faults");
    let failures = first.iter().filter(|f| **f).count();
    assert!((8..=32).contains(&failures), "about half of 40: {failures}");
    assert_ne!(first, outcomes(8).await, "another seed, other faults");
}

#[tokio::test]
async fn every_answer_waits_for_the_latency() {
    let fake = FakeCsm::builder()
        .latency(Duration::from_millis(150))
        .start()
        .await
        .unwrap();
    let started = Instant::now();
    fake.client().get_products().send().await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn detail_operations_apply_to_their_records_and_unknown_records_fail() {
    let fake = FakeCsm::builder().seed_demo(true).start().await.unwrap();
    let acme = fake.state(|site| {
        site.organizations
            .values()
            .find(|o| o.name == "Acme Corporation")
            .unwrap()
            .id
            .clone()
    });
    let body: types::BulkOrganizationDetailFieldRequest = serde_json::from_value(json!({"organizations": [
        {"id": acme, "operations": [{"operationType": "UPDATE", "payload": {"name": "Tier", "values": ["Silver"]}}]},
        {"id": "999", "operations": [{"operationType": "UPDATE", "payload": {"name": "Tier", "values": ["Gold"]}}]},
        {"id": acme, "operations": [{"operationType": "UPDATE", "payload": {"name": "Tier", "values": ["Platinum"]}}]}
    ]}))
    .unwrap();
    let outcome = fake
        .client()
        .bulk_manage_organization_details()
        .body(body)
        .send_and_wait()
        .await
        .unwrap();
    let failures: Vec<(String, String)> = outcome
        .failures()
        .iter()
        .map(|f| (f.entity_id.clone(), f.operated_on.to_string()))
        .collect();
    assert_eq!(
        failures,
        [
            ("999".to_string(), "ORGANIZATION".to_string()),
            (acme.clone(), "DETAIL_FIELD".to_string())
        ]
    );
    let tier = fake.state(|site| site.organizations[&acme].details["Tier"].clone());
    assert_eq!(tier, ["Silver"]);
}

#[tokio::test]
async fn a_live_site_s_quirks_failed_tasks_that_wrote_and_searches_that_lag() {
    use atlassian_csm::types::BulkManageCustomerProfileOperation as Profile;
    use atlassian_csm::{RecordOutcome, TaskOutcome};
    let fake = FakeCsm::builder()
        .task_timing(Duration::ZERO, Duration::from_millis(20))
        .failed_although_written(2)
        .search_delay(Duration::from_millis(1500))
        .start()
        .await
        .unwrap();
    fake.state(|site| {
        site.add_field(
            atlassian_csm_mock::Entity::Customer,
            "Plan",
            "SELECT",
            &["Pro"],
        )
    });
    let client = fake.client();
    let profile = |email: &str| -> Profile {
        Profile::upsert()
            .email(email)
            .display_name("A")
            .detail("Plan", ["Pro"])
            .try_into()
            .unwrap()
    };
    // The second task ends FAILED with no failures, and its records were written all the same.
    client
        .import_customer_profiles([profile("a@example.com")])
        .await
        .unwrap();
    let second = client
        .import_customer_profiles([profile("b@example.com")])
        .await
        .unwrap();
    assert!(
        matches!(second.records[0], RecordOutcome::TaskEnded { .. }),
        "{:?}",
        second.records
    );
    assert!(fake.state(|site| site.customer_by_email("b@example.com").is_some()));

    // A search finds them only once the site indexed them.
    use futures::TryStreamExt;
    let search = || {
        let request: atlassian_csm::types::CustomerSearchByDetailFieldRequest =
            atlassian_csm::types::CustomerSearchByDetailFieldRequest::builder()
                .detail_fields([atlassian_csm::types::SearchDetailField::builder()
                    .name("Plan")
                    .value("Pro")])
                .try_into()
                .unwrap();
        client
            .search_customers(request, None)
            .try_collect::<Vec<_>>()
    };
    let added = std::time::Instant::now();
    assert!(
        search().await.unwrap().is_empty(),
        "found before it was indexed"
    );
    tokio::time::sleep_until((added + Duration::from_millis(1600)).into()).await;
    assert_eq!(search().await.unwrap().len(), 2);

    let task_id = second.requests[0].task_id.clone().unwrap();
    let ended = client.wait_for_task(task_id).await.unwrap();
    assert!(matches!(ended, TaskOutcome::Failed(ref task) if task.failures.is_empty()));
}
