//! Reading, normalizing and correcting the vendored OpenAPI document.
//!
//! The client's build script generates the client from the corrected document; `xtask` reads it
//! from here too to refresh `spec/` and report drift, so the two can never disagree about what the
//! corrected document is: the vendored document, its corrections, then the [rules](crate::rules)
//! every operation follows. Paths are relative to the root of the `atlassian-csm` package.

use serde_json::Value;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

/// The vendored, normalized upstream document, relative to the workspace root.
pub const SPEC_FILE: &str = "spec/csm.openapi.json";
/// The folder of corrections, one RFC 6902 JSON Patch file each, relative to the workspace root.
pub const CORRECTIONS_DIR: &str = "spec/corrections";
/// The upstream document exactly as published (its raw bytes), relative to the workspace root.
/// Not packaged: only the normalization proof and `xtask` read it.
pub const UPSTREAM_FILE: &str = "spec/upstream/api.v3.json";

/// Escapes raw control characters (U+0000..U+001F) that stand inside JSON strings.
///
/// The upstream document has raw newlines inside `description` strings, which strict JSON parsers
/// reject. Escaping them changes the encoding only: the parsed value is the same character.
/// Control characters outside strings (whitespace between tokens) are left as they are.
pub fn escape_control_characters(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    let mut in_string = false;
    let mut escaped = false;
    for c in text.chars() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            } else if (c as u32) < 0x20 {
                out.push_str(&match c {
                    '\n' => "\\n".to_string(),
                    '\r' => "\\r".to_string(),
                    '\t' => "\\t".to_string(),
                    other => format!("\\u{:04x}", other as u32),
                });
                continue;
            }
        } else if c == '"' {
            in_string = true;
        }
        out.push(c);
    }
    out
}

/// Parses a JSON document that may carry raw control characters inside strings.
pub fn parse_lenient(text: &str) -> Result<Value, serde_json::Error> {
    serde_json::from_str(&escape_control_characters(text))
}

/// The normalized encoding of a document: strict JSON, two-space pretty printing, key order kept,
/// one trailing newline. The same input always gives the same bytes.
pub fn normalize(text: &str) -> Result<String, serde_json::Error> {
    let value = parse_lenient(text)?;
    Ok(to_normalized_string(&value))
}

/// Serializes a value in the normalized encoding (see [`normalize`]).
pub fn to_normalized_string(value: &Value) -> String {
    let mut out = serde_json::to_string_pretty(value).expect("a JSON value always serializes");
    out.push('\n');
    out
}

/// One correction: a named JSON Patch with the reason it exists.
#[derive(Debug, Clone)]
pub struct Correction {
    /// The file stem, e.g. `01-task-status-required`.
    pub name: String,
    /// One line: why the upstream document needs this.
    pub reason: String,
    /// The RFC 6902 operations; `test` operations guard what upstream must still say.
    pub patch: crate::patch::Patch,
}

/// A correction that no longer applies to the document it was written for.
#[derive(Debug, Clone)]
pub struct StaleCorrection {
    /// The correction's name.
    pub name: String,
    /// What failed, as the patch engine said it.
    pub detail: String,
}

impl fmt::Display for StaleCorrection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "correction `{}` no longer applies: {}",
            self.name, self.detail
        )
    }
}

/// The correction files in `dir`, in the order they apply (by file name).
pub fn correction_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let entries = fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    Ok(files)
}

/// Reads every correction in `dir`, in the order they apply.
pub fn load_corrections(dir: &Path) -> Result<Vec<Correction>, String> {
    correction_files(dir)?
        .iter()
        .map(|path| load_correction(path))
        .collect()
}

fn load_correction(path: &Path) -> Result<Correction, String> {
    #[derive(serde::Deserialize)]
    struct File {
        reason: String,
        patch: crate::patch::Patch,
    }
    let text =
        fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let file: File = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not a correction file: {e}", path.display()))?;
    let name = path
        .file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(Correction {
        name,
        reason: file.reason,
        patch: file.patch,
    })
}

/// Applies every correction in order, then the [rules](crate::rules). A correction either applies
/// whole or not at all; those that do not apply are returned (and the document is left as the
/// ones that applied made it).
pub fn apply_corrections(spec: &mut Value, corrections: &[Correction]) -> Vec<StaleCorrection> {
    let stale = corrections
        .iter()
        .filter_map(|correction| {
            let detail = match already_defined(spec, &correction.patch) {
                Some(path) => format!(
                    "it adds {path}, which the document now defines itself: delete or rewrite it"
                ),
                None => crate::patch::apply(spec, &correction.patch).err()?,
            };
            Some(StaleCorrection {
                name: correction.name.clone(),
                detail,
            })
        })
        .collect();
    crate::rules::apply(spec);
    stale
}

/// The first member an `add` would overwrite: a correction adds only what the document lacks
/// (an operation, a schema, a limit), so once upstream defines it the correction is stale
/// rather than silently replacing upstream's definition.
fn already_defined(spec: &Value, patch: &[crate::patch::Operation]) -> Option<String> {
    patch.iter().find_map(|operation| match operation {
        crate::patch::Operation::Add { path, .. } => {
            let (parent, _) = path.rsplit_once('/')?;
            let is_member = spec.pointer(parent).is_some_and(Value::is_object);
            (is_member && spec.pointer(path).is_some()).then(|| path.clone())
        }
        _ => None,
    })
}

