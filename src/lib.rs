//! A typed client for the Atlassian Jira Service Management **Customer Service Management (CSM)
//! REST API**: customers, organizations, products, entitlements, detail fields and the bulk
//! endpoints.
//!
//! Every operation of the API is a method on [`Client`], generated at build time from the
//! vendored OpenAPI document (with its known defects corrected). Optional parameters are set on a
//! builder, and `send()` makes the call:
//!
//! ```no_run
//! use atlassian_csm::{Client, Credentials};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::builder()
//!     .cloud_id("a436116f-02ce-4520-8fbb-7301462a1674")
//!     .credentials(Credentials::basic("admin@example.com", "api-token"))
//!     .build()?;
//! let products = client.get_products().limit(50).send().await?;
//! for product in &products.results {
//!     println!("{} {}", product.id, product.name);
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Bodies and bulk records are built with builders whose setters take plain values, lists of
//! values and nested builders; an operation record has one constructor per operation and takes
//! its payload's setters. A mistake is refused before anything is sent, as
//! [`Error::InvalidInput`] naming the field (and the record): an invalid value, an enum value the
//! API does not list, or (when a request type is deserialized) a field it does not know.
//!
//! ```no_run
//! use atlassian_csm::types::BulkManageCustomerProfileOperation as Profile;
//!
//! # async fn run(client: atlassian_csm::Client) -> Result<(), atlassian_csm::Error> {
//! let report = client
//!     .import_customer_profiles([
//!         Profile::upsert().email("ada@example.com").display_name("Ada").detail("Plan", ["Pro"]),
//!         Profile::update().email("alan@example.com").detail("Plan", ["Free"]),
//!     ])
//!     .await?;
//! assert!(report.all_succeeded());
//! # Ok(())
//! # }
//! ```
//!
//! Around every generated call the client
//!
//! * adds the headers a caller never writes: `X-ExperimentalApi: opt-in` on every operation the
//!   spec marks experimental, and an `Idempotency-Key` (a fresh UUID v4) on every bulk call that
//!   was not given one with `.idempotency_key(…)`, the same on every retry;
//! * authenticates with [`Credentials`], renewing OAuth tokens through a [`TokenSource`];
//! * retries as its [`RetryPolicy`] says, honouring `Retry-After`, within per-attempt and
//!   per-call timeouts, in a `csm.call` tracing span;
//! * returns one [`Error`] type to match on.
//!
//! Bulk calls start tasks: [`Client::wait_for_task`] polls one until it ends, and every bulk
//! builder has `send_and_wait()`. For imports of any size, the [`bulk`] helpers
//! (`client.import_customer_profiles(records)`…) split, submit, throttle, wait and report per
//! record. Paginated operations are also streams: [`Client::products`],
//! [`Client::search_customers`].
//!
//! # Builders
//!
//! Two kinds, in two modules: [`builder`] holds what the client's methods return, one per
//! operation (`client.get_products()` is a `builder::GetProducts`); [`types::builder`] holds the
//! builders of bodies and bulk records, which `types::X::builder()` (or an operation record's
//! constructor) returns as `types::builder::XBuilder`:
//!
//! ```
//! use atlassian_csm::types::{self, builder::BulkManageCustomerProfileOperationBuilder};
//!
//! fn profile(email: &str) -> BulkManageCustomerProfileOperationBuilder {
//!     types::BulkManageCustomerProfileOperation::upsert().email(email)
//! }
//! let record = types::BulkManageCustomerProfileOperation::try_from(profile("ada@example.com"));
//! assert!(record.is_ok());
//! ```
//!
//! # Testing against the fake
//!
//! `atlassian-csm-mock` is a fake of the API to test a program against: demo data, bulk tasks,
//! the documented limits and rate limits, faults, and a live site's pace on request. See
//! [`Client`] for a test that starts one; `csm mock` serves it on a port.
//!
//! # Features
//!
//! | feature | what it adds |
//! | --- | --- |
//! | `rustls` (default) | TLS through rustls on *ring*, certificates checked by the platform's verifier |
//! | `rustls-aws-lc` | rustls on *aws-lc-rs* instead |
//! | `native-tls` | the platform's TLS library instead |
//! | `sync` | [`sync`]: imports that send only what changed since the last run, their state in an SQLite file |
//! | `postgres` | the sync state in PostgreSQL, shared by workers on several machines (implies `sync`) |
//! | `metrics` | OpenTelemetry metrics of every call and import (below) |
//!
//! # Metrics
//!
//! With the `metrics` feature, every client records OpenTelemetry metrics through the global
//! meter provider (or the meter given to `ClientBuilder::meter`); the application picks the
//! exporter. The HTTP client semantic conventions name each attempt's duration; the API's own are
//! `csm.*`. Labels are the operation id (`csm.operation`) and the site (`csm.site`: the cloud id,
//! or the host of another base URL), never a path or a record.
//!
//! | metric | kind | labels besides `csm.operation` and `csm.site` |
//! | --- | --- | --- |
//! | `http.client.request.duration` (s) | histogram, a point per attempt | `http.request.method`, `http.response.status_code` (or `error.type`: `timeout`, `connect`, `transport`), `server.address`, `server.port` |
//! | `csm.client.attempts` | counter | |
//! | `csm.client.retries` | counter | `csm.retry.reason`: `rate_limited`, `server_error`, `timeout`, `connection`, `token_renewed` |
//! | `csm.client.rate_limited` | counter of 429 answers | |
//! | `csm.client.rate_limit.remaining` | gauge: the least an answer's rate-limit headers said is left | (`csm.site` only) |
//! | `csm.task.wait.duration` (s) | histogram: a bulk request's send to its task seen ended | `csm.task.status` |
//! | `csm.import.records` | counter | `csm.outcome`: `succeeded`, `failed`, `task_ended`, `not_submitted`, `unconfirmed` |
//! | `csm.import.tasks.in_flight` | up-down counter: tasks started, not seen ended | |
//! | `csm.import.tasks.waiting` | up-down counter: tasks the site has not started | |
//!
//! A 429 an import handles itself (it pauses every submission) is counted in
//! `csm.client.rate_limited`, not among the client's retries.

