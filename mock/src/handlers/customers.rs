//! Customers: their accounts, their profiles and the search by detail value.

use crate::call::{query_number, Call};
use crate::records::{apply_customer_profile, link_memberships};
use crate::reply::{error, Reply};
use crate::state::Customer;
use crate::state::{self, Entity, State};
use serde_json::{json, Value};

/// Answers the customer operations: accounts, profiles, the detail search; `None` for any other operation.
pub(super) fn handle(state: &mut State, call: &Call<'_>) -> Option<Reply> {
    Some(match call.operation {
        "get-customer" => get_customer(state, call),
        "search-by-detail-field" => search(state, call),
        "create-customer" => create_customer(state, call),
        "get-customer-account" => with_customer(state, call, |_, c| {
            (
                200,
                json!({"displayName": c.display_name, "email": c.email}),
            )
        }),
        "update-customer-account" => update_customer(state, call),
        "delete-customer-account" => delete_customer(state, call),
        "get-customer-profile" => with_customer(state, call, |state, c| {
            (200, state::customer_profile(state, c, true))
        }),
        "create-customer-profile" => create_customer_profile(state, call),
        "get-multiple-customer-profiles" => customer_profiles(state, call),
        _ => return None,
    })
}

fn with_customer(
    state: &State,
    call: &Call<'_>,
    answer: impl FnOnce(&State, &Customer) -> Reply,
) -> Reply {
    match state.customers.get(call.param("customerId")) {
        Some(customer) => answer(state, customer),
        None => error(404, "Customer not found"),
    }
}

fn get_customer(state: &State, call: &Call<'_>) -> Reply {
    with_customer(state, call, |state, c| {
        let organizations: Vec<Value> = c
            .organizations
            .iter()
            .map(|id| state::organization_ref(state, id))
            .collect();
        (
            200,
            json!({"id": c.id, "name": c.display_name,
                "details": state::detail_fields(state, Entity::Customer, &c.details),
                "organizations": organizations}),
        )
    })
}

fn search(state: &State, call: &Call<'_>) -> Reply {
    let wanted: Vec<(String, String)> = call.body["detailFields"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            let text = |key: &str| f[key].as_str().unwrap_or_default().to_string();
            (text("name"), text("value"))
        })
        .collect();
    let matching: Vec<&Customer> = state
        .customers
        .values()
        .filter(|c| state.searchable(&c.id, call.now))
        .filter(|c| {
            wanted.iter().all(|(name, value)| {
                c.details
                    .iter()
                    .any(|(n, values)| n.eq_ignore_ascii_case(name) && values.contains(value))
            })
        })
        .collect();
    let page = query_number(call.query, "page").unwrap_or(1).max(1);
    let max_results = query_number(call.query, "maxResults")
        .filter(|n| *n >= 1)
        .unwrap_or(1000);
    let start = ((page - 1) * max_results) as usize;
    let customers: Vec<Value> = matching
        .iter()
        .skip(start)
        .take(max_results as usize)
        .map(|c| {
            let mut profile = json!({"id": c.id, "name": c.display_name});
            if let Some(email) = &c.email {
                profile["email"] = json!(email);
            }
            profile
        })
        .collect();
    let is_last = start + customers.len() >= matching.len();
    (
        200,
        json!({"page": page, "maxResults": max_results, "total": matching.len(),
            "isLast": is_last, "customers": customers}),
    )
}

fn create_customer(state: &mut State, call: &Call<'_>) -> Reply {
    let email = call.text("email").unwrap_or_default();
    if state.customer_by_email(&email).is_some() {
        return error(
            400,
            format!("A customer with email '{email}' already exists"),
        );
    }
    let display_name = call.text("displayName").unwrap_or_else(|| email.clone());
    let id = state.add_customer(&email, &display_name);
    (
        200,
        json!({"customerId": id, "displayName": display_name, "email": email}),
    )
}

fn update_customer(state: &mut State, call: &Call<'_>) -> Reply {
    match state.customers.get_mut(call.param("customerId")) {
        Some(customer) => {
            customer.display_name = call.text("displayName").unwrap_or_default();
            (
                200,
                json!({"displayName": customer.display_name, "email": customer.email}),
            )
        }
        None => error(404, "Customer not found"),
    }
}

fn delete_customer(state: &mut State, call: &Call<'_>) -> Reply {
    let id = call.param("customerId").to_string();
    if state.customers.remove(&id).is_none() {
        return error(404, "Customer not found");
    }
    for organization in state.organizations.values_mut() {
        organization.customers.remove(&id);
    }
    state
        .entitlements
        .retain(|_, e| !(e.holder == Entity::Customer && e.holder_id == id));
    (204, Value::Null)
}

fn create_customer_profile(state: &mut State, call: &Call<'_>) -> Reply {
    let email = call.text("email").unwrap_or_default();
    if state.customer_by_email(&email).is_some() {
        return error(
            400,
            format!("A customer with email '{email}' already exists"),
        );
    }
    let mut customer = Customer {
        id: state::new_customer_id(),
        email: Some(email.clone()),
        display_name: email,
        ..Customer::default()
    };
    if let Err((_, message, _)) = apply_customer_profile(state, &mut customer, &call.body) {
        return error(400, message);
    }
    let id = customer.id.clone();
    state.insert_customer(customer);
    link_memberships(state, &id);
    (
        200,
        state::customer_profile(state, &state.customers[&id], true),
    )
}

fn customer_profiles(state: &State, call: &Call<'_>) -> Reply {
    let entitlements = call.strings("/expand").iter().any(|e| e == "entitlements");
    let profiles: Vec<Value> = call
        .strings("/customerIds")
        .iter()
        .filter_map(|id| state.customers.get(id))
        .map(|c| state::customer_profile(state, c, entitlements))
        .collect();
    (200, json!({"profiles": profiles}))
}
