//! [`SyncImport`]: a sync being set up, and the `Client` methods that begin one.

use super::entity::SyncEndpoint;
use super::report::{SyncPlan, SyncProgress, SyncReport};
use super::run;
use super::settings::{Options, Settings};
use crate::bulk::{Checked, RecordValidator};
use crate::bulk::{
    CustomerAccounts, CustomerDetails, CustomerProfiles, OrganizationDetails, OrganizationProfiles,
    Organizations,
};
use crate::error::Error;
use crate::Client;
use futures::stream::{self, Stream, StreamExt};
use std::future::{Future, IntoFuture};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// A sync, configured with its builder methods, then awaited (for a [`SyncReport`]) or
/// [planned](Self::plan). See the [module](crate::sync) docs.
#[must_use = "a sync does nothing until awaited or planned"]
pub struct SyncImport<'a, E: SyncEndpoint> {
    settings: Settings<'a, E>,
}

impl<'a, E: SyncEndpoint> SyncImport<'a, E> {
    fn new<S, R, X>(client: &'a Client, records: S) -> Self
    where
        S: Stream<Item = Result<R, X>> + Send + 'a,
        R: TryInto<E::Record>,
        R::Error: std::fmt::Display + 'static,
        X: std::fmt::Display,
    {
        Self::from_records(client, records, |at, record| {
            crate::bulk::convert::<E, R>(at, record)
        })
    }

    /// A sync of records checked already: each is compared with the state as it is (one checked
    /// less strictly than `client` checks is checked here).
    fn new_checked<S, X>(client: &'a Client, records: S) -> Self
    where
        S: Stream<Item = Result<Checked<E>, X>> + Send + 'a,
        X: std::fmt::Display,
    {
        let mut validator = RecordValidator::<E>::for_client(client);
        let mut sync = Self::from_records(client, records, move |at, checked: Checked<E>| {
            validator.take_checked(at, checked)
        });
        sync.settings.options.input_checked = true;
        sync
    }

    /// The sync of `records`, each made the endpoint's record by `convert` (its index, the item).
    fn from_records<S, R, X>(
        client: &'a Client,
        records: S,
        mut convert: impl FnMut(usize, R) -> Result<E::Record, Error> + Send + 'a,
    ) -> Self
    where
        S: Stream<Item = Result<R, X>> + Send + 'a,
        X: std::fmt::Display,
    {
        let mut index = 0;
        let source = records
            .map(move |read| {
                let at = index;
                index += 1;
                match read {
                    Ok(record) => Ok(convert(at, record)),
                    Err(error) => Err(Error::InvalidInput {
                        field: crate::FieldPath::record_of(E::ARRAY_FIELD, at),
                        message: format!(
                            "the input could not be read to its end ({error}): a sync compares \
                             a whole input with its state, so none of it was used"
                        ),
                    }),
                }
            })
            .boxed();
        Self {
            settings: Settings {
                client,
                source,
                state: None,
                options: Options {
                    max_age: None,
                    full: false,
                    delete_absent: false,
                    max_delete_fraction: 0.10,
                    skip_invalid: false,
                    max_in_flight: 5,
                    task_deadline: Duration::from_secs(30 * 60),
                    lanes: crate::bulk::Lanes::default(),
                    site_moved: false,
                    add_entity: false,
                    input_checked: false,
                },
                on_progress: None,
                stop: crate::bulk::StopHandle::default(),
            },
        }
    }

    /// The state file (created if missing): required. It must be a regular file (or a link to
    /// one) or not exist yet; it records the site and the entities it describes, and a sync of
    /// another site or entity is refused before anything is sent (see
    /// [`site_moved`](Self::site_moved) and [`add_entity`](Self::add_entity)).
    pub fn state(mut self, path: impl Into<PathBuf>) -> Self {
        self.settings.state = Some(path.into());
        self
    }

    /// Says that the site the state describes moved to the one this client calls (a site
    /// migrated with its data, a cloud id renamed): the state is rebound to it and its records
    /// are taken as held there (default `false`: a state of another site is refused, since its
    /// records would be taken as held by a site that has none of them).
    pub fn site_moved(mut self, moved: bool) -> Self {
        self.settings.options.site_moved = moved;
        self
    }

    /// Adds this entity to a state that holds others (default `false`: a state holding other
    /// entities is refused, as a state named by mistake would be).
    pub fn add_entity(mut self, add: bool) -> Self {
        self.settings.options.add_entity = add;
        self
    }

    /// A handle that stops this sync gracefully, from any task or thread: it reads no further
    /// and sends no new request; the requests under way are seen to their end and written to
    /// the state, and the report says [`stopped`](SyncReport::stopped) and how many records
    /// were not sent. The next run resumes: what was confirmed is not sent again.
    ///
    /// ```no_run
    /// # async fn run(client: atlassian_csm::Client, records: Vec<atlassian_csm::types::BulkManageCustomerProfileOperation>) -> Result<(), atlassian_csm::Error> {
    /// let sync = client.sync_customer_profiles(records).state("customers.db");
    /// let stop = sync.stop_handle();
    /// tokio::spawn(async move {
    ///     let _ = tokio::signal::ctrl_c().await;
    ///     stop.stop();
    /// });
    /// let report = sync.await?;
    /// if report.stopped {
    ///     println!("stopped: {} records not sent; run again to finish", report.counts.not_sent);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn stop_handle(&self) -> crate::bulk::StopHandle {
        self.settings.stop.clone()
    }

    /// Sends again records confirmed longer ago than `age`, each between half of it and all of
    /// it after it was confirmed, spread by key over runs (default: never).
    pub fn max_age(mut self, age: Duration) -> Self {
        self.settings.options.max_age = Some(age);
        self
    }

    /// Sends every record, changed or not, and refreshes the state (default `false`).
    pub fn full(mut self, full: bool) -> Self {
        self.settings.options.full = full;
        self
    }

    /// Deletes on the site the items the state holds and the input does not, where the API can
    /// (see the [module](crate::sync) docs), unless more than
    /// [`max_delete_fraction`](Self::max_delete_fraction) of the state would go (default
    /// `false`: they are only reported).
    pub fn delete_absent(mut self, delete: bool) -> Self {
        self.settings.options.delete_absent = delete;
        self
    }

    /// The largest share of the state's items one run may delete, from 0 to 1 (default 0.10).
    pub fn max_delete_fraction(mut self, fraction: f64) -> Self {
        // Not a number allows nothing: a share that compares false with everything must not
        // let every deletion through.
        self.settings.options.max_delete_fraction = if fraction.is_nan() {
            0.0
        } else {
            fraction.clamp(0.0, 1.0)
        };
        self
    }

    /// Sends the valid records when some are invalid (each invalid one is a failure of the
    /// report); by default an invalid record fails the sync before anything is sent.
    pub fn skip_invalid(mut self, skip: bool) -> Self {
        self.settings.options.skip_invalid = skip;
        self
    }

    /// At most this many tasks unfinished at once (default 5, the API's limit per site).
    pub fn max_in_flight(mut self, tasks: usize) -> Self {
        self.settings.options.max_in_flight = tasks.max(1);
        self
    }

    /// Which calls the records go through (see [`Lanes`](crate::bulk::Lanes); default `Auto`).
    pub fn lanes(mut self, lanes: crate::bulk::Lanes) -> Self {
        self.settings.options.lanes = lanes;
        self
    }

    /// How long to wait for one task (default 30 min).
    pub fn task_deadline(mut self, deadline: Duration) -> Self {
        self.settings.options.task_deadline = deadline;
        self
    }

    /// Called as rows are read and as records sent finish.
    pub fn on_progress(
        mut self,
        callback: impl Fn(&SyncProgress) + Send + std::marker::Sync + 'a,
    ) -> Self {
        self.settings.on_progress = Some(Arc::new(callback));
        self
    }

    /// What a run would do: reads the input and compares it with the state; sends nothing,
    /// and creates or writes nothing (no state file, no lock file; a missing state is planned
    /// against as an empty one).
    pub async fn plan(self) -> Result<SyncPlan, Error> {
        run::plan(self.settings).await
    }
}

impl<'a, E: SyncEndpoint> IntoFuture for SyncImport<'a, E> {
    type Output = Result<SyncReport, Error>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send + 'a>>;

