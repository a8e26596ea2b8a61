//! Imports customer profiles from CSV-shaped rows with one call, printing progress, then lists
//! the rows that did not go through.
//!
//! ```sh
//! cargo run --example bulk_import              # 1,000 rows into a local fake of the CSM API
//! CSM_CLOUD_ID=… CSM_EMAIL=… CSM_API_TOKEN=… cargo run --example bulk_import
//! ```

#[path = "support/site.rs"]
mod site;

use atlassian_csm::types::BulkManageCustomerProfileOperation as Profile;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (client, _mock) = site::client().await?;

    // Rows as a CSV reader would give them: email, name, plan. On the local fake, row 500 will be
    // refused, to show how a failed record is reported.
    let rows: Vec<(String, String, String)> = (0..1000)
        .map(|i| {
            let email = match i {
                500 => format!("row{i}{}@example.com", site::BOUNCE),
                _ => format!("row{i}@example.com"),
            };
            (
                email,
                format!("Customer {i}"),
                ["Free", "Pro"][i % 2].to_string(),
            )
        })
        .collect();

    let profiles = rows.iter().map(|(email, name, plan)| {
        Profile::upsert()
            .email(email)
            .display_name(name)
            .detail("Plan", [plan])
    });
    let report = client
        .import_customer_profiles(profiles)
        .on_progress(|p| println!("{}/{} records done", p.finished_records, p.total_records))
        .await?;
    println!(
        "{} of {} rows imported in {} requests",
        report.succeeded(),
        rows.len(),
        report.requests.len()
    );
    for (row, outcome) in report.not_succeeded() {
        println!("row {row} ({}): {outcome:?}", rows[row].0);
    }
    Ok(())
}
