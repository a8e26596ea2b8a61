//! The import as a user configures it: [`BulkImport`], its builder methods, and the two ways to
//! run it (awaited for a whole report, or streamed request by request).

use super::endpoints::BulkEndpoint;
use super::journal::Journal;
use super::lanes::Lanes;
use super::observer::RequestObserver;
use super::planner;
use super::report::{BulkProgress, BulkReport, BulkResult, ProgressCallback, RecordOutcome};
use super::run::Settings;
use super::validate::RecordValidator;
use crate::error::Error;
use crate::input::ConversionError;
use crate::Client;
use futures::stream::{self, BoxStream, Stream, StreamExt, TryStreamExt};
use std::future::{Future, IntoFuture};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// The records of `records` converted to the endpoint's type; one that cannot be is an
/// `InvalidInput` naming its index and field (`customerProfiles[17].payload.email`).
pub(crate) fn converted<'a, E, S, R>(records: S) -> BoxStream<'a, Result<E::Record, Error>>
where
    E: BulkEndpoint,
    S: Stream<Item = R> + Send + 'a,
    R: TryInto<E::Record>,
    R::Error: std::fmt::Display + 'static,
{
    records
        .enumerate()
        .map(|(index, record)| convert::<E, R>(index, record))
        .boxed()
}

/// Record `index` converted to the endpoint's type, or an `InvalidInput` naming it.
pub(crate) fn convert<E, R>(index: usize, record: R) -> Result<E::Record, Error>
where
    E: BulkEndpoint,
    R: TryInto<E::Record>,
    R::Error: std::fmt::Display + 'static,
{
    record.try_into().map_err(|error| {
        ConversionError::at_path(crate::FieldPath::record_of(E::ARRAY_FIELD, index), error).into()
    })
}

/// An import, configured with its builder methods, then awaited (for a [`BulkReport`]) or
/// [streamed](Self::stream).
#[must_use = "an import does nothing until awaited or streamed"]
pub struct BulkImport<'a, E: BulkEndpoint> {
    client: &'a Client,
    /// The records, converted; one that could not be built is an `InvalidInput` naming it.
    source: BoxStream<'a, Result<E::Record, Error>>,
    max_in_flight: usize,
    task_deadline: Duration,
    key_namespace: String,
    on_progress: Option<ProgressCallback<'a>>,
    journal: Option<PathBuf>,
    observer: Option<Arc<dyn RequestObserver>>,
    lanes: Lanes,
    stop: super::stop::StopHandle,
    expected_records: Option<usize>,
    /// Every record of the source was checked (carried as [`Checked`](super::Checked)): neither
    /// the planner nor the request hook checks it again.
    records_checked: bool,
}

