//! What a failed call tells: the root cause of a transport error, even when the call timeout ends
//! the retries; the reason of every retry; the attempts on the call's span.

use crate::support::logs::run_logged;
use crate::support::scripted_server::{Reply, ScriptedServer};
use atlassian_csm::{Client, Error, RetryPolicy};
use std::time::Duration;

/// A loopback address nothing listens on: connecting is refused at once.
fn refused_base_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

fn client(base_url: &str, call_timeout: Duration, policy: RetryPolicy) -> Client {
    crate::support::client_builder(base_url)
        .call_timeout(call_timeout)
        .retry_policy(policy)
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_refused_connection_names_its_cause_even_when_the_call_timeout_ends_the_retries() {
    // Backoff of up to 10 s: the 300 ms call timeout always comes during a wait.
    let policy = RetryPolicy::default().base_delay(Duration::from_secs(10));
    let client = client(&refused_base_url(), Duration::from_millis(300), policy);
    let error = client
        .get_product()
        .product_id("p-1")
        .send()
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Transport { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.to_lowercase().contains("connection refused"),
        "the root cause is in Display: {message}"
    );
}

#[tokio::test]
async fn a_refused_connection_without_retries_names_its_cause() {
    let client = client(
        &refused_base_url(),
        Duration::from_secs(5),
        RetryPolicy::never(),
    );
    let error = client.get_products().send().await.unwrap_err();
    assert!(matches!(error, Error::Transport { .. }), "{error:?}");
    assert!(
        error
            .to_string()
            .to_lowercase()
            .contains("connection refused"),
        "{error}"
    );
}

#[test]
fn every_retry_names_its_reason_and_the_span_records_the_attempts_once() {
    let ((), log) = run_logged(async {
        let server = ScriptedServer::start(vec![
            Reply::status(503),
            Reply::status(502),
            Reply::json(200, serde_json::json!({"results": []})),
        ])
        .await;
        let policy = RetryPolicy::default().base_delay(Duration::from_millis(1));
        let client = client(&server.base_url, Duration::from_secs(5), policy);
        client.get_products().send().await.unwrap();
    });
    let retries: Vec<&str> = log.lines().filter(|l| l.contains("retrying")).collect();
    assert_eq!(retries.len(), 2, "{log}");
    assert!(retries[0].contains("reason=status 503"), "{}", retries[0]);
    assert!(retries[1].contains("reason=status 502"), "{}", retries[1]);
    let closed: Vec<&str> = log.lines().filter(|l| l.contains("close")).collect();
    assert_eq!(closed.len(), 1, "{log}");
    assert_eq!(closed[0].matches("attempts=").count(), 1, "{}", closed[0]);
    assert!(closed[0].contains("attempts=3"), "{}", closed[0]);
}

#[test]
fn a_retried_connection_failure_names_its_kind() {
    let (_, log) = run_logged(async {
        let policy = RetryPolicy::default()
            .max_attempts(2)
            .base_delay(Duration::from_millis(1));
        let client = client(&refused_base_url(), Duration::from_secs(5), policy);
        client.get_products().send().await
    });
    let retry = log.lines().find(|l| l.contains("retrying")).expect("{log}");
    assert!(retry.contains("reason=connect error"), "{retry}");
}

/// The error that ends a call after its attempts says what was tried: how many attempts, over
/// how long; a single attempt says nothing of it.
#[tokio::test]
async fn an_error_after_retries_names_the_attempts_and_the_time_they_took() {
    let policy = || {
        RetryPolicy::default()
            .max_attempts(3)
            .base_delay(Duration::from_millis(20))
    };
    let tried = |error: &Error| error.attempts().expect("a call that made attempts");

    // No answer: a refused connection.
    let refused = client(&refused_base_url(), Duration::from_secs(30), policy());
    let error = refused.get_products().send().await.unwrap_err();
    assert!(matches!(error, Error::Transport { .. }), "{error:?}");
    assert_eq!(tried(&error).count, 3);
    let message = error.to_string();
    let seconds = format!("{:.1} s", tried(&error).elapsed.as_secs_f64());
    assert!(
        message.contains(&format!("after 3 attempts over {seconds}: ")),
        "{message}"
    );

    // An error status, and a rate limit, to the end of the retries.
    for (reply, rate_limited) in [
        (Reply::status(503), false),
        (Reply::status(429).with_header("retry-after", "0"), true),
    ] {
        let server = ScriptedServer::start(vec![reply]).await;
        let error = client(&server.base_url, Duration::from_secs(30), policy())
            .get_products()
            .send()
            .await
            .unwrap_err();
        assert_eq!(matches!(error, Error::RateLimited { .. }), rate_limited);
        assert_eq!(tried(&error).count, 3, "{error:?}");
        assert_eq!(server.requests().len(), 3);
        assert!(
            error.to_string().contains("after 3 attempts over "),
            "{error}"
        );
    }

    // The call timeout, which ends the retries: the attempts are said beside it.
    let server = ScriptedServer::start(vec![Reply::status(503)]).await;
    let unbounded = RetryPolicy::default()
        .max_attempts(1000)
        .base_delay(Duration::from_millis(5))
        .max_delay(Duration::from_millis(5));
    let error = client(&server.base_url, Duration::from_millis(300), unbounded)
        .get_products()
        .send()
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Timeout { .. }), "{error:?}");
    let count = tried(&error).count;
    assert!(
        count > 1 && count as usize == server.requests().len(),
        "{error:?}"
    );
    assert!(
        error.to_string().ends_with(&format!(
            "timed out after 300ms ({count} attempts over {:.1} s)",
            tried(&error).elapsed.as_secs_f64()
        )),
        "{error}"
    );

    // One attempt: nothing to say.
    let once = client(
        &refused_base_url(),
        Duration::from_secs(5),
        RetryPolicy::never(),
    );
    let error = once.get_products().send().await.unwrap_err();
    assert_eq!(tried(&error).count, 1);
    assert!(!error.to_string().contains("attempt"), "{error}");
}
