//! What the fake site holds: customers, organizations, products, entitlements, detail-field
//! definitions and tasks. Open to tests through [`FakeCsm::state`](crate::FakeCsm::state), to
//! seed it and to assert on it.

use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Instant;

/// The kinds of record that have detail fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Entity {
    /// Customers.
    Customer,
    /// Organizations.
    Organization,
    /// Entitlements.
    Entitlement,
}

/// A detail-field definition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldDefinition {
    /// Its name, unique per entity (case ignored).
    pub name: String,
    /// `TEXT`, `SELECT`, `MULTISELECT`…
    pub type_name: String,
    /// The values a `SELECT` or `MULTISELECT` field allows.
    pub options: Vec<String>,
}

/// Detail values by field name.
pub type Details = BTreeMap<String, Vec<String>>;

/// A customer account and its profile.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Customer {
    /// `qm:<uuid>:<uuid>`, as the API issues them.
    pub id: String,
    /// The email address.
    pub email: Option<String>,
    /// The display name.
    pub display_name: String,
    /// Detail values.
    pub details: Details,
    /// Organizations the customer belongs to, by id.
    pub organizations: BTreeSet<String>,
    /// Products associated with the customer, by id.
    pub products: BTreeSet<String>,
}

/// An organization and its profile.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Organization {
    /// A number, as a string.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Detail values.
    pub details: Details,
    /// Member customers, by id.
    pub customers: BTreeSet<String>,
    /// Products associated with it, by id.
    pub products: BTreeSet<String>,
}

/// A product.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Product {
    /// A UUID.
    pub id: String,
    /// Its name.
    pub name: String,
}

/// An entitlement of a customer or an organization to a product.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entitlement {
    /// A UUID.
    pub id: String,
    /// The product, by id.
    pub product_id: String,
    /// [`Entity::Customer`] or [`Entity::Organization`].
    pub holder: Entity,
    /// The customer's or organization's id.
    pub holder_id: String,
    /// Detail values.
    pub details: Details,
}

/// A bulk task.
#[derive(Clone, Debug)]
pub struct Task {
    /// Its id.
    pub id: String,
    /// Whether it ends `FAILED`, listing no failure, although its records were written (as a
    /// live site has been seen to do).
    pub ends_failed: bool,
    /// The `type` the API reports (`BULK_CUSTOMER_PROFILE_CREATE_UPDATE`…), if it has one.
    pub kind: Option<&'static str>,
    /// The operation that submitted it.
    pub operation: &'static str,
    /// The request body (`null` once applied).
    pub body: Value,
    /// When it was submitted.
    pub submitted_at: Instant,
    /// When it leaves `NOT_STARTED`.
    pub starts_at: Instant,
    /// When its records are applied: half-way through `IN_PROGRESS`, as the service writes
    /// them while the task runs.
    pub applies_at: Instant,
    /// When it is `FINISHED` (its failures are listed from then on).
    pub finishes_at: Instant,
    /// The records that failed, as the API lists them (known once it finished).
    pub failures: Vec<Value>,
    /// Whether its records were applied.
    pub applied: bool,
    /// Submission time as the API prints it.
    pub created_at: String,
    /// When it was last updated (when it finished, once it did), as the API prints it.
    pub updated_at: String,
}

impl Task {
    /// `NOT_STARTED`, `IN_PROGRESS` or `FINISHED` at `now`.
    pub fn status(&self, now: Instant) -> &'static str {
        if now < self.starts_at {
            "NOT_STARTED"
        } else if now < self.finishes_at {
            "IN_PROGRESS"
        } else {
            "FINISHED"
        }
    }
}

/// A CSM request raised from an external intake channel.
#[derive(Clone, Debug)]
pub struct CsmRequest {
    /// A UUID, as the API issues them.
    pub id: String,
    /// The issue key, `CSM-<n>`.
    pub key: String,
    /// The help center it was raised in.
    pub help_center_id: String,
    /// The external system that raised it.
    pub origin: String,
    /// Its summary.
    pub summary: String,
    /// The reporter's email, if one was given.
    pub reporter_email: Option<String>,
    /// Its metadata, as sent.
    pub metadata: Value,
    /// Its comments, in order.
    pub comments: Vec<Comment>,
}