    /// Runs the sync (see the [module](crate::sync) docs).
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(run::sync(self.settings))
    }
}

impl Client {
    /// A sync through the endpoint `E`, of records from any iterator; see the [`sync`](crate::sync)
    /// module and the `sync_*` methods, which name each endpoint's record type.
    pub fn sync<'a, E, R>(
        &'a self,
        records: impl IntoIterator<Item = R, IntoIter: Send + 'a>,
    ) -> SyncImport<'a, E>
    where
        E: SyncEndpoint,
        R: TryInto<E::Record> + Send,
        R::Error: std::fmt::Display + 'static,
    {
        SyncImport::new(
            self,
            stream::iter(records).map(|record| Ok::<R, Error>(record)),
        )
    }

    /// A sync whose records come from a `Stream`, through the endpoint `E`.
    pub fn sync_stream<'a, E, R>(
        &'a self,
        records: impl Stream<Item = R> + Send + 'a,
    ) -> SyncImport<'a, E>
    where
        E: SyncEndpoint,
        R: TryInto<E::Record>,
        R::Error: std::fmt::Display + 'static,
    {
        SyncImport::new(self, records.map(|record| Ok::<R, Error>(record)))
    }

    /// A sync of records a [`RecordValidator`] checked already ([`Checked`]), from a reader
    /// that may fail (as [`sync_try_stream`](Self::sync_try_stream)): they are compared with
    /// the state and sent without being checked again, nor are the requests that carry them (a
    /// record checked less strictly than this client checks is checked again).
    pub fn sync_checked<'a, E, X>(
        &'a self,
        records: impl Stream<Item = Result<Checked<E>, X>> + Send + 'a,
    ) -> SyncImport<'a, E>
    where
        E: SyncEndpoint,
        X: std::fmt::Display,
    {
        SyncImport::new_checked(self, records)
    }

    /// A sync whose records come from a reader that may fail (a file, a query): an `Err` item
    /// says the input could not be read to its end, and ends the sync before anything is sent,
    /// whatever [`skip_invalid`](SyncImport::skip_invalid) says, since a part of an input is
    /// no evidence of what left it.
    pub fn sync_try_stream<'a, E, R, X>(
        &'a self,
        records: impl Stream<Item = Result<R, X>> + Send + 'a,
    ) -> SyncImport<'a, E>
    where
        E: SyncEndpoint,
        R: TryInto<E::Record>,
        R::Error: std::fmt::Display + 'static,
        X: std::fmt::Display,
    {
        SyncImport::new(self, records)
    }
}

crate::bulk::per_endpoint! {
    SyncImport, sync, "the [`sync`](crate::sync) module";
    /// Syncs customer profiles: sends the new and changed ones (100 per request).
    sync_customer_profiles: CustomerProfiles, BulkManageCustomerProfileOperation;
    /// Syncs customer accounts (50 per request); absent ones known by id can be deleted.
    sync_customer_accounts: CustomerAccounts, BulkCustomerAccountOperationRequest;
    /// Syncs customers' detail values, field by field; absent ones can be cleared.
    sync_customer_details: CustomerDetails, BulkCustomerDetailFieldOperation;
    /// Syncs organizations (50 per request); absent ones known by id can be deleted.
    sync_organizations: Organizations, BulkOrganizationOperationRequest;
    /// Syncs organization profiles (100 per request).
    sync_organization_profiles: OrganizationProfiles, BulkManageOrganizationProfileOperation;
    /// Syncs organizations' detail values, field by field; absent ones can be cleared.
    sync_organization_details: OrganizationDetails, BulkOrganizationDetailFieldOperation;
}
