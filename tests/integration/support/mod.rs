//! Helpers shared by the integration tests.
#![allow(dead_code)]

#[cfg(feature = "postgres")]
pub mod backend;
pub mod logs;
pub mod mock_api;
pub mod scripted_server;
pub mod spec;

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