/// A comment on a CSM request.
#[derive(Clone, Debug)]
pub struct Comment {
    /// A UUID.
    pub id: String,
    /// The Atlassian Document Format body, as sent.
    pub body: Value,
    /// Visible to the customer (`false`: internal).
    pub public: bool,
}

/// Everything the fake site holds.
#[derive(Debug, Default)]
pub struct State {
    /// Detail-field definitions per entity, in creation order.
    pub fields: HashMap<Entity, Vec<FieldDefinition>>,
    /// Customers by id.
    pub customers: BTreeMap<String, Customer>,
    /// Organizations by id.
    pub organizations: BTreeMap<String, Organization>,
    /// Products in creation order (the order pages follow).
    pub products: Vec<Product>,
    /// Entitlements by id.
    pub entitlements: BTreeMap<String, Entitlement>,
    /// Tasks by id (finished ones expire after the retention).
    pub tasks: BTreeMap<String, Task>,
    /// CSM requests, in creation order.
    pub requests: Vec<CsmRequest>,
    /// Idempotency keys already used: a fingerprint of the body they came with and the task
    /// they started.
    pub(crate) keys: HashMap<String, (u64, String)>,
    /// The most tasks that were unfinished at once.
    pub peak_unfinished_tasks: usize,
    /// Customer ids by lower-case email, rebuilt when `customers` was changed around it. A
    /// B-tree: unlike a hash map, it never stops to rehash as a million-record import grows it.
    pub(crate) email_index: std::cell::RefCell<std::collections::BTreeMap<String, String>>,
    /// When tasks apply and finish, in time order, rebuilt when `tasks` was changed around it.
    pub(crate) schedule: std::cell::RefCell<Schedule>,
    pub(crate) last_organization_id: u64,
    /// At a live pace: when the last task in the site's queue finishes.
    pub(crate) queue_free_at: Option<Instant>,
    /// How long a new customer stays out of searches (the site indexes it after a delay).
    pub(crate) search_delay: std::time::Duration,
    /// When customers added within the search delay are found by searches.
    pub(crate) searchable_at: HashMap<String, Instant>,
    /// Bulk tasks submitted so far.
    pub(crate) submitted_tasks: u64,
}

impl State {
    /// The detail-field definitions of `entity`.
    pub fn fields_of(&self, entity: Entity) -> &[FieldDefinition] {
        self.fields.get(&entity).map_or(&[], Vec::as_slice)
    }

