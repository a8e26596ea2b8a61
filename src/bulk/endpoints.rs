//! The seven bulk endpoints: their record type, per-request limits, and how a failure the task
//! reports is traced back to the record that caused it.

use crate::error::Error;
use crate::types::{self, TaskFailure, TaskSubmitResponse};
use crate::Client;
use serde::Serialize;
use std::future::Future;
use std::pin::Pin;

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

    /// Checks the whole input at once (rules that span records).
    fn check_all(_records: &[Self::Record]) -> Result<(), Error> {
        Ok(())
    }

    /// Submits one request.
    fn submit(client: &Client, records: Vec<Self::Record>, key: String) -> SubmitFuture<'_>;
}

/// Defines an endpoint marker type and its submit call.
macro_rules! endpoint {
    (
        $(#[$doc:meta])*
        $name:ident, $record:ty, $method:ident, $request:ident { $field:ident }
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name;

        impl $name {
            fn submit_request(
                client: &Client,
                records: Vec<$record>,
                key: String,
            ) -> SubmitFuture<'_> {
                Box::pin(async move {
                    let body = types::$request { $field: records };
                    let submitted = client.$method().idempotency_key(key).body(body).send().await?;
                    Ok(submitted.into_inner())
                })
            }
        }
    };
}

fn present(values: &[Option<&String>]) -> Vec<String> {
    values.iter().flatten().map(|v| v.to_string()).collect()
}

endpoint!(
    /// `POST /api/v1/customer/profile/bulk`: customer profiles, at most 100 per request.
    CustomerProfiles, types::BulkManageCustomerProfileOperation,
    bulk_manage_multiple_customer_profiles, BulkManageCustomerProfilesRequest { customer_profiles }
);

impl BulkEndpoint for CustomerProfiles {
    type Record = types::BulkManageCustomerProfileOperation;
    const METHOD_NAME: &'static str = "bulk_manage_multiple_customer_profiles";
    const ARRAY_FIELD: &'static str = "customerProfiles";
    const MAX_RECORDS: usize = 100;

    fn identities(record: &Self::Record) -> Vec<String> {
        present(&[
            record.payload.email.as_ref(),
            record.payload.customer_id.as_ref(),
        ])
    }

    fn submit(client: &Client, records: Vec<Self::Record>, key: String) -> SubmitFuture<'_> {
        Self::submit_request(client, records, key)
    }
}

endpoint!(
    /// `POST /api/v1/customer/bulk`: customer accounts, at most 50 per request.
    CustomerAccounts, types::BulkCustomerAccountOperationRequest,
    bulk_create_customer_accounts, BulkCustomerAccountRequest { customer_accounts }
);

impl BulkEndpoint for CustomerAccounts {
    type Record = types::BulkCustomerAccountOperationRequest;
    const METHOD_NAME: &'static str = "bulk_create_customer_accounts";
    const ARRAY_FIELD: &'static str = "customerAccounts";
    const MAX_RECORDS: usize = 50;

    fn identities(record: &Self::Record) -> Vec<String> {
        present(&[
            record.payload.email.as_ref(),
            record.payload.customer_id.as_ref(),
        ])
    }

    fn submit(client: &Client, records: Vec<Self::Record>, key: String) -> SubmitFuture<'_> {
        Self::submit_request(client, records, key)
    }
}

endpoint!(
    /// `POST /api/v1/customer/details/bulk`: customers' detail values, at most 1000 operations
    /// per request counted across customers.
    CustomerDetails, types::BulkCustomerDetailFieldOperation,
    bulk_update_customer_details, BulkCustomerDetailFieldRequest { customers }
);

impl BulkEndpoint for CustomerDetails {
    type Record = types::BulkCustomerDetailFieldOperation;
    const METHOD_NAME: &'static str = "bulk_update_customer_details";
    const ARRAY_FIELD: &'static str = "customers";
    const MAX_RECORDS: usize = usize::MAX;
    const MAX_WEIGHT: Option<usize> = Some(crate::limits::MAX_DETAIL_OPERATIONS_PER_REQUEST);

    fn weight(record: &Self::Record) -> usize {
        record.operations.len()
    }

    fn identities(record: &Self::Record) -> Vec<String> {
        vec![record.customer_id.clone()]
    }

    fn submit(client: &Client, records: Vec<Self::Record>, key: String) -> SubmitFuture<'_> {
        Self::submit_request(client, records, key)
    }
}

