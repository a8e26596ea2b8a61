//! JSON Patch (RFC 6902), as the corrections use it: `add`, `remove`, `replace`, `move`, `copy`
//! and `test`, a patch applied whole or not at all.
//!
//! Written here rather than taken from a crate: the corrections need these few lines, and the
//! `json-patch` crate brought `jsonptr` and, through it, a second build of `serde` into every
//! build of the client (its build script uses this crate).

use serde_json::Value;

/// One operation of a patch.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum Operation {
    /// Adds `value` at `path` (a member of an object, or an array element, `-` for the end).
    Add {
        /// A JSON Pointer (RFC 6901).
        path: String,
        /// What is added.
        value: Value,
    },
    /// Removes what is at `path`, which must exist.
    Remove {
        /// A JSON Pointer.
        path: String,
    },
    /// Replaces what is at `path`, which must exist, with `value`.
    Replace {
        /// A JSON Pointer.
        path: String,
        /// What replaces it.
        value: Value,
    },
    /// Moves what is at `from` to `path`.
    Move {
        /// Where the value is taken from.
        from: String,
        /// Where it is added.
        path: String,
    },
    /// Copies what is at `from` to `path`.
    Copy {
        /// Where the value is read.
        from: String,
        /// Where the copy is added.
        path: String,
    },
    /// Fails the patch unless what is at `path` equals `value`.
    Test {
        /// A JSON Pointer.
        path: String,
        /// What must be there.
        value: Value,
    },
}

/// A patch: its operations, in order.
pub type Patch = Vec<Operation>;

/// Applies `patch` to `document`: every operation, or (on the first that fails, named with its
/// position and path) none.
pub fn apply(document: &mut Value, patch: &[Operation]) -> Result<(), String> {
    let mut patched = document.clone();
    for (index, operation) in patch.iter().enumerate() {
        apply_one(&mut patched, operation)
            .map_err(|reason| format!("operation {index} of the patch: {reason}"))?;
    }
    *document = patched;
    Ok(())
}

fn apply_one(document: &mut Value, operation: &Operation) -> Result<(), String> {
    match operation {
        Operation::Add { path, value } => add(document, path, value.clone()),
        Operation::Remove { path } => remove(document, path).map(drop),
        Operation::Replace { path, value } => {
            let target = document
                .pointer_mut(path)
                .ok_or_else(|| format!("replace: nothing at {path}"))?;
            *target = value.clone();
            Ok(())
        }
        Operation::Move { from, path } => {
            if path.starts_with(&format!("{from}/")) {
                return Err(format!("move: {path} is inside {from}"));
            }
            let value = remove(document, from)?;
            add(document, path, value)
        }
        Operation::Copy { from, path } => {
            let value = document
                .pointer(from)
                .cloned()
                .ok_or_else(|| format!("copy: nothing at {from}"))?;
            add(document, path, value)
        }
        Operation::Test { path, value } => match document.pointer(path) {
            Some(found) if found == value => Ok(()),
            Some(found) => Err(format!("test: {path} is {found}, not {value}")),
            None => Err(format!("test: nothing at {path}")),
        },
    }
}

/// The parent's pointer and the last token (unescaped) of `path`.
fn split(path: &str) -> Result<(&str, String), String> {
    let (parent, last) = path
        .rsplit_once('/')
        .ok_or_else(|| format!("{path:?} is not a JSON Pointer (it must start with `/`)"))?;
    if !parent.is_empty() && !parent.starts_with('/') {
        return Err(format!(
            "{path:?} is not a JSON Pointer (it must start with `/`)"
        ));
    }
    Ok((parent, last.replace("~1", "/").replace("~0", "~")))
}

fn add(document: &mut Value, path: &str, value: Value) -> Result<(), String> {
    if path.is_empty() {
        *document = value;
        return Ok(());
    }
    let (parent, token) = split(path)?;
    match document.pointer_mut(parent) {
        Some(Value::Object(members)) => {
            members.insert(token, value);
            Ok(())
        }
        Some(Value::Array(items)) => {
            let index = if token == "-" {
                items.len()
            } else {
                array_index(&token, items.len() + 1)
                    .ok_or_else(|| format!("add: {path} is past the end of its array"))?
            };
            items.insert(index, value);
            Ok(())
        }
        Some(_) => Err(format!("add: {parent} is neither an object nor an array")),
        None => Err(format!("add: nothing at {parent}")),
    }
}

