use super::{body, json};
use crate::contract;
use crate::support::mock_api::{Expected, UUID_V4};
use atlassian_csm::types;

contract!(
    bulk_manage_organization_profiles,
    Expected::post("/api/v1/organization/profile/bulk")
        .experimental()
        .idempotency_key(UUID_V4)
        .json(json("bulk_manage_organization_profiles")),
    |client| client
        .bulk_manage_organization_profiles()
        .body(body::<types::BulkManageOrganizationProfilesRequest>(
            "bulk_manage_organization_profiles"
        ))
        .send()
);

contract!(
    bulk_manage_organizations,
    Expected::post("/api/v1/organization/bulk")
        .experimental()
        .idempotency_key(UUID_V4)
        .json(json("bulk_manage_organizations")),
    |client| client
        .bulk_manage_organizations()
        .body(body::<types::BulkOrganizationRequest>(
            "bulk_manage_organizations"
        ))
        .send()
);

contract!(
    bulk_manage_organization_details,
    Expected::post("/api/v1/organization/details/bulk")
        .experimental()
        .idempotency_key(UUID_V4)
        .json(json("bulk_manage_organization_details")),
    |client| client
        .bulk_manage_organization_details()
        .body(body::<types::BulkOrganizationDetailFieldRequest>(
            "bulk_manage_organization_details"
        ))
        .send()
);

// In the API's newer operation list only (correction 13): the twin of the customer one.
contract!(
    bulk_create_organization_detail_fields,
    Expected::post("/api/v1/organization/details/definitions/bulk")
        .idempotency_key(UUID_V4)
        .json(json("bulk_create_organization_detail_fields")),
    |client| client
        .bulk_create_organization_detail_fields()
        .body(body::<types::BulkCreateDetailFieldsRequest>(
            "bulk_create_organization_detail_fields"
        ))
        .send()
);