impl<'a, E: BulkEndpoint> BulkImport<'a, E> {
    pub(crate) fn new<S, R>(client: &'a Client, records: S) -> Self
    where
        S: Stream<Item = R> + Send + 'a,
        R: TryInto<E::Record>,
        R::Error: std::fmt::Display + 'static,
    {
        Self::of(client, converted::<E, _, _>(records), false)
    }

    /// An import of records checked already: each is taken as it is, except one checked less
    /// strictly than `client` checks, which is checked here.
    pub(crate) fn new_checked<S>(client: &'a Client, records: S) -> Self
    where
        S: Stream<Item = super::Checked<E>> + Send + 'a,
    {
        let mut validator = super::RecordValidator::<E>::for_client(client);
        let source = records
            .enumerate()
            .map(move |(index, checked)| validator.take_checked(index, checked))
            .boxed();
        Self::of(client, source, true)
    }

    /// The import of `source`, with the default settings.
    fn of(
        client: &'a Client,
        source: BoxStream<'a, Result<E::Record, Error>>,
        records_checked: bool,
    ) -> Self {
        Self {
            client,
            source,
            max_in_flight: 5,
            task_deadline: Duration::from_secs(30 * 60),
            key_namespace: String::new(),
            stop: super::stop::StopHandle::default(),
            on_progress: None,
            journal: None,
            observer: None,
            lanes: Lanes::default(),
            expected_records: None,
            records_checked,
        }
    }

    /// Whether the records come checked (the sync's, checked when it compared them with its
    /// state).
    #[cfg(feature = "sync")]
    pub(crate) fn records_checked(mut self, checked: bool) -> Self {
        self.records_checked = checked;
        self
    }

    /// At most this many tasks unfinished at once (default 5, the API's limit per site; lower
    /// it when other programs import into the same site).
    pub fn max_in_flight(mut self, tasks: usize) -> Self {
        self.max_in_flight = tasks.max(1);
        self
    }

    /// How long one task may run (from when it is first seen `IN_PROGRESS`: the time it waits
    /// its turn behind others does not count, up to `max_in_flight + 1` times this in all), and
    /// how long to keep resubmitting a refused request (default 30 min).
    pub fn task_deadline(mut self, deadline: Duration) -> Self {
        self.task_deadline = deadline;
        self
    }

    /// Mixed into every request's idempotency key: give each logical import its own (e.g. a
    /// sync run id) when the same records may legitimately be sent again later. Default: none,
    /// so rerunning an import resubmits each request under the key it had.
    pub fn idempotency_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.key_namespace = namespace.into();
        self
    }

    /// How many records a streamed input will yield, when the caller knows (a file whose rows it
    /// counted): the progress then counts against it ([`BulkProgress::total_records`]), and so
    /// does [`BulkProgress::estimated_time_left`], from the first report instead of once the input
    /// is read to its end. A hint only: more records read so far count instead, and once the
    /// input ends, the records it held.
    pub fn expected_records(mut self, records: usize) -> Self {
        self.expected_records = Some(records);
        self
    }

    /// Called whenever a request is accepted or a task ends.
    pub fn on_progress(mut self, callback: impl Fn(&BulkProgress) + Send + Sync + 'a) -> Self {
        self.on_progress = Some(Arc::new(callback));
        self
    }

    /// Records the import in `path` (created if missing), one line per event flushed to disk as
    /// it happens: each request planned with its key, submitted with its task id, ended with its
    /// status and failures. Run again with the same input and the same journal, the import
    /// resumes: a request whose task ended is not sent again (its outcome is read back), a task
    /// that was started is polled by its id, and only the rest is sent, so the report is the one
    /// an uninterrupted run would have given.
    ///
    /// A journal of another endpoint, namespace or input is refused with [`Error::Journal`]
    /// before anything of its requests is sent; a last line cut short (the process died while
    /// writing it) is dropped with a warning. It holds keys, task ids, record indexes and the
    /// failures tasks listed: no credential, no record.
    pub fn journal(mut self, path: impl Into<PathBuf>) -> Self {
        self.journal = Some(path.into());
        self
    }

    /// Which calls the records go through (default [`Lanes::Auto`]: bulk tasks, and direct calls
    /// too for detail values while every task slot is taken).
    pub fn lanes(mut self, lanes: Lanes) -> Self {
        self.lanes = lanes;
        self
    }

    /// Tells `observer` of each request before it is sent and of the task it started (the
    /// sync state keeps the requests in flight with it).
    #[cfg_attr(not(feature = "sync"), allow(dead_code))]
    /// Stopped by `stop`, a handle its caller made (a sync's).
    #[cfg(feature = "sync")]
    pub(crate) fn stopped_by(mut self, stop: super::stop::StopHandle) -> Self {
        self.stop = stop;
        self
    }

    #[cfg(feature = "sync")]
    pub(crate) fn observer(mut self, observer: Arc<dyn RequestObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// The import as a stream of results, one per request (or per invalid record) as soon as it
    /// is known, holding in memory only the requests in flight. Records are read from the input
    /// only as requests can be sent. The stream ends after an [`Error::Journal`], the only error
    /// it yields.
    ///
    /// ```no_run
    /// # async fn run(client: atlassian_csm::Client) -> Result<(), atlassian_csm::Error> {
    /// use atlassian_csm::types::BulkManageCustomerProfileOperation as Profile;
    /// use futures::TryStreamExt;
    ///
    /// let rows = (0..1_000_000).map(|i| Profile::upsert().email(format!("c{i}@example.com")));
    /// let mut results = std::pin::pin!(client.import_customer_profiles(rows).stream());
    /// while let Some(result) = results.try_next().await? {
    ///     for (index, outcome) in &result.records {
    ///         if !matches!(outcome, atlassian_csm::RecordOutcome::Succeeded) {
    ///             eprintln!("record {index}: {outcome}");
    ///         }
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn stream(self) -> impl Stream<Item = Result<BulkResult, Error>> + Send + 'a {
        self.run_stream(None)
    }

    /// A handle that stops this import gracefully: no new request is sent, those sent are seen
    /// to their end (see [`StopHandle`](super::stop::StopHandle)).
    pub fn stop_handle(&self) -> super::stop::StopHandle {
        self.stop.clone()
    }

    fn run_stream(
        self,
        known_total: Option<usize>,
    ) -> impl Stream<Item = Result<BulkResult, Error>> + Send + 'a {
        let Self {
            client,
            source,
            max_in_flight,
            task_deadline,
            key_namespace,
            on_progress,
            journal,
            observer,
            lanes,
            stop,
            expected_records,
            records_checked,
        } = self;
        let journal = match &journal {
            Some(path) => match Journal::open(path, E::METHOD_NAME, &key_namespace) {
                Ok(journal) => Some(journal),
                Err(error) => return stream::once(async { Err(error) }).boxed(),
            },
            None => None,
        };
        let settings = Settings {
            operation: E::METHOD_NAME,
            max_in_flight,
            task_deadline,
            key_namespace,
            on_progress,
            known_total,
            expected_records,
            journal,
            observer,
            lanes,
            stop,
            records_checked,
        };
        planner::results::<E>(client, source, settings).boxed()
    }

