use super::{body, json, PRODUCT_ID};
use crate::contract;
use crate::support::mock_api::Expected;
use atlassian_csm::types;

contract!(
    get_products,
    Expected::get("/api/v1/product")
        .query("limit", "50")
        .query("cursor", "bmV4dA=="),
    |client| client.get_products().limit(50).cursor("bmV4dA==").send()
);

contract!(
    create_product,
    Expected::post("/api/v1/product").json(json("create_product")),
    |client| client
        .create_product()
        .body(body::<types::ProductRequest>("create_product"))
        .send()
);

contract!(
    get_product,
    Expected::get(&format!("/api/v1/product/{PRODUCT_ID}")),
    |client| client.get_product().product_id(PRODUCT_ID).send()
);

contract!(
    update_product,
    Expected::put(&format!("/api/v1/product/{PRODUCT_ID}")).json(json("update_product")),
    |client| client
        .update_product()
        .product_id(PRODUCT_ID)
        .body(body::<types::ProductRequest>("update_product"))
        .send()
);

contract!(
    delete_product,
    Expected::delete(&format!("/api/v1/product/{PRODUCT_ID}")),
    |client| { client.delete_product().product_id(PRODUCT_ID).send() }
);
