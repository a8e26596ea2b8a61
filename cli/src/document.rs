//! The document the client and the generated commands come from, as the build script copied it:
//! read once, by the CSV columns' mapping and by the commands' help.

use serde_json::Value;
use std::sync::OnceLock;

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
