//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod mock_api;
pub mod scripted_server;
pub mod spec;
