//! What a sync knows of each bulk entity: the key that identifies a record, the content its
//! fingerprint is taken of, and how a record that left the source is deleted, where the API can.

use super::fingerprint::{fingerprint, Canonical};
use crate::bulk::{
    BulkEndpoint, CustomerAccounts, CustomerDetails, CustomerProfiles, OrganizationDetails,
    OrganizationProfiles, Organizations,
};
use crate::error::Error;
use crate::types;
use crate::Client;
use serde_json::{json, Value};
use std::future::Future;
use std::pin::Pin;

/// One thing the state tracks: a record, or (for detail values) one field of its owner.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Item {
    /// `email:…`, `id:…`, `name:…`, or a detail value's owner id.
    pub key: String,
    /// The detail field, for detail values; empty otherwise.
    pub field: String,
    /// The fingerprint of its content.
    pub fingerprint: String,
    /// Its second name, when the record gives both: the `email:…` of a customer (the `name:…`
    /// of an organization) whose key is its id; empty otherwise.
    pub alias: String,
}

/// A future of one delete call.
pub type DeleteFuture<'a> = Pin<Box<dyn Future<Output = Result<(), Error>> + Send + 'a>>;

/// How the records that left the source can be deleted.
pub enum Deletion {
    /// The API has no way (or the state no id) to delete them; why.
    Unsupported(&'static str),
    /// Detail values, cleared through the bulk endpoint with `DELETE` operations.
    DetailValues,
    /// One delete call per record, by its id.
    Call,
}

pub mod sealed {
    use super::*;

    /// The per-entity rules of a sync (sealed: the six entities below are the ones a sync
    /// supports).
    pub trait Entity: BulkEndpoint<Record: serde::de::DeserializeOwned> {
        /// The entity's name in the state's `records.entity` column.
        const ENTITY: &'static str;

        /// How its records are keyed, as the state records it: a state keyed another way is
        /// refused rather than misread.
        const KEY_SCHEME: &'static str;

        /// The items a record makes, or why it has no key.
        fn items(record: &Self::Record) -> Result<Vec<Item>, String>;

        /// The record with only the operations on `fields` (detail values); others are whole.
        fn only(record: Self::Record, _fields: &[&str]) -> Self::Record {
            record
        }

        /// How records that left the source are deleted.
        const DELETION: Deletion = Deletion::Unsupported("the API has no delete operation for it");

        /// The record clearing `fields` of `owner` (detail values).
        fn clearing(_owner: &str, _fields: &[String]) -> Option<Self::Record> {
            None
        }

        /// The call deleting the record keyed `key`, if the key is an id.
        fn delete_call<'a>(_client: &'a Client, _key: &str) -> Option<DeleteFuture<'a>> {
            None
        }
    }
}

use sealed::Entity;

/// A bulk endpoint a sync can run through: customer profiles, customer accounts, customer
/// detail values, organizations, organization profiles and organization detail values.
/// (Detail-field definitions are left out: the bulk endpoint only creates them, so a changed
/// definition cannot be sent again; `csm fields apply` makes a site's definitions match a file.)
pub trait SyncEndpoint: Entity {}

impl<E: Entity> SyncEndpoint for E {}

/// How customers are keyed (profiles and accounts).
const CUSTOMER_KEYS: &str = "id:<customerId>, else email:<email in lower case>; the email of one known by id kept beside it";
/// How organizations are keyed (organizations and their profiles).
const ORGANIZATION_KEYS: &str =
    "id:<id>, else name:<name>; the name of one known by id kept beside it";
/// How detail values are keyed.
const DETAIL_KEYS: &str = "<owner id> and <field name>";

/// The key scheme of the entity named `entity` in a state, for states that did not record it.
pub(super) fn key_scheme_of(entity: &str) -> Option<&'static str> {
    Some(match entity {
        "customer_profiles" | "customer_accounts" => CUSTOMER_KEYS,
        "organizations" | "organization_profiles" => ORGANIZATION_KEYS,
        "customer_details" | "organization_details" => DETAIL_KEYS,
        _ => return None,
    })
}