#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod attempt_log;
mod auth;
mod body;
pub mod bulk;
mod call;
mod client_builder;
mod config;
mod discovery;
mod error;
mod field_path;
pub mod formats;
mod generated;
mod headers;
mod hooks;
mod input;
mod lenient;
mod limits;
mod metrics;
mod oauth;
mod open_enum;
mod pagination;
mod path;
mod query;
mod rate_limit;
mod retry;
mod retry_policy;
mod server_text;
#[cfg(feature = "sync")]
#[cfg_attr(docsrs, doc(cfg(feature = "sync")))]
pub mod sync;
/// Imports that send only what changed since the last run, keeping what the site confirmed in a
/// state (an SQLite file, or PostgreSQL with the `postgres` feature).
///
/// **This build has no `sync` feature, so this module is empty.** Turn it on
/// (`cargo add atlassian-csm --features sync`, or `cargo doc --features sync` to read its
/// documentation here); docs.rs shows the crate with it.
#[cfg(not(feature = "sync"))]
pub mod sync {}
mod tasks;
mod tls;
mod transport;

pub use auth::{Credentials, Secret, TokenFuture, TokenSource};
pub use bulk::{BulkImport, BulkProgress, BulkReport, BulkRequest, RecordOutcome, SitePace};
pub use client_builder::ClientBuilder;
pub use config::ClientConfig;
pub use error::{Attempts, Error};
pub use field_path::{FieldPath, PathSegment};
pub use generated::{builder, types, Client, ResponseValue};
pub use oauth::{OAuthTokenSource, RefreshedTokens};
pub use open_enum::UnknownValue;
pub use rate_limit::{QuotaLeft, QuotaPolicy, RateLimit, RateLimitExt};
pub use retry_policy::RetryPolicy;
pub use tasks::{PollPolicy, TaskOutcome, TaskWaiter};

/// The HTTP client this crate is built on, to pass a configured one to
/// [`ClientBuilder::http_client`] without guessing its version.
pub use reqwest;
