//! The eight bulk endpoints: their record type, per-request limits, and how a failure the task
//! reports is traced back to the record that caused it.

use crate::error::Error;
use crate::types::{self, TaskFailure, TaskSubmitResponse};
use crate::Client;
use serde::Serialize;
use std::future::Future;
use std::pin::Pin;

/// A future returned by [`BulkEndpoint::direct_call`]: the rate-limit headers of its answer.
pub type DirectFuture<'a> =
    Pin<Box<dyn Future<Output = Result<crate::RateLimit, Error>> + Send + 'a>>;

/// A future returned by [`BulkEndpoint::submit`].
pub type SubmitFuture<'a> =
    Pin<Box<dyn Future<Output = Result<TaskSubmitResponse, Error>> + Send + 'a>>;

/// One bulk endpoint, as the bulk helper drives it.
pub trait BulkEndpoint: Send + Sync + 'static {
    /// One record of the request's array.
    type Record: Serialize + Clone + Send + Sync + 'static;
    /// The client method (and operation) that submits a request.
    const METHOD_NAME: &'static str;
    /// The request body's array field, e.g. `customerProfiles`.
    const ARRAY_FIELD: &'static str;
    /// Records one request may carry.
    const MAX_RECORDS: usize;
    /// The most [`weight`](Self::weight) one request may carry, if the endpoint counts one.
    const MAX_WEIGHT: Option<usize> = None;

    /// What a record counts against [`MAX_WEIGHT`](Self::MAX_WEIGHT) (e.g. its detail operations).
    fn weight(_record: &Self::Record) -> usize {
        1
    }

    /// The identifiers the API may name a record by in a `TaskFailure`: email, customer id,
    /// organization id, name.
    fn identities(record: &Self::Record) -> Vec<String>;

    /// Whether `failure` names `record`: by `entityId` (case ignored, as emails are).
    fn is_named_by(record: &Self::Record, failure: &TaskFailure) -> bool {
        Self::identities(record)
            .iter()
            .any(|id| id.eq_ignore_ascii_case(&failure.entity_id))
    }

    /// A value the record must not share with any other record of the input (case and
    /// surrounding spaces ignored), with the field that holds it, if the endpoint has one:
    /// detail-field names.
    fn unique_name(_record: &Self::Record) -> Option<(&'static str, &str)> {
        None
    }

    /// Submits one request.
    fn submit(client: &Client, records: Vec<Self::Record>, key: String) -> SubmitFuture<'_>;

    /// Whether the endpoint has synchronous calls for some records ([`direct_calls`](Self::direct_calls)).
    const DIRECT: bool = false;

    /// How many synchronous calls send `record` instead of a bulk task, if the endpoint has them
    /// for it (the direct lane, [`Lanes`](super::Lanes)); default: none.
    fn direct_calls(_record: &Self::Record) -> Option<usize> {
        None
    }

    /// Call `call` (from 0 to [`direct_calls`](Self::direct_calls)) of `record`.
    fn direct_call<'a>(client: &'a Client, record: &Self::Record, call: usize) -> DirectFuture<'a> {
        let _ = (client, record, call);
        Box::pin(async { Err(Error::Internal("this endpoint has no direct calls".into())) })
    }
}

/// Defines an endpoint: its marker type, and the `BulkEndpoint` impl with the parts every
/// endpoint shares (record type, method, array field, per-request limit, submit call) plus the
/// items given in braces.
macro_rules! endpoint {
    (
        $(#[$doc:meta])*
        $name:ident: $method:ident($request:ident { $field:ident: Vec<$record:ident> }),
        array $array:literal, at most $max:expr;
        { $($items:tt)* }
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name;

        impl BulkEndpoint for $name {
            type Record = types::$record;
            const METHOD_NAME: &'static str = stringify!($method);
            const ARRAY_FIELD: &'static str = $array;
            const MAX_RECORDS: usize = $max;

            $($items)*

            fn submit(client: &Client, records: Vec<Self::Record>, key: String) -> SubmitFuture<'_> {
                Box::pin(async move {
                    let body = types::$request { $field: records };
                    let submitted = client.$method().idempotency_key(key).body(body).send().await?;
                    Ok(submitted.into_inner())
                })
            }
        }
    };
}

