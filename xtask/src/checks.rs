//! Checks that what a user's build resolves is what CI tested: the generator pins, and the
//! minimum supported Rust version against the lockfile.
//!
//! Both read `cargo metadata --locked`, so they see exactly the committed lockfile.

use serde_json::Value;
use std::path::Path;

/// `cargo metadata` for the workspace at `root`, from the committed lockfile.
pub fn metadata(root: &Path) -> Result<Value, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = std::process::Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(root)
        .output()
        .map_err(|e| format!("cannot run cargo metadata: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    serde_json::from_slice(&output.stdout).map_err(|e| format!("cargo metadata: {e}"))
}

fn packages(metadata: &Value) -> impl Iterator<Item = &Value> {
    metadata["packages"].as_array().into_iter().flatten()
}

fn library(metadata: &Value) -> Result<&Value, String> {
    packages(metadata)
        .find(|p| p["name"] == "atlassian-csm" && p["source"].is_null())
        .ok_or_else(|| "the workspace has no atlassian-csm package".to_string())
}

/// Every generator crate is pinned with `=` to the version `spec-toolkit/src/pins.rs` names, and the
/// lockfile holds that version: the build a user gets runs the post-processing CI tested.
pub fn pin_problems(metadata: &Value, pinned: &[(&str, &str)]) -> Result<Vec<String>, String> {
    let library = library(metadata)?;
    let mut problems = Vec::new();
    for (name, version) in pinned {
        let wanted = format!("={version}");
        let requirements: Vec<&str> = library["dependencies"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|d| d["name"] == *name)
            .filter_map(|d| d["req"].as_str())
            .collect();
        if requirements.is_empty() {
            problems.push(format!(
                "{name}: not a dependency of atlassian-csm; pin it as \"{wanted}\""
            ));
        }
        for requirement in requirements {
            if requirement != wanted {
                problems.push(format!(
                    "{name}: Cargo.toml asks for \"{requirement}\", spec-toolkit/src/pins.rs for \"{wanted}\""
                ));
            }
        }
        let locked: Vec<&str> = packages(metadata)
            .filter(|p| p["name"] == *name)
            .filter_map(|p| p["version"].as_str())
            .collect();
        if locked != [*version] {
            problems.push(format!(
                "{name}: Cargo.lock holds {locked:?}, spec-toolkit/src/pins.rs names {version}"
            ));
        }
    }
    Ok(problems)
}

/// A version as numbers, `1.88` and `1.88.0` alike.
fn version_numbers(version: &str) -> Vec<u64> {
    let mut numbers: Vec<u64> = version
        .split('.')
        .map(|part| part.parse().unwrap_or(0))
        .collect();
    numbers.resize(3, 0);
    numbers
}

/// The library's `rust-version`, and every locked package that needs a newer compiler.
pub fn msrv_problems(metadata: &Value) -> Result<(String, Vec<String>), String> {
    let msrv = library(metadata)?["rust_version"]
        .as_str()
        .ok_or("atlassian-csm states no rust-version")?
        .to_string();
    let ours = version_numbers(&msrv);
    let problems = packages(metadata)
        .filter_map(|p| {
            let needed = p["rust_version"].as_str()?;
            (version_numbers(needed) > ours).then(|| {
                format!(
                    "{} {} needs Rust {needed}, newer than rust-version {msrv}",
                    p["name"].as_str().unwrap_or_default(),
                    p["version"].as_str().unwrap_or_default()
                )
            })
        })
        .collect();
    Ok((msrv, problems))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn metadata(req: &str, locked: &str, needs: &str) -> Value {
        json!({"packages": [
            {"name": "atlassian-csm", "version": "0.1.0", "source": null, "rust_version": "1.88",
             "dependencies": [{"name": "progenitor", "req": req}]},
            {"name": "progenitor", "version": locked, "source": "registry", "rust_version": "1.80"},
            {"name": "uuid", "version": "1.29.3", "source": "registry", "rust_version": needs}
        ]})
    }

    #[test]
    fn pins_agree_only_when_manifest_lockfile_and_build_script_say_the_same() {
        let pinned = [("progenitor", "0.15.1")];
        assert!(pin_problems(&metadata("=0.15.1", "0.15.1", "1.0"), &pinned)
            .unwrap()
            .is_empty());
        let loose = pin_problems(&metadata("^0.15", "0.15.1", "1.0"), &pinned).unwrap();
        assert!(loose[0].contains("asks for \"^0.15\""), "{loose:?}");
        let drifted = pin_problems(&metadata("=0.15.1", "0.15.2", "1.0"), &pinned).unwrap();
        assert!(drifted[0].contains("Cargo.lock holds"), "{drifted:?}");
    }

    #[test]
    fn a_locked_dependency_newer_than_the_msrv_is_named() {
        let (msrv, problems) = msrv_problems(&metadata("=0.15.1", "0.15.1", "1.89.0")).unwrap();
        assert_eq!(msrv, "1.88");
        assert_eq!(
            problems,
            ["uuid 1.29.3 needs Rust 1.89.0, newer than rust-version 1.88"]
        );
        let (_, none) = msrv_problems(&metadata("=0.15.1", "0.15.1", "1.88.0")).unwrap();
        assert!(none.is_empty());
    }
}
