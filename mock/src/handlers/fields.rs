//! Detail fields: their definitions and the values records hold.

use crate::call::strings;
use crate::call::Call;
use crate::records::add_field;
use crate::reply::{error, Reply};
use crate::rules::{check_name, set_values};
use crate::state::{self, Details, Entity, State};
use serde_json::{json, Value};

/// Answers the detail-field operations of customers, organizations and entitlements; `None` for any other operation.
pub(super) fn handle(state: &mut State, call: &Call<'_>) -> Option<Reply> {
    use Entity::{Customer as C, Entitlement as E, Organization as O};
    Some(match call.operation {
        "get-all-customer-details" => list_fields(state, C),
        "get-all-organization-details" => list_fields(state, O),
        "get-all-entitlement-details" => list_fields(state, E),
        "create-customer-detail" => create_field(state, C, &call.body),
        "create-organization-detail" => create_field(state, O, &call.body),
        "create-entitlement-detail" => create_field(state, E, &call.body),
        "update-field-for-customers" => edit_field(state, C, call),
        "update-field-for-organizations" => edit_field(state, O, call),
        "update-field-for-entitlements" => edit_field(state, E, call),
        "delete-customer-detail" => delete_field(state, C, call),
        "delete-organization-detail" => delete_field(state, O, call),
        "delete-entitlement-detail" => delete_field(state, E, call),
        "update-field-value-for-customer" => set_field_value(state, C, call),
        "update-field-value-for-organizations" => set_field_value(state, O, call),
        "update-field-value-for-entitlement" => set_field_value(state, E, call),
        _ => return None,
    })
}

fn list_fields(state: &State, entity: Entity) -> Reply {
    let results: Vec<Value> = state
        .fields_of(entity)
        .iter()
        .enumerate()
        .map(|(position, f)| {
            json!({"name": f.name, "type": state::field_type(f), "configuration": {"position": position}})
        })
        .collect();
    (200, json!({"results": results}))
}

fn create_field(state: &mut State, entity: Entity, body: &Value) -> Reply {
    match add_field(state, entity, body) {
        Ok(answer) => (200, answer),
        Err(message) => error(400, message),
    }
}

fn edit_field(state: &mut State, entity: Entity, call: &Call<'_>) -> Reply {
    let old = call.param("fieldName").to_string();
    if state.field(entity, &old).is_none() {
        return error(404, format!("Detail field '{old}' does not exist"));
    }
    let new = call.text("name").unwrap_or_else(|| old.clone());
    if let Err(message) = check_name(&new) {
        return error(400, message);
    }
    let taken = state
        .fields_of(entity)
        .iter()
        .any(|f| f.name.eq_ignore_ascii_case(&new) && !f.name.eq_ignore_ascii_case(&old));
    if taken {
        return error(400, format!("A detail field named '{new}' already exists"));
    }
    let options = call.body.get("options").map(strings);
    let Some(definition) = state.fields.get_mut(&entity).and_then(|fields| {
        fields
            .iter_mut()
            .find(|f| f.name.eq_ignore_ascii_case(&old))
    }) else {
        return error(404, format!("Detail field '{old}' does not exist"));
    };
    let previous = std::mem::replace(&mut definition.name, new.clone());
    if let Some(options) = options {
        definition.options = options;
    }
    let answer = json!({"name": definition.name, "type": state::field_type(definition)});
    for details in details_of_entity(state, entity) {
        if let Some(values) = details.remove(&previous) {
            details.insert(new.clone(), values);
        }
    }
    (200, answer)
}

fn delete_field(state: &mut State, entity: Entity, call: &Call<'_>) -> Reply {
    let name = call.param("fieldName");
    let Some(fields) = state.fields.get_mut(&entity) else {
        return error(404, format!("Detail field '{name}' does not exist"));
    };
    let Some(index) = fields
        .iter()
        .position(|f| f.name.eq_ignore_ascii_case(name))
    else {
        return error(404, format!("Detail field '{name}' does not exist"));
    };
    let removed = fields.remove(index);
    for details in details_of_entity(state, entity) {
        details.remove(&removed.name);
    }
    (204, Value::Null)
}

/// The detail values of every record of `entity`.
fn details_of_entity(state: &mut State, entity: Entity) -> Vec<&mut Details> {
    match entity {
        Entity::Customer => state
            .customers
            .values_mut()
            .map(|c| &mut c.details)
            .collect(),
        Entity::Organization => state
            .organizations
            .values_mut()
            .map(|o| &mut o.details)
            .collect(),
        Entity::Entitlement => state
            .entitlements
            .values_mut()
            .map(|e| &mut e.details)
            .collect(),
    }
}

fn set_field_value(state: &mut State, entity: Entity, call: &Call<'_>) -> Reply {
    let name = call.query.get("fieldName").cloned().unwrap_or_default();
    let values = call.strings("/values");
    let (id, what) = match entity {
        Entity::Customer => (call.param("customerId"), "Customer"),
        Entity::Organization => (call.param("organizationId"), "Organization"),
        Entity::Entitlement => (call.param("entitlementId"), "Entitlement"),
    };
    let mut details = match entity {
        Entity::Customer => state.customers.get(id).map(|c| c.details.clone()),
        Entity::Organization => state.organizations.get(id).map(|o| o.details.clone()),
        Entity::Entitlement => state.entitlements.get(id).map(|e| e.details.clone()),
    };
    let Some(details) = details.as_mut() else {
        return error(404, format!("{what} not found"));
    };
    if let Err(message) = set_values(state, entity, details, &name, values) {
        return error(400, message);
    }
    let definition = state
        .field(entity, &name)
        .cloned()
        .expect("checked by set_values");
    let answer = json!({
        "name": definition.name,
        "type": state::field_type(&definition),
        "values": details.get(&definition.name).cloned().unwrap_or_default()
    });
    let details = details.clone();
    match entity {
        Entity::Customer => state.customers.get_mut(id).expect("found").details = details,
        Entity::Organization => state.organizations.get_mut(id).expect("found").details = details,
        Entity::Entitlement => state.entitlements.get_mut(id).expect("found").details = details,
    }
    (200, answer)
}