    /// The definition named `name` (case ignored).
    pub fn field(&self, entity: Entity, name: &str) -> Option<&FieldDefinition> {
        self.fields_of(entity)
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// Adds a detail-field definition (for seeding; requests go through the API's rules).
    pub fn add_field(&mut self, entity: Entity, name: &str, type_name: &str, options: &[&str]) {
        self.fields
            .entry(entity)
            .or_default()
            .push(FieldDefinition {
                name: name.to_string(),
                type_name: type_name.to_string(),
                options: options.iter().map(|o| o.to_string()).collect(),
            });
    }

    /// Adds a customer with a new `qm:` id and returns the id.
    pub fn add_customer(&mut self, email: &str, display_name: &str) -> String {
        let id = new_customer_id();
        self.insert_customer(Customer {
            id: id.clone(),
            email: Some(email.to_string()),
            display_name: display_name.to_string(),
            ..Customer::default()
        });
        id
    }

    /// Adds or replaces a customer.
    pub fn insert_customer(&mut self, customer: Customer) {
        if !self.search_delay.is_zero() && !self.customers.contains_key(&customer.id) {
            self.searchable_at
                .insert(customer.id.clone(), Instant::now() + self.search_delay);
        }
        if let Some(email) = &customer.email {
            self.email_index
                .get_mut()
                .insert(email.to_lowercase(), customer.id.clone());
        }
        self.customers.insert(customer.id.clone(), customer);
    }

    /// Whether searches find the customer `id` at `now` (it was added longer ago than the search
    /// delay).
    pub fn searchable(&self, id: &str, now: Instant) -> bool {
        self.searchable_at.get(id).is_none_or(|at| now >= *at)
    }

    /// The customer with this email (case ignored).
    pub fn customer_by_email(&self, email: &str) -> Option<&Customer> {
        let key = email.to_lowercase();
        let found = |index: &std::collections::BTreeMap<String, String>| {
            let customer = self.customers.get(index.get(&key)?)?;
            customer
                .email
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case(email))
                .then_some(customer)
        };
        if let Some(customer) = found(&self.email_index.borrow()) {
            return Some(customer);
        }
        // Customers added or changed through the public map: index them again, once.
        let indexed = self.email_index.borrow().len();
        if indexed != self.customers.len() {
            let rebuilt = self
                .customers
                .values()
                .filter_map(|c| Some((c.email.as_deref()?.to_lowercase(), c.id.clone())))
                .collect();
            *self.email_index.borrow_mut() = rebuilt;
            return found(&self.email_index.borrow());
        }
        None
    }

    /// Adds an organization with the next numeric id and returns the id.
    pub fn add_organization(&mut self, name: &str) -> String {
        self.last_organization_id += 1;
        let id = self.last_organization_id.to_string();
        self.organizations.insert(
            id.clone(),
            Organization {
                id: id.clone(),
                name: name.to_string(),
                ..Organization::default()
            },
        );
        id
    }

    /// Adds a product and returns its id.
    pub fn add_product(&mut self, name: &str) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        self.products.push(Product {
            id: id.clone(),
            name: name.to_string(),
        });
        id
    }

    /// The product with this id.
    pub fn product(&self, id: &str) -> Option<&Product> {
        self.products.iter().find(|p| p.id == id)
    }

    /// Tasks submitted but not finished at `now`.
    pub fn unfinished_tasks(&self, now: Instant) -> usize {
        self.schedule()
            .finishing
            .range((now, String::new())..)
            .filter(|(finishes_at, _)| now < *finishes_at)
            .count()
    }

    /// The schedule of the tasks, so that the fake's clock looks only at the tasks whose time
    /// has come, not at every task a long import submitted.
    pub(crate) fn schedule(&self) -> std::cell::RefMut<'_, Schedule> {
        let mut schedule = self.schedule.borrow_mut();
        if schedule.tasks != self.tasks.len() {
            *schedule = Schedule::default();
            for task in self.tasks.values() {
                schedule.add(task);
            }
        }
        schedule
    }
}

/// When the tasks apply and finish.
#[derive(Debug, Default)]
pub(crate) struct Schedule {
    /// Tasks not applied yet, by when they apply.
    pub unapplied: std::collections::BTreeSet<(Instant, String)>,
    /// Every task, by when it finishes.
    pub finishing: std::collections::BTreeSet<(Instant, String)>,
    /// How many tasks it holds (to notice `tasks` changed around it).
    pub tasks: usize,
}

impl Schedule {
    pub fn add(&mut self, task: &Task) {
        if !task.applied {
            self.unapplied.insert((task.applies_at, task.id.clone()));
        }
        self.finishing.insert((task.finishes_at, task.id.clone()));
        self.tasks += 1;
    }
}

/// A customer account id as the API issues them.
pub(crate) fn new_customer_id() -> String {
    format!("qm:{}:{}", uuid::Uuid::new_v4(), uuid::Uuid::new_v4())
}

// The API's JSON views of the state.

pub(crate) fn field_type(definition: &FieldDefinition) -> Value {
    if definition.options.is_empty() {
        json!({"name": definition.type_name})
    } else {
        json!({"name": definition.type_name, "options": definition.options})
    }
}

