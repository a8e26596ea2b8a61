//! The operations that answer at once: detail fields, customers, organizations, products,
//! entitlements and task status. Bodies were checked against their schema before they get here.

use crate::rules::{check_name, set_values, MAX_FIELDS_PER_ENTITY};
use crate::state::{self, Customer, Details, Entitlement, Entity, FieldDefinition, State};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Instant;

pub(crate) use crate::reply::{error, Reply};

/// One request, matched and checked.
pub(crate) struct Call<'a> {
    pub operation: &'static str,
    pub params: &'a HashMap<&'static str, String>,
    pub query: &'a HashMap<String, String>,
    pub body: Value,
    pub now: Instant,
}

impl Call<'_> {
    fn param(&self, name: &str) -> &str {
        self.params.get(name).map_or("", String::as_str)
    }

    fn text(&self, field: &str) -> Option<String> {
        self.body[field].as_str().map(str::to_string)
    }

    fn strings(&self, pointer: &str) -> Vec<String> {
        strings(self.body.pointer(pointer).unwrap_or(&Value::Null))
    }
}

pub(crate) fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect()
}

/// Answers a synchronous operation.
pub(crate) fn handle(state: &mut State, call: Call<'_>) -> Reply {
    use Entity::{Customer as C, Entitlement as E, Organization as O};
    match call.operation {
        "get-all-customer-details" => list_fields(state, C),
        "get-all-organization-details" => list_fields(state, O),
        "get-all-entitlement-details" => list_fields(state, E),
        "create-customer-detail" => create_field(state, C, &call.body),
        "create-organization-detail" => create_field(state, O, &call.body),
        "create-entitlement-detail" => create_field(state, E, &call.body),
        "update-field-for-customers" => edit_field(state, C, &call),
        "update-field-for-organizations" => edit_field(state, O, &call),
        "update-field-for-entitlements" => edit_field(state, E, &call),
        "delete-customer-detail" => delete_field(state, C, &call),
        "delete-organization-detail" => delete_field(state, O, &call),
        "delete-entitlement-detail" => delete_field(state, E, &call),
        "update-field-value-for-customer" => set_field_value(state, C, &call),
        "update-field-value-for-organizations" => set_field_value(state, O, &call),
        "update-field-value-for-entitlement" => set_field_value(state, E, &call),

        "get-customer" => get_customer(state, &call),
        "search-by-detail-field" => search(state, &call),
        "create-customer" => create_customer(state, &call),
        "get-customer-account" => with_customer(state, &call, |_, c| {
            (
                200,
                json!({"displayName": c.display_name, "email": c.email}),
            )
        }),
        "update-customer-account" => update_customer(state, &call),
        "delete-customer-account" => delete_customer(state, &call),
        "get-customer-profile" => with_customer(state, &call, |state, c| {
            (200, state::customer_profile(state, c, true))
        }),
        "create-customer-profile" => create_customer_profile(state, &call),
        "get-multiple-customer-profiles" => customer_profiles(state, &call),

        "get-organization" => with_organization(state, &call, |state, o| {
            (
                200,
                json!({"id": o.id, "name": o.name,
                    "details": state::detail_fields(state, Entity::Organization, &o.details)}),
            )
        }),
        "update-organization" => update_organization(state, &call),
        "delete-organization" => delete_organization(state, &call),
        "create-organization" => {
            let name = call.text("name").unwrap_or_default();
            let id = state.add_organization(&name);
            (200, json!({"id": id, "name": name}))
        }
        "get-multiple-organizations" => {
            let found = find_organizations(state, &call);
            let organizations: Vec<Value> = found
                .iter()
                .map(|id| state::organization_ref(state, id))
                .collect();
            (200, json!({"organizations": organizations}))
        }
        "get-organization-profile" => with_organization(state, &call, |state, o| {
            (200, state::organization_profile(state, o, true))
        }),
        "create-organization-profile" => create_organization_profile(state, &call),
        "get-multiple-organization-profiles" => {
            let entitlements = call.strings("/expand").iter().any(|e| e == "entitlements");
            let profiles: Vec<Value> = find_organizations(state, &call)
                .iter()
                .filter_map(|id| state.organizations.get(id))
                .map(|o| state::organization_profile(state, o, entitlements))
                .collect();
            (200, json!({"profiles": profiles}))
        }

        "get-customer-entitlements" => list_entitlements(state, C, &call),
        "get-organization-entitlements" => list_entitlements(state, O, &call),
        "create-customer-entitlement" => create_entitlement(state, C, &call),
        "create-organization-entitlement" => create_entitlement(state, O, &call),
        "get-entitlement" => match state.entitlements.get(call.param("entitlementId")) {
            Some(e) => (200, state::entitlement_json(state, e)),
            None => error(404, "Entitlement not found"),
        },
        "delete-entitlement" => match state.entitlements.remove(call.param("entitlementId")) {
            Some(_) => (204, Value::Null),
            None => error(404, "Entitlement not found"),
        },

        "get-products" => products_page(state, &call),
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
                return error(404, "Product not found");
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

        "create-request-from-external-intake" => create_request(state, &call),
        "add-request-comment" => add_comment(state, &call),

        "get-task-status" => match state.tasks.get(call.param("taskId")) {
            Some(task) => (200, crate::tasks::task_json(task, call.now)),
            None => error(404, "Task not found"),
        },
        other => error(501, format!("The fake does not serve {other}")),
    }
}

/// Raises a CSM request; answered 201 (the API states only "a 2xx").
fn create_request(state: &mut State, call: &Call<'_>) -> Reply {
    let help_center_id = call.text("helpCenterId").unwrap_or_default();
    let key = format!("CSM-{}", state.requests.len() + 1);
    let request = state::CsmRequest {
        id: uuid::Uuid::new_v4().to_string(),
        key: key.clone(),
        help_center_id: help_center_id.clone(),
        origin: call.text("origin").unwrap_or_default(),
        summary: call.text("summary").unwrap_or_default(),
        reporter_email: call.text("reporterEmail"),
        metadata: call.body["metadata"].clone(),
        comments: Vec::new(),
    };
    let answer = json!({
        "id": request.id, "key": key, "helpCenterId": help_center_id,
        "link": format!("https://fake-csm.example/servicedesk/customer/portal/1/{key}"),
    });
    state.requests.push(request);
    (201, answer)
}

/// Comments on a request of the help center, found by id or key.
fn add_comment(state: &mut State, call: &Call<'_>) -> Reply {
    let help_center = call.param("helpCenterId");
    let issue = call.param("issueIdOrKey");
    let Some(request) = state
        .requests
        .iter_mut()
        .find(|r| r.help_center_id == help_center && (r.id == issue || r.key == issue))
    else {
        return error(
            404,
            format!("Issue {issue} does not exist in help center {help_center}"),
        );
    };
    let comment = state::Comment {
        id: uuid::Uuid::new_v4().to_string(),
        body: call.body["body"].clone(),
        public: call.body["public"].as_bool().unwrap_or(false),
    };
    let answer = json!({"id": comment.id});
    request.comments.push(comment);
    (201, answer)
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

fn query_number(query: &HashMap<String, String>, name: &str) -> Option<i64> {
    query.get(name).and_then(|v| v.parse().ok())
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
    let products = known_ids(
        payload,
        "/associateProducts/productIds",
        |id| state.product(id).is_some(),
        ("ASSOCIATE_PRODUCT", "Product"),
    )?;
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
    let products = known_ids(
        payload,
        "/associateProducts/productIds",
        |id| state.product(id).is_some(),
        ("ASSOCIATE_PRODUCT", "Product"),
    )?;
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
