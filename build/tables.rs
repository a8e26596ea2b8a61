//! Tables read from the document at build time, so a new operation needs no hand-written line:
//! what the client adds to each operation's requests, and the item-count limits of its body.

use atlassian_csm_spec::openapi::{operations, walk_schema};
use proc_macro2::TokenStream;
use quote::quote;

/// Per-operation rules: whether it is experimental (`x-experimental`, set by the document or by
/// the [rules](crate::rules) when it declared the header: the client sends
/// `X-ExperimentalApi: opt-in`) and whether it takes an `Idempotency-Key` (the client generates
/// one when the caller gives none).
pub fn operation_rules(spec: &serde_json::Value) -> TokenStream {
    let mut rows = Vec::new();
    let mut method_names = Vec::new();
    for operation in operations(spec) {
        let id = operation.id();
        if id.is_empty() {
            crate::fail(&format!("{} has no operationId", operation.key()));
        }
        let experimental = operation.definition["x-experimental"]
            .as_bool()
            .unwrap_or(false);
        let idempotency_key = operation.parameters(spec).any(|p| {
            p["in"] == "header"
                && p["name"].as_str().is_some_and(|n| {
                    n.eq_ignore_ascii_case(atlassian_csm_spec::rules::IDEMPOTENCY_KEY_HEADER)
                })
        });
        let method_name = operation.method_name();
        let (method_upper, path) = (operation.method.to_uppercase(), operation.path);
        method_names.push(method_name.clone());
        rows.push(quote! {
            OperationRules {
                operation_id: #id,
                method_name: #method_name,
                http_method: #method_upper,
                path: #path,
                experimental: #experimental,
                idempotency_key: #idempotency_key,
            }
        });
    }
    let count = rows.len();
    let indexes = 0..count;
    quote! {
        /// What the client adds to one operation's requests, read from the spec at build time.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(crate) struct OperationRules {
            /// The operation id in the spec, e.g. `get-products`.
            pub operation_id: &'static str,
            /// The client method (and `OperationInfo::operation_id`), e.g. `get_products`.
            pub method_name: &'static str,
            /// The HTTP method, upper case.
            pub http_method: &'static str,
            /// The path template, e.g. `/api/v1/product/{productId}`.
            pub path: &'static str,
            /// Marked `x-experimental`: requests carry `X-ExperimentalApi: opt-in`.
            pub experimental: bool,
            /// Takes an `Idempotency-Key` header: generated when the caller gives none.
            pub idempotency_key: bool,
        }

        /// Every operation of the client, in spec order.
        pub(crate) const OPERATIONS: [OperationRules; #count] = [#(#rows),*];

        /// The rules of the operation whose client method is `method_name`.
        pub(crate) fn operation_rules(method_name: &str) -> ::std::option::Option<&'static OperationRules> {
            match method_name {
                #(#method_names => ::std::option::Option::Some(&OPERATIONS[#indexes]),)*
                _ => ::std::option::Option::None,
            }
        }
    }
}

