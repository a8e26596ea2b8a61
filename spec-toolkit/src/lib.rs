//! The one reader of the OpenAPI document `atlassian-csm` is generated from, shared by everything
//! that reads it: the client's build script (code generation), the fake's and the command line's
//! build scripts (their operation tables), `cargo xtask` (refresh, drift, pins) and the tests.
//!
//! - [`spec_file`]: the vendored document, its normalization and the corrections applied to it;
//! - [`rules`]: what every operation of the API follows, applied after the corrections;
//! - [`openapi`]: one walk of a document's operations, parameters and local `$ref`s, and the one
//!   operation-name conversion (`get-products` → `get_products`);
//! - [`pins`]: the generator versions the build script was written against;
//! - [`coverage`]: which operations the contract tests cover.
//!
//! Its API serves those build scripts and tools; it follows the client's version exactly.

pub mod coverage;
pub mod openapi;
pub mod patch;
pub mod pins;
pub mod rules;
pub mod spec_file;
