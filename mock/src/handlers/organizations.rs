//! Organizations: their records and their profiles.

use crate::call::Call;
use crate::records::{apply_organization_profile, link_members};
use crate::reply::{error, Reply};
use crate::state::{self, Entity, State};
use serde_json::{json, Value};

/// Answers the organization operations: records and profiles; `None` for any other operation.
pub(super) fn handle(state: &mut State, call: &Call<'_>) -> Option<Reply> {
    Some(match call.operation {
        "get-organization" => with_organization(state, call, |state, o| {
            (
                200,
                json!({"id": o.id, "name": o.name,
                    "details": state::detail_fields(state, Entity::Organization, &o.details)}),
            )
        }),
        "update-organization" => update_organization(state, call),
        "delete-organization" => delete_organization(state, call),
        "create-organization" => {
            let name = call.text("name").unwrap_or_default();
            let id = state.add_organization(&name);
            (200, json!({"id": id, "name": name}))
        }
        "get-multiple-organizations" => {
            let found = find_organizations(state, call);
            let organizations: Vec<Value> = found
                .iter()
                .map(|id| state::organization_ref(state, id))
                .collect();
            (200, json!({"organizations": organizations}))
        }
        "get-organization-profile" => with_organization(state, call, |state, o| {
            (200, state::organization_profile(state, o, true))
        }),
        "create-organization-profile" => create_organization_profile(state, call),
        "get-multiple-organization-profiles" => {
            let entitlements = call.strings("/expand").iter().any(|e| e == "entitlements");
            let profiles: Vec<Value> = find_organizations(state, call)
                .iter()
                .filter_map(|id| state.organizations.get(id))
                .map(|o| state::organization_profile(state, o, entitlements))
                .collect();
            (200, json!({"profiles": profiles}))
        }
        _ => return None,
    })
}

fn with_organization(
    state: &State,
    call: &Call<'_>,
    answer: impl FnOnce(&State, &crate::state::Organization) -> Reply,
) -> Reply {
    match state.organizations.get(call.param("organizationId")) {
        Some(organization) => answer(state, organization),
        None => error(404, "Organization not found"),
    }
}

fn update_organization(state: &mut State, call: &Call<'_>) -> Reply {
    match state.organizations.get_mut(call.param("organizationId")) {
        Some(organization) => {
            organization.name = call.text("name").unwrap_or_default();
            (
                200,
                json!({"id": organization.id, "name": organization.name}),
            )
        }
        None => error(404, "Organization not found"),
    }
}

fn delete_organization(state: &mut State, call: &Call<'_>) -> Reply {
    let id = call.param("organizationId").to_string();
    if state.organizations.remove(&id).is_none() {
        return error(404, "Organization not found");
    }
    for customer in state.customers.values_mut() {
        customer.organizations.remove(&id);
    }
    state
        .entitlements
        .retain(|_, e| !(e.holder == Entity::Organization && e.holder_id == id));
    (204, Value::Null)
}

/// The ids of the organizations a fetch names, by id or by name, each once.
fn find_organizations(state: &State, call: &Call<'_>) -> Vec<String> {
    let mut found: Vec<String> = call
        .strings("/organizationIds")
        .into_iter()
        .filter(|id| state.organizations.contains_key(id))
        .collect();
    for name in call.strings("/organizationNames") {
        if let Some(o) = state.organizations.values().find(|o| o.name == name) {
            if !found.contains(&o.id) {
                found.push(o.id.clone());
            }
        }
    }
    found
}

fn create_organization_profile(state: &mut State, call: &Call<'_>) -> Reply {
    state.last_organization_id += 1;
    let mut organization = crate::state::Organization {
        id: state.last_organization_id.to_string(),
        ..Default::default()
    };
    if let Err((_, message, _)) = apply_organization_profile(state, &mut organization, &call.body) {
        return error(400, message);
    }
    let id = organization.id.clone();
    state.organizations.insert(id.clone(), organization);
    link_members(state, &id);
    (
        200,
        state::organization_profile(state, &state.organizations[&id], true),
    )
}