fn remove(document: &mut Value, path: &str) -> Result<Value, String> {
    let (parent, token) = split(path)?;
    let removed = match document.pointer_mut(parent) {
        // The last member takes the removed one's place, as the document's generated code has
        // always been made with (the order of members means nothing to JSON, but it does to the
        // order of the generated items).
        Some(Value::Object(members)) => members.swap_remove(&token),
        Some(Value::Array(items)) => {
            array_index(&token, items.len()).map(|index| items.remove(index))
        }
        _ => None,
    };
    removed.ok_or_else(|| format!("remove: nothing at {path}"))
}

/// `token` as an index below `bound` (no sign, no leading zero).
fn array_index(token: &str, bound: usize) -> Option<usize> {
    let plain = !token.is_empty()
        && token.bytes().all(|byte| byte.is_ascii_digit())
        && (token == "0" || !token.starts_with('0'));
    let index: usize = token.parse().ok().filter(|_| plain)?;
    (index < bound).then_some(index)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patched(document: Value, patch: Value) -> Result<Value, String> {
        let mut document = document;
        let patch: Patch = serde_json::from_value(patch).unwrap();
        apply(&mut document, &patch).map(|()| document)
    }

    #[test]
    fn each_operation_does_what_rfc_6902_says() {
        let document = json!({"a": {"b": 1, "c/d": [1, 2]}, "e~f": true});
        assert_eq!(
            patched(
                document.clone(),
                json!([
                    {"op": "add", "path": "/a/x", "value": 2},
                    {"op": "add", "path": "/a/c~1d/-", "value": 3},
                    {"op": "add", "path": "/a/c~1d/0", "value": 0},
                    {"op": "replace", "path": "/e~0f", "value": false},
                    {"op": "remove", "path": "/a/b"},
                    {"op": "copy", "from": "/a/x", "path": "/y"},
                    {"op": "move", "from": "/a/x", "path": "/z"},
                    {"op": "test", "path": "/a/c~1d", "value": [0, 1, 2, 3]}
                ])
            ),
            Ok(json!({"a": {"c/d": [0, 1, 2, 3]}, "e~f": false, "y": 2, "z": 2}))
        );
    }

    #[test]
    fn a_failing_operation_leaves_the_document_untouched_and_is_named() {
        let document = json!({"a": [1]});
        for (patch, expected) in [
            (
                json!([{"op": "remove", "path": "/a/1"}]),
                "remove: nothing at /a/1",
            ),
            (
                json!([{"op": "replace", "path": "/b", "value": 1}]),
                "replace: nothing at /b",
            ),
            (
                json!([{"op": "add", "path": "/a/3", "value": 1}]),
                "past the end",
            ),
            (
                json!([{"op": "add", "path": "/a/01", "value": 1}]),
                "past the end",
            ),
            (
                json!([{"op": "add", "path": "/b/c", "value": 1}]),
                "add: nothing at /b",
            ),
            (
                json!([{"op": "test", "path": "/a/0", "value": 2}]),
                "test: /a/0 is 1, not 2",
            ),
            (
                json!([{"op": "move", "from": "/a", "path": "/a/0"}]),
                "inside",
            ),
            (
                json!([{"op": "add", "path": "a", "value": 1}]),
                "not a JSON Pointer",
            ),
        ] {
            let mut target = document.clone();
            let patch: Patch = serde_json::from_value(patch).unwrap();
            let error = apply(&mut target, &patch).unwrap_err();
            assert!(error.contains(expected), "{error}");
            assert_eq!(target, document);
        }
        let partly = json!([
            {"op": "add", "path": "/b", "value": 1},
            {"op": "test", "path": "/c", "value": 1}
        ]);
        let error = patched(document, partly).unwrap_err();
        assert!(error.starts_with("operation 1 of the patch"), "{error}");
    }
}
