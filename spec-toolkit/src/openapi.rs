//! Walking an OpenAPI document held as JSON: its operations and its local `$ref`s.
//!
//! Used by the build scripts (code generation, the fake's table), `xtask` (drift reports) and the
//! tests (examples and coverage), so all of them read a document the same way.

use serde_json::Value;

/// The document as the generator takes it (`openapiv3::OpenAPI`).
///
/// Typed here, once, rather than in each build script that generates code: the deserializer of
/// the whole OpenAPI model is a large piece of machine code, and this crate compiles beside the
/// generator, while a build script compiles after it, at the end of a user's build.
pub fn typed(document: &Value) -> Result<openapiv3::OpenAPI, String> {
    use serde::Deserialize;
    openapiv3::OpenAPI::deserialize(document).map_err(|e| format!("not OpenAPI 3.0: {e}"))
}

/// The keys of a path item that are operations (the rest, such as `parameters`, are not).
pub const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// One operation of a document.
#[derive(Clone, Copy, Debug)]
pub struct Operation<'a> {
    /// The path template, e.g. `/api/v1/product/{productId}`.
    pub path: &'a str,
    /// The method, lower case as the document writes it.
    pub method: &'a str,
    /// The operation object.
    pub definition: &'a Value,
    /// The path item that holds it (its `parameters` apply to the operation too).
    pub item: &'a Value,
}

impl<'a> Operation<'a> {
    /// The `operationId`, e.g. `get-products` (empty when the document gives none).
    pub fn id(&self) -> &'a str {
        self.definition["operationId"].as_str().unwrap_or_default()
    }

    /// The client method progenitor generates for it, e.g. `get_products`.
    pub fn method_name(&self) -> String {
        snake_case(self.id())
    }

    /// `GET /api/v1/product`.
    pub fn key(&self) -> String {
        format!("{} {}", self.method.to_uppercase(), self.path)
    }

    /// The operation's parameters, references followed: its own, then those of its path item
    /// that it does not redefine (same name and location).
    pub fn parameters(&self, doc: &'a Value) -> impl Iterator<Item = &'a Value> + 'a {
        let list = |value: &'a Value| {
            value
                .as_array()
                .into_iter()
                .flatten()
                .map(move |parameter| resolve(doc, parameter))
        };
        let own: Vec<&'a Value> = list(&self.definition["parameters"]).collect();
        let shared: Vec<&'a Value> = list(&self.item["parameters"])
            .filter(|shared| {
                !own.iter()
                    .any(|p| p["name"] == shared["name"] && p["in"] == shared["in"])
            })
            .collect();
        own.into_iter().chain(shared)
    }

    /// The JSON request body schema, if the operation takes one.
    pub fn request_schema(&self) -> Option<&'a Value> {
        self.definition
            .pointer("/requestBody/content/application~1json/schema")
    }
}

/// Every operation of `doc`, in document order.
pub fn operations(doc: &Value) -> impl Iterator<Item = Operation<'_>> {
    doc["paths"]
        .as_object()
        .into_iter()
        .flatten()
        .flat_map(|(path, item)| {
            item.as_object()
                .into_iter()
                .flatten()
                .filter(|(method, _)| METHODS.contains(&method.as_str()))
                .map(move |(method, definition)| Operation {
                    path,
                    method,
                    definition,
                    item,
                })
        })
}

/// Follows local `$ref`s (`#/components/…`) to the value they name; a dangling one is returned
/// as it is.
pub fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    let mut current = value;
    // A bounded walk: a document whose references loop must not hang the build.
    for _ in 0..32 {
        match current["$ref"].as_str() {
            Some(reference) => match doc.pointer(reference.trim_start_matches('#')) {
                Some(target) => current = target,
                None => return current,
            },
            None => return current,
        }
    }
    current
}

/// Visits every schema reachable from `schema` with its path from the root (property names;
/// `[]` steps into an array's items): the schema itself, then the members of its `allOf` (at the
/// same path), its items and its properties, references followed. Recursive schemas stop at a
/// depth of 12, deeper than anything this API nests.
pub fn walk_schema<'a>(
    doc: &'a Value,
    schema: &'a Value,
    visit: &mut dyn FnMut(&[String], &'a Value),
) {
    walk_at(doc, schema, &mut Vec::new(), visit);
}

fn walk_at<'a>(
    doc: &'a Value,
    schema: &'a Value,
    path: &mut Vec<String>,
    visit: &mut dyn FnMut(&[String], &'a Value),
) {
    if path.len() > 12 {
        return;
    }
    let schema = resolve(doc, schema);
    visit(path, schema);
    for member in schema["allOf"].as_array().into_iter().flatten() {
        walk_at(doc, member, path, visit);
    }
    if schema["type"] == "array" {
        path.push("[]".into());
        walk_at(doc, &schema["items"], path, visit);
        path.pop();
    }
    for (name, property) in schema["properties"].as_object().into_iter().flatten() {
        path.push(name.clone());
        walk_at(doc, property, path, visit);
        path.pop();
    }
}

/// snake_case as progenitor names methods (`bulk-create-customer-accounts` →
/// `bulk_create_customer_accounts`).
pub fn snake_case(id: &str) -> String {
    heck::ToSnakeCase::to_snake_case(id)
}
