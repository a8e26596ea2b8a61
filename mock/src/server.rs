//! The HTTP side: every request is logged, delayed, faulted, matched to its operation, checked
//! (credentials, required headers, body schema) and answered.

use crate::call::Call;
use crate::config::FakeCsmBuilder;
use crate::faults::{Fault, FaultPlan};
use crate::recorded::RecordedRequest;
use crate::reply::{error, Reply};
use crate::routes::{Matched, Operation};
use crate::state::State;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State as Shared_};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// What the server tasks share with [`FakeCsm`](crate::FakeCsm).
pub(crate) struct Shared {
    pub state: Mutex<State>,
    pub faults: Mutex<FaultPlan>,
    pub log: Mutex<Vec<RecordedRequest>>,
    pub limiter: Option<Mutex<crate::limiter::Limiter>>,
    pub config: FakeCsmBuilder,
}

/// Serves until `stop` fires.
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
    stop: tokio::sync::oneshot::Receiver<()>,
) {
    let app = axum::Router::new()
        .fallback(handle)
        .layer(DefaultBodyLimit::max(16 * 1024 * 1024))
        .with_state(shared);
    let _ = axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = stop.await;
        })
        .await;
}

async fn handle(
    Shared_(shared): Shared_<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // A bulk call's task starts when its request arrives; the latencies delay only the answer.
    let arrived = Instant::now();
    // Matched once: the log, the rate limits and the answer all read it.
    let matched = crate::routes::find(method.as_str(), uri.path());
    let mut recorded = RecordedRequest {
        method: method.to_string(),
        path: uri
            .path_and_query()
            .map_or_else(|| uri.path().to_string(), |p| p.to_string()),
        headers: headers
            .iter()
            .map(|(n, v)| {
                let value = String::from_utf8_lossy(v.as_bytes()).into_owned();
                (n.as_str().to_string(), value)
            })
            .collect(),
        operation: matched.as_ref().map(|m| m.operation.id.to_string()),
        body: body.to_vec(),
        status: 0,
        received_at: arrived,
    };
    let config = &shared.config;
    if !config.latency.is_zero() {
        tokio::time::sleep(config.latency).await;
    }
    let fault = shared
        .faults
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .draw(&recorded);
    let operation = matched.as_ref().map(|m| m.operation);
    let decision = operation.and_then(|operation| limit(&shared, operation, &body, arrived));
    let mut response = match (fault, decision.as_ref().and_then(|d| d.refused)) {
        (Some(fault), _) => fault_response(fault),
        (None, Some((reason, _))) => {
            json_response(429, error(429, format!("Rate limit exceeded ({reason})")).1)
        }
        (None, None) => {
            let (status, body) =
                answer(&shared, matched, &method, &uri, &headers, &body, arrived).await;
            json_response(status, body)
        }
    };
    if response.status() == StatusCode::METHOD_NOT_ALLOWED {
        let allowed = crate::routes::methods_for(uri.path()).join(", ");
        if let Ok(value) = allowed.parse() {
            response.headers_mut().insert(header::ALLOW, value);
        }
    }
    for (name, value) in decision.map(|d| d.headers).unwrap_or_default() {
        if let Ok(value) = value.parse() {
            response.headers_mut().insert(name, value);
        }
    }
    recorded.status = response.status().as_u16();
    shared
        .log
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(recorded);
    response
}

/// What the site's rate limits say of a request, when it has any: a request costs 1 point, a
/// bulk one 1 more per record.
fn limit(
    shared: &Shared,
    operation: &Operation,
    body: &[u8],
    arrived: Instant,
) -> Option<crate::limiter::Decision> {
    let limiter = shared.limiter.as_ref()?;
    let records = if operation.idempotency_key {
        serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| {
                v.as_object()?
                    .values()
                    .find_map(Value::as_array)
                    .map(Vec::len)
            })
            .unwrap_or(0)
    } else {
        0
    };
    let mut limiter = limiter.lock().unwrap_or_else(|e| e.into_inner());
    Some(limiter.admit(operation.id, 1 + records as u64, arrived))
}

fn json_response(status: u16, body: Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if body.is_null() {
        return Response::builder()
            .status(status)
            .body(Body::empty())
            .expect("a valid response");
    }
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .expect("a valid response")
}

