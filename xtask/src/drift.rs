//! What changed between two OpenAPI documents, as a client's user sees it: operations and schemas
//! added, removed or changed, with the changes that break existing callers flagged.

use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

/// One difference inside an operation or a schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// What changed, e.g. `property \`name\` removed`.
    pub detail: String,
    /// Whether callers written against the old document may break.
    pub breaking: bool,
}

/// The changes to one operation or schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Changed {
    /// `GET /api/v1/product (get-products)` or a schema name.
    pub name: String,
    pub changes: Vec<Change>,
}

/// The whole report.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub operations_added: Vec<String>,
    pub operations_removed: Vec<String>,
    pub operations_changed: Vec<Changed>,
    pub schemas_added: Vec<String>,
    pub schemas_removed: Vec<String>,
    pub schemas_changed: Vec<Changed>,
    /// How many breaking changes the report holds (removals included).
    pub breaking: usize,
}

impl Report {
    /// Whether the two documents describe the same client.
    pub fn is_empty(&self) -> bool {
        self.operations_added.is_empty()
            && self.operations_removed.is_empty()
            && self.operations_changed.is_empty()
            && self.schemas_added.is_empty()
            && self.schemas_removed.is_empty()
            && self.schemas_changed.is_empty()
    }
}

/// Compares two documents.
pub fn compare(old: &Value, new: &Value) -> Report {
    let mut report = Report::default();
    let (old_ops, new_ops) = (operations(old), operations(new));
    for (key, op) in &new_ops {
        match old_ops.get(key) {
            None => report.operations_added.push(op_name(key, op)),
            Some(before) => {
                let changes = operation_changes(old, before, new, op);
                if !changes.is_empty() {
                    report.operations_changed.push(Changed {
                        name: op_name(key, op),
                        changes,
                    });
                }
            }
        }
    }
    for (key, op) in &old_ops {
        if !new_ops.contains_key(key) {
            report.operations_removed.push(op_name(key, op));
        }
    }

    let (old_schemas, new_schemas) = (schemas(old), schemas(new));
    for (name, schema) in &new_schemas {
        match old_schemas.get(name) {
            None => report.schemas_added.push(name.clone()),
            Some(before) => {
                let mut changes = Vec::new();
                schema_changes(name, before, schema, &mut changes);
                if !changes.is_empty() {
                    report.schemas_changed.push(Changed {
                        name: name.clone(),
                        changes,
                    });
                }
            }
        }
    }
    for name in old_schemas.keys() {
        if !new_schemas.contains_key(name) {
            report.schemas_removed.push(name.clone());
        }
    }

    report.breaking = report.operations_removed.len()
        + report.schemas_removed.len()
        + report
            .operations_changed
            .iter()
            .chain(&report.schemas_changed)
            .flat_map(|changed| &changed.changes)
            .filter(|change| change.breaking)
            .count();
    report
}

/// `METHOD path` → operation.
fn operations(doc: &Value) -> BTreeMap<String, &Value> {
    atlassian_csm_spec::openapi::operations(doc)
        .map(|op| (op.key(), op.definition))
        .collect()
}

fn op_name(key: &str, op: &Value) -> String {
    match op["operationId"].as_str() {
        Some(id) => format!("{key} ({id})"),
        None => key.to_string(),
    }
}

fn schemas(doc: &Value) -> BTreeMap<String, &Value> {
    doc["components"]["schemas"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, schema)| (name.clone(), schema))
        .collect()
}

use atlassian_csm_spec::openapi::resolve;

/// A short description of a schema: its `$ref` name or its JSON.
fn schema_label(schema: &Value) -> String {
    match schema["$ref"].as_str() {
        Some(reference) => reference
            .rsplit('/')
            .next()
            .unwrap_or(reference)
            .to_string(),
        None => schema.to_string(),
    }
}

fn change(detail: impl Into<String>, breaking: bool) -> Change {
    Change {
        detail: detail.into(),
        breaking,
    }
}

