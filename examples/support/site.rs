//! Which site the examples talk to: yours, when the environment says so.

use atlassian_csm::Credentials;
use std::env;

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
