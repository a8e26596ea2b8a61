//! Entitlements: a customer's or an organization's right to a product.

use crate::call::Call;
use crate::reply::{error, Reply};
use crate::state::Entitlement;
use crate::state::{self, Details, Entity, State};
use serde_json::Value;

/// Answers the entitlement operations; `None` for any other operation.
pub(super) fn handle(state: &mut State, call: &Call<'_>) -> Option<Reply> {
    use Entity::{Customer as C, Organization as O};
    Some(match call.operation {
        "get-customer-entitlements" => list_entitlements(state, C, call),
        "get-organization-entitlements" => list_entitlements(state, O, call),
        "create-customer-entitlement" => create_entitlement(state, C, call),
        "create-organization-entitlement" => create_entitlement(state, O, call),
        "get-entitlement" => match state.entitlements.get(call.param("entitlementId")) {
            Some(e) => (200, state::entitlement_json(state, e)),
            None => error(404, "Entitlement not found"),
        },
        "delete-entitlement" => match state.entitlements.remove(call.param("entitlementId")) {
            Some(_) => (204, Value::Null),
            None => error(404, "Entitlement not found"),
        },
        _ => return None,
    })
}

fn list_entitlements(state: &State, holder: Entity, call: &Call<'_>) -> Reply {
    let (id, exists) = match holder {
        Entity::Organization => {
            let id = call.param("organizationId");
            (id, state.organizations.contains_key(id))
        }
        _ => {
            let id = call.param("customerId");
            (id, state.customers.contains_key(id))
        }
    };
    if !exists {
        return error(404, "Not found");
    }
    let product = call.query.get("product");
    let entitlements: Vec<Value> = state
        .entitlements
        .values()
        .filter(|e| e.holder == holder && e.holder_id == id)
        .filter(|e| product.is_none_or(|p| &e.product_id == p))
        .map(|e| state::entitlement_json(state, e))
        .collect();
    (200, Value::Array(entitlements))
}

fn create_entitlement(state: &mut State, holder: Entity, call: &Call<'_>) -> Reply {
    let id = match holder {
        Entity::Organization => call.param("organizationId"),
        _ => call.param("customerId"),
    }
    .to_string();
    let exists = match holder {
        Entity::Organization => state.organizations.contains_key(&id),
        _ => state.customers.contains_key(&id),
    };
    if !exists {
        return error(404, "Not found");
    }
    let product_id = call.text("productId").unwrap_or_default();
    if state.product(&product_id).is_none() {
        return error(404, format!("Product {product_id} does not exist"));
    }
    let entitlement = Entitlement {
        id: uuid::Uuid::new_v4().to_string(),
        product_id,
        holder,
        holder_id: id,
        details: Details::new(),
    };
    let answer = state::entitlement_json(state, &entitlement);
    state
        .entitlements
        .insert(entitlement.id.clone(), entitlement);
    (200, answer)
}
