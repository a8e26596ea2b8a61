//! How a CSV row becomes a bulk record: each column names a field of the record, read from the
//! record's schema in the API document, so every entity maps the same way with no per-entity
//! code.
//!
//! * A column names a field of the record, or of its `payload` when it has one: `email`,
//!   `displayName`, `operationType`; a dotted name reaches into an object:
//!   `associateOrganizations.organizationIds`.
//! * `detail:Plan` is the value of the detail field `Plan`: an entry of the record's `details`,
//!   or, for the detail-value endpoints, an `UPDATE` of its `operations`.
//! * A list field (and a detail's values) takes several values separated by `|`.
//! * An empty cell sets nothing.
//! * Without an `operationType` column, records that need one are upserts (where the endpoint
//!   has them).

use serde_json::{Map, Value};

use crate::document::{document, operation};

/// `schema`, or the schema its `$ref` names.
fn resolve(schema: &Value) -> &Value {
    match schema["$ref"]
        .as_str()
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
    {
        Some(name) => resolve(&document()["components"]["schemas"][name]),
        None => schema,
    }
}

/// The schema of one record of the bulk operation `method` (the client's method name), in its
/// request's array `array`.
fn record_schema(method: &str, array: &str) -> &'static Value {
    let operation =
        operation(method).unwrap_or_else(|| panic!("the document has the bulk operation {method}"));
    let body = resolve(&operation["requestBody"]["content"]["application/json"]["schema"]);
    resolve(&resolve(&body["properties"][array])["items"])
}

/// What a cell holds.
#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Text,
    Integer,
    Number,
    Boolean,
    List(Box<Kind>),
    /// An object or anything else: the cell is JSON.
    Json,
}

fn kind_of(schema: &Value) -> Kind {
    let schema = resolve(schema);
    match schema["type"].as_str() {
        Some("string") => Kind::Text,
        Some("integer") => Kind::Integer,
        Some("number") => Kind::Number,
        Some("boolean") => Kind::Boolean,
        Some("array") => Kind::List(Box::new(kind_of(&schema["items"]))),
        _ => Kind::Json,
    }
}

/// Where a column's value goes.
#[derive(Debug, Clone)]
enum Target {
    Field {
        path: Vec<String>,
        kind: Kind,
    },
    Detail {
        container: Vec<String>,
        name: String,
        /// The container holds operations (`{operationType, payload: {name, values}}`).
        as_operation: bool,
    },
}

/// The mapping of a CSV header to records of one endpoint.
#[derive(Debug)]
pub struct Shape {
    columns: Vec<(String, Target)>,
    /// `operationType` when the file has no such column.
    default_operation: Option<String>,
}

/// A cell that cannot become its field: the column and why.
#[derive(Debug, Clone, PartialEq)]
pub struct CellError {
    pub column: String,
    pub reason: String,
}

