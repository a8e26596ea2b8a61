//! The state backends the sync suite runs on: each scenario written once runs on an SQLite
//! file and on PostgreSQL ([`on_both_backends!`]).
//!
//! The PostgreSQL server is the one `CSM_TEST_POSTGRES_URL` names (`bash
//! scripts/with-postgres.sh cargo test --workspace` starts a throwaway one; `.ci/run` does). Each
//! state is a schema of its own in it, dropped when the test ends. Without the variable the
//! PostgreSQL runs are skipped, said on standard error, unless `CSM_REQUIRE_POSTGRES` is set
//! (CI sets it): then they fail.

use std::cell::Cell;
use std::path::{Path, PathBuf};

thread_local! {
    static POSTGRES: Cell<bool> = const { Cell::new(false) };
}

/// Runs this test's states on PostgreSQL; `false` when there is no server to run them on (the
/// test then ends at once).
pub fn use_postgres() -> bool {
    match std::env::var("CSM_TEST_POSTGRES_URL") {
        Ok(_) => {
            POSTGRES.with(|p| p.set(true));
            true
        }
        Err(_) if std::env::var_os("CSM_REQUIRE_POSTGRES").is_some() => {
            panic!("CSM_REQUIRE_POSTGRES is set and CSM_TEST_POSTGRES_URL is not")
        }
        Err(_) => {
            eprintln!(
                "skipped on PostgreSQL: no server (bash scripts/with-postgres.sh cargo test)"
            );
            false
        }
    }
}

/// Whether this test's states are on PostgreSQL.
pub fn on_postgres() -> bool {
    POSTGRES.with(Cell::get)
}

/// Runs `work` with a connection to the test server, on a thread of its own (the blocking
/// client cannot run on the test's async thread).
pub fn with_server<T: Send>(work: impl FnOnce(&mut postgres::Client) -> T + Send) -> T {
    let url = std::env::var("CSM_TEST_POSTGRES_URL").expect("a server");
    std::thread::scope(|scope| {
        scope
            .spawn(move || {
                let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
                work(&mut client)
            })
            .join()
            .unwrap()
    })
}

/// A new schema for one state, and the URL that uses it.
pub fn new_postgres_state() -> (String, PathBuf) {
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    with_server(|client| {
        client
            .batch_execute(&format!("CREATE SCHEMA {schema}"))
            .unwrap()
    });
    let base = std::env::var("CSM_TEST_POSTGRES_URL").unwrap();
    let separator = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{separator}options=-csearch_path%3D{schema}");
    (schema, PathBuf::from(url))
}

/// Drops a state's schema and all it holds.
pub fn drop_postgres_state(schema: &str) {
    with_server(|client| {
        client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
            .unwrap()
    });
}

/// The schema a state URL uses.
pub fn schema_of(state: &Path) -> Option<String> {
    let text = state.to_str()?;
    let (_, schema) = text.split_once("search_path%3D")?;
    Some(schema.split('&').next()?.to_string())
}

/// Runs one scenario on each backend: `NAME::sqlite` and `NAME::postgres`.
#[macro_export]
macro_rules! on_both_backends {
    ($(#[$meta:meta])* async fn $name:ident() $body:block) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test]
            async fn sqlite() $body

            #[tokio::test]
            async fn postgres() {
                if !$crate::support::backend::use_postgres() {
                    return;
                }
                $body
            }
        }
    };
}