/// Reads the vendored document under `root` and applies every correction; any stale correction is
/// an error naming it.
pub fn corrected_spec(root: &Path) -> Result<Value, String> {
    let text = fs::read_to_string(root.join(SPEC_FILE))
        .map_err(|e| format!("cannot read {SPEC_FILE}: {e}"))?;
    let mut spec: Value =
        serde_json::from_str(&text).map_err(|e| format!("{SPEC_FILE} is not strict JSON: {e}"))?;
    let corrections = load_corrections(&root.join(CORRECTIONS_DIR))?;
    let stale = apply_corrections(&mut spec, &corrections);
    if stale.is_empty() {
        Ok(spec)
    } else {
        let lines: Vec<String> = stale.iter().map(ToString::to_string).collect();
        Err(lines.join("\n"))
    }
}

/// The variables a build script of a crate depending on `atlassian-csm` reads the documents'
/// paths from (cargo sets them from what the client's build script prints, through its `links`).
pub const GENERATED_SPEC_VARIABLE: &str = "DEP_ATLASSIAN_CSM_GENERATED_SPEC";
/// See [`GENERATED_SPEC_VARIABLE`]: the corrected document, limits and all.
pub const CORRECTED_SPEC_VARIABLE: &str = "DEP_ATLASSIAN_CSM_CORRECTED_SPEC";

/// For a dependent crate's build script: the text of the document the client's build script
/// wrote and named in `variable` ([`GENERATED_SPEC_VARIABLE`] or [`CORRECTED_SPEC_VARIABLE`]),
/// with the `rerun-if-changed` line cargo needs printed.
pub fn read_from_client_build(variable: &str) -> Result<String, String> {
    let path = std::env::var(variable).map_err(|_| {
        format!("{variable} is not set: atlassian-csm's build script sets it for crates that depend on it")
    })?;
    println!("cargo:rerun-if-changed={path}");
    fs::read_to_string(&path).map_err(|e| format!("cannot read {path} (from {variable}): {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The upstream document as published (raw control characters and all).
    fn upstream_seed() -> String {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(UPSTREAM_FILE);
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
    }

    fn vendored() -> String {
        fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join(SPEC_FILE),
        )
        .unwrap()
    }

    #[test]
    fn the_upstream_document_is_not_strict_json() {
        let error = serde_json::from_str::<Value>(&upstream_seed()).unwrap_err();
        assert!(error.to_string().contains("control character"), "{error}");
    }

    #[test]
    fn normalizing_changes_the_encoding_only_never_a_value() {
        let upstream = parse_lenient(&upstream_seed()).unwrap();
        let vendored: Value = serde_json::from_str(&vendored()).expect("spec/ is strict JSON");
        assert_eq!(upstream, vendored);
    }

    #[test]
    fn the_vendored_spec_is_the_normalized_upstream_byte_for_byte() {
        assert_eq!(normalize(&upstream_seed()).unwrap(), vendored());
        assert_eq!(
            normalize(&vendored()).unwrap(),
            vendored(),
            "normalizing is idempotent"
        );
    }

    #[test]
    fn control_characters_are_escaped_inside_strings_only() {
        let raw = "{\n\t\"a\": \"line one\nline two\ttab \\\" quote\u{1}\"\n}";
        let escaped = escape_control_characters(raw);
        assert_eq!(
            escaped,
            "{\n\t\"a\": \"line one\\nline two\\ttab \\\" quote\\u0001\"\n}"
        );
        let value: Value = serde_json::from_str(&escaped).unwrap();
        assert_eq!(value["a"], "line one\nline two\ttab \" quote\u{1}");
    }

    #[test]
    fn every_correction_has_a_reason_and_applies() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let corrections = load_corrections(&root.join(CORRECTIONS_DIR)).unwrap();
        assert!(!corrections.is_empty());
        for correction in &corrections {
            assert!(!correction.reason.trim().is_empty(), "{}", correction.name);
            assert!(
                !correction.reason.contains('\n'),
                "{}: one line",
                correction.name
            );
        }
        corrected_spec(&root).expect("every correction applies to spec/");
    }

    #[test]
    fn a_correction_whose_guard_fails_is_named_and_leaves_the_document_as_it_was() {
        let mut document = serde_json::json!({"a": {"required": ["x", "y"]}});
        let before = document.clone();
        let stale = Correction {
            name: "99-example".into(),
            reason: "example".into(),
            patch: serde_json::from_value(serde_json::json!([
                {"op": "replace", "path": "/a/required", "value": ["x"]},
                {"op": "test", "path": "/a/missing", "value": 1}
            ]))
            .unwrap(),
        };
        let failures = apply_corrections(&mut document, &[stale]);
        assert_eq!(failures.len(), 1);
        assert_eq!(failures[0].name, "99-example");
        assert_eq!(
            document, before,
            "a failed correction applies not even in part"
        );
    }

    #[test]
    fn a_correction_adding_what_the_document_now_defines_is_stale() {
        let addition = Correction {
            name: "13-new-operation".into(),
            reason: "example".into(),
            patch: serde_json::from_value(serde_json::json!([
                {"op": "add", "path": "/paths/~1new", "value": {"post": {"operationId": "ours"}}}
            ]))
            .unwrap(),
        };
        let mut before_upstream = serde_json::json!({"paths": {}});
        assert!(
            apply_corrections(&mut before_upstream, std::slice::from_ref(&addition)).is_empty()
        );
        let mut upstream =
            serde_json::json!({"paths": {"/new": {"post": {"operationId": "theirs"}}}});
        let stale = apply_corrections(&mut upstream, &[addition]);
        assert_eq!(stale.len(), 1);
        assert!(
            stale[0].detail.contains("/paths/~1new"),
            "{}",
            stale[0].detail
        );
        assert_eq!(upstream["paths"]["/new"]["post"]["operationId"], "theirs");
    }
}
