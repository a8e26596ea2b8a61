//! An in-memory stand-in for the CSM API on loopback: enough of it to run the quickstart (and
//! benchmarks) without an Atlassian site. It checks the headers the real API requires, keeps
//! customers and products, runs bulk tasks that finish after a set time, and refuses a task
//! beyond the per-tenant limit of unfinished tasks, as the real API does.

#![allow(dead_code)]

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How the mock behaves.
#[derive(Clone, Debug)]
pub struct MockConfig {
    /// How long a bulk submit takes to answer.
    pub submit_delay: Duration,
    /// How long after its submit a task finishes.
    pub task_duration: Duration,
    /// Unfinished tasks allowed at once; one more is refused with 400.
    pub max_unfinished_tasks: usize,
}

impl Default for MockConfig {
    fn default() -> Self {
        Self {
            submit_delay: Duration::ZERO,
            task_duration: Duration::from_millis(800),
            max_unfinished_tasks: 5,
        }
    }
}

struct Task {
    id: String,
    kind: &'static str,
    submitted: Instant,
    failures: Vec<Value>,
}

/// The bulk endpoints the mock serves, with the task type each starts and its array field.
const BULK_ENDPOINTS: [(&str, &str, &str); 7] = [
    (
        "/api/v1/customer/profile/bulk",
        "BULK_CUSTOMER_PROFILE_CREATE_UPDATE",
        "customerProfiles",
    ),
    (
        "/api/v1/customer/bulk",
        "BULK_CUSTOMER_ACCOUNT_CREATE_UPDATE",
        "customerAccounts",
    ),
    (
        "/api/v1/customer/details/bulk",
        "BULK_CUSTOMER_DETAIL",
        "customers",
    ),
    (
        "/api/v1/customer/details/definitions/bulk",
        "BULK_CUSTOMER_DETAIL",
        "detailFields",
    ),
    (
        "/api/v1/organization/bulk",
        "BULK_ORGANIZATION_CREATE_UPDATE",
        "organizations",
    ),
    (
        "/api/v1/organization/profile/bulk",
        "BULK_ORGANIZATION_PROFILE_CREATE_UPDATE",
        "organizationProfiles",
    ),
    (
        "/api/v1/organization/details/bulk",
        "BULK_ORGANIZATION_DETAIL",
        "organizations",
    ),
];

/// A record whose JSON contains this marker fails in its task, named by its first identifier.
pub const FAIL_MARKER: &str = "+fail";

#[derive(Default)]
struct State {
    detail_fields: Vec<Value>,
    customers: BTreeMap<String, Value>,
    products: Vec<Value>,
    tasks: HashMap<String, Task>,
    tasks_by_key: HashMap<String, String>,
    submits_accepted: usize,
    submits_refused: usize,
    polls: usize,
    requests: usize,
    records_accepted: usize,
    most_unfinished: usize,
}

/// The running mock; it stops when dropped.
pub struct MockCsm {
    pub base_url: String,
    state: Arc<Mutex<State>>,
    server: tokio::task::JoinHandle<()>,
}

/// Counters of what the mock served.
#[derive(Clone, Copy, Debug)]
pub struct MockStats {
    /// Bulk submits that started a task (a resubmit under a known key is not counted again).
    pub submits_accepted: usize,
    /// Bulk submits refused because too many tasks were unfinished.
    pub submits_refused: usize,
    /// Task status polls.
    pub polls: usize,
    /// Every request received.
    pub requests: usize,
    /// Records carried by accepted submits.
    pub records_accepted: usize,
    /// The most tasks that were unfinished at once.
    pub most_unfinished: usize,
}

impl MockCsm {
    /// Starts the mock on a free loopback port, with a few products.
    pub async fn start(config: MockConfig) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let state = Arc::new(Mutex::new(State::default()));
        {
            let mut state = state.lock().unwrap();
            for name in [
                "Acme Widget",
                "Acme Gadget",
                "Acme Gizmo",
                "Acme Doohickey",
                "Acme Sprocket",
            ] {
                let id = uuid::Uuid::new_v4().to_string();
                state.products.push(json!({"id": id, "name": name}));
            }
        }
        let shared = state.clone();
        let config = Arc::new(config);
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = shared.clone();
                let config = config.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        handle(state.clone(), config.clone(), request)
                    });
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(io, service)
                        .await;
                });
            }
        });
        Ok(Self {
            base_url,
            state,
            server,
        })
    }

    /// What the mock served so far.
    pub fn stats(&self) -> MockStats {
        let state = self.state.lock().unwrap();
        MockStats {
            submits_accepted: state.submits_accepted,
            submits_refused: state.submits_refused,
            polls: state.polls,
            requests: state.requests,
            records_accepted: state.records_accepted,
            most_unfinished: state.most_unfinished,
        }
    }

    /// How many customers the mock holds.
    pub fn customer_count(&self) -> usize {
        self.state.lock().unwrap().customers.len()
    }
}

