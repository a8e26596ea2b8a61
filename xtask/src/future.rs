//! `cargo xtask future-spec`: proof that a document Atlassian could publish next generates a
//! correct client with no hand-written line.
//!
//! The future document is the vendored one plus operations written the way upstream writes its
//! own: an experimental `GET` with no error answer, a bulk `POST` with a required
//! `Idempotency-Key` and `200` only, a `204` with no body, an operation with another header
//! parameter and another error schema, a new enum value and a new tag. A scratch copy of the
//! crate is generated from it (sharing the workspace's target directory, so only the crate itself
//! is compiled), and its tests prove that the new calls send `opt-in` and a key without being
//! told, accept `202`, map every error shape, and that the contract coverage test names the new
//! operations.

use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;

/// The operations the future document adds, as the client names them.
pub const NEW_OPERATIONS: [&str; 4] = [
    "get_customer_experiences",
    "bulk_archive_organizations",
    "revoke_organization_access",
    "list_entitlements",
];

/// The vendored document with the future operations, schemas, enum value and tag added.
pub fn future_document(vendored: &Value) -> Value {
    let mut doc = vendored.clone();
    let experimental_header = json!({"name": "X-ExperimentalApi", "in": "header", "required": true,
        "description": "Opt in to an experimental API.", "schema": {"type": "string"}});
    let rest_error = |description: &str| {
        json!({"description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RestError"}}}})
    };
    let paths = doc["paths"].as_object_mut().expect("a document has paths");
    paths.insert(
        "/api/v1/customer/{customerId}/customer-experiences".into(),
        json!({"get": {
            "tags": ["Customer experience"],
            "operationId": "get-customer-experiences",
            "summary": "Get a customer's experiences",
            "x-experimental": true,
            "parameters": [
                {"name": "customerId", "in": "path", "required": true, "schema": {"type": "string"}},
                experimental_header
            ],
            "responses": {"200": {"description": "OK", "content": {"application/json": {"schema":
                {"$ref": "#/components/schemas/CustomerExperiences"}}}}}
        }}),
    );
    paths.insert(
        "/api/v1/organization/archive/bulk".into(),
        json!({"post": {
            "tags": ["Organization bulk operations"],
            "operationId": "bulk-archive-organizations",
            "summary": "Bulk archive organizations",
            "parameters": [{"name": "Idempotency-Key", "in": "header", "required": true,
                "schema": {"type": "string", "minLength": 1, "maxLength": 100}}],
            "requestBody": {"required": true, "content": {"application/json": {"schema":
                {"$ref": "#/components/schemas/BulkArchiveOrganizationsRequest"}}}},
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {"schema":
                    {"$ref": "#/components/schemas/TaskSubmitResponse"}}}},
                "400": rest_error("Bad request")
            }
        }}),
    );
    paths.insert(
        "/api/v1/helpcenter/{helpCenterId}/access/organization/{organizationId}".into(),
        json!({"delete": {
            "tags": ["Help center access"],
            "operationId": "revoke-organization-access",
            "x-experimental": true,
            "parameters": [
                {"name": "helpCenterId", "in": "path", "required": true, "schema": {"type": "string"}},
                {"name": "organizationId", "in": "path", "required": true, "schema": {"type": "string"}},
                experimental_header
            ],
            "responses": {"204": {"description": "Access revoked"}, "404": rest_error("Not found")}
        }}),
    );
    paths.insert(
        "/api/v1/entitlements".into(),
        json!({"get": {
            "tags": ["Entitlement"],
            "operationId": "list-entitlements",
            "parameters": [
                {"name": "entityType", "in": "query", "required": true, "schema": {"type": "string"}},
                {"name": "X-Request-Source", "in": "header", "required": true, "schema": {"type": "string"}}
            ],
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {"schema":
                    {"$ref": "#/components/schemas/CustomerExperiences"}}}},
                "400": {"description": "Invalid query", "content": {"application/json": {"schema":
                    {"$ref": "#/components/schemas/ValidationProblem"}}}}
            }
        }}),
    );
    let schemas = doc["components"]["schemas"]
        .as_object_mut()
        .expect("a document has schemas");
    schemas.insert(
        "CustomerExperiences".into(),
        json!({"type": "object", "required": ["experiences"], "properties": {"experiences":
            {"type": "array", "items": {"type": "object", "properties":
                {"id": {"type": "string"}, "kind": {"type": "string"}}}}}}),
    );
    schemas.insert(
        "BulkArchiveOrganizationsRequest".into(),
        json!({"type": "object", "required": ["organizations"], "properties": {"organizations":
            {"type": "array", "minItems": 1, "maxItems": 50, "items": {"type": "object",
                "required": ["id"], "properties": {"id": {"type": "string"}}}}}}),
    );
    schemas.insert(
        "ValidationProblem".into(),
        json!({"type": "object", "properties": {"problems": {"type": "array", "items": {"type": "string"}}}}),
    );
    doc["components"]["schemas"]["TaskStatusResponse"]["properties"]["status"]["enum"]
        .as_array_mut()
        .expect("task status is an enum")
        .push(json!("PAUSED"));
    doc["tags"]
        .as_array_mut()
        .expect("a document has tags")
        .push(json!({"name": "Customer experience"}));
    doc
}

