//! Maintenance tasks for the workspace: `cargo xtask <command>`.

mod checks;
mod contract_test;
mod drift;
mod future;
mod public_api;

use atlassian_csm_spec::{pins, spec_file};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Where the CSM REST API reference's "OpenAPI" link points.
const UPSTREAM_SPEC_URL: &str =
    "https://dac-static.atlassian.com/cloud/customer-service-management/api.v3.json";

const USAGE: &str = "usage: cargo xtask <command> [options]

commands:
  refresh-spec [--url URL | --file PATH] [--allow-stale-corrections] [--format text|json]
      bring in the upstream CSM OpenAPI document (default: the published one), normalize it
      into spec/, re-apply the corrections and report what changed for users
  spec-diff OLD NEW [--format text|json]
      the same report for any two documents
  spec-diff --corrections [--format text|json]
      what the corrections change in spec/
  check-spec [--skip-build]
      spec/ is normalized, every correction applies, and the client builds
  contract-test OPERATION_ID
      write a first contract test for an operation from its spec examples into
      tests/integration/contract/pending.rs, for review
  future-spec
      generate the client from a future document (new experimental, bulk, 204 and header
      operations, a new enum value and tag) in a scratch crate and run its tests
  check-pins
      the generator crates are pinned exactly, as atlassian-csm-spec's pins say, and locked at that version
  check-msrv
      no locked dependency needs a newer Rust than rust-version, and the README states it
  public-api [--bless]
      the public API (from `cargo doc`'s pages) against api/atlassian-csm.txt; a change fails
      unless CHANGELOG.md's [Unreleased] section names it, and --bless records it then

options for every command:
  --root DIR   the workspace to work on (default: this one)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Parsed command-line options.
struct Options {
    positional: Vec<String>,
    url: Option<String>,
    file: Option<PathBuf>,
    root: PathBuf,
    json: bool,
    allow_stale: bool,
    skip_build: bool,
    bless: bool,
    corrections: bool,
}

fn parse_options(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        positional: Vec::new(),
        url: None,
        file: None,
        root: workspace_root(),
        json: false,
        allow_stale: false,
        skip_build: false,
        bless: false,
        corrections: false,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .cloned()
                .ok_or_else(|| format!("{arg} needs a value\n\n{USAGE}"))
        };
        match arg.as_str() {
            "--url" => options.url = Some(value()?),
            "--file" => options.file = Some(PathBuf::from(value()?)),
            "--root" => options.root = PathBuf::from(value()?),
            "--format" => match value()?.as_str() {
                "json" => options.json = true,
                "text" => options.json = false,
                other => return Err(format!("unknown format {other}: text or json")),
            },
            "--allow-stale-corrections" => options.allow_stale = true,
            "--skip-build" => options.skip_build = true,
            "--corrections" => options.corrections = true,
            "--bless" => options.bless = true,
            flag if flag.starts_with("--") => {
                return Err(format!("unknown option {flag}\n\n{USAGE}"))
            }
            _ => options.positional.push(arg.clone()),
        }
    }
    Ok(options)
}

fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some((command, rest)) = args.split_first() else {
        return Err(USAGE.to_string());
    };
    let options = parse_options(rest)?;
    match command.as_str() {
        "refresh-spec" => refresh_spec(&options),
        "spec-diff" => spec_diff(&options),
        "check-spec" => check_spec(&options),
        "check-pins" => check_pins(&options),
        "future-spec" => future_spec(&options),
        "contract-test" => write_contract_test(&options),
        "check-msrv" => check_msrv(&options),
        "public-api" => public_api(&options),
        _ => Err(USAGE.to_string()),
    }
}

/// The workspace root: the parent of this crate's folder.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives inside the workspace")
        .to_path_buf()
}

/// The workspace's target directory as cargo reports it: `target/` unless `CARGO_TARGET_DIR` or a
/// cargo config moves it.
fn target_dir(root: &Path) -> Result<PathBuf, String> {
    checks::metadata(root)?["target_directory"]
        .as_str()
        .map(PathBuf::from)
        .ok_or_else(|| "cargo metadata names no target directory".to_string())
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn download(url: &str) -> Result<String, String> {
    // reqwest has no provider of its own here; this program has no other TLS to disturb.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let response = reqwest::blocking::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .and_then(|client| client.get(url).send())
        .map_err(|e| format!("cannot download {url}: {e}"))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!(
            "cannot download {url}: the server answered {status}"
        ));
    }
    response
        .text()
        .map_err(|e| format!("cannot download {url}: {e}"))
}

/// Parses a document as the vendored copy is parsed, and checks it is an OpenAPI 3.0 document.
fn parse_document(text: &str, origin: &str) -> Result<Value, String> {
    let value = spec_file::parse_lenient(text).map_err(|e| format!("{origin} is not JSON: {e}"))?;
    let version = value["openapi"].as_str().unwrap_or_default();
    if !version.starts_with("3.0") || !value["paths"].is_object() {
        return Err(format!("{origin} is not an OpenAPI 3.0 document"));
    }
    Ok(value)
}