impl Shape {
    /// The mapping of `headers` for the records of `method`'s array `array`; an error names the
    /// columns that are no field of the record.
    pub fn new(method: &str, array: &str, headers: &[String]) -> Result<Self, String> {
        let record = record_schema(method, array);
        let properties = |schema: &Value| -> Vec<String> {
            resolve(schema)["properties"]
                .as_object()
                .map(|p| p.keys().cloned().collect())
                .unwrap_or_default()
        };
        let has_payload = record["properties"].get("payload").is_some();
        let mut columns = Vec::new();
        let mut unknown = Vec::new();
        for header in headers {
            match target(record, has_payload, header) {
                Some(target) => columns.push((header.clone(), target)),
                None => unknown.push(header.clone()),
            }
        }
        if !unknown.is_empty() {
            let mut known = properties(record);
            if has_payload {
                known.retain(|p| p != "payload");
                known.extend(properties(&record["properties"]["payload"]));
            }
            let details = detail_container(record, has_payload).is_some();
            return Err(format!(
                "{} {} not a field of this entity's records (fields: {}{})",
                unknown.join(", "),
                if unknown.len() == 1 { "is" } else { "are" },
                known.join(", "),
                if details {
                    ", and detail:NAME columns"
                } else {
                    ""
                },
            ));
        }
        let required = record["required"].as_array().cloned().unwrap_or_default();
        let needs_operation = required.iter().any(|r| r == "operationType");
        let has_operation = columns
            .iter()
            .any(|(_, t)| matches!(t, Target::Field { path, .. } if path == &["operationType"]));
        let default_operation = if needs_operation && !has_operation {
            let allowed = resolve(&record["properties"]["operationType"])["enum"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if !allowed.iter().any(|v| v == "UPSERT") {
                let allowed: Vec<&str> = allowed.iter().filter_map(Value::as_str).collect();
                return Err(format!(
                    "an operationType column is needed: each row is one of {}",
                    allowed.join(", ")
                ));
            }
            Some("UPSERT".to_string())
        } else {
            None
        };
        Ok(Self {
            columns,
            default_operation,
        })
    }

    /// The record (as JSON) a row's cells make.
    pub fn record(&self, cells: &[&str]) -> Result<Value, CellError> {
        let mut record = Map::new();
        if let Some(operation) = &self.default_operation {
            record.insert("operationType".into(), Value::String(operation.clone()));
        }
        for ((column, target), cell) in self.columns.iter().zip(cells) {
            let cell = cell.trim();
            if cell.is_empty() {
                continue;
            }
            let error = |reason: String| CellError {
                column: column.clone(),
                reason,
            };
            match target {
                Target::Field { path, kind } => {
                    let value = convert(cell, kind).map_err(error)?;
                    set(&mut record, path, value);
                }
                Target::Detail {
                    container,
                    name,
                    as_operation,
                } => {
                    let values = split(cell).map(|v| Value::String(v.to_string())).collect();
                    let mut detail =
                        serde_json::json!({ "name": name, "values": Value::Array(values) });
                    if *as_operation {
                        detail =
                            serde_json::json!({ "operationType": "UPDATE", "payload": detail });
                    }
                    push(&mut record, container, detail);
                }
            }
        }
        Ok(Value::Object(record))
    }

    /// The column an error about the record's field `path` (`payload.details[1].values[0]`)
    /// comes from, for the row `cells`.
    pub fn column_of(&self, path: &str, cells: &[&str]) -> Option<String> {
        let mut details_seen = 0;
        let mut best: Option<(usize, &str)> = None;
        for ((column, target), cell) in self.columns.iter().zip(cells) {
            let place = match target {
                Target::Field { path, .. } => path.join("."),
                Target::Detail { container, .. } => {
                    if cell.trim().is_empty() {
                        continue;
                    }
                    details_seen += 1;
                    format!("{}[{}]", container.join("."), details_seen - 1)
                }
            };
            let matches = path == place
                || path.starts_with(&format!("{place}."))
                || path.starts_with(&format!("{place}["));
            if matches && best.is_none_or(|(length, _)| place.len() > length) {
                best = Some((place.len(), column));
            }
        }
        best.map(|(_, column)| column.to_string())
    }
}

/// The list a record (or its payload) keeps detail values in, if it has one, and whether it
/// holds them as operations.
fn detail_container(record: &Value, has_payload: bool) -> Option<(Vec<String>, bool)> {
    let payload = resolve(&record["properties"]["payload"]);
    if has_payload && payload["properties"].get("details").is_some() {
        return Some((vec!["payload".into(), "details".into()], false));
    }
    if record["properties"].get("details").is_some() {
        return Some((vec!["details".into()], false));
    }
    let operation = resolve(&record["properties"]["operations"]["items"]);
    let payload = resolve(&operation["properties"]["payload"]);
    let holds_values = operation["properties"].get("operationType").is_some()
        && payload["properties"].get("values").is_some();
    holds_values.then(|| (vec!["operations".into()], true))
}

fn target(record: &Value, has_payload: bool, header: &str) -> Option<Target> {
    if let Some(name) = header.strip_prefix("detail:") {
        let name = name.trim();
        return (!name.is_empty())
            .then(|| detail_container(record, has_payload))
            .flatten()
            .map(|(container, as_operation)| Target::Detail {
                container,
                name: name.to_string(),
                as_operation,
            });
    }
    let mut path: Vec<String> = header.split('.').map(|p| p.trim().to_string()).collect();
    let at_root = record["properties"].get(&path[0]).is_some() && path[0] != "payload";
    if !at_root {
        if !has_payload {
            return None;
        }
        path.insert(0, "payload".into());
    }
    let mut schema = record;
    for part in &path {
        schema = resolve(schema)["properties"].get(part)?;
    }
    Some(Target::Field {
        kind: kind_of(schema),
        path,
    })
}

/// The values of a multi-valued cell.
fn split(cell: &str) -> impl Iterator<Item = &str> {
    cell.split('|').map(str::trim).filter(|v| !v.is_empty())
}

fn convert(cell: &str, kind: &Kind) -> Result<Value, String> {
    Ok(match kind {
        Kind::Text => Value::String(cell.to_string()),
        Kind::Integer => cell
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| format!("{cell:?} is not a whole number"))?,
        Kind::Number => cell
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| format!("{cell:?} is not a number"))?,
        Kind::Boolean => match cell.to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Value::Bool(true),
            "false" | "no" | "0" => Value::Bool(false),
            _ => return Err(format!("{cell:?} is not true or false")),
        },
        Kind::List(item) => Value::Array(
            split(cell)
                .map(|value| convert(value, item))
                .collect::<Result<_, _>>()?,
        ),
        Kind::Json => serde_json::from_str(cell).map_err(|e| format!("not JSON: {e}"))?,
    })
}