/// `id:<customerId>` when the record has one (the API identifies by it first), else
/// `email:<email>`, trimmed and in lower case as emails compare; and the email as the second
/// name of one that gives both.
fn customer_key(
    customer_id: Option<&String>,
    email: Option<&String>,
) -> Result<(String, String), String> {
    let present = |value: Option<&String>| {
        value
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let email = present(email).map(|email| format!("email:{}", email.to_lowercase()));
    match (present(customer_id), email) {
        (Some(id), email) => Ok((format!("id:{id}"), email.unwrap_or_default())),
        (None, Some(email)) => Ok((email, String::new())),
        (None, None) => Err("it has neither a customerId nor an email to be known by".into()),
    }
}

/// `id:<id>` when the record has one, else `name:<name>`, trimmed; and the name as the second
/// name of one that gives both.
fn organization_key(id: Option<&String>, name: Option<&str>) -> Result<(String, String), String> {
    let name = name
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|name| format!("name:{name}"));
    match (id.map(|v| v.trim()).filter(|v| !v.is_empty()), name) {
        (Some(id), name) => Ok((format!("id:{id}"), name.unwrap_or_default())),
        (None, Some(name)) => Ok((name, String::new())),
        (None, None) => Err("it has neither an id nor a name to be known by".into()),
    }
}

/// One item with the whole of its payload fingerprinted.
fn whole((key, alias): (String, String), payload: &impl Canonical) -> Vec<Item> {
    vec![Item {
        key,
        field: String::new(),
        fingerprint: fingerprint(&payload.canonical()),
        alias,
    }]
}

/// The id of a key `id:…`.
fn id_of(key: &str) -> Option<&str> {
    key.strip_prefix("id:")
}

impl Entity for CustomerProfiles {
    const ENTITY: &'static str = "customer_profiles";
    const KEY_SCHEME: &'static str = CUSTOMER_KEYS;

    /// The payload is the content: the operation type is how it is sent, not what it says.
    fn items(record: &Self::Record) -> Result<Vec<Item>, String> {
        let payload = &record.payload;
        let key = customer_key(payload.customer_id.as_ref(), payload.email.as_ref())?;
        Ok(whole(key, payload))
    }
}

impl Entity for CustomerAccounts {
    const ENTITY: &'static str = "customer_accounts";
    const KEY_SCHEME: &'static str = CUSTOMER_KEYS;
    const DELETION: Deletion = Deletion::Call;

    fn items(record: &Self::Record) -> Result<Vec<Item>, String> {
        let payload = &record.payload;
        let key = customer_key(payload.customer_id.as_ref(), payload.email.as_ref())?;
        Ok(whole(key, payload))
    }

    fn delete_call<'a>(client: &'a Client, key: &str) -> Option<DeleteFuture<'a>> {
        let id = id_of(key)?.to_string();
        Some(Box::pin(async move {
            client
                .delete_customer_account()
                .customer_id(id)
                .send()
                .await
                .map(drop)
        }))
    }
}

impl Entity for Organizations {
    const ENTITY: &'static str = "organizations";
    const KEY_SCHEME: &'static str = ORGANIZATION_KEYS;
    const DELETION: Deletion = Deletion::Call;

    fn items(record: &Self::Record) -> Result<Vec<Item>, String> {
        let payload = &record.payload;
        let key = organization_key(payload.id.as_ref(), Some(&payload.name))?;
        Ok(whole(key, payload))
    }

    fn delete_call<'a>(client: &'a Client, key: &str) -> Option<DeleteFuture<'a>> {
        let id = id_of(key)?.to_string();
        Some(Box::pin(async move {
            client
                .delete_organization()
                .organization_id(id)
                .send()
                .await
                .map(drop)
        }))
    }
}

impl Entity for OrganizationProfiles {
    const ENTITY: &'static str = "organization_profiles";
    const KEY_SCHEME: &'static str = ORGANIZATION_KEYS;

    fn items(record: &Self::Record) -> Result<Vec<Item>, String> {
        let payload = &record.payload;
        let key = organization_key(
            payload.id.as_ref(),
            payload.name.as_deref().map(String::as_str),
        )?;
        Ok(whole(key, payload))
    }
}

/// The items of a detail-value record: one per operation, keyed by its owner and field name,
/// its content the operation (type and values).
fn detail_items(
    owner: &str,
    operations: &[types::BulkDetailFieldOperation],
) -> Result<Vec<Item>, String> {
    if owner.trim().is_empty() {
        return Err("it names no owner id to be known by".into());
    }
    Ok(operations
        .iter()
        .map(|operation| Item {
            key: owner.trim().to_string(),
            field: operation.payload.name.trim().to_string(),
            fingerprint: fingerprint(&operation.canonical()),
            alias: String::new(),
        })
        .collect())
}

/// The operations of `operations` on `fields`.
fn operations_on(
    operations: Vec<types::BulkDetailFieldOperation>,
    fields: &[&str],
) -> Vec<types::BulkDetailFieldOperation> {
    operations
        .into_iter()
        .filter(|operation| fields.contains(&operation.payload.name.trim()))
        .collect()
}

