//! The client generated from `spec/` at build time (see `build/main.rs`). Never edited by hand.

#![allow(
    missing_docs,
    dead_code,
    clippy::all,
    clippy::pedantic,
    rustdoc::bare_urls
)]

include!(concat!(env!("OUT_DIR"), "/csm_client.rs"));
