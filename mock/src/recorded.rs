//! What the fake keeps of each request it received, for tests to read.

use serde_json::Value;
use std::time::Instant;

/// One request as the fake received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedRequest {
    /// `GET`, `POST`…
    pub method: String,
    /// The path and query exactly as sent (still percent-encoded).
    pub path: String,
    /// The document's id of the operation the request is for (`get-products`), when one serves
    /// its method and path.
    pub operation: Option<String>,
    /// Header names lower case, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// The status the fake answered with (a cut connection counts as its `200`).
    pub status: u16,
    /// When it arrived.
    pub received_at: Instant,
}

impl RecordedRequest {
    /// The first value of header `name` (case ignored).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON, if it is.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }
}