/// `DELETE` operations clearing `fields`.
fn clearing_operations(fields: &[String]) -> Value {
    fields
        .iter()
        .map(|name| json!({"operationType": "DELETE", "payload": {"name": name}}))
        .collect()
}

impl Entity for CustomerDetails {
    const ENTITY: &'static str = "customer_details";
    const KEY_SCHEME: &'static str = DETAIL_KEYS;
    const DELETION: Deletion = Deletion::DetailValues;

    fn items(record: &Self::Record) -> Result<Vec<Item>, String> {
        detail_items(&record.customer_id, &record.operations)
    }

    fn only(mut record: Self::Record, fields: &[&str]) -> Self::Record {
        record.operations = operations_on(record.operations, fields);
        record
    }

    fn clearing(owner: &str, fields: &[String]) -> Option<Self::Record> {
        let record = json!({"customerId": owner, "operations": clearing_operations(fields)});
        serde_json::from_value(record).ok()
    }
}

impl Entity for OrganizationDetails {
    const ENTITY: &'static str = "organization_details";
    const KEY_SCHEME: &'static str = DETAIL_KEYS;
    const DELETION: Deletion = Deletion::DetailValues;

    fn items(record: &Self::Record) -> Result<Vec<Item>, String> {
        detail_items(&record.id, &record.operations)
    }

    fn only(mut record: Self::Record, fields: &[&str]) -> Self::Record {
        record.operations = operations_on(record.operations, fields);
        record
    }

    fn clearing(owner: &str, fields: &[String]) -> Option<Self::Record> {
        let record = json!({"id": owner, "operations": clearing_operations(fields)});
        serde_json::from_value(record).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::BulkManageCustomerProfileOperation as Profile;

    fn profile(builder: impl TryInto<Profile, Error: std::fmt::Debug>) -> Profile {
        builder.try_into().unwrap()
    }

    fn items_of<E: Entity>(record: &E::Record) -> Result<Vec<Item>, String> {
        E::items(record)
    }

    #[test]
    fn a_customer_is_known_by_its_id_first_then_its_email_in_lower_case() {
        let by_email = profile(
            Profile::upsert()
                .email(" Ada@Example.com ")
                .display_name("Ada"),
        );
        let both = profile(
            Profile::upsert()
                .email("ada@example.com")
                .customer_id("qm:1:2"),
        );
        assert_eq!(
            items_of::<CustomerProfiles>(&by_email).unwrap()[0].key,
            "email:ada@example.com"
        );
        assert_eq!(
            items_of::<CustomerProfiles>(&both).unwrap()[0].key,
            "id:qm:1:2"
        );
        assert_eq!(
            items_of::<CustomerProfiles>(&both).unwrap()[0].alias,
            "email:ada@example.com",
            "the email of a customer known by id is its second name"
        );
        let nameless = profile(Profile::upsert().display_name("Nobody"));
        assert!(items_of::<CustomerProfiles>(&nameless).is_err());
    }

    #[test]
    fn the_operation_type_is_not_content() {
        let upsert = profile(Profile::upsert().email("a@example.com").display_name("A"));
        let update = profile(Profile::update().email("a@example.com").display_name("A"));
        let renamed = profile(Profile::update().email("a@example.com").display_name("B"));
        let fingerprint = |p: &Profile| {
            items_of::<CustomerProfiles>(p).unwrap()[0]
                .fingerprint
                .clone()
        };
        assert_eq!(fingerprint(&upsert), fingerprint(&update));
        assert_ne!(fingerprint(&upsert), fingerprint(&renamed));
    }

    #[test]
    fn detail_values_are_one_item_per_field_and_clear_with_delete_operations() {
        let record: types::BulkCustomerDetailFieldOperation = serde_json::from_value(json!({
            "customerId": "qm:1:2",
            "operations": [
                {"operationType": "UPDATE", "payload": {"name": "Plan", "values": ["Pro"]}},
                {"operationType": "UPDATE", "payload": {"name": "Region", "values": ["EU"]}}
            ]
        }))
        .unwrap();
        let items = items_of::<CustomerDetails>(&record).unwrap();
        let fields: Vec<&str> = items.iter().map(|i| i.field.as_str()).collect();
        assert_eq!(fields, ["Plan", "Region"]);
        let only = CustomerDetails::only(record, &["Region"]);
        assert_eq!(only.operations.len(), 1);
        let cleared = CustomerDetails::clearing("qm:1:2", &["Plan".into()]).unwrap();
        assert_eq!(
            serde_json::to_value(&cleared.operations[0]).unwrap()["operationType"],
            "DELETE"
        );
    }
}
