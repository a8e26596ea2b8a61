use super::{body, json, FIELD_NAME, FIELD_NAME_IN_PATH, ORGANIZATION_ID, PRODUCT_ID};
use crate::contract;
use crate::support::mock_api::Expected;
use atlassian_csm::types;

contract!(
    get_all_organization_details,
    Expected::get("/api/v1/organization/details"),
    |client| { client.get_all_organization_details().send() }
);

contract!(
    create_organization_detail,
    Expected::post("/api/v1/organization/details").json(json("create_organization_detail")),
    |client| client
        .create_organization_detail()
        .body(body::<types::CreateDetailFieldRequest>(
            "create_organization_detail"
        ))
        .send()
);

contract!(
    update_field_for_organizations,
    Expected::put(&format!(
        "/api/v1/organization/details/{FIELD_NAME_IN_PATH}"
    ))
    .json(json("update_field_for_organizations")),
    |client| client
        .update_field_for_organizations()
        .field_name(FIELD_NAME)
        .body(body::<types::EditDetailFieldRequest>(
            "update_field_for_organizations"
        ))
        .send()
);

contract!(
    delete_organization_detail,
    Expected::delete(&format!(
        "/api/v1/organization/details/{FIELD_NAME_IN_PATH}"
    )),
    |client| client
        .delete_organization_detail()
        .field_name(FIELD_NAME)
        .send()
);

contract!(
    get_organization,
    Expected::get("/api/v1/organization/123"),
    |client| client
        .get_organization()
        .organization_id(ORGANIZATION_ID)
        .send()
);

contract!(
    update_organization,
    Expected::put("/api/v1/organization/123")
        .experimental()
        .json(json("update_organization")),
    |client| client
        .update_organization()
        .organization_id(ORGANIZATION_ID)
        .body(body::<types::OrganizationUpdateRequest>(
            "update_organization"
        ))
        .send()
);

contract!(
    delete_organization,
    Expected::delete("/api/v1/organization/123").experimental(),
    |client| client
        .delete_organization()
        .organization_id(ORGANIZATION_ID)
        .send()
);

contract!(
    update_field_value_for_organizations,
    Expected::put("/api/v1/organization/123/details")
        .query("fieldName", FIELD_NAME)
        .json(json("update_field_value_for_organizations")),
    |client| client
        .update_field_value_for_organizations()
        .organization_id(ORGANIZATION_ID)
        .field_name(FIELD_NAME)
        .body(body::<types::UpdateDetailFieldRequest>(
            "update_field_value_for_organizations"
        ))
        .send()
);

contract!(
    get_organization_entitlements,
    Expected::get("/api/v1/organization/123/entitlement").query("product", PRODUCT_ID),
    |client| client
        .get_organization_entitlements()
        .organization_id(ORGANIZATION_ID)
        .product(PRODUCT_ID)
        .send()
);

contract!(
    create_organization_entitlement,
    Expected::post("/api/v1/organization/123/entitlement")
        .json(json("create_organization_entitlement")),
    |client| client
        .create_organization_entitlement()
        .organization_id(ORGANIZATION_ID)
        .body(body::<types::EntitlementRequest>(
            "create_organization_entitlement"
        ))
        .send()
);

contract!(
    create_organization,
    Expected::post("/api/v1/organization")
        .experimental()
        .json(json("create_organization")),
    |client| client
        .create_organization()
        .body(body::<types::OrganizationCreateRequest>(
            "create_organization"
        ))
        .send()
);

contract!(
    get_multiple_organizations,
    Expected::post("/api/v1/organization/fetch")
        .experimental()
        .json(json("get_multiple_organizations")),
    |client| client
        .get_multiple_organizations()
        .body(body::<types::FetchOrganizationRequest>(
            "get_multiple_organizations"
        ))
        .send()
);

contract!(
    get_organization_profile,
    Expected::get("/api/v1/organization/profile/123").experimental(),
    |client| client
        .get_organization_profile()
        .organization_id(ORGANIZATION_ID)
        .send()
);

contract!(
    create_organization_profile,
    Expected::post("/api/v1/organization/profile")
        .experimental()
        .json(json("create_organization_profile")),
    |client| client
        .create_organization_profile()
        .body(body::<types::OrganizationProfileCreateRequest>(
            "create_organization_profile"
        ))
        .send()
);

contract!(
    get_multiple_organization_profiles,
    Expected::post("/api/v1/organization/profile/fetch")
        .experimental()
        .json(json("get_multiple_organization_profiles")),
    |client| client
        .get_multiple_organization_profiles()
        .body(body::<types::FetchOrganizationProfilesRequest>(
            "get_multiple_organization_profiles"
        ))
        .send()
);
