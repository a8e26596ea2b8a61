//! One command per operation, generated at build time (see `build.rs`).
#![allow(
    clippy::all,
    unused_imports,
    unused_mut,
    unused_variables,
    missing_docs,
    dead_code
)]

include!(concat!(env!("OUT_DIR"), "/commands.rs"));
