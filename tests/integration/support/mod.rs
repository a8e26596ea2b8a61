//! Helpers shared by the integration tests.
#![allow(dead_code)]

#[cfg(feature = "postgres")]
pub mod backend;
pub mod logs;
pub mod mock_api;
pub mod scripted_server;
pub mod spec;

/// The retry policy of the tests' clients: the default's attempts and rules, 5 ms apart at
/// first instead of half a second.
pub fn fast_retries() -> atlassian_csm::RetryPolicy {
    atlassian_csm::RetryPolicy::default().base_delay(std::time::Duration::from_millis(5))
}

/// A client builder for `base_url`, with a bearer token and [`fast_retries`], to configure
/// further.
pub fn client_builder(base_url: &str) -> atlassian_csm::ClientBuilder {
    atlassian_csm::Client::builder()
        .base_url(base_url)
        .credentials(atlassian_csm::Credentials::bearer("token"))
        .retry_policy(fast_retries())
}

/// A client for `base_url`, with a bearer token and [`fast_retries`].
pub fn client(base_url: &str) -> atlassian_csm::Client {
    client_builder(base_url).build().expect("a test client")
}

/// A directory of the test's own in the temp directory, removed with everything in it when the
/// guard is dropped, even by a failing test.
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("csm-test-")
        .tempdir()
        .expect("a temp directory")
}

/// The smallest valid bulk requests (the API wants at least one record).
pub mod bodies {
    use atlassian_csm::types;
    use serde_json::json;

    pub fn one_account() -> types::BulkCustomerAccountRequest {
        serde_json::from_value(json!({"customerAccounts": [
            {"operationType": "CREATE", "payload": {"email": "ada@example.com"}}
        ]}))
        .unwrap()
    }

    pub fn one_organization_json() -> serde_json::Value {
        json!({"organizations": [{"operationType": "CREATE", "payload": {"name": "Acme"}}]})
    }

    pub fn one_organization() -> types::BulkOrganizationRequest {
        serde_json::from_value(one_organization_json()).unwrap()
    }
}
