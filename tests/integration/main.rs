//! The integration tests, as one crate so the client and the test support are built and linked
//! once: contract tests per operation, corrections, decoding, faults, auth, tasks, streams, limits
//! and bulk imports.

mod support;

mod auth;
mod bulk;
mod client;
mod contract;
mod corrections;
mod decoding;
mod diagnostics;
mod docs;
mod edges;
mod faults;
mod hostile;
mod limits;
mod long_jobs;
mod metrics;
mod pagination;
mod requests;
mod rules;
mod sites;
mod streaming;
#[cfg(feature = "sync")]
mod sync;
#[cfg(feature = "postgres")]
mod sync_postgres;
#[cfg(feature = "sync")]
mod sync_trust;
mod tasks;
