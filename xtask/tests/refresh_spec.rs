//! `cargo xtask refresh-spec`, `spec-diff` and `check-spec`, run as a maintainer would, against a
//! copy of the workspace's spec/ and a local server standing in for the upstream host.

use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const WORKSPACE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// A server on loopback that answers every request with `status` and `body`.
fn serve(status: u16, body: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/cloud/api.v3.json",
        listener.local_addr().unwrap()
    );
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut buffer = [0u8; 8192];
            let _ = stream.read(&mut buffer);
            let head = format!(
                "HTTP/1.1 {status} Status\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(body.as_bytes());
        }
    });
    url
}

/// A scratch workspace holding a copy of spec/ (document and corrections).
fn scratch_workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("spec");
    std::fs::create_dir_all(spec.join("corrections")).unwrap();
    std::fs::copy(
        Path::new(WORKSPACE).join("spec/csm.openapi.json"),
        spec.join("csm.openapi.json"),
    )
    .unwrap();
    for entry in std::fs::read_dir(Path::new(WORKSPACE).join("spec/corrections")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(
            &path,
            spec.join("corrections").join(path.file_name().unwrap()),
        )
        .unwrap();
    }
    let contracts = dir.path().join("tests/integration/contract");
    std::fs::create_dir_all(&contracts).unwrap();
    for entry in std::fs::read_dir(Path::new(WORKSPACE).join("tests/integration/contract")).unwrap()
    {
        let path = entry.unwrap().path();
        std::fs::copy(&path, contracts.join(path.file_name().unwrap())).unwrap();
    }
    dir
}

fn spec_path(root: &Path) -> PathBuf {
    root.join("spec/csm.openapi.json")
}

fn vendored() -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(Path::new(WORKSPACE).join("spec/csm.openapi.json")).unwrap(),
    )
    .unwrap()
}

/// The document as upstream publishes it: compact, with a raw newline inside a string.
fn published(doc: &Value) -> String {
    doc.to_string().replacen("\\n", "\n", 1)
}

fn xtask(root: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .args(["--root", root.to_str().unwrap()])
        .output()
        .unwrap()
}

fn stdout_json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not a JSON report ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// Upstream with an operation added, a field removed and an enum value added.
fn changed_upstream() -> Value {
    let mut doc = vendored();
    doc["paths"]["/api/v1/customer/{customerId}/comment"] = json!({
        "post": {"operationId": "add-customer-comment",
            "parameters": [{"name": "customerId", "in": "path", "required": true, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "Added."}}}
    });
    doc["components"]["schemas"]["CustomerAccount"]["properties"]
        .as_object_mut()
        .unwrap()
        .remove("email");
    doc["components"]["schemas"]["TaskStatusResponse"]["properties"]["status"]["enum"]
        .as_array_mut()
        .unwrap()
        .push(json!("PAUSED"));
    doc
}

