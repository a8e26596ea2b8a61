use super::{body, json, ENTITLEMENT_ID, FIELD_NAME, FIELD_NAME_IN_PATH};
use crate::contract;
use crate::support::mock_api::Expected;
use atlassian_csm::types;

contract!(
    get_all_entitlement_details,
    Expected::get("/api/v1/entitlement/details"),
    |client| { client.get_all_entitlement_details().send() }
);

contract!(
    create_entitlement_detail,
    Expected::post("/api/v1/entitlement/details").json(json("create_entitlement_detail")),
    |client| client
        .create_entitlement_detail()
        .body(body::<types::CreateDetailFieldRequest>(
            "create_entitlement_detail"
        ))
        .send()
);

contract!(
    update_field_for_entitlements,
    Expected::put(&format!("/api/v1/entitlement/details/{FIELD_NAME_IN_PATH}"))
        .json(json("update_field_for_entitlements")),
    |client| client
        .update_field_for_entitlements()
        .field_name(FIELD_NAME)
        .body(body::<types::EditDetailFieldRequest>(
            "update_field_for_entitlements"
        ))
        .send()
);

contract!(
    delete_entitlement_detail,
    Expected::delete(&format!("/api/v1/entitlement/details/{FIELD_NAME_IN_PATH}")),
    |client| client
        .delete_entitlement_detail()
        .field_name(FIELD_NAME)
        .send()
);

contract!(
    get_entitlement,
    Expected::get(&format!("/api/v1/entitlement/{ENTITLEMENT_ID}")),
    |client| client
        .get_entitlement()
        .entitlement_id(ENTITLEMENT_ID)
        .send()
);

contract!(
    delete_entitlement,
    Expected::delete(&format!("/api/v1/entitlement/{ENTITLEMENT_ID}")),
    |client| client
        .delete_entitlement()
        .entitlement_id(ENTITLEMENT_ID)
        .send()
);

contract!(
    update_field_value_for_entitlement,
    Expected::put(&format!("/api/v1/entitlement/{ENTITLEMENT_ID}/details"))
        .query("fieldName", FIELD_NAME)
        .json(json("update_field_value_for_entitlement")),
    |client| client
        .update_field_value_for_entitlement()
        .entitlement_id(ENTITLEMENT_ID)
        .field_name(FIELD_NAME)
        .body(body::<types::UpdateDetailFieldRequest>(
            "update_field_value_for_entitlement"
        ))
        .send()
);
