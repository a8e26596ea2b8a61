//! Maintenance tasks for the workspace: `cargo xtask <command>`.

mod spec_file;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <command>

commands:
  normalize-spec --file PATH   normalize an upstream CSM OpenAPI document into spec/
  check-corrections            apply every correction in spec/corrections to spec/ and report";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("normalize-spec") => normalize_spec(&args[1..]),
        Some("check-corrections") => check_corrections(),
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root: the parent of this crate's folder.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives inside the workspace")
        .to_path_buf()
}

fn normalize_spec(args: &[String]) -> Result<(), String> {
    let source = match args {
        [flag, path] if flag == "--file" => PathBuf::from(path),
        _ => return Err(USAGE.to_string()),
    };
    let text = std::fs::read_to_string(&source)
        .map_err(|e| format!("cannot read {}: {e}", source.display()))?;
    let normalized = spec_file::normalize(&text)
        .map_err(|e| format!("{} is not JSON: {e}", source.display()))?;
    let target = workspace_root().join(spec_file::SPEC_FILE);
    let temporary = target.with_extension("json.tmp");
    std::fs::write(&temporary, normalized).map_err(|e| format!("cannot write: {e}"))?;
    std::fs::rename(&temporary, &target).map_err(|e| format!("cannot replace: {e}"))?;
    println!("wrote {}", target.display());
    Ok(())
}

fn check_corrections() -> Result<(), String> {
    let root = workspace_root();
    for correction in spec_file::load_corrections(&root.join(spec_file::CORRECTIONS_DIR))? {
        println!("{}: {}", correction.name, correction.reason);
    }
    spec_file::corrected_spec(&root)?;
    println!("every correction applies");
    Ok(())
}
