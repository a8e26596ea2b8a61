//! The fingerprint of a record's content: a hash of its canonical JSON, so that two records that
//! say the same thing have the same fingerprint however they were written.
//!
//! Canonical means: the JSON this crate writes for the content's type (fields in the API
//! document's order, absent optional fields left out, whatever the order or spacing of the input
//! it was read from), with **every list sorted**. Every list in the records a sync sends is a
//! set: detail values (`["Gold", "EU"]` and `["EU", "Gold"]` set the same multi-select value), a
//! profile's details (one per field name), the organization, product and customer ids to
//! associate. Repeated elements are kept, so `["a", "a"]` and `["a"]` differ.
//!
//! Content whose lists are already sorted (nearly all of it) is written as it is, into one
//! buffer reused for every record; only the rest is copied to be sorted.

use crate::types;
use serde::Serialize;
use std::borrow::Cow;
use std::cell::RefCell;

/// The namespace of fingerprints (a fixed random UUID), so they never equal another UUID v5 the
/// crate derives, such as idempotency keys.
const NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x5c1e_61a0_2b7d_4e3f_9a51_8d0c_e4f2_7b16);

thread_local! {
    static BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// The fingerprint of `content`, already canonical: 32 hexadecimal digits (a UUID v5, SHA-1
/// based, of its JSON).
pub(crate) fn fingerprint(content: &impl Serialize) -> String {
    BUFFER.with(|buffer| {
        let mut text = buffer.borrow_mut();
        text.clear();
        serde_json::to_writer(&mut *text, content).expect("records serialize");
        uuid::Uuid::new_v5(&NAMESPACE, &text).simple().to_string()
    })
}

/// Content with its lists sorted: borrowed when they already are.
pub(crate) trait Canonical: Clone + Serialize {
    /// Whether every list is sorted.
    fn is_canonical(&self) -> bool;
    /// Sorts every list.
    fn make_canonical(&mut self);

    /// The content with every list sorted.
    fn canonical(&self) -> Cow<'_, Self> {
        if self.is_canonical() {
            Cow::Borrowed(self)
        } else {
            let mut sorted = self.clone();
            sorted.make_canonical();
            Cow::Owned(sorted)
        }
    }
}

fn sorted<T: PartialOrd>(list: &[T]) -> bool {
    list.windows(2).all(|pair| pair[0] <= pair[1])
}

fn sort_ids<T: Ord>(ids: Option<&mut Vec<T>>) {
    if let Some(ids) = ids {
        ids.sort_unstable();
    }
}

fn details_canonical(details: &[types::ProfileDetailFieldValueRequest]) -> bool {
    details.iter().all(|detail| sorted(&detail.values))
        && details
            .windows(2)
            .all(|pair| (&pair[0].name, &pair[0].values) <= (&pair[1].name, &pair[1].values))
}

fn make_details_canonical(details: &mut [types::ProfileDetailFieldValueRequest]) {
    for detail in details.iter_mut() {
        detail.values.sort_unstable();
    }
    details.sort_by(|a, b| (&a.name, &a.values).cmp(&(&b.name, &b.values)));
}

/// A profile payload: its details, and two lists of ids to associate.
macro_rules! profile_payload {
    ($type:ident { $first:ident.$first_ids:ident, $second:ident.$second_ids:ident }) => {
        impl Canonical for types::$type {
            fn is_canonical(&self) -> bool {
                details_canonical(&self.details)
                    && self.$first.as_ref().is_none_or(|a| sorted(&a.$first_ids))
                    && self.$second.as_ref().is_none_or(|a| sorted(&a.$second_ids))
            }

            fn make_canonical(&mut self) {
                make_details_canonical(&mut self.details);
                sort_ids(self.$first.as_mut().map(|a| &mut a.$first_ids));
                sort_ids(self.$second.as_mut().map(|a| &mut a.$second_ids));
            }
        }
    };
}

profile_payload!(BulkManageCustomerProfilePayload {
    associate_organizations.organization_ids,
    associate_products.product_ids
});
profile_payload!(BulkManageOrganizationProfilePayload {
    associate_customers.customer_ids,
    associate_products.product_ids
});

impl Canonical for types::BulkDetailFieldOperation {
    fn is_canonical(&self) -> bool {
        sorted(&self.payload.values)
    }

    fn make_canonical(&mut self) {
        self.payload.values.sort_unstable();
    }
}

/// Payloads without lists are canonical as they are.
macro_rules! no_lists {
    ($($type:ident),*) => {$(
        impl Canonical for types::$type {
            fn is_canonical(&self) -> bool {
                true
            }

            fn make_canonical(&mut self) {}
        }
    )*};
}

no_lists!(
    CustomerAccountOperationRequest,
    OrganizationOperationRequest
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::BulkManageCustomerProfileOperation as Profile;

    fn of(profile: impl TryInto<Profile, Error: std::fmt::Debug>) -> String {
        let profile: Profile = profile.try_into().unwrap();
        fingerprint(&profile.payload.canonical())
    }

    #[test]
    fn the_order_of_details_values_and_ids_does_not_matter() {
        let a = Profile::upsert()
            .email("a@x.io")
            .detail("Plan", ["Pro", "EU"])
            .detail("Tier", ["1"])
            .associate_organizations(
                crate::types::AssociateOrganizations::builder().organization_ids([2, 1]),
            );
        let b = Profile::update()
            .email("a@x.io")
            .detail("Tier", ["1"])
            .detail("Plan", ["EU", "Pro"])
            .associate_organizations(
                crate::types::AssociateOrganizations::builder().organization_ids([1, 2]),
            );
        assert_eq!(of(a), of(b));
        // Read from JSON written in another key order, with spaces and a null.
        let c: Profile = serde_json::from_str(
            r#"{ "payload": {"details": [{"values": ["1"], "name": "Tier"},
                {"name": "Plan", "values": ["EU", "Pro"]}],
                "associateOrganizations": {"organizationIds": [2, 1]},
                "email": "a@x.io", "displayName": null}, "operationType": "UPSERT" }"#,
        )
        .unwrap();
        assert_eq!(
            of(c),
            of(Profile::upsert()
                .email("a@x.io")
                .detail("Tier", ["1"])
                .detail("Plan", ["EU", "Pro"])
                .associate_organizations(
                    crate::types::AssociateOrganizations::builder().organization_ids([1, 2])
                ))
        );
    }

    #[test]
    fn any_change_of_a_value_or_a_repeat_changes_it() {
        let base = of(Profile::upsert().email("a@x.io").detail("Plan", ["a"]));
        assert_ne!(
            base,
            of(Profile::upsert().email("a@x.io").detail("Plan", ["b"]))
        );
        assert_ne!(
            base,
            of(Profile::upsert().email("a@x.io").detail("Plan", ["a", "a"]))
        );
        assert_ne!(
            base,
            of(Profile::upsert().email("A@x.io").detail("Plan", ["a"]))
        );
        assert_eq!(base.len(), 32);
    }
}
