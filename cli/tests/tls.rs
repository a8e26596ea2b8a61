//! `csm` over TLS: it reaches a loopback HTTPS server whose certificate the authority in
//! `SSL_CERT_FILE` signed, and refuses one nothing trusts without sending it a request. (The
//! client's own TLS test, with each feature, is `tests/tls/` at the workspace root.)
#![cfg(target_os = "linux")]

mod support;

use atlassian_csm_tls_tests::{fixture, TlsServer};
use support::*;

#[tokio::test(flavor = "multi_thread")]
async fn csm_trusts_the_platforms_roots_and_only_them() {
    let dir = scratch();
    let trusted = TlsServer::start("localhost.pem").await;
    let stranger = TlsServer::start("stranger.pem").await;
    let get_products = |server: &TlsServer| {
        let mut command = csm_at(&dir, &server.url("localhost"));
        command
            .env("SSL_CERT_FILE", fixture("ca.pem"))
            .env_remove("SSL_CERT_DIR")
            .args(["get-products", "--limit", "1"]);
        command
    };

    let output = run(get_products(&trusted)).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output).trim(), r#"{"results":[]}"#);
    assert_eq!(trusted.requests(), ["GET /api/v1/product?limit=1"]);

    let output = run(get_products(&stranger)).await;
    assert_ne!(output.status.code(), Some(0));
    assert!(
        stderr(&output).contains("UnknownIssuer"),
        "the reason is said: {}",
        stderr(&output)
    );
    assert!(stranger.requests().is_empty());
}