#[test]
fn a_refresh_writes_the_normalized_document_and_reports_exactly_what_changed() {
    let workspace = scratch_workspace();
    let upstream = changed_upstream();
    let url = serve(200, published(&upstream));

    let output = xtask(
        workspace.path(),
        &["refresh-spec", "--url", &url, "--format", "json"],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let mut expected = serde_json::to_string_pretty(&upstream).unwrap();
    expected.push('\n');
    assert_eq!(
        std::fs::read_to_string(spec_path(workspace.path())).unwrap(),
        expected
    );
    assert_eq!(
        std::fs::read_to_string(workspace.path().join("spec/upstream/api.v3.json")).unwrap(),
        published(&upstream),
        "the published bytes are kept as they came"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("add_customer_comment: cargo xtask contract-test add_customer_comment"),
        "the missing contract test and the command that writes it are named: {stderr}"
    );

    let report = stdout_json(&output);
    assert_eq!(
        report["operations_added"],
        json!(["POST /api/v1/customer/{customerId}/comment (add-customer-comment)"])
    );
    assert_eq!(report["operations_removed"], json!([]));
    assert_eq!(report["operations_changed"], json!([]));
    assert_eq!(report["schemas_added"], json!([]));
    assert_eq!(report["schemas_removed"], json!([]));
    assert_eq!(
        report["schemas_changed"],
        json!([
            {"name": "CustomerAccount", "changes": [
                {"detail": "CustomerAccount.email: property removed", "breaking": true}
            ]},
            {"name": "TaskStatusResponse", "changes": [
                {"detail": "TaskStatusResponse.status: enum value \"PAUSED\" added", "breaking": false}
            ]}
        ])
    );
    assert_eq!(report["breaking"], 1);
}

#[test]
fn the_same_input_gives_the_same_bytes_and_no_changes() {
    let workspace = scratch_workspace();
    let before = std::fs::read(spec_path(workspace.path())).unwrap();
    let url = serve(200, published(&vendored()));
    let output = xtask(workspace.path(), &["refresh-spec", "--url", &url]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(std::fs::read(spec_path(workspace.path())).unwrap(), before);
    assert_eq!(String::from_utf8_lossy(&output.stdout), "No changes.\n");
}

#[test]
fn a_stale_correction_is_named_and_nothing_is_written() {
    let workspace = scratch_workspace();
    let before = std::fs::read(spec_path(workspace.path())).unwrap();
    // Upstream fixed PaginatedProducts: correction 02 no longer applies.
    let mut upstream = vendored();
    upstream["components"]["schemas"]["PaginatedProducts"]["required"] = json!(["results"]);
    let url = serve(200, published(&upstream));

    let output = xtask(workspace.path(), &["refresh-spec", "--url", &url]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("02-paginated-products-required"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("01-task-status-required"),
        "only the stale one: {stderr}"
    );
    assert_eq!(std::fs::read(spec_path(workspace.path())).unwrap(), before);

    let allowed = xtask(
        workspace.path(),
        &["refresh-spec", "--url", &url, "--allow-stale-corrections"],
    );
    assert!(allowed.status.success());
    assert_ne!(std::fs::read(spec_path(workspace.path())).unwrap(), before);
}

#[test]
fn a_server_error_or_invalid_json_leaves_spec_untouched() {
    for (status, body) in [
        (500, "Internal Server Error".to_string()),
        (200, "<html>not a spec</html>".to_string()),
        (200, "{\"openapi\": \"3.0.0\", \"paths\": {".to_string()),
        (200, "{\"swagger\": \"2.0\"}".to_string()),
    ] {
        let workspace = scratch_workspace();
        let before = std::fs::read(spec_path(workspace.path())).unwrap();
        let url = serve(status, body.clone());
        let output = xtask(workspace.path(), &["refresh-spec", "--url", &url]);
        assert!(!output.status.success(), "{status} {body}");
        assert_eq!(
            std::fs::read(spec_path(workspace.path())).unwrap(),
            before,
            "{body}"
        );
        let entries = std::fs::read_dir(workspace.path().join("spec"))
            .unwrap()
            .count();
        assert_eq!(entries, 2, "no temporary file is left behind");
    }
}

#[test]
fn spec_diff_gives_the_same_report_for_any_two_documents() {
    let workspace = scratch_workspace();
    let new = workspace.path().join("new.json");
    let mut upstream = changed_upstream();
    upstream["components"]["schemas"]["PaginatedProducts"]["required"] = json!(["results"]);
    std::fs::write(&new, published(&upstream)).unwrap();
    let old = spec_path(workspace.path());
    let output = xtask(
        workspace.path(),
        &[
            "spec-diff",
            old.to_str().unwrap(),
            new.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    assert!(output.status.success());
    let report = stdout_json(&output);
    assert_eq!(report["operations_added"].as_array().unwrap().len(), 1);
    let changed: Vec<&str> = report["schemas_changed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        changed,
        ["CustomerAccount", "PaginatedProducts", "TaskStatusResponse"]
    );
}

#[test]
fn check_spec_accepts_the_vendored_spec_and_refuses_an_unnormalized_one() {
    let workspace = scratch_workspace();
    let output = xtask(workspace.path(), &["check-spec", "--skip-build"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("every correction applies"));

    std::fs::write(spec_path(workspace.path()), vendored().to_string()).unwrap();
    let output = xtask(workspace.path(), &["check-spec", "--skip-build"]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("not normalized"));
}

#[test]
fn contract_test_writes_a_first_test_for_an_operation_without_one() {
    let workspace = scratch_workspace();
    let url = serve(200, published(&changed_upstream()));
    assert!(xtask(workspace.path(), &["refresh-spec", "--url", &url])
        .status
        .success());
    let output = xtask(workspace.path(), &["contract-test", "add-customer-comment"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let pending = std::fs::read_to_string(
        workspace
            .path()
            .join("tests/integration/contract/pending.rs"),
    )
    .unwrap();
    assert!(
        pending.contains("contract!(\n    add_customer_comment,"),
        "{pending}"
    );
    assert!(
        pending.contains("Expected::post(\"/api/v1/customer/customerId-1/comment\")"),
        "{pending}"
    );
    let again = xtask(workspace.path(), &["contract-test", "add-customer-comment"]);
    assert!(
        !again.status.success(),
        "a second test for the same operation is refused"
    );
}
