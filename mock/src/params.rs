//! Query and header parameters checked as the document declares them, like bodies: a value is
//! read as its schema's type (`page=abc` is no integer, `limit=null` neither) and checked against
//! the schema (an empty `Idempotency-Key` is invalid: `400`); a required query parameter that is
//! missing is `400`, a required header that is missing `412`, as the document's narrative says.

use crate::reply::{error, invalid, Reply};
use crate::routes::{Operation, Param};
use axum::http::{HeaderMap, Uri};
use serde_json::Value;
use std::collections::HashMap;

/// The query of `uri` decoded, each name once (the first value wins), checked against the
/// operation's query parameters. Names the operation does not declare are ignored, as services do.
pub(crate) fn query(operation: &Operation, uri: &Uri) -> Result<HashMap<String, String>, Reply> {
    let mut query = HashMap::new();
    for pair in uri.query().unwrap_or_default().split('&') {
        if pair.is_empty() {
            continue;
        }
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let (Some(name), Some(value)) = (decode(name), decode(value)) else {
            return Err(error(400, "The query string is not UTF-8"));
        };
        query.entry(name).or_insert(value);
    }
    let mut problems = Vec::new();
    for param in operation.params.iter().filter(|p| p.location == "query") {
        match query.get(param.name) {
            None if param.required => problems.push(format!(
                "query parameter {}: required, and missing",
                param.name
            )),
            None => {}
            Some(text) => problems.extend(check(param, text)),
        }
    }
    if problems.is_empty() {
        Ok(query)
    } else {
        Err(invalid(&problems))
    }
}

/// Checks the header parameters of the operation that the request carries. A missing required
/// one is left to the caller (the fake's `412`s say which header).
pub(crate) fn headers(operation: &Operation, headers: &HeaderMap) -> Result<(), Reply> {
    let mut problems = Vec::new();
    for param in operation.params.iter().filter(|p| p.location == "header") {
        for value in headers.get_all(param.name) {
            match value.to_str() {
                Ok(text) => problems.extend(check(param, text)),
                Err(_) => problems.push(format!("header {}: not visible ASCII", param.name)),
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(invalid(&problems))
    }
}

/// Every way `text` breaks the parameter's schema, once read as the schema's type.
fn check(param: &Param, text: &str) -> Vec<String> {
    let schema: Value = serde_json::from_str(param.schema).unwrap_or(Value::Null);
    let what = format!("{} parameter {}", param.location, param.name);
    let value = match schema["type"].as_str() {
        Some("integer") => match text.parse::<i64>() {
            Ok(n) => Value::from(n),
            // An integer beyond 64 bits is still one (the schema sets no bound); it is checked
            // as the nearest float, which JSON Schema counts as an integer too.
            Err(_) if is_whole_number(text) => Value::from(text.parse::<f64>().unwrap_or(0.0)),
            Err(_) => return vec![format!("{what}: {text:?} is not an integer")],
        },
        Some("number") => match text.parse::<f64>() {
            Ok(n) if n.is_finite() => Value::from(n),
            _ => return vec![format!("{what}: {text:?} is not a number")],
        },
        Some("boolean") => match text {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return vec![format!("{what}: {text:?} is not true or false")],
        },
        _ => Value::String(text.to_string()),
    };
    crate::validate::value_problems(param.schema, &value)
        .into_iter()
        .map(|problem| format!("{what}: {problem}"))
        .collect()
}

/// Digits, with a sign perhaps.
fn is_whole_number(text: &str) -> bool {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// `+` as a space and `%XX` decoded, as forms encode a query; `None` when it is not UTF-8.
fn decode(text: &str) -> Option<String> {
    crate::routes::percent_decode(&text.replace('+', " "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn operation(id: &str) -> &'static Operation {
        crate::routes::OPERATIONS
            .iter()
            .find(|op| op.id == id)
            .unwrap()
    }

    #[test]
    fn query_values_are_read_as_their_type() {
        let search = operation("search-by-detail-field");
        let uri = |q: &str| {
            format!("/api/v1/customer/search?{q}")
                .parse::<Uri>()
                .unwrap()
        };
        assert_eq!(
            query(search, &uri("page=2&maxResults=50")).unwrap()["page"],
            "2"
        );
        for bad in ["page=abc", "maxResults=null", "page=1.5", "page="] {
            let (status, body) = query(search, &uri(bad)).unwrap_err();
            assert_eq!(status, 400, "{bad}");
            assert_eq!(body["errors"][0], "BAD_REQUEST");
        }
        assert!(query(search, &uri("unknown=x")).is_ok());
        assert!(query(search, &uri("page=123456789012345678901234567890")).is_ok());
        assert!(
            query(search, &uri("maxResults=-3")).is_ok(),
            "no bound is documented"
        );
        let products = operation("get-products");
        let (status, _) = query(products, &uri("limit=null")).unwrap_err();
        assert_eq!(status, 400);
        let set_value = operation("update-field-value-for-customer");
        let (_, body) = query(set_value, &uri("")).unwrap_err();
        assert!(body["errorMessage"].as_str().unwrap().contains("fieldName"));
        assert_eq!(
            query(set_value, &uri("fieldName=Phone+Number%21")).unwrap()["fieldName"],
            "Phone Number!"
        );
    }

    #[test]
    fn an_empty_or_overlong_idempotency_key_is_invalid() {
        let bulk = operation("bulk-create-customer-accounts");
        let mut map = HeaderMap::new();
        assert!(headers(bulk, &map).is_ok(), "missing is the caller's 412");
        map.insert("idempotency-key", "".parse().unwrap());
        assert_eq!(headers(bulk, &map).unwrap_err().0, 400);
        map.insert("idempotency-key", "k".repeat(101).parse().unwrap());
        assert_eq!(headers(bulk, &map).unwrap_err().0, 400);
        map.insert("idempotency-key", "k".repeat(100).parse().unwrap());
        assert!(headers(bulk, &map).is_ok());
    }
}