fn print_report(report: &drift::Report, json: bool) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(report).expect("a report serializes")
        );
    } else {
        print!("{report}");
    }
}

/// Applies the corrections in `root` to `spec`, returning the corrected copy and the stale ones.
fn corrected(
    root: &Path,
    spec: &Value,
) -> Result<(Value, Vec<spec_file::StaleCorrection>), String> {
    let corrections = spec_file::load_corrections(&root.join(spec_file::CORRECTIONS_DIR))?;
    let mut corrected = spec.clone();
    let stale = spec_file::apply_corrections(&mut corrected, &corrections);
    Ok((corrected, stale))
}

fn refresh_spec(options: &Options) -> Result<ExitCode, String> {
    let (text, origin) = match (&options.file, &options.url) {
        (Some(_), Some(_)) => return Err("give --url or --file, not both".into()),
        (Some(file), None) => (read(file)?, file.display().to_string()),
        (None, url) => {
            let url = url.as_deref().unwrap_or(UPSTREAM_SPEC_URL);
            (download(url)?, url.to_string())
        }
    };
    let new = parse_document(&text, &origin)?;
    let target = options.root.join(spec_file::SPEC_FILE);
    let old: Value = match std::fs::read_to_string(&target) {
        Ok(text) => serde_json::from_str(&text)
            .map_err(|e| format!("{} is not JSON: {e}", target.display()))?,
        Err(_) => Value::Null,
    };

    let (old_corrected, _) = corrected(&options.root, &old)?;
    let (new_corrected, stale) = corrected(&options.root, &new)?;
    print_report(
        &drift::compare(&old_corrected, &new_corrected),
        options.json,
    );

    for correction in &stale {
        eprintln!("stale: {correction}");
    }
    if !stale.is_empty() && !options.allow_stale {
        eprintln!(
            "{} correction(s) no longer apply; spec/ was left as it was. Fix or remove them, or \
             rerun with --allow-stale-corrections to write the new document anyway.",
            stale.len()
        );
        return Ok(ExitCode::FAILURE);
    }

    // The published bytes as they came (the normalization proof reads them), then the normalized
    // document the client is generated from.
    replace_file(&options.root.join(spec_file::UPSTREAM_FILE), &text)?;
    replace_file(&target, &spec_file::to_normalized_string(&new))?;
    eprintln!("wrote {}", target.display());
    report_missing_contract_tests(&options.root, &new_corrected)?;
    Ok(ExitCode::SUCCESS)
}

fn spec_diff(options: &Options) -> Result<ExitCode, String> {
    let report = match (options.corrections, options.positional.as_slice()) {
        (true, []) => {
            let spec: Value =
                serde_json::from_str(&read(&options.root.join(spec_file::SPEC_FILE))?)
                    .map_err(|e| format!("{} is not JSON: {e}", spec_file::SPEC_FILE))?;
            let (corrected, stale) = corrected(&options.root, &spec)?;
            if let Some(correction) = stale.first() {
                return Err(correction.to_string());
            }
            drift::compare(&spec, &corrected)
        }
        (false, [old, new]) => {
            let old = parse_document(&read(Path::new(old))?, old)?;
            let new = parse_document(&read(Path::new(new))?, new)?;
            drift::compare(&old, &new)
        }
        _ => return Err(USAGE.to_string()),
    };
    print_report(&report, options.json);
    Ok(ExitCode::SUCCESS)
}

fn check_spec(options: &Options) -> Result<ExitCode, String> {
    let path = options.root.join(spec_file::SPEC_FILE);
    let text = read(&path)?;
    let normalized =
        spec_file::normalize(&text).map_err(|e| format!("{} is not JSON: {e}", path.display()))?;
    if normalized != text {
        return Err(format!(
            "{} is not normalized: refresh it with `cargo xtask refresh-spec --file {}`",
            spec_file::SPEC_FILE,
            path.display()
        ));
    }
    println!("{} is normalized", spec_file::SPEC_FILE);

    let root = &options.root;
    for correction in spec_file::load_corrections(&root.join(spec_file::CORRECTIONS_DIR))? {
        println!("  {}: {}", correction.name, correction.reason);
    }
    spec_file::corrected_spec(root)?;
    println!("every correction applies");

    if !options.skip_build {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = std::process::Command::new(cargo)
            .args(["build", "--package", "atlassian-csm"])
            .current_dir(root)
            .status()
            .map_err(|e| format!("cannot run cargo: {e}"))?;
        if !status.success() {
            return Err("the generated client does not build".into());
        }
        println!("the generated client builds");
    }
    Ok(ExitCode::SUCCESS)
}

