//! What the fake answers with: a status and a JSON body, and the API's error body (`RestError`)
//! as a live site sends it: `errors` holds error keys (`BAD_REQUEST`, `NOT_FOUND`…), not messages,
//! e.g. `{"errorMessage": "Maximum number of tasks reached", "errors": ["BAD_REQUEST"],
//! "statusCode": 400}`.

use serde_json::{json, Value};

/// A status and a JSON body (`Null`: no body).
pub(crate) type Reply = (u16, Value);

/// Problems quoted in one error message, at most.
const MAX_PROBLEMS_QUOTED: usize = 10;

/// The error key a live site sends with `status`.
pub(crate) fn error_key(status: u16) -> &'static str {
    match status {
        400 => "BAD_REQUEST",
        401 => "UNAUTHORIZED",
        403 => "FORBIDDEN",
        404 => "NOT_FOUND",
        405 => "METHOD_NOT_ALLOWED",
        409 => "CONFLICT",
        412 => "PRECONDITION_FAILED",
        413 => "PAYLOAD_TOO_LARGE",
        429 => "TOO_MANY_REQUESTS",
        500 => "INTERNAL_SERVER_ERROR",
        501 => "NOT_IMPLEMENTED",
        503 => "SERVICE_UNAVAILABLE",
        _ if status >= 500 => "INTERNAL_SERVER_ERROR",
        _ => "BAD_REQUEST",
    }
}

/// A `RestError` answer.
pub(crate) fn error(status: u16, message: impl Into<String>) -> Reply {
    (
        status,
        json!({"errorMessage": message.into(), "errors": [error_key(status)], "statusCode": status}),
    )
}

/// A `400` for a request that breaks its schema, each problem (`path: why`) in the message.
pub(crate) fn invalid(problems: &[String]) -> Reply {
    let mut message = problems
        .iter()
        .take(MAX_PROBLEMS_QUOTED)
        .cloned()
        .collect::<Vec<_>>()
        .join("; ");
    if problems.len() > MAX_PROBLEMS_QUOTED {
        message.push_str(&format!(
            "; and {} more",
            problems.len() - MAX_PROBLEMS_QUOTED
        ));
    }
    error(400, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_hold_keys_and_the_message_holds_the_problems() {
        let (status, body) = error(400, "Maximum number of tasks reached");
        assert_eq!(status, 400);
        assert_eq!(
            body,
            json!({"errorMessage": "Maximum number of tasks reached", "errors": ["BAD_REQUEST"], "statusCode": 400})
        );
        assert_eq!(error(404, "gone").1["errors"], json!(["NOT_FOUND"]));
        let problems: Vec<String> = (0..12).map(|i| format!("/a/{i}: bad")).collect();
        let (_, body) = invalid(&problems);
        let message = body["errorMessage"].as_str().unwrap();
        assert!(message.starts_with("/a/0: bad; /a/1: bad"), "{message}");
        assert!(message.ends_with("; and 2 more"), "{message}");
    }
}
