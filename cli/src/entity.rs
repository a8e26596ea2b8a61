//! The bulk entities `csm import`, `csm sync` and `csm jobs` take: one list, named as on the
//! command line (`customer-profiles`), with the endpoint of each.

use clap::builder::PossibleValue;
use clap::ValueEnum;

/// The bulk entities.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entity {
    /// Customer profiles (create, update, upsert), 100 a request.
    CustomerProfiles,
    /// Customer accounts, 50 a request.
    CustomerAccounts,
    /// Customers' detail values, 1000 operations a request.
    CustomerDetails,
    /// Customer detail-field definitions, 50 a request.
    CustomerDetailFields,
    /// Organizations, 50 a request.
    Organizations,
    /// Organization profiles, 100 a request.
    OrganizationProfiles,
    /// Organizations' detail values, 1000 operations a request.
    OrganizationDetails,
    /// Organization detail-field definitions, 50 a request.
    OrganizationDetailFields,
}

impl Entity {
    /// Its name on the command line and in summaries (`customer-profiles`).
    pub fn name(self) -> String {
        self.to_possible_value()
            .map(|value| value.get_name().to_string())
            .unwrap_or_default()
    }

    /// What a sync of it does besides sending, for `csm sync --help`; `None` when it has no sync
    /// (detail-field definitions: `csm fields apply`).
    fn as_synced(self) -> Option<&'static str> {
        match self {
            Self::CustomerProfiles => Some("Customer profiles, 100 a request"),
            Self::CustomerAccounts => {
                Some("Customer accounts, 50 a request (absent ones known by id can be deleted)")
            }
            Self::CustomerDetails => {
                Some("Customers' detail values, field by field (absent ones can be cleared)")
            }
            Self::Organizations => {
                Some("Organizations, 50 a request (absent ones known by id can be deleted)")
            }
            Self::OrganizationProfiles => Some("Organization profiles, 100 a request"),
            Self::OrganizationDetails => {
                Some("Organizations' detail values, field by field (absent ones can be cleared)")
            }
            Self::CustomerDetailFields | Self::OrganizationDetailFields => None,
        }
    }
}

/// An entity a sync supports: an [`Entity`] that has one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyncEntity(Entity);

impl SyncEntity {
    /// The entity.
    pub fn entity(self) -> Entity {
        self.0
    }
}

impl ValueEnum for SyncEntity {
    fn value_variants<'a>() -> &'a [Self] {
        const SYNCED: [SyncEntity; 6] = [
            SyncEntity(Entity::CustomerProfiles),
            SyncEntity(Entity::CustomerAccounts),
            SyncEntity(Entity::CustomerDetails),
            SyncEntity(Entity::Organizations),
            SyncEntity(Entity::OrganizationProfiles),
            SyncEntity(Entity::OrganizationDetails),
        ];
        &SYNCED
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        let help = self.0.as_synced()?;
        Some(self.0.to_possible_value()?.help(help))
    }
}

/// `$body` with `$endpoint` the bulk endpoint of `$entity`, among the entities listed (each
/// named as its endpoint's type is); any other is `$other`.
macro_rules! dispatch {
    ($entity:expr, |$endpoint:ident| $body:expr, [$($variant:ident),*] $(, else $other:expr)?) => {{
        use $crate::entity::Entity;
        match $entity {
            $(Entity::$variant => {
                type $endpoint = atlassian_csm::bulk::$variant;
                $body
            })*
            $(#[allow(unreachable_patterns)]
            _ => $other,)?
        }
    }};
}

/// `$body` with `$endpoint` the bulk endpoint of `$entity` (an [`Entity`]).
macro_rules! with_bulk_endpoint {
    ($entity:expr, |$endpoint:ident| $body:expr) => {
        $crate::entity::dispatch!(
            $entity,
            |$endpoint| $body,
            [
                CustomerProfiles,
                CustomerAccounts,
                CustomerDetails,
                CustomerDetailFields,
                Organizations,
                OrganizationProfiles,
                OrganizationDetails,
                OrganizationDetailFields
            ]
        )
    };
}

/// `$body` with `$endpoint` the sync endpoint of `$entity` (a [`SyncEntity`]).
macro_rules! with_sync_endpoint {
    ($entity:expr, |$endpoint:ident| $body:expr) => {
        $crate::entity::dispatch!($crate::entity::SyncEntity::entity($entity), |$endpoint| $body, [
            CustomerProfiles, CustomerAccounts, CustomerDetails,
            Organizations, OrganizationProfiles, OrganizationDetails
        ], else unreachable!("a SyncEntity holds only entities a sync supports"))
    };
}

pub(crate) use {dispatch, with_bulk_endpoint, with_sync_endpoint};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sync_takes_the_entities_that_have_one_by_their_names() {
        let names: Vec<String> = SyncEntity::value_variants()
            .iter()
            .map(|entity| entity.entity().name())
            .collect();
        assert_eq!(names.len(), 6);
        assert!(!names.contains(&"customer-detail-fields".to_string()));
        let parsed = SyncEntity::from_str("organization-details", false).unwrap();
        assert_eq!(parsed.entity(), Entity::OrganizationDetails);
        assert!(SyncEntity::from_str("customer-detail-fields", false).is_err());
        assert_eq!(
            Entity::CustomerDetailFields.name(),
            "customer-detail-fields"
        );
    }
}
