//! The document the client and the generated commands come from, as the build script copied it:
//! read once, by the CSV columns' mapping and by the commands' help.

use serde_json::Value;
use std::sync::OnceLock;

include!(concat!(env!("OUT_DIR"), "/operations.rs"));

/// The operation the client's method `method` calls (`get_products`), from the build script's
/// table.
pub fn operation(method: &str) -> Option<&'static Value> {
    let (_, pointer) = OPERATIONS.iter().find(|(name, _)| *name == method)?;
    document().pointer(pointer)
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