    async fn report(mut self) -> Result<BulkReport, Error> {
        let client = self.client;
        let records: Vec<E::Record> = self.source.by_ref().try_collect().await?;
        // Every record checked before anything is sent (once: the run takes them as checked).
        if !self.records_checked {
            RecordValidator::<E>::for_client(client).check_all(&records)?;
        }
        let total = records.len();
        let import = BulkImport::<E> {
            source: stream::iter(records.into_iter().map(Ok)).boxed(),
            records_checked: true,
            ..self
        };
        let mut report = BulkReport {
            records: vec![RecordOutcome::Succeeded; total],
            requests: Vec::new(),
            unmatched_failures: Vec::new(),
        };
        let stop = import.stop.clone();
        let mut told = vec![false; total];
        let mut results = std::pin::pin!(import.run_stream(Some(total)));
        while let Some(result) = results.next().await {
            let result = result?;
            for (index, outcome) in result.records {
                told[index] = true;
                report.records[index] = outcome;
            }
            report.unmatched_failures.extend(result.unmatched_failures);
            report.requests.extend(result.request);
        }
        // A record no result named was never read: the import was stopped before it. (A record
        // is reported succeeded only when its task said so.)
        for (outcome, _) in report
            .records
            .iter_mut()
            .zip(&told)
            .filter(|(_, told)| !**told)
        {
            *outcome = if stop.is_stopped() {
                RecordOutcome::NotSubmitted(Arc::new(Error::Stopped))
            } else {
                RecordOutcome::Unconfirmed(Arc::new(Error::Internal(
                    "the import ended without an outcome for this record".into(),
                )))
            };
        }
        report
            .requests
            .sort_by_key(|request| request.records.first().copied());
        Ok(report)
    }
}

impl<'a, E: BulkEndpoint> IntoFuture for BulkImport<'a, E> {
    type Output = Result<BulkReport, Error>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send + 'a>>;

    /// Checks every record first (an invalid one fails the whole import, and nothing is sent),
    /// then runs the import and reports every record's outcome in input order.
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.report())
    }
}
