//! Rules the document states in words, written into its schemas as *assertions*: `allOf` members
//! that hold only an `anyOf` of conditions and the sentence they come from as `description`
//! (correction 18). For example a customer profile's payload carries
//!
//! ```json
//! {"description": "Either email or customerId is required to identify the customer.",
//!  "anyOf": [{"required": ["email"]}, {"required": ["customerId"]}]}
//! ```
//!
//! A JSON Schema validator (the fake's, or anyone's) reads them as they are. For the client they
//! are compiled here into `request_assertions`, checked before a request is sent; the generated
//! types do not carry them ([`without_assertions`]), since they constrain values, not shapes.
//!
//! A condition is one of `required`, `enum`, `not` and `properties` (each property, when present,
//! meets its conditions), as JSON Schema means them. Anything else inside an assertion fails the
//! build with the schema's path, so a rule is never silently ignored.

use atlassian_csm_spec::openapi::{operations, walk_schema};
use proc_macro2::TokenStream;
use quote::quote;
use serde_json::Value;

/// The keys a condition may hold.
const CONDITION_KEYS: [&str; 5] = ["required", "enum", "not", "properties", "description"];

/// Whether `member` (of an `allOf`) is an assertion: an `anyOf` of conditions and nothing that
/// gives a type.
pub fn is_assertion(member: &Value) -> bool {
    let Some(map) = member.as_object() else {
        return false;
    };
    map.contains_key("anyOf") && map.keys().all(|k| k == "anyOf" || k == "description")
}

/// `doc` without its assertions, for the generator: an `allOf` left empty goes too.
pub fn without_assertions(doc: &mut Value) {
    match doc {
        Value::Object(map) => {
            if let Some(Value::Array(members)) = map.get_mut("allOf") {
                members.retain(|member| !is_assertion(member));
                if members.is_empty() {
                    map.shift_remove("allOf");
                }
            }
            map.values_mut().for_each(without_assertions);
        }
        Value::Array(items) => items.iter_mut().for_each(without_assertions),
        _ => {}
    }
}

/// One condition, compiled.
enum Condition {
    Required(String),
    OneOf(Vec<String>),
    Not(Vec<Condition>),
    Property(String, Vec<Condition>),
}

fn conditions(schema: &Value, at: &str) -> Vec<Condition> {
    let Some(map) = schema.as_object() else {
        crate::fail(&format!("{at}: an assertion's condition is not an object"));
    };
    let mut out = Vec::new();
    for (key, value) in map {
        match key.as_str() {
            "description" => {}
            "required" => out.extend(
                value
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(|name| Condition::Required(name.to_string())),
            ),
            "enum" => out.push(Condition::OneOf(
                value
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|v| match v.as_str() {
                        Some(text) => text.to_string(),
                        None => crate::fail(&format!("{at}: only string enums can be asserted")),
                    })
                    .collect(),
            )),
            "not" => out.push(Condition::Not(conditions(value, &format!("{at}/not")))),
            "properties" => {
                for (name, schema) in value.as_object().into_iter().flatten() {
                    let inner = conditions(schema, &format!("{at}/properties/{name}"));
                    out.push(Condition::Property(name.clone(), inner));
                }
            }
            other => crate::fail(&format!(
                "{at}: `{other}` in an assertion; the client checks only {}",
                CONDITION_KEYS.join(", ")
            )),
        }
    }
    out
}

fn condition_tokens(condition: &Condition) -> TokenStream {
    match condition {
        Condition::Required(name) => quote!(Condition::Required(#name)),
        Condition::OneOf(values) => quote!(Condition::OneOf(&[#(#values),*])),
        Condition::Not(inner) => {
            let inner = inner.iter().map(condition_tokens);
            quote!(Condition::Not(&[#(#inner),*]))
        }
        Condition::Property(name, inner) => {
            let inner = inner.iter().map(condition_tokens);
            quote!(Condition::Property(#name, &[#(#inner),*]))
        }
    }
}

/// The assertions one schema states itself, in its `allOf` (its other parts are visited apart),
/// with its path from the body's root (`[]`: each item).
fn assertions_of(path: &[String], schema: &Value, out: &mut Vec<TokenStream>) {
    for (index, member) in schema["allOf"].as_array().into_iter().flatten().enumerate() {
        if !is_assertion(member) {
            continue;
        }
        let at = format!("{}/allOf/{index}", path.join("/"));
        let message = match member["description"].as_str() {
            Some(text) if !text.trim().is_empty() => text.trim(),
            _ => crate::fail(&format!(
                "{at}: an assertion needs the sentence it comes from as `description`"
            )),
        };
        let branches = member["anyOf"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
            .map(|(n, branch)| {
                let inner = conditions(branch, &format!("{at}/anyOf/{n}"));
                let inner = inner.iter().map(condition_tokens);
                quote!(&[#(#inner),*])
            });
        out.push(quote! {
            BodyAssertion { path: &[#(#path),*], message: #message, any_of: &[#(#branches),*] }
        });
    }
}

/// `request_assertions(method_name)`: the assertions anywhere in each operation's request body.
pub fn request_assertions(doc: &Value) -> TokenStream {
    let mut arms = Vec::new();
    for operation in operations(doc) {
        let Some(body) = operation.request_schema() else {
            continue;
        };
        let mut found = Vec::new();
        walk_schema(doc, body, &mut |path, schema| {
            assertions_of(path, schema, &mut found)
        });
        if !found.is_empty() {
            let method_name = operation.method_name();
            arms.push(quote! { #method_name => &[#(#found),*], });
        }
    }
    quote! {
        /// A condition of an assertion, as JSON Schema means it.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(crate) enum Condition {
            /// The object has this property.
            Required(&'static str),
            /// The value is one of these strings.
            OneOf(&'static [&'static str]),
            /// The conditions do not all hold.
            Not(&'static [Condition]),
            /// When the object has this property, its value meets the conditions.
            Property(&'static str, &'static [Condition]),
        }

        /// A rule the document states in words: the object at `path` meets every condition of
        /// at least one branch of `any_of`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(crate) struct BodyAssertion {
            /// Property names from the body's root; `[]` steps into every item of an array.
            pub path: &'static [&'static str],
            /// The document's sentence.
            pub message: &'static str,
            /// The branches, each a list of conditions that must all hold.
            pub any_of: &'static [&'static [Condition]],
        }

        /// The assertions of an operation's request body, read from the spec.
        pub(crate) fn request_assertions(method_name: &str) -> &'static [BodyAssertion] {
            match method_name {
                #(#arms)*
                _ => &[],
            }
        }
    }
}
