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
//!     println!("{} {}", product.id, *product.name);
//! }
//! # Ok(())
//! # }
//! ```
//!
//! The client adds the headers a caller never writes: `X-ExperimentalApi: opt-in` on every
//! operation the spec marks experimental, and an `Idempotency-Key` (a fresh UUID v4) on every bulk
//! call that was not given one with `.idempotency_key(…)`.

#![warn(missing_docs)]

mod auth;
mod client_builder;
mod config;
mod error;
mod generated;
mod hooks;

pub use auth::{Credentials, Secret};
pub use client_builder::{ClientBuilder, CLOUD_BASE_URL, DEFAULT_USER_AGENT};
pub use config::ClientConfig;
pub use error::Error;
pub use generated::{
    builder, operation_rules, prelude, types, ByteStream, Client, OperationRules, ResponseValue,
    OPERATIONS,
};
pub use hooks::{new_idempotency_key, EXPERIMENTAL_HEADER, IDEMPOTENCY_KEY_HEADER};
/// The error a generated call returns: the transport failure, or the API's answer with its
/// decoded [`types::RestError`].
pub type ApiError = progenitor_client::Error<types::RestError>;
pub use progenitor_client;