/// The number of operations, when every one is an `UPDATE` (what a direct call does).
fn updates_only(operations: &[types::BulkDetailFieldOperation]) -> Option<usize> {
    let updates = operations.iter().all(|operation| {
        matches!(
            operation.operation_type,
            types::BulkDetailFieldOperationOperationType::Update
        )
    });
    (updates && !operations.is_empty()).then_some(operations.len())
}

/// The body of a direct call setting an operation's values.
fn values_of(
    operation: &types::BulkDetailFieldOperation,
) -> Result<types::UpdateDetailFieldRequest, Error> {
    let values: Vec<String> = operation
        .payload
        .values
        .iter()
        .map(|v| v.to_string())
        .collect();
    serde_json::from_value(serde_json::json!({ "values": values })).map_err(|error| {
        Error::InvalidInput {
            field: crate::FieldPath::new()
                .field("operations")
                .field(operation.payload.name.as_str())
                .field("payload")
                .field("values"),
            message: format!("a direct call cannot carry them: {error}"),
        }
    })
}

fn present(values: &[Option<&String>]) -> Vec<String> {
    values.iter().flatten().map(|v| v.to_string()).collect()
}

endpoint! {
    /// `POST /api/v1/customer/profile/bulk`: customer profiles, at most 100 per request.
    CustomerProfiles: bulk_manage_multiple_customer_profiles(
        BulkManageCustomerProfilesRequest { customer_profiles: Vec<BulkManageCustomerProfileOperation> }
    ),
    array "customerProfiles", at most 100;
    {
        fn identities(record: &Self::Record) -> Vec<String> {
            present(&[record.payload.email.as_ref(), record.payload.customer_id.as_ref()])
        }
    }
}

endpoint! {
    /// `POST /api/v1/customer/bulk`: customer accounts, at most 50 per request.
    CustomerAccounts: bulk_create_customer_accounts(
        BulkCustomerAccountRequest { customer_accounts: Vec<BulkCustomerAccountOperationRequest> }
    ),
    array "customerAccounts", at most 50;
    {
        fn identities(record: &Self::Record) -> Vec<String> {
            present(&[record.payload.email.as_ref(), record.payload.customer_id.as_ref()])
        }
    }
}

endpoint! {
    /// `POST /api/v1/customer/details/bulk`: customers' detail values, at most 1000 operations
    /// per request counted across customers.
    CustomerDetails: bulk_update_customer_details(
        BulkCustomerDetailFieldRequest { customers: Vec<BulkCustomerDetailFieldOperation> }
    ),
    array "customers", at most usize::MAX;
    {
        const MAX_WEIGHT: Option<usize> = Some(crate::limits::MAX_DETAIL_OPERATIONS_PER_REQUEST);

        fn weight(record: &Self::Record) -> usize {
            record.operations.len()
        }

        fn identities(record: &Self::Record) -> Vec<String> {
            vec![record.customer_id.clone()]
        }

        const DIRECT: bool = true;

        /// One `PUT /api/v1/customer/{customerId}/details?fieldName=…` per operation, when every
        /// operation is an `UPDATE` (it replaces the values, as the call does).
        fn direct_calls(record: &Self::Record) -> Option<usize> {
            updates_only(&record.operations)
        }

        fn direct_call<'a>(client: &'a Client, record: &Self::Record, call: usize) -> DirectFuture<'a> {
            let (id, operation) = (record.customer_id.clone(), record.operations[call].clone());
            Box::pin(async move {
                let answer = client
                    .update_field_value_for_customer()
                    .customer_id(id)
                    .field_name(operation.payload.name.to_string())
                    .body(values_of(&operation)?)
                    .send()
                    .await?;
                Ok(crate::RateLimit::from_headers(answer.headers()))
            })
        }
    }
}

