//! The `Client` methods that start imports: one generic, one for streams, one per endpoint.

use super::checked::Checked;
use super::endpoints::{
    BulkEndpoint, CustomerAccounts, CustomerDetailFields, CustomerDetails, CustomerProfiles,
    OrganizationDetailFields, OrganizationDetails, OrganizationProfiles, Organizations,
};
use super::import::BulkImport;
use crate::Client;
use futures::stream::{self, Stream};

impl Client {
    /// An import of any number of records through one bulk endpoint; see the [`bulk`](crate::bulk)
    /// module and the `import_*` methods, which name each endpoint's record type.
    ///
    /// A record is the endpoint's record type or its builder; records are read only as requests
    /// can be sent. One that cannot be built is an [`Error::InvalidInput`](crate::Error::InvalidInput) naming its index and
    /// field (`customerProfiles[17].payload.email`): awaited, the import fails with it and
    /// nothing is sent; [streamed](BulkImport::stream), it is that record's outcome.
    pub fn import<'a, E, R>(
        &'a self,
        records: impl IntoIterator<Item = R, IntoIter: Send + 'a>,
    ) -> BulkImport<'a, E>
    where
        E: BulkEndpoint,
        R: TryInto<E::Record> + Send,
        R::Error: std::fmt::Display + 'static,
    {
        BulkImport::new(self, stream::iter(records))
    }

    /// An import whose records come from a `Stream` (rows read from a file or a database as
    /// the import goes), through the endpoint `E` ([`CustomerProfiles`]…).
    ///
    /// ```no_run
    /// # async fn run(client: atlassian_csm::Client, rows: futures::stream::BoxStream<'static, (String, String)>) -> Result<(), atlassian_csm::Error> {
    /// use atlassian_csm::bulk::CustomerProfiles;
    /// use atlassian_csm::types::BulkManageCustomerProfileOperation as Profile;
    /// use futures::StreamExt;
    ///
    /// let records = rows.map(|(email, name)| Profile::upsert().email(email).display_name(name));
    /// let report = client.import_stream::<CustomerProfiles, _>(records).await?;
    /// # Ok(()) }
    /// ```
    pub fn import_stream<'a, E, R>(
        &'a self,
        records: impl Stream<Item = R> + Send + 'a,
    ) -> BulkImport<'a, E>
    where
        E: BulkEndpoint,
        R: TryInto<E::Record>,
        R::Error: std::fmt::Display + 'static,
    {
        BulkImport::new(self, records)
    }

    /// An import of records a [`RecordValidator`](crate::bulk::RecordValidator) checked
    /// already ([`Checked`]): they are not checked again, nor are the requests that carry them
    /// (a record checked less strictly than this client checks is checked again).
    ///
    /// ```no_run
    /// use atlassian_csm::bulk::{CustomerProfiles, RecordValidator};
    /// use atlassian_csm::types::BulkManageCustomerProfileOperation as Profile;
    ///
    /// # async fn run(client: atlassian_csm::Client) -> Result<(), atlassian_csm::Error> {
    /// let mut validator = RecordValidator::<CustomerProfiles>::for_client(&client);
    /// let mut checked = Vec::new();
    /// for (index, email) in ["ada@example.com", "alan@example.com"].into_iter().enumerate() {
    ///     let record: Profile = Profile::upsert().email(email).try_into()?;
    ///     checked.push(validator.checked(index, record)?);
    /// }
    /// let report = client.import_checked(futures::stream::iter(checked)).await?;
    /// # Ok(()) }
    /// ```
    pub fn import_checked<'a, E: BulkEndpoint>(
        &'a self,
        records: impl Stream<Item = Checked<E>> + Send + 'a,
    ) -> BulkImport<'a, E> {
        BulkImport::new_checked(self, records)
    }
}

/// Methods of `Client`, one per endpoint, each naming its record type: they hand their records
/// to `$call` (`import`, `sync`), which returns a `$builder` of the endpoint; `$see` says where
/// the rest is told.
macro_rules! per_endpoint {
    ($builder:ident, $call:ident, $see:literal;
     $($(#[$doc:meta])* $method:ident: $endpoint:ident, $record:ident;)*) => {
        impl Client {
            $(
                $(#[$doc])*
                ///
                #[doc = concat!(
                    "Each record is a [`", stringify!($record), "`](crate::types::", stringify!($record),
                    ") or its builder; see ", $see, "."
                )]
                pub fn $method<'a, R>(
                    &'a self,
                    records: impl IntoIterator<Item = R, IntoIter: Send + 'a>,
                ) -> $builder<'a, $endpoint>
                where
                    R: TryInto<crate::types::$record> + Send,
                    R::Error: std::fmt::Display + 'static,
                {
                    self.$call(records)
                }
            )*
        }
    };
}
#[cfg(feature = "sync")]
pub(crate) use per_endpoint;

per_endpoint! {
    BulkImport, import, "[`Client::import`]";
    /// Creates, updates or upserts any number of customer profiles (100 per request).
    ///
    /// ```no_run
    /// # async fn run(client: atlassian_csm::Client) -> Result<(), atlassian_csm::Error> {
    /// use atlassian_csm::types::BulkManageCustomerProfileOperation as Profile;
    ///
    /// let rows = [("ada@example.com", "Ada", "Pro"), ("alan@example.com", "Alan", "Free")];
    /// let report = client
    ///     .import_customer_profiles(rows.iter().map(|(email, name, plan)| {
    ///         Profile::upsert().email(*email).display_name(*name).detail("Plan", [*plan])
    ///     }))
    ///     .on_progress(|p| eprintln!("{}/{} records done", p.finished_records, p.total_records))
    ///     .await?;
    /// for (index, outcome) in report.not_succeeded() {
    ///     eprintln!("record {index}: {outcome:?}");
    /// }
    /// # Ok(()) }
    /// ```
    import_customer_profiles: CustomerProfiles, BulkManageCustomerProfileOperation;
    /// Creates or updates any number of customer accounts (50 per request).
    import_customer_accounts: CustomerAccounts, BulkCustomerAccountOperationRequest;
    /// Updates, patches or deletes customers' detail values (1000 operations per request,
    /// counted across customers).
    import_customer_details: CustomerDetails, BulkCustomerDetailFieldOperation;
    /// Creates customer detail-field definitions (50 per request; names unique).
    import_customer_detail_fields: CustomerDetailFields, CreateDetailFieldRequest;
    /// Creates or updates any number of organizations (50 per request).
    import_organizations: Organizations, BulkOrganizationOperationRequest;
    /// Creates, updates or upserts organization profiles (100 per request).
    import_organization_profiles: OrganizationProfiles, BulkManageOrganizationProfileOperation;
    /// Updates, patches or deletes organizations' detail values (1000 operations per request).
    import_organization_details: OrganizationDetails, BulkOrganizationDetailFieldOperation;
    /// Creates organization detail-field definitions (50 per request; names unique).
    import_organization_detail_fields: OrganizationDetailFields, CreateDetailFieldRequest;
}