fn check_pins(options: &Options) -> Result<ExitCode, String> {
    let metadata = checks::metadata(&options.root)?;
    let problems = checks::pin_problems(&metadata, &pins::PINNED)?;
    for problem in &problems {
        eprintln!("pin: {problem}");
    }
    if !problems.is_empty() {
        return Ok(ExitCode::FAILURE);
    }
    for (name, version) in pins::PINNED {
        println!("{name} ={version}: pinned and locked");
    }
    Ok(ExitCode::SUCCESS)
}

fn check_msrv(options: &Options) -> Result<ExitCode, String> {
    let metadata = checks::metadata(&options.root)?;
    let (msrv, mut problems) = checks::msrv_problems(&metadata)?;
    let readme = read(&options.root.join("README.md"))?;
    if !readme.contains(&format!("Rust {msrv}")) {
        problems.push(format!(
            "README.md does not state the MSRV (\"Rust {msrv}\")"
        ));
    }
    for problem in &problems {
        eprintln!("msrv: {problem}");
    }
    if !problems.is_empty() {
        return Ok(ExitCode::FAILURE);
    }
    println!("every locked dependency builds with Rust {msrv}, as README.md states");
    Ok(ExitCode::SUCCESS)
}

/// Compares the public API (from the pages `cargo doc` wrote) with its record; `--bless`
/// records it, once the CHANGELOG names every item that changed.
fn public_api(options: &Options) -> Result<ExitCode, String> {
    let mut current = public_api::read_api(&target_dir(&options.root)?)?;
    current.extend(public_api::feature_lines(&checks::metadata(
        &options.root,
    )?)?);
    let record_path = options.root.join(public_api::RECORD_FILE);
    let record = match std::fs::read_to_string(&record_path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(format!("cannot read {}: {e}", record_path.display())),
    };
    let recorded: std::collections::BTreeSet<String> = record
        .as_deref()
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect();
    let changes = public_api::Changes::between(&recorded, &current);
    if record.is_none() && options.bless {
        // The first record: there is no earlier API for the CHANGELOG to compare with.
        return write_api_record(&record_path, &current);
    }
    if changes.is_empty() {
        println!(
            "the public API is as {} records ({} lines)",
            public_api::RECORD_FILE,
            current.len()
        );
        return Ok(ExitCode::SUCCESS);
    }
    for line in &changes.added {
        eprintln!("+ {line}");
    }
    for line in &changes.removed {
        eprintln!("- {line}");
    }
    let unnamed = changes.unnamed_in(&read(&options.root.join("CHANGELOG.md"))?);
    if !unnamed.is_empty() {
        eprintln!(
            "the public API changed ({} lines added, {} removed) and CHANGELOG.md's [Unreleased] \
             section does not name, in backticks: {}",
            changes.added.len(),
            changes.removed.len(),
            unnamed.join(", ")
        );
        return Ok(ExitCode::FAILURE);
    }
    if !options.bless {
        eprintln!(
            "the public API changed as CHANGELOG.md says: record it with `cargo xtask public-api --bless`"
        );
        return Ok(ExitCode::FAILURE);
    }
    write_api_record(&record_path, &current)
}

fn write_api_record(
    path: &Path,
    api: &std::collections::BTreeSet<String>,
) -> Result<ExitCode, String> {
    let text: String = api.iter().map(|line| format!("{line}\n")).collect();
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    println!(
        "recorded the public API in {} ({} lines)",
        public_api::RECORD_FILE,
        api.len()
    );
    Ok(ExitCode::SUCCESS)
}

fn future_spec(options: &Options) -> Result<ExitCode, String> {
    let target = target_dir(&options.root)?;
    let scratch = target.join("future-spec");
    Ok(if future::run(&options.root, &scratch, &target)? {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// After a refresh: the operations no contract test covers yet, and the command that starts one.
fn report_missing_contract_tests(root: &Path, corrected: &Value) -> Result<(), String> {
    let missing = contract_test::missing(root, corrected)?;
    if !missing.is_empty() {
        eprintln!(
            "operations without a contract test (the coverage test fails until each has one):"
        );
        for name in &missing {
            eprintln!("  {name}: cargo xtask contract-test {name}");
        }
    }
    Ok(())
}

fn write_contract_test(options: &Options) -> Result<ExitCode, String> {
    let [operation_id] = options.positional.as_slice() else {
        return Err(USAGE.to_string());
    };
    let corrected = spec_file::corrected_spec(&options.root)?;
    let block = contract_test::write(&options.root, &corrected, operation_id)?;
    print!("{block}");
    eprintln!(
        "appended to {}: review it, then move it to the file of its tag",
        contract_test::PENDING_FILE
    );
    Ok(ExitCode::SUCCESS)
}

/// Writes beside `target`, then renames: spec/ never holds a half-written document.
fn replace_file(target: &Path, text: &str) -> Result<(), String> {
    if let Some(dir) = target.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let temporary = target.with_extension("json.tmp");
    std::fs::write(&temporary, text)
        .map_err(|e| format!("cannot write {}: {e}", temporary.display()))?;
    std::fs::rename(&temporary, target)
        .map_err(|e| format!("cannot replace {}: {e}", target.display()))
}