fn fault_response(fault: Fault) -> Response {
    match fault {
        Fault::RateLimited { retry_after } => {
            let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
            let mut response = json_response(429, error(429, "Rate limit exceeded").1);
            response.headers_mut().insert(
                header::RETRY_AFTER,
                seconds.to_string().parse().expect("digits"),
            );
            response
        }
        Fault::Unavailable => json_response(503, error(503, "Service unavailable").1),
        Fault::ServerError => json_response(500, error(500, "Internal server error").1),
        Fault::Status(status) => {
            let (status, body) = error(status, format!("The fake answered {status} as planned"));
            json_response(status, body)
        }
        Fault::CutConnection => {
            // A body that stops half-way: the connection is closed with the answer unfinished.
            let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
                Ok(Bytes::from_static(b"{\"id\": \"")),
                Err(std::io::Error::other("connection cut by the fake")),
            ];
            Response::builder()
                .status(StatusCode::OK)
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::CONTENT_LENGTH, "64")
                .body(Body::from_stream(futures::stream::iter(chunks)))
                .expect("a valid response")
        }
    }
}

async fn answer(
    shared: &Arc<Shared>,
    matched: Option<Matched>,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    arrived: Instant,
) -> Reply {
    let Some(matched) = matched else {
        let allowed = crate::routes::methods_for(uri.path());
        if !allowed.is_empty() {
            return error(
                405,
                format!(
                    "{method} is not allowed here; allowed: {}",
                    allowed.join(", ")
                ),
            );
        }
        return error(404, format!("No operation serves {method} {}", uri.path()));
    };
    let operation = matched.operation;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if header("authorization").is_none_or(|v| v.trim().is_empty()) {
        return error(401, "Client must be authenticated to access this resource.");
    }
    if operation.experimental && header("x-experimentalapi") != Some("opt-in") {
        return error(
            412,
            "This API is experimental: send the header X-ExperimentalApi: opt-in",
        );
    }
    if let Err(refused) = crate::params::headers(operation, headers) {
        return refused;
    }
    let key = header("idempotency-key").map(str::to_string);
    if operation.idempotency_key && key.is_none() {
        return error(412, "The Idempotency-Key header is required");
    }
    let key = key.unwrap_or_default();
    let query = match crate::params::query(operation, uri) {
        Ok(query) => query,
        Err(refused) => return refused,
    };
    let body = match operation.body {
        None => Value::Null,
        Some(schema) => {
            let Ok(value) = serde_json::from_slice::<Value>(body) else {
                return error(400, "The request body is not JSON");
            };
            let problems = crate::validate::problems(schema, &value);
            if !problems.is_empty() {
                return crate::reply::invalid(&problems);
            }
            value
        }
    };
    if operation.idempotency_key && !shared.config.bulk_latency.is_zero() {
        tokio::time::sleep(shared.config.bulk_latency).await;
    }

    let mut state = shared.state.lock().unwrap_or_else(|e| e.into_inner());
    crate::bulk::settle(&mut state, &shared.config);
    let now = Instant::now();
    if operation.idempotency_key {
        let reply = crate::bulk::submit(
            &mut state,
            &shared.config,
            operation.id,
            &key,
            body,
            arrived,
        );
        if reply.0 == 202 {
            let due = reply.1["id"]
                .as_str()
                .and_then(|id| state.tasks.get(id))
                .map(|task| task.applies_at);
            if let Some(due) = due {
                apply_when_due(shared.clone(), due);
            }
        }
        return reply;
    }
    crate::handlers::handle(
        &mut state,
        Call {
            operation: operation.id,
            params: &matched.params,
            query: &query,
            body,
            now,
        },
    )
}

/// Applies a task's records at `due` (half-way through its run) in the background, as the
/// service does, so that no answer waits for it. (Every request also settles what is due, so
/// nothing depends on this task being scheduled on time.)
fn apply_when_due(shared: Arc<Shared>, due: Instant) {
    tokio::spawn(async move {
        tokio::time::sleep_until(due.into()).await;
        let mut state = shared.state.lock().unwrap_or_else(|e| e.into_inner());
        crate::bulk::settle(&mut state, &shared.config);
    });
}