/// The limits anywhere in each operation's request body: item counts (`minItems`/`maxItems`),
/// string lengths (`minLength`/`maxLength`, in characters), string `format`s and the values of
/// string enums, so
/// they are checked before a request is sent. The generated types carry none (answers are read tolerantly).
pub fn request_limits(spec: &serde_json::Value) -> TokenStream {
    let mut arms = Vec::new();
    for operation in operations(spec) {
        let Some(body) = operation.request_schema() else {
            continue;
        };
        let mut limits = Vec::new();
        walk_schema(spec, body, &mut |path, schema| {
            limits_of(path, schema, &mut limits)
        });
        if limits.is_empty() {
            continue;
        }
        let method_name = operation.method_name();
        let entries = limits.iter().map(|limit| {
            let path = &limit.path;
            let kind = match (&limit.allowed, limit.chars) {
                _ if limit.format.is_some() => {
                    let format = limit.format.as_deref().unwrap_or_default();
                    quote!(LimitKind::Format(#format))
                }
                (Some(allowed), _) => quote!(LimitKind::OneOf(&[#(#allowed),*])),
                (None, true) => quote!(LimitKind::Chars),
                (None, false) => quote!(LimitKind::Items),
            };
            let min = option_tokens(limit.min);
            let max = option_tokens(limit.max);
            quote! { BodyLimit { path: &[#(#path),*], kind: #kind, min: #min, max: #max } }
        });
        arms.push(quote! { #method_name => &[#(#entries),*], });
    }
    quote! {
        /// What a limit counts.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(crate) enum LimitKind {
            /// The items of an array.
            Items,
            /// The characters of a string.
            Chars,
            /// A string that must be one of these values (an enum).
            OneOf(&'static [&'static str]),
            /// A string in this `format` (`email`, `date-time`, `uuid`…).
            Format(&'static str),
        }

        /// A limit on an array or a string in a request body.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(crate) struct BodyLimit {
            /// Property names from the body's root; `[]` steps into every item of an array.
            pub path: &'static [&'static str],
            /// What is counted.
            pub kind: LimitKind,
            /// The fewest allowed.
            pub min: ::std::option::Option<usize>,
            /// The most allowed.
            pub max: ::std::option::Option<usize>,
        }

        /// The limits of an operation's request body, read from the spec.
        pub(crate) fn request_limits(method_name: &str) -> &'static [BodyLimit] {
            match method_name {
                #(#arms)*
                _ => &[],
            }
        }
    }
}

/// Where the document gives the answer to a bulk call beyond the site's unfinished tasks.
pub const TASK_LIMIT_EXAMPLE: &str =
    "/components/responses/BadRequest/content/application~1json/examples/taskLimitReached/value";

/// `TASK_LIMIT_MESSAGE`: the `errorMessage` of that answer (correction 19), which tells the
/// site's back-pressure from a refusal of the records.
pub fn task_limit_message(spec: &serde_json::Value) -> TokenStream {
    let Some(message) = spec
        .pointer(&format!("{TASK_LIMIT_EXAMPLE}/errorMessage"))
        .and_then(serde_json::Value::as_str)
    else {
        crate::fail(&format!(
            "the document has no task-limit answer at {TASK_LIMIT_EXAMPLE} (correction 19)"
        ));
    };
    quote! {
        /// The `errorMessage` of the API's answer to a bulk call beyond the site's unfinished
        /// tasks, from the document's `BadRequest` example.
        pub(crate) const TASK_LIMIT_MESSAGE: &str = #message;
    }
}

fn option_tokens(value: Option<u64>) -> TokenStream {
    match value {
        Some(value) => {
            let value = value as usize;
            quote!(::std::option::Option::Some(#value))
        }
        None => quote!(::std::option::Option::None),
    }
}

/// One limit found in a request body schema.
struct Limit {
    path: Vec<String>,
    chars: bool,
    /// The values an enum allows.
    allowed: Option<Vec<String>>,
    /// The `format` a string has.
    format: Option<String>,
    min: Option<u64>,
    max: Option<u64>,
}

/// The limits one schema states itself (its parts are visited apart).
fn limits_of(path: &[String], schema: &serde_json::Value, out: &mut Vec<Limit>) {
    if let Some(reference) = schema["$ref"].as_str() {
        crate::fail(&format!("dangling reference {reference}"));
    }
    let path = path.to_vec();
    let (min, max, chars) = match schema["type"].as_str() {
        Some("array") => (
            schema["minItems"].as_u64(),
            schema["maxItems"].as_u64(),
            false,
        ),
        Some("string") => (
            schema["minLength"].as_u64(),
            schema["maxLength"].as_u64(),
            true,
        ),
        _ => (None, None, false),
    };
    if min.is_some() || max.is_some() {
        out.push(Limit {
            path: path.clone(),
            chars,
            allowed: None,
            format: None,
            min,
            max,
        });
    }
    if let (Some("string"), Some(format)) = (schema["type"].as_str(), schema["format"].as_str()) {
        out.push(Limit {
            path: path.clone(),
            chars: true,
            allowed: None,
            format: Some(format.to_string()),
            min: None,
            max: None,
        });
    }
    if let Some(values) = schema["enum"].as_array() {
        let allowed: Vec<String> = values
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        if allowed.len() == values.len() {
            out.push(Limit {
                path,
                chars: true,
                allowed: Some(allowed),
                format: None,
                min: None,
                max: None,
            });
        }
    }
}