impl Drop for MockCsm {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn reply(status: StatusCode, body: Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("a valid response")
}

fn rest_error(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    reply(
        status,
        json!({"errorMessage": message, "errors": [], "statusCode": status.as_u16()}),
    )
}

async fn handle(
    state: Arc<Mutex<State>>,
    config: Arc<MockConfig>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    state.lock().unwrap().requests += 1;
    if header("authorization").is_none() {
        return Ok(rest_error(StatusCode::UNAUTHORIZED, "Unauthorized"));
    }
    let path = parts.uri.path().to_string();
    let query: HashMap<String, String> = parts
        .uri
        .query()
        .map(|q| {
            q.split('&')
                .filter_map(|pair| pair.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .unwrap_or_default();
    let experimental = header("x-experimentalapi") == Some("opt-in");
    let key = header("idempotency-key").map(str::to_string);

    let response = match (&parts.method, path.as_str()) {
        (&Method::POST, "/api/v1/customer/details") => {
            let mut state = state.lock().unwrap();
            let name = body["name"].as_str().unwrap_or_default().to_lowercase();
            if state
                .detail_fields
                .iter()
                .any(|f| f["name"].as_str().map(str::to_lowercase) == Some(name.clone()))
            {
                rest_error(
                    StatusCode::BAD_REQUEST,
                    "A detail field with this name already exists",
                )
            } else {
                state.detail_fields.push(body.clone());
                reply(StatusCode::OK, body)
            }
        }
        (&Method::POST, bulk_path) if BULK_ENDPOINTS.iter().any(|(p, _, _)| *p == bulk_path) => {
            let (_, kind, array) = BULK_ENDPOINTS
                .iter()
                .find(|(p, _, _)| *p == bulk_path)
                .unwrap();
            // The definitions endpoint is the one bulk endpoint not marked experimental.
            let definitions = bulk_path.ends_with("/definitions/bulk");
            if !experimental && !definitions {
                return Ok(rest_error(
                    StatusCode::PRECONDITION_FAILED,
                    "X-ExperimentalApi: opt-in is required",
                ));
            }
            let Some(key) = key else {
                return Ok(rest_error(
                    StatusCode::PRECONDITION_FAILED,
                    "Idempotency-Key is required",
                ));
            };
            // A task is submitted when its request arrives; the answer takes `submit_delay`.
            let received = Instant::now();
            tokio::time::sleep(config.submit_delay).await;
            submit(
                &mut state.lock().unwrap(),
                received,
                &config,
                key,
                kind,
                &body[*array],
            )
        }
        (&Method::GET, task_path) if task_path.starts_with("/api/v1/tasks/") => {
            let mut state = state.lock().unwrap();
            state.polls += 1;
            let id = task_path.trim_start_matches("/api/v1/tasks/");
            match state.tasks.get(id) {
                None => rest_error(StatusCode::NOT_FOUND, "Task not found"),
                Some(task) => reply(StatusCode::OK, task_status(task, &config)),
            }
        }
        (&Method::POST, "/api/v1/customer/search-by-detail-field") => {
            let state = state.lock().unwrap();
            search(&state, &body, &query)
        }
        (&Method::POST, "/api/v1/customer/profile/fetch") => {
            let state = state.lock().unwrap();
            let wanted: Vec<&str> = body["customerIds"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let profiles: Vec<&Value> = state
                .customers
                .values()
                .filter(|c| wanted.contains(&c["customerId"].as_str().unwrap_or_default()))
                .collect();
            reply(StatusCode::OK, json!({"profiles": profiles}))
        }
        (&Method::GET, "/api/v1/product") => {
            let state = state.lock().unwrap();
            let start: usize = query
                .get("cursor")
                .and_then(|c| c.parse().ok())
                .unwrap_or(0);
            let limit: usize = query
                .get("limit")
                .and_then(|l| l.parse().ok())
                .unwrap_or(50);
            let end = (start + limit).min(state.products.len());
            let mut page = json!({"results": state.products[start.min(end)..end]});
            if end < state.products.len() {
                page["nextPageCursor"] = json!(end.to_string());
            }
            reply(StatusCode::OK, page)
        }
        _ => rest_error(StatusCode::NOT_FOUND, "No such resource in the mock"),
    };
    Ok(response)
}

fn submit(
    state: &mut State,
    received: Instant,
    config: &MockConfig,
    key: String,
    kind: &'static str,
    records: &Value,
) -> Response<Full<Bytes>> {
    if let Some(id) = state.tasks_by_key.get(&key) {
        return reply(
            StatusCode::ACCEPTED,
            json!({"id": id, "statusUrl": format!("/api/v1/tasks/{id}")}),
        );
    }
    let unfinished = state
        .tasks
        .values()
        .filter(|task| task.submitted.elapsed() < config.task_duration)
        .count();
    if unfinished >= config.max_unfinished_tasks {
        state.submits_refused += 1;
        return rest_error(StatusCode::BAD_REQUEST, "Maximum number of tasks reached");
    }
    let records = records.as_array().cloned().unwrap_or_default();
    let mut failures = Vec::new();
    for record in &records {
        if record.to_string().contains(FAIL_MARKER) {
            failures.push(failure_for(record));
        }
        if kind == "BULK_CUSTOMER_PROFILE_CREATE_UPDATE" {
            upsert_customer(state, &record["payload"]);
        }
    }
    let id = uuid::Uuid::new_v4().to_string();
    state.tasks.insert(
        id.clone(),
        Task {
            id: id.clone(),
            kind,
            submitted: received,
            failures,
        },
    );
    state.tasks_by_key.insert(key, id.clone());
    state.submits_accepted += 1;
    state.records_accepted += records.len();
    state.most_unfinished = state.most_unfinished.max(unfinished + 1);
    reply(
        StatusCode::ACCEPTED,
        json!({"id": id, "statusUrl": format!("/api/v1/tasks/{id}")}),
    )
}

/// The failure a task reports for a record, named as the real API names records.
fn failure_for(record: &Value) -> Value {
    let payload = if record["payload"].is_object() {
        &record["payload"]
    } else {
        record
    };
    let entity_id = ["email", "customerId", "id", "name"]
        .iter()
        .find_map(|field| payload[*field].as_str())
        .unwrap_or_default();
    json!({
        "entity": "CUSTOMER",
        "entityId": entity_id,
        "operation": record["operationType"].as_str().unwrap_or("UPDATE"),
        "operatedOn": "CUSTOMER_ACCOUNT",
        "operatedOnIds": [],
        "error": "The mock was asked to fail this record"
    })
}

fn upsert_customer(state: &mut State, payload: &Value) {
    let Some(email) = payload["email"].as_str() else {
        return;
    };
    let customer_id = state
        .customers
        .get(email)
        .and_then(|c| c["customerId"].as_str().map(str::to_string))
        .unwrap_or_else(|| format!("qm:{}:{}", uuid::Uuid::new_v4(), uuid::Uuid::new_v4()));
    let details: Vec<Value> = payload["details"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| json!({"name": d["name"], "value": {"type": "TEXT", "text": d["values"]}}))
        .collect();
    state.customers.insert(
        email.to_string(),
        json!({"customerId": customer_id, "displayName": payload["displayName"].as_str().unwrap_or(email), "email": email, "details": details}),
    );
}

fn task_status(task: &Task, config: &MockConfig) -> Value {
    let elapsed = task.submitted.elapsed();
    let status = if elapsed >= config.task_duration {
        "FINISHED"
    } else if elapsed >= config.task_duration / 4 {
        "IN_PROGRESS"
    } else {
        "NOT_STARTED"
    };
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let failures = if status == "FINISHED" {
        task.failures.clone()
    } else {
        Vec::new()
    };
    json!({"id": task.id, "type": task.kind, "status": status, "failures": failures, "createdAt": now, "updatedAt": now})
}

fn search(state: &State, body: &Value, query: &HashMap<String, String>) -> Response<Full<Bytes>> {
    let wanted: Vec<(String, String)> = body["detailFields"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            (
                f["name"].as_str().unwrap_or_default().to_string(),
                f["value"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let matches: Vec<Value> = state
        .customers
        .values()
        .filter(|customer| {
            wanted.iter().all(|(name, value)| {
                customer["details"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|d| {
                        d["name"] == name.as_str()
                            && d["value"]["text"]
                                .as_array()
                                .is_some_and(|t| t.iter().any(|v| v == value.as_str()))
                    })
            })
        })
        .map(|c| json!({"id": c["customerId"], "name": c["displayName"], "email": c["email"]}))
        .collect();
    let page: usize = query
        .get("page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1)
        .max(1);
    let max_results: usize = query
        .get("maxResults")
        .and_then(|m| m.parse().ok())
        .unwrap_or(50)
        .max(1);
    let start = ((page - 1) * max_results).min(matches.len());
    let end = (start + max_results).min(matches.len());
    reply(
        StatusCode::OK,
        json!({"page": page, "maxResults": max_results, "total": matches.len(), "isLast": end == matches.len(), "customers": matches[start..end]}),
    )
}
