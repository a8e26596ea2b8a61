//! A mock CSM API that matches a request only when it is exactly what the API expects.

use atlassian_csm::{Client, Credentials};
use httpmock::{Mock, MockServer};
use serde_json::Value;

/// The `User-Agent` the client sends by default.
const DEFAULT_USER_AGENT: &str = concat!("atlassian-csm/", env!("CARGO_PKG_VERSION"));

/// The bearer token every contract test authenticates with.
pub const TOKEN: &str = "contract-test-token";

/// A UUID v4, lower case, as the client generates idempotency keys.
pub const UUID_V4: &str = "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$";

/// What one request must be, header for header.
#[derive(Clone, Debug)]
pub struct Expected {
    pub method: &'static str,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Option<Value>,
    pub experimental: bool,
    pub idempotency_key: Option<String>,
}

impl Expected {
    fn new(method: &'static str, path: &str) -> Self {
        Self {
            method,
            path: path.to_string(),
            query: Vec::new(),
            body: None,
            experimental: false,
            idempotency_key: None,
        }
    }

    pub fn get(path: &str) -> Self {
        Self::new("GET", path)
    }

    pub fn post(path: &str) -> Self {
        Self::new("POST", path)
    }

    pub fn put(path: &str) -> Self {
        Self::new("PUT", path)
    }

    pub fn delete(path: &str) -> Self {
        Self::new("DELETE", path)
    }

    /// A query parameter that must be present with this value.
    pub fn query(mut self, name: &str, value: &str) -> Self {
        self.query.push((name.to_string(), value.to_string()));
        self
    }

    /// The exact JSON body.
    pub fn json(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    /// The operation is experimental: `X-ExperimentalApi: opt-in` must be sent.
    pub fn experimental(mut self) -> Self {
        self.experimental = true;
        self
    }

    /// The operation is a bulk call: an `Idempotency-Key` matching this regex must be sent.
    pub fn idempotency_key(mut self, regex: &str) -> Self {
        self.idempotency_key = Some(regex.to_string());
        self
    }
}

/// A mock server and a client pointed at it.
pub struct MockApi {
    pub server: MockServer,
    pub client: Client,
}

impl MockApi {
    pub async fn start() -> Self {
        let server = MockServer::start_async().await;
        let client = Client::builder()
            .base_url(server.base_url())
            .credentials(Credentials::bearer(TOKEN))
            .build()
            .expect("a valid configuration");
        Self { server, client }
    }

    /// Answers `status` with `body` to a request that is exactly `expected`; any other request
    /// gets httpmock's 404 and so fails the calling test.
    pub async fn expect(&self, expected: &Expected, status: u16, body: Option<Value>) -> Mock<'_> {
        let expected = expected.clone();
        self.server
            .mock_async(move |when, then| {
                let mut when = when
                    .method(expected.method)
                    .path(expected.path.as_str())
                    .query_param_count(".*", ".*", expected.query.len())
                    .header("authorization", format!("Bearer {TOKEN}"))
                    .header("accept", "application/json")
                    .header("user-agent", DEFAULT_USER_AGENT)
                    .header_missing("api-version");
                for (name, value) in &expected.query {
                    when = when.query_param(name.as_str(), value.as_str());
                }
                when = match &expected.body {
                    Some(body) => when
                        .header("content-type", "application/json")
                        .json_body(body.clone()),
                    // httpmock refuses a body expectation on GET (a GET has none).
                    None if expected.method == "GET" => when.header_missing("content-type"),
                    None => when.header_missing("content-type").body(""),
                };
                when = if expected.experimental {
                    when.header("x-experimentalapi", "opt-in")
                } else {
                    when.header_missing("x-experimentalapi")
                };
                let _ = match &expected.idempotency_key {
                    Some(regex) => when.header_matches("idempotency-key", regex.as_str()),
                    None => when.header_missing("idempotency-key"),
                };
                let then = then.status(status);
                if let Some(body) = body {
                    then.header("content-type", "application/json")
                        .json_body(body);
                }
            })
            .await
    }
}