fn set(record: &mut Map<String, Value>, path: &[String], value: Value) {
    let (last, parents) = path.split_last().expect("a path has a field");
    let mut object = record;
    for part in parents {
        let entry = object
            .entry(part.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        object = entry.as_object_mut().expect("made an object");
    }
    object.insert(last.clone(), value);
}

fn push(record: &mut Map<String, Value>, container: &[String], item: Value) {
    let (last, parents) = container.split_last().expect("a path has a field");
    let mut object = record;
    for part in parents {
        object = object
            .entry(part.clone())
            .or_insert_with(|| Value::Object(Map::new()))
            .as_object_mut()
            .expect("an object");
    }
    match object
        .entry(last.clone())
        .or_insert_with(|| Value::Array(Vec::new()))
    {
        Value::Array(items) => items.push(item),
        other => *other = Value::Array(vec![item]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROFILES: (&str, &str) = ("bulk_manage_multiple_customer_profiles", "customerProfiles");

    fn shape(headers: &[&str]) -> Result<Shape, String> {
        let headers: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
        Shape::new(PROFILES.0, PROFILES.1, &headers)
    }

    #[test]
    fn columns_map_to_payload_fields_details_and_lists() {
        let shape = shape(&[
            "email",
            "displayName",
            "detail:Plan",
            "detail:Tags",
            "associateOrganizations.organizationIds",
        ])
        .unwrap();
        let record = shape
            .record(&["ada@example.com", "Ada", "Pro", "a | b", "1|2"])
            .unwrap();
        assert_eq!(
            record,
            serde_json::json!({
                "operationType": "UPSERT",
                "payload": {
                    "email": "ada@example.com",
                    "displayName": "Ada",
                    "details": [
                        {"name": "Plan", "values": ["Pro"]},
                        {"name": "Tags", "values": ["a", "b"]}
                    ],
                    "associateOrganizations": {"organizationIds": [1, 2]}
                }
            })
        );
    }

    #[test]
    fn detail_columns_of_detail_value_records_are_updates() {
        let headers = ["customerId".to_string(), "detail:Plan".to_string()];
        let shape = Shape::new("bulk_update_customer_details", "customers", &headers).unwrap();
        let record = shape.record(&["qm:1:2", "Pro"]).unwrap();
        assert_eq!(
            record,
            serde_json::json!({"customerId": "qm:1:2", "operations": [
                {"operationType": "UPDATE", "payload": {"name": "Plan", "values": ["Pro"]}}
            ]})
        );
    }

    #[test]
    fn an_empty_cell_sets_nothing_and_an_operation_column_is_used() {
        let shape = shape(&["operationType", "email", "detail:Plan"]).unwrap();
        let record = shape.record(&["CREATE", "ada@example.com", ""]).unwrap();
        assert_eq!(
            record,
            serde_json::json!({"operationType": "CREATE", "payload": {"email": "ada@example.com"}})
        );
    }

    #[test]
    fn an_unknown_column_is_refused_with_the_fields_there_are() {
        let error = shape(&["email", "emial"]).unwrap_err();
        assert!(error.starts_with("emial is not a field"), "{error}");
        assert!(error.contains("displayName"), "{error}");
        assert!(error.contains("detail:NAME"), "{error}");
    }

    #[test]
    fn an_error_path_names_its_column() {
        let shape = shape(&["email", "detail:Plan", "detail:Region"]).unwrap();
        let cells = ["a@example.com", "", "Europe"];
        let column = shape.column_of("payload.details[0].values[0]", &cells);
        assert_eq!(column.as_deref(), Some("detail:Region"));
        assert_eq!(
            shape.column_of("payload.email", &cells).as_deref(),
            Some("email")
        );
        assert_eq!(shape.column_of("operationType", &cells), None);
    }
}
