//! Bulk imports of any size through the eight bulk endpoints.
//!
//! An import reads its records as it goes (from any iterator, or any `Stream` with
//! [`Client::import_stream`](crate::Client::import_stream)), checks each before it joins a
//! request ([`RecordValidator`]; an invalid record is its own outcome and never holds up the
//! others), packs them into the fewest requests the endpoint's limits allow, keeps at most
//! `max_in_flight` tasks unfinished at once, waits for every task, and reports every record's
//! outcome: all at once when awaited ([`BulkReport`]), or request by request from
//! [`BulkImport::stream`], holding only the requests in flight in memory.
//!
//! The site's budget is shared: a 429 (with its `Retry-After`) or a refused sixth unfinished task
//! ("Maximum number of tasks reached": back-pressure, the same request is resubmitted under the
//! same key) pauses every submission of the import, not only the one that was told.
//!
//! With a [journal](BulkImport::journal), an import that was killed resumes where it was: requests
//! whose task ended are not sent again, tasks that were started are polled by their id, and only
//! the rest is sent.
//!
//! One file per job: [`report`](BulkReport) types, the builder (`import`), the run loop (`run`),
//! the task-time estimate (`estimate`), packing (`plan`), checks (`validate`), the shared budget,
//! the journal, the endpoints, and the `Client` methods (`client`).

mod budget;
mod client;
mod endpoints;
mod estimate;
mod import;
mod journal;
mod lanes;
pub(crate) mod observer;
mod pace;
mod pipeline;
mod plan;
mod planner;
mod progress;
mod queue;
mod report;
mod run;
mod site_slots;
mod stop;
mod validate;

pub use endpoints::{
    BulkEndpoint, CustomerAccounts, CustomerDetailFields, CustomerDetails, CustomerProfiles,
    DirectFuture, OrganizationDetailFields, OrganizationDetails, OrganizationProfiles,
    Organizations, SubmitFuture,
};
pub use import::BulkImport;
pub use lanes::Lanes;
pub(crate) use pace::PaceMemory;
pub use pace::SitePace;
pub use plan::requests_for;
pub use report::{BulkProgress, BulkReport, BulkRequest, BulkResult, RecordOutcome};
pub use stop::StopHandle;
pub use validate::RecordValidator;

#[cfg(feature = "sync")]
pub(crate) use budget::is_task_limit;
#[cfg(feature = "sync")]
pub(crate) use import::convert;
#[cfg(feature = "sync")]
pub(crate) use report::outcomes;