fn operation_changes(old_doc: &Value, old: &Value, new_doc: &Value, new: &Value) -> Vec<Change> {
    let mut changes = Vec::new();
    if old["operationId"] != new["operationId"] {
        changes.push(change(
            format!(
                "operation id {} → {}",
                old["operationId"], new["operationId"]
            ),
            true,
        ));
    }
    let experimental = |op: &Value| op["x-experimental"].as_bool().unwrap_or(false);
    if experimental(old) != experimental(new) {
        changes.push(change(
            format!(
                "experimental: {} → {}",
                experimental(old),
                experimental(new)
            ),
            false,
        ));
    }

    let parameters = |doc: &Value, op: &Value| -> BTreeMap<String, Value> {
        op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| resolve(doc, p))
            .map(|p| {
                let key = format!(
                    "{} `{}`",
                    p["in"].as_str().unwrap_or("?"),
                    p["name"].as_str().unwrap_or("?")
                );
                (key, p.clone())
            })
            .collect()
    };
    let (before, after) = (parameters(old_doc, old), parameters(new_doc, new));
    for (key, parameter) in &after {
        let required = parameter["required"].as_bool().unwrap_or(false);
        match before.get(key) {
            None => changes.push(change(
                format!(
                    "{key} parameter added{}",
                    if required { " (required)" } else { "" }
                ),
                required,
            )),
            Some(previous) => {
                let was_required = previous["required"].as_bool().unwrap_or(false);
                if was_required != required {
                    changes.push(change(
                        format!(
                            "{key} parameter {}",
                            if required {
                                "became required"
                            } else {
                                "became optional"
                            }
                        ),
                        required,
                    ));
                }
                if previous["schema"] != parameter["schema"] {
                    changes.push(change(
                        format!(
                            "{key} parameter schema {} → {}",
                            schema_label(&previous["schema"]),
                            schema_label(&parameter["schema"])
                        ),
                        true,
                    ));
                }
            }
        }
    }
    for key in before.keys().filter(|key| !after.contains_key(*key)) {
        changes.push(change(format!("{key} parameter removed"), false));
    }

    let body = |op: &Value| {
        op.pointer("/requestBody/content/application~1json/schema")
            .cloned()
    };
    if body(old) != body(new) {
        changes.push(change(
            format!(
                "request body {} → {}",
                body(old)
                    .map(|s| schema_label(&s))
                    .unwrap_or_else(|| "none".into()),
                body(new)
                    .map(|s| schema_label(&s))
                    .unwrap_or_else(|| "none".into())
            ),
            true,
        ));
    }

    let responses = |doc: &Value, op: &Value| -> BTreeMap<String, String> {
        op["responses"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(code, response)| {
                let schema = resolve(doc, response)
                    .pointer("/content/application~1json/schema")
                    .map(schema_label)
                    .unwrap_or_else(|| "no body".into());
                (code.clone(), schema)
            })
            .collect()
    };
    let (before, after) = (responses(old_doc, old), responses(new_doc, new));
    for (code, schema) in &after {
        match before.get(code) {
            None => changes.push(change(format!("response {code} added ({schema})"), false)),
            Some(previous) if previous != schema => changes.push(change(
                format!("response {code} {previous} → {schema}"),
                code.starts_with('2'),
            )),
            Some(_) => {}
        }
    }
    for (code, schema) in before.iter().filter(|(code, _)| !after.contains_key(*code)) {
        // `200` replaced by `2XX` with the same body still accepts every answer it accepted.
        let range = format!("{}XX", &code[..1]);
        let covered = after.get(&range) == Some(schema);
        changes.push(change(
            format!(
                "response {code} removed ({schema}){}",
                if covered {
                    format!(", covered by {range}")
                } else {
                    String::new()
                }
            ),
            code.starts_with('2') && !covered,
        ));
    }
    changes
}

/// The property map of an object schema (empty for anything else).
fn properties(schema: &Value) -> Map<String, Value> {
    schema["properties"]
        .as_object()
        .cloned()
        .unwrap_or_default()
}

