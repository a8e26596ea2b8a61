//! Which site the examples talk to: yours, when the environment says so.

use atlassian_csm::{Client, Credentials};
use atlassian_csm_mock::FakeCsm;
use std::env;

/// On the local fake, records whose email contains this fail, to show how a failed record is
/// reported.
pub const BOUNCE: &str = "+bounce";

/// A client for your site when `CSM_CLOUD_ID` and credentials are set; otherwise a client for a
/// local fake of the CSM API with demo data, started here (it stops when the returned fake is
/// dropped).
pub async fn client() -> Result<(Client, Option<FakeCsm>), Box<dyn std::error::Error>> {
    match credentials_from_env() {
        Some((cloud_id, credentials)) => {
            println!("Using the CSM API of cloud {cloud_id}");
            let client = Client::builder()
                .cloud_id(cloud_id)
                .credentials(credentials)
                .build()?;
            Ok((client, None))
        }
        None => {
            let fake = FakeCsm::builder()
                .seed_demo(true)
                .fail_records_where(|email| email.contains(BOUNCE))
                .start()
                .await?;
            println!(
                "No CSM_CLOUD_ID in the environment: using a local fake of the CSM API at {}",
                fake.base_url()
            );
            Ok((fake.client(), Some(fake)))
        }
    }
}

/// `CSM_CLOUD_ID` with `CSM_ACCESS_TOKEN` (OAuth) or `CSM_EMAIL` + `CSM_API_TOKEN` (Basic).
pub fn credentials_from_env() -> Option<(String, Credentials)> {
    let cloud_id = env::var("CSM_CLOUD_ID").ok()?;
    let credentials = match (
        env::var("CSM_ACCESS_TOKEN"),
        env::var("CSM_EMAIL"),
        env::var("CSM_API_TOKEN"),
    ) {
        (Ok(token), _, _) => Credentials::bearer(token),
        (_, Ok(email), Ok(api_token)) => Credentials::basic(email, api_token),
        _ => {
            eprintln!("CSM_CLOUD_ID is set but no credentials: set CSM_ACCESS_TOKEN, or CSM_EMAIL and CSM_API_TOKEN");
            std::process::exit(2);
        }
    };
    Some((cloud_id, credentials))
}
