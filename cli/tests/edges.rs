//! `csm` at its edges: a hostile server's words, several fakes, a loopback base URL, definitions
//! refused before anything is sent, and a host that cannot be reached.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Stdio};
use support::*;

/// A server on loopback answering each request (its method, and how many came before it) with
/// what `reply` says: a status and a JSON body.
fn serving(reply: impl Fn(&str, usize) -> (u16, String) + Send + 'static) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for (count, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { continue };
            let mut request = [0u8; 8192];
            let read = stream.read(&mut request).unwrap_or(0);
            let head = String::from_utf8_lossy(&request[..read]);
            let method = head.split(' ').next().unwrap_or_default().to_string();
            let (status, body) = reply(&method, count);
            let _ = write!(
                stream,
                "HTTP/1.1 {status} Answer\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://{address}")
}

/// A server answering every request with `status` and `body`.
fn answering(status: u16, body: String) -> String {
    serving(move |_, _| (status, body.clone()))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_servers_words_reach_the_terminal_escaped_and_without_the_token() {
    let dir = scratch();
    let token = "the-users-real-token-123";
    // The error body rewrites the window title, clears the screen, fakes a line of its own
    // and echoes the Authorization header back.
    let message =
        format!("bad\u{1b}]0;owned\u{7}\u{1b}[2J\r\ncsm: all done\nAuthorization: Bearer {token}");
    let body = serde_json::json!({"errorMessage": message, "errors": ["BAD_REQUEST"]}).to_string();
    let base_url = answering(400, body);
    let mut command = csm(&dir);
    command
        .arg("get-products")
        .env("CSM_BASE_URL", &base_url)
        .env("CSM_ACCESS_TOKEN", token);
    let output = run(command).await;
    assert_eq!(output.status.code(), Some(4), "{}", stderr(&output));
    let printed = stderr(&output);
    assert!(
        !printed.contains('\u{1b}') && !printed.contains('\u{7}') && !printed.contains('\r'),
        "{printed:?}"
    );
    assert!(printed.contains(r"\u{1b}]0;owned"), "{printed}");
    assert!(!printed.contains(token), "{printed}");
    assert!(printed.contains("<redacted>"), "{printed}");
    // One line: the server's line break is shown, not obeyed.
    assert_eq!(printed.trim_end().lines().count(), 1, "{printed}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_huge_error_message_is_printed_cut() {
    let dir = scratch();
    let body = serde_json::json!({"errorMessage": "x".repeat(2_000_000)}).to_string();
    let base_url = answering(400, body);
    let mut command = csm(&dir);
    command.arg("get-products").env("CSM_BASE_URL", &base_url);
    let output = run(command).await;
    assert_eq!(output.status.code(), Some(4));
    let printed = stderr(&output);
    assert!(printed.len() < 10_000, "{} bytes printed", printed.len());
    assert!(
        printed.contains("cut: the server's text was 2000000 bytes"),
        "{printed}"
    );
}

/// Starts `csm mock` on any port; returns it and the address it printed.
async fn start_mock(dir: &std::path::Path) -> (Child, String) {
    let mut command = csm(dir);
    command.args(["mock", "--port", "0"]).stdout(Stdio::piped());
    let mut mock = command.spawn().unwrap();
    let stdout = mock.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        line
    })
    .await
    .unwrap();
    let base_url = line
        .trim()
        .strip_prefix("fake CSM API at ")
        .unwrap()
        .to_string();
    (mock, base_url)
}

fn stop(mut mock: Child) {
    let pid = mock.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    mock.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn two_fakes_keep_their_own_markers() {
    let dir = scratch();
    let (first, first_url) = start_mock(&dir).await;
    let (second, second_url) = start_mock(&dir).await;
    let get_products = || {
        let mut command = csm(&dir);
        command.arg("get-products");
        run(command)
    };
    let output = get_products().await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stderr(&output).contains(&format!(
            "the newest of the 2 fakes `csm mock` serves, at {second_url}"
        )),
        "{}",
        stderr(&output)
    );

    // The second stops: the first still serves, and is found.
    stop(second);
    let output = get_products().await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stderr(&output).contains(&format!("the fake `csm mock` serves at {first_url}")),
        "{}",
        stderr(&output)
    );
    stop(first);
    assert_eq!(get_products().await.status.code(), Some(3));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fake_named_on_loopback_needs_no_credentials() {
    let (fake, dir) = (demo_fake(50).await, scratch());
    for base_url in [
        fake.base_url().to_string(),
        fake.base_url().replace("127.0.0.1", "localhost"),
    ] {
        let mut command = csm(&dir);
        command.arg("get-products").env("CSM_BASE_URL", &base_url);
        let output = run(command).await;
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        assert!(stdout(&output).contains("Acme Widget"));
    }
    // Any other host still needs them.
    let mut command = csm(&dir);
    command
        .arg("get-products")
        .env("CSM_BASE_URL", "http://192.0.2.1:8790");
    let output = run(command).await;
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert!(stderr(&output).contains("no credentials"));
}