/// `DetailField`s: every definition of `entity`, with the record's values.
pub(crate) fn detail_fields(state: &State, entity: Entity, details: &Details) -> Value {
    let fields: Vec<Value> = state
        .fields_of(entity)
        .iter()
        .enumerate()
        .map(|(position, definition)| {
            json!({
                "name": definition.name,
                "type": field_type(definition),
                "values": details.get(&definition.name).cloned().unwrap_or_default(),
                "configuration": {"position": position}
            })
        })
        .collect();
    Value::Array(fields)
}

/// `ProfileDetailField`s: the fields that have values.
pub(crate) fn profile_details(state: &State, entity: Entity, details: &Details) -> Value {
    let fields: Vec<Value> = details
        .iter()
        .map(|(name, values)| {
            let type_name = state
                .field(entity, name)
                .map_or("TEXT", |f| f.type_name.as_str());
            json!({"name": name, "value": {"type": type_name, "text": values}})
        })
        .collect();
    Value::Array(fields)
}

pub(crate) fn product_json(product: &Product) -> Value {
    json!({"id": product.id, "name": product.name})
}

pub(crate) fn holder_type(entity: Entity) -> &'static str {
    match entity {
        Entity::Organization => "ORGANIZATION",
        _ => "CUSTOMER",
    }
}

pub(crate) fn entitlement_json(state: &State, entitlement: &Entitlement) -> Value {
    let product = state
        .product(&entitlement.product_id)
        .map(product_json)
        .unwrap_or_else(|| json!({"id": entitlement.product_id, "name": ""}));
    json!({
        "id": entitlement.id,
        "product": product,
        "entitledEntity": {"id": entitlement.holder_id, "type": holder_type(entitlement.holder)},
        "details": detail_fields(state, Entity::Entitlement, &entitlement.details)
    })
}

pub(crate) fn profile_entitlements(state: &State, holder: Entity, holder_id: &str) -> Value {
    let entitlements: Vec<Value> = state
        .entitlements
        .values()
        .filter(|e| e.holder == holder && e.holder_id == holder_id)
        .map(|e| {
            let product = state
                .product(&e.product_id)
                .map(product_json)
                .unwrap_or_else(|| json!({"id": e.product_id, "name": ""}));
            json!({
                "id": e.id,
                "product": product,
                "entitledEntity": {"id": e.holder_id, "type": holder_type(e.holder)},
                "details": profile_details(state, Entity::Entitlement, &e.details)
            })
        })
        .collect();
    Value::Array(entitlements)
}

pub(crate) fn organization_ref(state: &State, id: &str) -> Value {
    let name = state.organizations.get(id).map_or("", |o| o.name.as_str());
    json!({"id": id, "name": name})
}

/// `CustomerAccountProfile`.
pub(crate) fn customer_profile(state: &State, customer: &Customer, entitlements: bool) -> Value {
    let mut profile = json!({
        "customerId": customer.id,
        "displayName": customer.display_name,
        "organizations": customer.organizations.iter().map(|id| organization_ref(state, id)).collect::<Vec<_>>(),
        "details": profile_details(state, Entity::Customer, &customer.details),
    });
    if let Some(email) = &customer.email {
        profile["email"] = json!(email);
    }
    if entitlements {
        profile["entitlements"] = profile_entitlements(state, Entity::Customer, &customer.id);
    }
    profile
}

/// `OrganizationProfile`.
pub(crate) fn organization_profile(
    state: &State,
    organization: &Organization,
    entitlements: bool,
) -> Value {
    let mut profile = json!({
        "id": organization.id,
        "name": organization.name,
        "details": profile_details(state, Entity::Organization, &organization.details),
        "customers": organization.customers.iter().map(|id| json!({"id": id})).collect::<Vec<_>>(),
    });
    if entitlements {
        profile["entitlements"] =
            profile_entitlements(state, Entity::Organization, &organization.id);
    }
    profile
}
