use super::{body, json, CUSTOMER_ID, FIELD_NAME, FIELD_NAME_IN_PATH, PRODUCT_ID};
use crate::contract;
use crate::support::mock_api::Expected;
use atlassian_csm::types;

contract!(
    get_all_customer_details,
    Expected::get("/api/v1/customer/details"),
    |client| client.get_all_customer_details().send()
);

contract!(
    create_customer_detail,
    Expected::post("/api/v1/customer/details").json(json("create_customer_detail")),
    |client| client
        .create_customer_detail()
        .body(body::<types::CreateDetailFieldRequest>(
            "create_customer_detail"
        ))
        .send()
);

contract!(
    update_field_for_customers,
    Expected::put(&format!("/api/v1/customer/details/{FIELD_NAME_IN_PATH}"))
        .json(json("update_field_for_customers")),
    |client| client
        .update_field_for_customers()
        .field_name(FIELD_NAME)
        .body(body::<types::EditDetailFieldRequest>(
            "update_field_for_customers"
        ))
        .send()
);

contract!(
    delete_customer_detail,
    Expected::delete(&format!("/api/v1/customer/details/{FIELD_NAME_IN_PATH}")),
    |client| client
        .delete_customer_detail()
        .field_name(FIELD_NAME)
        .send()
);

contract!(
    get_customer,
    Expected::get(&format!("/api/v1/customer/{CUSTOMER_ID}")),
    |client| client.get_customer().customer_id(CUSTOMER_ID).send()
);

contract!(
    search_by_detail_field,
    Expected::post("/api/v1/customer/search-by-detail-field")
        .query("page", "2")
        .query("maxResults", "50")
        .json(json("search_by_detail_field")),
    |client| client
        .search_by_detail_field()
        .page(2)
        .max_results(50)
        .body(body::<types::CustomerSearchByDetailFieldRequest>(
            "search_by_detail_field"
        ))
        .send()
);

contract!(
    update_field_value_for_customer,
    Expected::put(&format!("/api/v1/customer/{CUSTOMER_ID}/details"))
        .query("fieldName", FIELD_NAME)
        .json(json("update_field_value_for_customer")),
    |client| client
        .update_field_value_for_customer()
        .customer_id(CUSTOMER_ID)
        .field_name(FIELD_NAME)
        .body(body::<types::UpdateDetailFieldRequest>(
            "update_field_value_for_customer"
        ))
        .send()
);

contract!(
    get_customer_entitlements,
    Expected::get(&format!("/api/v1/customer/{CUSTOMER_ID}/entitlement"))
        .query("product", PRODUCT_ID),
    |client| client
        .get_customer_entitlements()
        .customer_id(CUSTOMER_ID)
        .product(PRODUCT_ID)
        .send()
);

contract!(
    create_customer_entitlement,
    Expected::post(&format!("/api/v1/customer/{CUSTOMER_ID}/entitlement"))
        .json(json("create_customer_entitlement")),
    |client| client
        .create_customer_entitlement()
        .customer_id(CUSTOMER_ID)
        .body(body::<types::EntitlementRequest>(
            "create_customer_entitlement"
        ))
        .send()
);

contract!(
    create_customer,
    Expected::post("/api/v1/customer")
        .experimental()
        .json(json("create_customer")),
    |client| client
        .create_customer()
        .body(body::<types::CustomerCreateRequest>("create_customer"))
        .send()
);

contract!(
    get_customer_account,
    Expected::get(&format!("/api/v1/customer/account/{CUSTOMER_ID}")).experimental(),
    |client| client
        .get_customer_account()
        .customer_id(CUSTOMER_ID)
        .send()
);

contract!(
    update_customer_account,
    Expected::put(&format!("/api/v1/customer/account/{CUSTOMER_ID}"))
        .experimental()
        .json(json("update_customer_account")),
    |client| client
        .update_customer_account()
        .customer_id(CUSTOMER_ID)
        .body(body::<types::CustomerUpdateRequest>(
            "update_customer_account"
        ))
        .send()
);

contract!(
    delete_customer_account,
    Expected::delete(&format!("/api/v1/customer/account/{CUSTOMER_ID}")).experimental(),
    |client| client
        .delete_customer_account()
        .customer_id(CUSTOMER_ID)
        .send()
);

contract!(
    get_customer_profile,
    Expected::get(&format!("/api/v1/customer/profile/{CUSTOMER_ID}")).experimental(),
    |client| client
        .get_customer_profile()
        .customer_id(CUSTOMER_ID)
        .send()
);

contract!(
    create_customer_profile,
    Expected::post("/api/v1/customer/profile")
        .experimental()
        .json(json("create_customer_profile")),
    |client| client
        .create_customer_profile()
        .body(body::<types::CustomerProfileCreateRequest>(
            "create_customer_profile"
        ))
        .send()
);

contract!(
    get_multiple_customer_profiles,
    Expected::post("/api/v1/customer/profile/fetch")
        .experimental()
        .json(json("get_multiple_customer_profiles")),
    |client| client
        .get_multiple_customer_profiles()
        .body(body::<types::FetchCustomerProfilesRequest>(
            "get_multiple_customer_profiles"
        ))
        .send()
);
