//! The document the client and the generated commands come from, as the build script copied it:
//! read once, by the CSV columns' mapping and by the commands' help.

use serde_json::Value;
use std::sync::OnceLock;

/// An operation of the document, as the build script's table names it.
pub(crate) struct Operation {
    /// The client's method (`get_products`).
    method: &'static str,
    /// Its id in the document (`get-products`): the command's name.
    id: &'static str,
    /// Where it stands in the document (a JSON pointer).
    pointer: &'static str,
}

// `OPERATIONS`, every operation of the document, in its order.
include!(concat!(env!("OUT_DIR"), "/operations.rs"));

fn by_method(method: &str) -> Option<&'static Operation> {
    OPERATIONS
        .iter()
        .find(|operation| operation.method == method)
}

/// The operation the client's method `method` calls (`get_products`), from the build script's
/// table.
pub fn operation(method: &str) -> Option<&'static Value> {
    document().pointer(by_method(method)?.pointer)
}

/// The command of the client's method `method`: the operation's id in the document
/// (`get-products`).
pub fn command_name(method: &str) -> &'static str {
    by_method(method)
        .map(|operation| operation.id)
        .expect("every client method is in the build script's table")
}

/// The document the client is generated from.
pub fn document() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        serde_json::from_str(include_str!(concat!(
            env!("OUT_DIR"),
            "/csm.generated.json"
        )))
        .expect("the build script copied the document")
    })
}
