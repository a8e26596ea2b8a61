//! One site, several imports at once in one process: they share the site's 5 unfinished tasks.

use atlassian_csm::types;
use atlassian_csm_mock::FakeCsm;
use std::future::IntoFuture;
use std::time::Duration;

#[tokio::test]
async fn two_entities_of_one_site_imported_at_once_hold_five_tasks_between_them() {
    let fake = FakeCsm::builder()
        .task_timing(Duration::ZERO, Duration::from_millis(60))
        .start()
        .await
        .unwrap();
    // Two clients of the same site, as two jobs of a job list would have.
    let (a, b) = (fake.client(), fake.client());
    let profiles: Vec<types::BulkManageCustomerProfileOperation> = (0..1_000)
        .map(|i| {
            types::BulkManageCustomerProfileOperation::upsert()
                .email(format!("c{i}@example.com"))
                .display_name(format!("Customer {i}"))
                .try_into()
                .unwrap()
        })
        .collect();
    let organizations: Vec<types::BulkOrganizationOperationRequest> = (0..500)
        .map(|i| {
            serde_json::from_value(serde_json::json!({
                "operationType": "CREATE", "payload": {"name": format!("Org {i}")}
            }))
            .unwrap()
        })
        .collect();
    let (first, second) = tokio::join!(
        a.import_customer_profiles(profiles)
            .max_in_flight(5)
            .into_future(),
        b.import_organizations(organizations)
            .max_in_flight(5)
            .into_future(),
    );
    assert!(first.unwrap().all_succeeded());
    assert!(second.unwrap().all_succeeded());
    // 20 requests in all, each accepted at once: the site never had to refuse a sixth task.
    let requests = fake.requests();
    let refused = requests
        .iter()
        .filter(|r| r.method == "POST" && r.status == 400)
        .count();
    assert_eq!(refused, 0);
    assert_eq!(requests.iter().filter(|r| r.status == 202).count(), 20);
    assert!(fake.state(|site| site.peak_unfinished_tasks) <= 5);
}
