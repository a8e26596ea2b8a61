//! `cargo run --example csv_sync`: 250 customers from a CSV into a detail field and profiles with
//! progress and failed rows, 3 profiles fetched back, the products (a fake unless CSM_CLOUD_ID).
#[path = "support/site.rs"]
mod site;
use atlassian_csm::types::*;
use futures::TryStreamExt;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (client, _fake) = site::client().await?;
    let lines = include_str!("data/customers.csv").lines().skip(1);
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let plan = DetailFieldType::builder().name("SELECT");
    let plan = plan.options(["Free", "Pro", "Enterprise"]);
    let field = CreateDetailFieldRequest::builder().name("Plan");
    let create = client.create_customer_detail().body(field.type_(plan));
    if let Err(error) = create.send().await {
        println!("Plan field not created: {error}");
    }
    let profiles = rows.iter().map(|row| {
        let profile = BulkManageCustomerProfileOperation::upsert().email(row[0]);
        profile.display_name(row[1]).detail("Plan", [row[2]])
    });
    let import = client.import_customer_profiles(profiles);
    let report = import.on_progress(|p| println!("{} rows done", p.finished_records));
    let report = report.await?;
    println!("{} of {} rows imported", report.succeeded(), rows.len());
    for (index, outcome) in report.not_succeeded() {
        println!("line {}, {}: {outcome}", index + 2, rows[index][0]);
    }
    let pro = SearchDetailField::builder().name("Plan").value("Pro");
    let search = CustomerSearchByDetailFieldRequest::builder().detail_fields([pro]);
    let found: Vec<_> = client.search_customers(search, None).try_collect().await?;
    let ids = found.iter().take(3).map(|customer| customer.id.clone());
    let fetch = FetchCustomerProfilesRequest::builder().customer_ids(ids);
    let request = client.get_multiple_customer_profiles().body(fetch);
    for profile in &request.send().await?.profiles {
        let email = profile.email.as_deref().unwrap_or("?");
        println!("{} <{email}>", profile.display_name);
    }
    let products: Vec<Product> = client.products(None).try_collect().await?;
    let names: Vec<&str> = products.iter().map(|p| p.name.as_str()).collect();
    println!("{} products: {}", products.len(), names.join(", "));
    Ok(())
}
