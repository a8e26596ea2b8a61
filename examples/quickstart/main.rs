//! The whole flow of a CRM sync, end to end: create a customer detail field, bulk-upsert customer
//! profiles, wait for the task, find and fetch the profiles back, and page through products.
//!
//! With `CSM_CLOUD_ID` and credentials in the environment it talks to your site:
//!
//! ```sh
//! CSM_CLOUD_ID=… CSM_EMAIL=you@example.com CSM_API_TOKEN=… cargo run --example quickstart
//! CSM_CLOUD_ID=… CSM_ACCESS_TOKEN=… cargo run --example quickstart        # OAuth 2.0
//! ```
//!
//! Without them it starts a local fake of the CSM API (`atlassian-csm-mock`) and runs the same
//! flow against it.

#[path = "../support/site.rs"]
mod site;

use atlassian_csm::{types, Error, TaskOutcome};

/// A field the fake's demo site does not have, so that the first run creates it (on your site,
/// a second run finds it there).
const FIELD: &str = "Support plan";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (client, _mock) = site::client().await?;

    // 1. A SELECT detail field for the customers' support plan.
    let field = types::CreateDetailFieldRequest::builder()
        .name(FIELD)
        .type_(types::DetailFieldType::builder().name("SELECT").options(
            types::DetailFieldOptions(vec!["Free".into(), "Pro".into(), "Enterprise".into()]),
        ));
    match client.create_customer_detail().body(field).send().await {
        Ok(created) => println!("1. Created the customer detail field {:?}", created.0.name),
        Err(Error::Api { status, error, .. }) if status == 400 => println!(
            "1. The detail field {FIELD:?} exists already ({})",
            error.and_then(|e| e.error_message).unwrap_or_default()
        ),
        Err(other) => return Err(other.into()),
    }

    // 2. Upsert customer profiles in one bulk task, and wait for it.
    let people = [
        ("ada@example.com", "Ada Lovelace", "Pro"),
        ("grace@example.com", "Grace Hopper", "Enterprise"),
        ("alan@example.com", "Alan Turing", "Pro"),
    ];
    let operations = people.iter().map(|(email, name, plan)| {
        types::BulkManageCustomerProfileOperation::upsert()
            .email(*email)
            .display_name(*name)
            .detail(FIELD, [*plan])
    });
    let body = types::BulkManageCustomerProfilesRequest::builder().customer_profiles(operations);
    let submitted = client
        .bulk_manage_multiple_customer_profiles()
        .body(body)
        .send()
        .await?;
    println!(
        "2. Submitted {} profiles as task {}",
        people.len(),
        submitted.id
    );
    let outcome = client
        .wait_for_task(submitted.into_inner().id)
        .on_progress(|task| println!("   task {}", task.status))
        .await?;
    match &outcome {
        TaskOutcome::Finished(task) => {
            println!("   finished with {} failed records", task.failures.len())
        }
        ended => println!("   ended {}", ended.task().status),
    }
    for failure in outcome.failures() {
        println!(
            "   {} {}: {}",
            failure.operation,
            failure.entity_id,
            failure.error.as_deref().unwrap_or("")
        );
    }

    // 3. Find the Pro customers by their detail field and fetch their profiles.
    let search = types::CustomerSearchByDetailFieldRequest::builder()
        .detail_fields([types::SearchDetailField::builder().name(FIELD).value("Pro")]);
    let found = client
        .search_by_detail_field()
        .max_results(25)
        .body(search)
        .send()
        .await?;
    let ids: Vec<String> = found.customers.iter().map(|c| c.id.clone()).collect();
    println!("3. {} customers on the Pro plan", ids.len());
    if !ids.is_empty() {
        let fetch = types::FetchCustomerProfilesRequest::builder().customer_ids(ids);
        let profiles = client
            .get_multiple_customer_profiles()
            .body(fetch)
            .send()
            .await?;
        for profile in &profiles.profiles {
            println!(
                "   {} <{}>",
                profile.display_name,
                profile.email.as_deref().unwrap_or("?")
            );
        }
    }

    // 4. Page through every product.
    println!("4. Products:");
    let mut cursor: Option<String> = None;
    loop {
        let mut request = client.get_products().limit(2);
        if let Some(cursor) = &cursor {
            request = request.cursor(cursor.as_str());
        }
        let page = request.send().await?.into_inner();
        for product in &page.results {
            println!("   {} {}", product.id, product.name);
        }
        match page.next_page_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    println!("Done.");
    Ok(())
}
