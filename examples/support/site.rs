//! Which site the examples talk to: yours, when the environment says so.

use crate::mock_csm::{MockConfig, MockCsm};
use atlassian_csm::{Client, Credentials};
use std::env;

/// A client for your site when `CSM_CLOUD_ID` and credentials are set; otherwise a client for a
/// local mock of the CSM API, started here (it stops when the returned mock is dropped).
pub async fn client() -> Result<(Client, Option<MockCsm>), Box<dyn std::error::Error>> {
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
            let mock = MockCsm::start(MockConfig::default()).await?;
            println!(
                "No CSM_CLOUD_ID in the environment: using a local mock at {}",
                mock.base_url
            );
            let client = Client::builder()
                .base_url(&mock.base_url)
                .credentials(Credentials::bearer("mock-token"))
                .build()?;
            Ok((client, Some(mock)))
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
