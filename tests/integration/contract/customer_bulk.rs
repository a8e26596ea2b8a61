use super::{body, json};
use crate::contract;
use crate::support::mock_api::{Expected, UUID_V4};
use atlassian_csm::types;

contract!(
    bulk_update_customer_details,
    Expected::post("/api/v1/customer/details/bulk")
        .experimental()
        .idempotency_key(UUID_V4)
        .json(json("bulk_update_customer_details")),
    |client| client
        .bulk_update_customer_details()
        .body(body::<types::BulkCustomerDetailFieldRequest>(
            "bulk_update_customer_details"
        ))
        .send()
);

contract!(
    bulk_create_customer_accounts,
    Expected::post("/api/v1/customer/bulk")
        .experimental()
        .idempotency_key(UUID_V4)
        .json(json("bulk_create_customer_accounts")),
    |client| client
        .bulk_create_customer_accounts()
        .body(body::<types::BulkCustomerAccountRequest>(
            "bulk_create_customer_accounts"
        ))
        .send()
);

contract!(
    bulk_manage_multiple_customer_profiles,
    Expected::post("/api/v1/customer/profile/bulk")
        .experimental()
        .idempotency_key(UUID_V4)
        .json(json("bulk_manage_multiple_customer_profiles")),
    |client| client
        .bulk_manage_multiple_customer_profiles()
        .body(body::<types::BulkManageCustomerProfilesRequest>(
            "bulk_manage_multiple_customer_profiles"
        ))
        .send()
);

// Documented on the "Customer bulk operations" page only (correction 07); not experimental there.
contract!(
    bulk_create_customer_detail_fields,
    Expected::post("/api/v1/customer/details/definitions/bulk")
        .idempotency_key(UUID_V4)
        .json(json("bulk_create_customer_detail_fields")),
    |client| client
        .bulk_create_customer_detail_fields()
        .body(body::<types::BulkCreateDetailFieldsRequest>(
            "bulk_create_customer_detail_fields"
        ))
        .send()
);
