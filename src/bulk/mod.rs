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
//! packing (`plan`), checks (`validate`), the journal and the request observer, the endpoints,
//! the `Client` methods (`client`), and what the import knows of the site (`site/`: its budget,
//! task slots, queue, polling and pace).

mod checked;
mod client;
mod endpoints;
mod import;
mod journal;
mod lanes;
pub(crate) mod observer;
mod pipeline;
mod plan;
mod planner;
mod progress;
mod report;
mod run;
mod site;
mod stop;
mod validate;

pub use checked::Checked;
pub use endpoints::{
    BulkEndpoint, CustomerAccounts, CustomerDetailFields, CustomerDetails, CustomerProfiles,
    DirectFuture, OrganizationDetailFields, OrganizationDetails, OrganizationProfiles,
    Organizations, SubmitFuture,
};
pub use import::BulkImport;
pub use lanes::Lanes;
pub use plan::requests_for;
pub use report::{BulkProgress, BulkReport, BulkRequest, BulkResult, RecordOutcome};
pub(crate) use site::pace::PaceMemory;
pub use site::SitePace;
pub use stop::StopHandle;
pub use validate::RecordValidator;

#[cfg(feature = "sync")]
pub(crate) use client::per_endpoint;
#[cfg(feature = "sync")]
pub(crate) use import::convert;
#[cfg(feature = "sync")]
pub(crate) use report::outcomes;
#[cfg(feature = "sync")]
pub(crate) use site::budget::is_task_limit;