fn required(schema: &Value) -> Vec<String> {
    schema["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|name| name.as_str().map(str::to_string))
        .collect()
}

/// Types a value of this schema may have, for comparing `type`/`oneOf` changes.
fn accepted_types(schema: &Value) -> Vec<String> {
    // A `$ref` replaces whatever stands beside it.
    if let Some(reference) = schema["$ref"].as_str() {
        return vec![reference.to_string()];
    }
    if let Some(kind) = schema["type"].as_str() {
        return vec![kind.to_string()];
    }
    schema["oneOf"]
        .as_array()
        .or_else(|| schema["anyOf"].as_array())
        .into_iter()
        .flatten()
        .flat_map(accepted_types)
        .collect()
}

fn schema_changes(path: &str, old: &Value, new: &Value, changes: &mut Vec<Change>) {
    let (old_types, new_types) = (accepted_types(old), accepted_types(new));
    if old_types != new_types {
        let narrowed = old_types.iter().any(|t| !new_types.contains(t));
        changes.push(change(
            format!(
                "{path}: type {} → {}",
                old_types.join("|"),
                new_types.join("|")
            ),
            narrowed,
        ));
    }

    let beside_ref = |schema: &Value| -> Vec<String> {
        match schema.as_object() {
            Some(map) if map.contains_key("$ref") => map
                .keys()
                .filter(|k| *k != "$ref" && *k != "description")
                .cloned()
                .collect(),
            _ => Vec::new(),
        }
    };
    if beside_ref(old) != beside_ref(new) {
        changes.push(change(
            format!(
                "{path}: keys beside $ref [{}] → [{}] (ignored by OpenAPI 3.0)",
                beside_ref(old).join(", "),
                beside_ref(new).join(", ")
            ),
            false,
        ));
    }

    let enum_values =
        |schema: &Value| -> Vec<Value> { schema["enum"].as_array().cloned().unwrap_or_default() };
    let (old_enum, new_enum) = (enum_values(old), enum_values(new));
    for value in new_enum.iter().filter(|v| !old_enum.contains(v)) {
        changes.push(change(format!("{path}: enum value {value} added"), false));
    }
    for value in old_enum.iter().filter(|v| !new_enum.contains(v)) {
        changes.push(change(format!("{path}: enum value {value} removed"), true));
    }

    let (old_required, new_required) = (required(old), required(new));
    for name in new_required.iter().filter(|n| !old_required.contains(n)) {
        changes.push(change(format!("{path}: `{name}` became required"), true));
    }
    for name in old_required.iter().filter(|n| !new_required.contains(n)) {
        changes.push(change(
            format!("{path}: `{name}` no longer required"),
            false,
        ));
    }

    let limit = |value: &Value| match value {
        Value::Null => "none".to_string(),
        other => other.to_string(),
    };
    for key in ["maxItems", "minItems", "maxLength", "minLength"] {
        if old[key] != new[key] {
            changes.push(change(
                format!("{path}: {key} {} → {}", limit(&old[key]), limit(&new[key])),
                false,
            ));
        }
    }

    let (old_props, new_props) = (properties(old), properties(new));
    for (name, property) in &new_props {
        let nested = format!("{path}.{name}");
        match old_props.get(name) {
            None => changes.push(change(format!("{nested}: property added"), false)),
            Some(before) => schema_changes(&nested, before, property, changes),
        }
    }
    for name in old_props
        .keys()
        .filter(|name| !new_props.contains_key(*name))
    {
        changes.push(change(format!("{path}.{name}: property removed"), true));
    }
    if let (Some(before), Some(after)) = (old.get("items"), new.get("items")) {
        schema_changes(&format!("{path}[]"), before, after, changes);
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return writeln!(f, "No changes.");
        }
        let mut out = String::new();
        let flag = |breaking: bool| if breaking { "  [BREAKING]" } else { "" };
        let section = |out: &mut String,
                       title: &str,
                       added: &[String],
                       removed: &[String],
                       changed: &[Changed]| {
            if added.is_empty() && removed.is_empty() && changed.is_empty() {
                return;
            }
            let _ = writeln!(out, "{title}");
            for name in added {
                let _ = writeln!(out, "  + {name}");
            }
            for name in removed {
                let _ = writeln!(out, "  - {name}{}", flag(true));
            }
            for item in changed {
                let _ = writeln!(out, "  ~ {}", item.name);
                for change in &item.changes {
                    let _ = writeln!(out, "      {}{}", change.detail, flag(change.breaking));
                }
            }
        };
        section(
            &mut out,
            "Operations",
            &self.operations_added,
            &self.operations_removed,
            &self.operations_changed,
        );
        section(
            &mut out,
            "Schemas",
            &self.schemas_added,
            &self.schemas_removed,
            &self.schemas_changed,
        );
        let _ = writeln!(
            out,
            "Summary: operations +{} -{} ~{}, schemas +{} -{} ~{}, {} breaking",
            self.operations_added.len(),
            self.operations_removed.len(),
            self.operations_changed.len(),
            self.schemas_added.len(),
            self.schemas_removed.len(),
            self.schemas_changed.len(),
            self.breaking
        );
        f.write_str(&out)
    }
}

#[cfg(test)]
mod tests;
