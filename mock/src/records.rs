//! Applying a record's payload: its detail values, its associations and the memberships they
//! imply, shared by the operations that answer at once and the bulk tasks.

use crate::call::strings;
use crate::rules::{check_name, set_values, MAX_FIELDS_PER_ENTITY};
use crate::state::{self, Customer, Details, Entity, FieldDefinition, State};
use serde_json::{json, Value};

/// A record that could not be applied: what it concerns (`DETAIL_FIELD`, `ASSOCIATE_…`), why,
/// and the names or ids at fault.
pub(crate) type Problem = (&'static str, String, Vec<String>);

/// Sets a profile payload's `details` on a record of `entity`.
fn apply_details(
    state: &State,
    entity: Entity,
    details: &mut Details,
    payload: &Value,
) -> Result<(), Problem> {
    for detail in payload["details"].as_array().into_iter().flatten() {
        let name = detail["name"].as_str().unwrap_or_default();
        set_values(state, entity, details, name, strings(&detail["values"]))
            .map_err(|message| ("DETAIL_FIELD", message, vec![name.to_string()]))?;
    }
    Ok(())
}

/// The ids at `pointer` in a payload, all of which must exist.
fn known_ids(
    payload: &Value,
    pointer: &str,
    exists: impl Fn(&str) -> bool,
    (on, what): (&'static str, &str),
) -> Result<Vec<String>, Problem> {
    let ids = strings(payload.pointer(pointer).unwrap_or(&Value::Null));
    match ids.iter().find(|id| !exists(id)) {
        Some(unknown) => Err((
            on,
            format!("{what} {unknown} does not exist"),
            vec![unknown.clone()],
        )),
        None => Ok(ids),
    }
}

/// The products a profile payload associates, all of which must exist.
fn associated_products(state: &State, payload: &Value) -> Result<Vec<String>, Problem> {
    known_ids(
        payload,
        "/associateProducts/productIds",
        |id| state.product(id).is_some(),
        ("ASSOCIATE_PRODUCT", "Product"),
    )
}

/// Applies a profile's `details`, organization and product associations to a customer; the
/// first problem is returned.
pub(crate) fn apply_customer_profile(
    state: &State,
    customer: &mut Customer,
    payload: &Value,
) -> Result<(), Problem> {
    if let Some(name) = payload["displayName"].as_str() {
        customer.display_name = name.to_string();
    }
    apply_details(state, Entity::Customer, &mut customer.details, payload)?;
    let organizations = known_ids(
        payload,
        "/associateOrganizations/organizationIds",
        |id| state.organizations.contains_key(id),
        ("ASSOCIATE_ORGANIZATION", "Organization"),
    )?;
    let products = associated_products(state, payload)?;
    customer.organizations.extend(organizations);
    customer.products.extend(products);
    Ok(())
}

/// Records a customer's memberships on its organizations too.
pub(crate) fn link_memberships(state: &mut State, customer_id: &str) {
    let organizations = state
        .customers
        .get(customer_id)
        .map(|c| c.organizations.clone())
        .unwrap_or_default();
    for id in organizations {
        if let Some(organization) = state.organizations.get_mut(&id) {
            organization.customers.insert(customer_id.to_string());
        }
    }
}

/// Applies an organization profile's details and associations; the first problem is returned.
pub(crate) fn apply_organization_profile(
    state: &State,
    organization: &mut crate::state::Organization,
    payload: &Value,
) -> Result<(), Problem> {
    if let Some(name) = payload["name"].as_str() {
        organization.name = name.to_string();
    }
    apply_details(
        state,
        Entity::Organization,
        &mut organization.details,
        payload,
    )?;
    let customers = known_ids(
        payload,
        "/associateCustomers/customerIds",
        |id| state.customers.contains_key(id),
        ("ASSOCIATE_CUSTOMER", "Customer"),
    )?;
    let products = associated_products(state, payload)?;
    organization.customers.extend(customers);
    organization.products.extend(products);
    Ok(())
}

/// Records an organization's members on the customers too.
pub(crate) fn link_members(state: &mut State, organization_id: &str) {
    let members = state
        .organizations
        .get(organization_id)
        .map(|o| o.customers.clone())
        .unwrap_or_default();
    for id in members {
        if let Some(customer) = state.customers.get_mut(&id) {
            customer.organizations.insert(organization_id.to_string());
        }
    }
}

/// Adds a definition, as `create-*-detail` and the bulk definitions task do.
pub(crate) fn add_field(state: &mut State, entity: Entity, body: &Value) -> Result<Value, String> {
    let name = body["name"].as_str().unwrap_or_default().to_string();
    check_name(&name)?;
    if state.field(entity, &name).is_some() {
        return Err(format!("A detail field named '{name}' already exists"));
    }
    if state.fields_of(entity).len() >= MAX_FIELDS_PER_ENTITY {
        return Err(format!(
            "At most {MAX_FIELDS_PER_ENTITY} detail fields per entity type"
        ));
    }
    let definition = FieldDefinition {
        name,
        type_name: body["type"]["name"].as_str().unwrap_or("TEXT").to_string(),
        options: strings(&body["type"]["options"]),
    };
    let answer = json!({"name": definition.name, "type": state::field_type(&definition)});
    state.fields.entry(entity).or_default().push(definition);
    Ok(answer)
}