/// The library's manifest for a scratch copy: its own workspace, no benches, and a version with
/// `+future` build metadata. The copy shares the workspace's target directory, where a package
/// of the same name and version at the same place in its workspace would share build units
/// (and their fingerprints) with the real crate; the metadata keeps them apart.
fn scratch_manifest(manifest: &str) -> String {
    let mut out = String::new();
    let mut skipping = false;
    let mut section = String::new();
    for line in manifest.lines() {
        if line.starts_with('[') {
            skipping = line == "[[bench]]";
            section = line.to_string();
        }
        if skipping || line.starts_with("members = ") || line.starts_with("resolver = ") {
            continue;
        }
        if section == "[package]" && line.starts_with("version = ") {
            let version = line.trim_start_matches("version = ").trim_matches('"');
            out.push_str(&format!("version = \"{version}+future\"\n"));
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

fn copy_dir(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| format!("cannot create {}: {e}", to.display()))?;
    for entry in
        std::fs::read_dir(from).map_err(|e| format!("cannot read {}: {e}", from.display()))?
    {
        let entry = entry.map_err(|e| e.to_string())?;
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)
                .map_err(|e| format!("cannot copy {}: {e}", entry.path().display()))?;
        }
    }
    Ok(())
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Writes the scratch crate under `scratch` and runs its tests, built in `target` (the
/// workspace's target directory); `Ok(false)` when one fails.
pub fn run(root: &Path, scratch: &Path, target: &Path) -> Result<bool, String> {
    let vendored: Value = serde_json::from_str(&crate::read(
        &root.join(atlassian_csm_spec::spec_file::SPEC_FILE),
    )?)
    .map_err(|e| format!("spec/ is not JSON: {e}"))?;
    let crate_dir = scratch.join("atlassian-csm");
    let _ = std::fs::remove_dir_all(&crate_dir);
    for dir in [
        "build",
        "src",
        "spec/corrections",
        "tests/integration",
        "mock/src",
        "mock/tests",
        "spec-toolkit/src",
    ] {
        copy_dir(&root.join(dir), &crate_dir.join(dir))?;
    }
    for file in [
        // Read by the integration tests' check of the documentation.
        "README.md",
        "mock/Cargo.toml",
        "mock/build.rs",
        "mock/README.md",
        "spec-toolkit/Cargo.toml",
        "spec-toolkit/README.md",
    ] {
        std::fs::copy(root.join(file), crate_dir.join(file))
            .map_err(|e| format!("cannot copy {file}: {e}"))?;
    }
    std::fs::copy(root.join("Cargo.lock"), crate_dir.join("Cargo.lock"))
        .map_err(|e| e.to_string())?;
    write(
        &crate_dir.join("Cargo.toml"),
        &scratch_manifest(&crate::read(&root.join("Cargo.toml"))?),
    )?;
    write(
        &crate_dir.join(atlassian_csm_spec::spec_file::SPEC_FILE),
        &atlassian_csm_spec::spec_file::to_normalized_string(&future_document(&vendored)),
    )?;
    write(
        &crate_dir.join("tests/future_client.rs"),
        &crate::read(&root.join("xtask/future/future_client.rs"))?,
    )?;

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("future-spec: the client generated from the future document, against a mock");
    let status = Command::new(&cargo)
        .args(["test", "--quiet", "--test", "future_client"])
        .current_dir(&crate_dir)
        .env("CARGO_TARGET_DIR", target)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        eprintln!("future-spec: the future client's tests failed");
        return Ok(false);
    }

    eprintln!("future-spec: the contract coverage test must name the new operations");
    let output = Command::new(&cargo)
        .args([
            "test",
            "--quiet",
            "--test",
            "integration",
            "contract::coverage",
        ])
        .current_dir(&crate_dir)
        .env("CARGO_TARGET_DIR", target)
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    let unnamed: Vec<_> = NEW_OPERATIONS
        .iter()
        .filter(|name| !text.contains(*name))
        .collect();
    if output.status.success() || !unnamed.is_empty() {
        eprintln!("{text}");
        eprintln!("future-spec: the coverage test did not fail naming every new operation (missing: {unnamed:?})");
        return Ok(false);
    }
    println!("future-spec: the future client compiles, sends opt-in and keys unasked, accepts 202, maps every error shape; coverage names {NEW_OPERATIONS:?}");
    Ok(true)
}
