//! One request the fake matched and checked, as its handlers read it.

use serde_json::Value;
use std::collections::HashMap;
use std::time::Instant;

/// One request, matched and checked.
pub(crate) struct Call<'a> {
    pub operation: &'static str,
    pub params: &'a HashMap<&'static str, String>,
    pub query: &'a HashMap<String, String>,
    pub body: Value,
    pub now: Instant,
}

impl Call<'_> {
    pub(crate) fn param(&self, name: &str) -> &str {
        self.params.get(name).map_or("", String::as_str)
    }

    pub(crate) fn text(&self, field: &str) -> Option<String> {
        self.body[field].as_str().map(str::to_string)
    }

    pub(crate) fn strings(&self, pointer: &str) -> Vec<String> {
        strings(self.body.pointer(pointer).unwrap_or(&Value::Null))
    }
}

pub(crate) fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect()
}

/// A query parameter read as a number, if it is one.
pub(crate) fn query_number(query: &HashMap<String, String>, name: &str) -> Option<i64> {
    query.get(name).and_then(|v| v.parse().ok())
}