/// The parts the two detail-field definition endpoints share.
macro_rules! definitions_endpoint {
    ($(#[$doc:meta])* $name:ident: $method:ident) => {
        endpoint! {
            $(#[$doc])*
            $name: $method(
                BulkCreateDetailFieldsRequest { detail_fields: Vec<CreateDetailFieldRequest> }
            ),
            array "detailFields", at most 50;
            {
                fn identities(record: &Self::Record) -> Vec<String> {
                    vec![record.name.to_string()]
                }

                /// A definition is named by its field name, in `entityId` or in `operatedOnIds`.
                fn is_named_by(record: &Self::Record, failure: &TaskFailure) -> bool {
                    definition_named_by(record, failure)
                }

                /// Names are unique across requests too: a later request repeating a name would
                /// be refused.
                fn unique_name(record: &Self::Record) -> Option<(&'static str, &str)> {
                    Some(("name", &record.name))
                }
            }
        }
    };
}

fn definition_named_by(record: &types::CreateDetailFieldRequest, failure: &TaskFailure) -> bool {
    let name = record.name.trim();
    failure.entity_id.trim().eq_ignore_ascii_case(name)
        || failure
            .operated_on_ids
            .iter()
            .any(|id| id.trim().eq_ignore_ascii_case(name))
}

definitions_endpoint! {
    /// `POST /api/v1/customer/details/definitions/bulk`: customer detail-field definitions, at
    /// most 50 per request, names unique across the whole input.
    CustomerDetailFields: bulk_create_customer_detail_fields
}

definitions_endpoint! {
    /// `POST /api/v1/organization/details/definitions/bulk`: organization detail-field
    /// definitions, at most 50 per request, names unique across the whole input.
    OrganizationDetailFields: bulk_create_organization_detail_fields
}

endpoint! {
    /// `POST /api/v1/organization/bulk`: organizations, at most 50 per request.
    Organizations: bulk_manage_organizations(
        BulkOrganizationRequest { organizations: Vec<BulkOrganizationOperationRequest> }
    ),
    array "organizations", at most 50;
    {
        fn identities(record: &Self::Record) -> Vec<String> {
            let name = record.payload.name.to_string();
            present(&[record.payload.id.as_ref(), Some(&name)])
        }
    }
}

endpoint! {
    /// `POST /api/v1/organization/profile/bulk`: organization profiles, at most 100 per request.
    OrganizationProfiles: bulk_manage_organization_profiles(
        BulkManageOrganizationProfilesRequest {
            organization_profiles: Vec<BulkManageOrganizationProfileOperation>
        }
    ),
    array "organizationProfiles", at most 100;
    {
        fn identities(record: &Self::Record) -> Vec<String> {
            let name = record.payload.name.as_ref().map(|n| n.to_string());
            present(&[record.payload.id.as_ref(), name.as_ref()])
        }
    }
}

endpoint! {
    /// `POST /api/v1/organization/details/bulk`: organizations' detail values. The API states no
    /// limit; requests are kept to 1000 operations, as for customers.
    OrganizationDetails: bulk_manage_organization_details(
        BulkOrganizationDetailFieldRequest { organizations: Vec<BulkOrganizationDetailFieldOperation> }
    ),
    array "organizations", at most usize::MAX;
    {
        const MAX_WEIGHT: Option<usize> = Some(crate::limits::MAX_DETAIL_OPERATIONS_PER_REQUEST);

        fn weight(record: &Self::Record) -> usize {
            record.operations.len()
        }

        fn identities(record: &Self::Record) -> Vec<String> {
            vec![record.id.clone()]
        }

        const DIRECT: bool = true;

        /// One `PUT /api/v1/organization/{organizationId}/details?fieldName=…` per operation,
        /// when every operation is an `UPDATE`.
        fn direct_calls(record: &Self::Record) -> Option<usize> {
            updates_only(&record.operations)
        }

        fn direct_call<'a>(client: &'a Client, record: &Self::Record, call: usize) -> DirectFuture<'a> {
            let (id, operation) = (record.id.clone(), record.operations[call].clone());
            Box::pin(async move {
                let answer = client
                    .update_field_value_for_organizations()
                    .organization_id(id)
                    .field_name(operation.payload.name.to_string())
                    .body(values_of(&operation)?)
                    .send()
                    .await?;
                Ok(crate::RateLimit::from_headers(answer.headers()))
            })
        }
    }
}