endpoint!(
    /// `POST /api/v1/customer/details/definitions/bulk`: customer detail-field definitions, at
    /// most 50 per request, names unique across the whole input.
    CustomerDetailFields, types::CreateDetailFieldRequest,
    bulk_create_customer_detail_fields, BulkCreateDetailFieldsRequest { detail_fields }
);

impl BulkEndpoint for CustomerDetailFields {
    type Record = types::CreateDetailFieldRequest;
    const METHOD_NAME: &'static str = "bulk_create_customer_detail_fields";
    const ARRAY_FIELD: &'static str = "detailFields";
    const MAX_RECORDS: usize = 50;

    fn identities(record: &Self::Record) -> Vec<String> {
        vec![record.name.to_string()]
    }

    /// A definition is named by its field name, in `entityId` or in `operatedOnIds`.
    fn is_named_by(record: &Self::Record, failure: &TaskFailure) -> bool {
        let name = record.name.trim();
        failure.entity_id.trim().eq_ignore_ascii_case(name)
            || failure
                .operated_on_ids
                .iter()
                .any(|id| id.trim().eq_ignore_ascii_case(name))
    }

    /// Names are unique across requests too: a later request repeating a name would be refused.
    fn check_all(records: &[Self::Record]) -> Result<(), Error> {
        let all = serde_json::json!({ Self::ARRAY_FIELD: records });
        crate::limits::check_detail_field_names(&all, &[Self::ARRAY_FIELD, "[]", "name"])
    }

    fn submit(client: &Client, records: Vec<Self::Record>, key: String) -> SubmitFuture<'_> {
        Self::submit_request(client, records, key)
    }
}

endpoint!(
    /// `POST /api/v1/organization/bulk`: organizations, at most 50 per request.
    Organizations, types::BulkOrganizationOperationRequest,
    bulk_manage_organizations, BulkOrganizationRequest { organizations }
);

impl BulkEndpoint for Organizations {
    type Record = types::BulkOrganizationOperationRequest;
    const METHOD_NAME: &'static str = "bulk_manage_organizations";
    const ARRAY_FIELD: &'static str = "organizations";
    const MAX_RECORDS: usize = 50;

    fn identities(record: &Self::Record) -> Vec<String> {
        let name = record.payload.name.to_string();
        present(&[record.payload.id.as_ref(), Some(&name)])
    }

    fn submit(client: &Client, records: Vec<Self::Record>, key: String) -> SubmitFuture<'_> {
        Self::submit_request(client, records, key)
    }
}

endpoint!(
    /// `POST /api/v1/organization/profile/bulk`: organization profiles, at most 100 per request.
    OrganizationProfiles, types::BulkManageOrganizationProfileOperation,
    bulk_manage_organization_profiles, BulkManageOrganizationProfilesRequest { organization_profiles }
);

impl BulkEndpoint for OrganizationProfiles {
    type Record = types::BulkManageOrganizationProfileOperation;
    const METHOD_NAME: &'static str = "bulk_manage_organization_profiles";
    const ARRAY_FIELD: &'static str = "organizationProfiles";
    const MAX_RECORDS: usize = 100;

    fn identities(record: &Self::Record) -> Vec<String> {
        let name = record.payload.name.as_ref().map(|n| n.to_string());
        present(&[record.payload.id.as_ref(), name.as_ref()])
    }

    fn submit(client: &Client, records: Vec<Self::Record>, key: String) -> SubmitFuture<'_> {
        Self::submit_request(client, records, key)
    }
}

endpoint!(
    /// `POST /api/v1/organization/details/bulk`: organizations' detail values. The API states no
    /// limit; requests are kept to 1000 operations, as for customers.
    OrganizationDetails, types::BulkOrganizationDetailFieldOperation,
    bulk_manage_organization_details, BulkOrganizationDetailFieldRequest { organizations }
);

impl BulkEndpoint for OrganizationDetails {
    type Record = types::BulkOrganizationDetailFieldOperation;
    const METHOD_NAME: &'static str = "bulk_manage_organization_details";
    const ARRAY_FIELD: &'static str = "organizations";
    const MAX_RECORDS: usize = usize::MAX;
    const MAX_WEIGHT: Option<usize> = Some(crate::limits::MAX_DETAIL_OPERATIONS_PER_REQUEST);

    fn weight(record: &Self::Record) -> usize {
        record.operations.len()
    }

    fn identities(record: &Self::Record) -> Vec<String> {
        vec![record.id.clone()]
    }

    fn submit(client: &Client, records: Vec<Self::Record>, key: String) -> SubmitFuture<'_> {
        Self::submit_request(client, records, key)
    }
}
