//! Products: the catalog entitlements point into.

use crate::call::query_number;
use crate::call::Call;
use crate::reply::{error, Reply};
use crate::state::{self, State};
use serde_json::{json, Value};

/// Answers the product operations; `None` for any other operation.
pub(super) fn handle(state: &mut State, call: &Call<'_>) -> Option<Reply> {
    Some(match call.operation {
        "get-products" => products_page(state, call),
        "create-product" => {
            let name = call.text("name").unwrap_or_default();
            let id = state.add_product(&name);
            (200, json!({"id": id, "name": name}))
        }
        "get-product" => match state.product(call.param("productId")) {
            Some(p) => (200, state::product_json(p)),
            None => error(404, "Product not found"),
        },
        "update-product" => {
            let name = call.text("name").unwrap_or_default();
            match state
                .products
                .iter_mut()
                .find(|p| p.id == call.param("productId"))
            {
                Some(product) => {
                    product.name = name;
                    (200, state::product_json(product))
                }
                None => error(404, "Product not found"),
            }
        }
        "delete-product" => {
            let id = call.param("productId").to_string();
            let before = state.products.len();
            state.products.retain(|p| p.id != id);
            if state.products.len() == before {
                return Some(error(404, "Product not found"));
            }
            state.entitlements.retain(|_, e| e.product_id != id);
            for customer in state.customers.values_mut() {
                customer.products.remove(&id);
            }
            for organization in state.organizations.values_mut() {
                organization.products.remove(&id);
            }
            (204, Value::Null)
        }
        _ => return None,
    })
}

fn products_page(state: &State, call: &Call<'_>) -> Reply {
    let limit = query_number(call.query, "limit")
        .filter(|n| (1..=100).contains(n))
        .unwrap_or(100) as usize;
    let start = match call.query.get("cursor") {
        None => 0,
        Some(cursor) => match cursor.strip_prefix("after-").and_then(|n| n.parse().ok()) {
            Some(start) => start,
            None => return error(400, "Invalid cursor"),
        },
    };
    let results: Vec<Value> = state
        .products
        .iter()
        .skip(start)
        .take(limit)
        .map(state::product_json)
        .collect();
    let end = start + results.len();
    let mut page = json!({"results": results});
    if end < state.products.len() {
        page["nextPageCursor"] = json!(format!("after-{end}"));
    }
    (200, page)
}