#[tokio::test(flavor = "multi_thread")]
async fn fields_apply_checks_every_definition_before_it_sends_one() {
    let (fake, dir) = (demo_fake(50).await, scratch());
    let file = dir.join("fields.yaml");
    // A reserved name and a forbidden character between fields the site lacks.
    std::fs::write(
        &file,
        "customer:\n  - name: Contract\n    type: TEXT\n  - name: Label\n    type: TEXT\n  - name: Renewal\n    type: TEXT\norganization:\n  - name: Size?\n    type: NUMBER\n",
    )
    .unwrap();
    for dry_run in [false, true] {
        let mut command = csm_at(&dir, fake.base_url());
        command.args(["fields", "apply"]).arg(&file);
        if dry_run {
            command.arg("--dry-run");
        }
        let output = run(command).await;
        let printed = stderr(&output);
        assert_eq!(output.status.code(), Some(3), "{printed}");
        assert!(
            printed.contains("customer definition 2 (\"Label\")"),
            "{printed}"
        );
        assert!(
            printed.contains("organization definition 1 (\"Size?\")"),
            "{printed}"
        );
        assert!(
            printed.contains("2 of 4 definitions are invalid; nothing was sent"),
            "{printed}"
        );
        assert!(!stdout(&output).contains("would be created"));
        assert!(
            fake.requests().is_empty(),
            "nothing was sent, not even a read"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn fields_apply_stopped_half_way_says_what_it_created() {
    let dir = scratch();
    let file = dir.join("fields.yaml");
    std::fs::write(
        &file,
        "customer:\n  - name: Contract\n    type: TEXT\n  - name: Renewal\n    type: TEXT\n  - name: Owner\n    type: TEXT\n",
    )
    .unwrap();
    // A site with no fields, whose second create fails.
    let creates = std::sync::atomic::AtomicUsize::new(0);
    let base_url = serving(move |method, _| match method {
        "GET" => (200, r#"{"results": []}"#.to_string()),
        _ if creates.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 => (
            200,
            r#"{"name": "Contract", "type": {"name": "TEXT"}}"#.to_string(),
        ),
        _ => (500, r#"{"errorMessage": "down"}"#.to_string()),
    });
    let mut command = csm_at(&dir, &base_url);
    command.args(["fields", "apply"]).arg(&file);
    let output = run(command).await;
    let printed = stderr(&output);
    assert_eq!(output.status.code(), Some(5), "{printed}");
    assert!(
        printed.contains(
            "creating customer field Renewal failed; 1 created before it: customer Contract; 1 not sent"
        ),
        "{printed}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_host_that_cannot_be_reached_is_named_once_with_exit_5() {
    let dir = scratch();
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut command = csm(&dir);
    command
        .arg("get-products")
        .env("CSM_BASE_URL", format!("http://127.0.0.1:{port}"));
    let output = run(command).await;
    let printed = stderr(&output);
    assert_eq!(output.status.code(), Some(5), "{printed}");
    assert!(
        printed.contains(&format!("could not reach 127.0.0.1:{port}")),
        "{printed}"
    );
    let cause = "Connection refused";
    assert_eq!(printed.matches(cause).count(), 1, "{printed}");

    // A site whose cloud id cannot be looked up (no such host): not reached, not invalid.
    let mut command = csm(&dir);
    command
        .args(["--site", "no-such-site.invalid", "get-products"])
        .env("CSM_ACCESS_TOKEN", "token");
    let output = run(command).await;
    let printed = stderr(&output);
    assert_eq!(output.status.code(), Some(5), "{printed}");
    assert!(
        printed.contains("could not reach no-such-site.invalid"),
        "{printed}"
    );
}
