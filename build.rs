//! Generates the typed CSM client from the vendored OpenAPI document.
//!
//! Steps: read `spec/csm.openapi.json`, apply every correction in `spec/corrections/`, generate
//! the client with progenitor (builder style, hooks expected), open every string enum so unknown
//! values decode, derive the per-operation header rules from the spec, format with prettyplease
//! and write `$OUT_DIR/csm_client.rs`. The corrected document is written beside it for the tests.

#[path = "xtask/src/spec_file.rs"]
#[allow(dead_code)]
mod spec_file;

use proc_macro2::TokenStream;
use quote::quote;
use std::path::{Path, PathBuf};

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo"));
    watch_inputs(&root);

    let spec = spec_file::corrected_spec(&root).unwrap_or_else(|message| fail(&message));
    std::fs::write(
        out_dir.join("csm.corrected.json"),
        spec_file::to_normalized_string(&spec),
    )
    .unwrap_or_else(|e| fail(&format!("cannot write the corrected spec: {e}")));

    let openapi: openapiv3::OpenAPI = serde_json::from_value(spec.clone())
        .unwrap_or_else(|e| fail(&format!("the corrected spec is not OpenAPI 3.0: {e}")));
    let mut settings = progenitor::GenerationSettings::new();
    settings
        .with_interface(progenitor::InterfaceStyle::Builder)
        .with_tag(progenitor::TagStyle::Merged)
        .with_hooks(progenitor::HooksMode::Expected)
        .with_inner_type(quote!(crate::config::ClientConfig));
    let mut generator = progenitor::Generator::new(&settings);
    let client = generator
        .generate_tokens(&openapi)
        .unwrap_or_else(|e| fail(&format!("progenitor could not generate the client: {e}")));

    let mut file: syn::File = syn::parse2(client)
        .unwrap_or_else(|e| fail(&format!("progenitor produced invalid Rust: {e}")));
    open_string_enums(&mut file);
    wrap_send_methods(&mut file);
    file.items.extend(parse_items(operation_rules(&spec)));
    file.items.extend(parse_items(request_array_limits(&spec)));

    let code = prettyplease::unparse(&file);
    std::fs::write(out_dir.join("csm_client.rs"), code)
        .unwrap_or_else(|e| fail(&format!("cannot write the generated client: {e}")));
}

/// Regenerate whenever any spec file, correction or the shared spec code changes.
fn watch_inputs(root: &Path) {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=xtask/src/spec_file.rs");
    println!("cargo:rerun-if-changed=spec");
    println!("cargo:rerun-if-changed={}", spec_file::SPEC_FILE);
    println!("cargo:rerun-if-changed={}", spec_file::CORRECTIONS_DIR);
    let corrections = root.join(spec_file::CORRECTIONS_DIR);
    for file in spec_file::correction_files(&corrections).unwrap_or_default() {
        println!("cargo:rerun-if-changed={}", file.display());
    }
}

fn parse_items(tokens: TokenStream) -> Vec<syn::Item> {
    syn::parse2::<syn::File>(tokens)
        .unwrap_or_else(|e| fail(&format!("build.rs produced invalid Rust: {e}")))
        .items
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1)
}

/// Makes every generated string enum open: servers add values, and one unknown value must not make
/// a whole response fail to decode.
///
/// Each enum whose variants are all unit variants renamed to a wire string gets an
/// `Unknown(String)` variant that serde fills with any other string (`#[serde(untagged)]` on a
/// variant is tried only after the named ones). typify's conversions for the enum (`Display`,
/// `FromStr`, `TryFrom<&str>`…) are replaced by infallible ones that keep the unknown string.
fn open_string_enums(file: &mut syn::File) {
    let Some(types) = file.items.iter_mut().find_map(|item| match item {
        syn::Item::Mod(module) if module.ident == "types" => module.content.as_mut(),
        _ => None,
    }) else {
        fail("progenitor output has no `types` module")
    };
    let items = &mut types.1;

    let mut opened = Vec::new();
    for item in items.iter_mut() {
        if let syn::Item::Enum(enumeration) = item {
            if let Some(wire_names) = wire_names(enumeration) {
                opened.push((enumeration.ident.clone(), wire_names));
                add_unknown_variant(enumeration);
            }
        }
    }
    let opened_names: Vec<_> = opened.iter().map(|(ident, _)| ident.clone()).collect();
    items.retain(|item| !is_string_conversion_of(item, &opened_names));
    for (ident, wire_names) in &opened {
        items.extend(parse_items(open_enum_conversions(ident, wire_names)));
    }
}

/// Gives every operation builder the crate's error type and runtime.
///
/// progenitor's `send()` becomes `send_raw()` (it returns progenitor's own error), and a new
/// `send()` runs it inside [`call::send`](src/call.rs): within the client's overall timeout, with
/// the attempts recorded, and its error turned into `crate::Error`. Builders of bulk calls (those
/// answering `TaskSubmitResponse`) also get `send_and_wait()`, which submits and waits for the
/// task.
fn wrap_send_methods(file: &mut syn::File) {
    let Some(builders) = file.items.iter_mut().find_map(|item| match item {
        syn::Item::Mod(module) if module.ident == "builder" => module.content.as_mut(),
        _ => None,
    }) else {
        fail("progenitor output has no `builder` module")
    };
    for item in builders.1.iter_mut() {
        let syn::Item::Impl(implementation) = item else {
            continue;
        };
        let syn::Type::Path(self_type) = implementation.self_ty.as_ref() else {
            continue;
        };
        let Some(builder_name) = self_type.path.segments.last().map(|s| s.ident.to_string()) else {
            continue;
        };
        let Some(send) = implementation.items.iter_mut().find_map(|item| match item {
            syn::ImplItem::Fn(function) if function.sig.ident == "send" => Some(function),
            _ => None,
        }) else {
            continue;
        };
        send.sig.ident = syn::Ident::new("send_raw", send.sig.ident.span());
        send.attrs.push(syn::parse_quote! {
            /// Sends the request as generated, returning progenitor's error type. Prefer `send()`.
        });
        let success = success_type(&send.sig.output);
        let operation = snake_case(&builder_name);
        let doc = format!(
            "Sends the request (`{operation}`), retrying as the client's retry policy allows, \
             within its overall call timeout."
        );
        implementation.items.push(syn::parse_quote! {
            #[doc = #doc]
            pub async fn send(self) -> ::std::result::Result<#success, crate::Error> {
                let client = self.client;
                crate::call::send(client, #operation, self.send_raw()).await
            }
        });
        if quote!(#success).to_string().contains("TaskSubmitResponse") {
            implementation.items.push(syn::parse_quote! {
                /// Submits the bulk request, then waits for its task to end (see
                /// `Client::wait_for_task`).
                pub async fn send_and_wait(self) -> ::std::result::Result<crate::TaskOutcome, crate::Error> {
                    let client = self.client;
                    let submitted = self.send().await?;
                    client.wait_for_task(submitted.into_inner().id).await
                }
            });
        }
    }
}

/// `T` of a `-> Result<T, E>` signature.
fn success_type(output: &syn::ReturnType) -> syn::Type {
    let syn::ReturnType::Type(_, result) = output else {
        fail("a generated send() returns nothing")
    };
    let syn::Type::Path(path) = result.as_ref() else {
        fail("a generated send() does not return a Result")
    };
    let arguments = &path
        .path
        .segments
        .last()
        .expect("a path has a segment")
        .arguments;
    match arguments {
        syn::PathArguments::AngleBracketed(generics) => match generics.args.first() {
            Some(syn::GenericArgument::Type(success)) => success.clone(),
            _ => fail("a generated send() returns an unexpected Result"),
        },
        _ => fail("a generated send() returns an unexpected Result"),
    }
}

/// The (variant, wire string) pairs of an enum made only of `#[serde(rename = "…")]` unit variants.
fn wire_names(enumeration: &syn::ItemEnum) -> Option<Vec<(syn::Ident, String)>> {
    enumeration
        .variants
        .iter()
        .map(|variant| {
            if !matches!(variant.fields, syn::Fields::Unit) {
                return None;
            }
            let wire = variant.attrs.iter().find_map(|attr| {
                if !attr.path().is_ident("serde") {
                    return None;
                }
                let mut rename = None;
                let _ = attr.parse_nested_meta(|meta| {
                    if meta.path.is_ident("rename") {
                        rename = Some(meta.value()?.parse::<syn::LitStr>()?.value());
                    }
                    Ok(())
                });
                rename
            })?;
            Some((variant.ident.clone(), wire))
        })
        .collect()
}

fn add_unknown_variant(enumeration: &mut syn::ItemEnum) {
    // `Copy` cannot hold a String.
    for attr in &mut enumeration.attrs {
        if attr.path().is_ident("derive") {
            let derives: syn::punctuated::Punctuated<syn::Path, syn::Token![,]> = attr
                .parse_args_with(syn::punctuated::Punctuated::parse_terminated)
                .unwrap_or_default();
            let kept = derives
                .into_iter()
                .filter(|path| path.segments.last().is_none_or(|s| s.ident != "Copy"));
            *attr = syn::parse_quote!(#[derive(#(#kept),*)]);
        }
    }
    enumeration.variants.push(syn::parse_quote! {
        /// A value this version of the client does not know yet, kept as the server sent it.
        #[serde(untagged)]
        Unknown(::std::string::String)
    });
}

/// Whether `item` is one of typify's string conversions (`Display`, `FromStr`, `TryFrom<…>`) for
/// one of `names`.
fn is_string_conversion_of(item: &syn::Item, names: &[syn::Ident]) -> bool {
    let syn::Item::Impl(implementation) = item else {
        return false;
    };
    let Some((trait_path, _)) = &implementation.trait_ else {
        return false;
    };
    let trait_name = trait_path.segments.last().map(|s| s.ident.to_string());
    let is_conversion = matches!(
        trait_name.as_deref(),
        Some("Display" | "FromStr" | "TryFrom")
    );
    let self_name = match implementation.self_ty.as_ref() {
        syn::Type::Path(path) => path.path.segments.last().map(|s| s.ident.clone()),
        _ => None,
    };
    is_conversion && self_name.is_some_and(|name| names.contains(&name))
}

fn open_enum_conversions(ident: &syn::Ident, wire_names: &[(syn::Ident, String)]) -> TokenStream {
    let variants: Vec<_> = wire_names.iter().map(|(variant, _)| variant).collect();
    let wires: Vec<_> = wire_names.iter().map(|(_, wire)| wire).collect();
    quote! {
        impl #ident {
            /// The value as it is sent on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    #(Self::#variants => #wires,)*
                    Self::Unknown(value) => value.as_str(),
                }
            }
        }
        impl ::std::fmt::Display for #ident {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl ::std::convert::From<&str> for #ident {
            fn from(value: &str) -> Self {
                match value {
                    #(#wires => Self::#variants,)*
                    other => Self::Unknown(other.to_string()),
                }
            }
        }
        impl ::std::convert::From<::std::string::String> for #ident {
            fn from(value: ::std::string::String) -> Self {
                Self::from(value.as_str())
            }
        }
        impl ::std::convert::From<&::std::string::String> for #ident {
            fn from(value: &::std::string::String) -> Self {
                Self::from(value.as_str())
            }
        }
        impl ::std::str::FromStr for #ident {
            type Err = ::std::convert::Infallible;
            fn from_str(value: &str) -> ::std::result::Result<Self, Self::Err> {
                Ok(Self::from(value))
            }
        }
    }
}

/// Per-operation rules read from the spec, so a new operation needs no hand-written line:
/// whether it is experimental (`x-experimental`, the client sends `X-ExperimentalApi: opt-in`)
/// and whether it takes an `Idempotency-Key` (the client generates one when the caller gives none).
fn operation_rules(spec: &serde_json::Value) -> TokenStream {
    const METHODS: [&str; 8] = [
        "get", "put", "post", "delete", "options", "head", "patch", "trace",
    ];
    let mut rows = Vec::new();
    let mut method_names = Vec::new();
    for (path, item) in spec["paths"].as_object().into_iter().flatten() {
        for (method, operation) in item.as_object().into_iter().flatten() {
            if !METHODS.contains(&method.as_str()) {
                continue;
            }
            let Some(id) = operation["operationId"].as_str() else {
                fail(&format!("{method} {path} has no operationId"))
            };
            let experimental = operation["x-experimental"].as_bool().unwrap_or(false);
            let idempotency_key = operation["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|p| p["in"] == "header" && p["name"] == "Idempotency-Key");
            let snake_id = snake_case(id);
            let method_upper = method.to_uppercase();
            method_names.push(snake_id.clone());
            rows.push(quote! {
                OperationRules {
                    operation_id: #id,
                    method_name: #snake_id,
                    http_method: #method_upper,
                    path: #path,
                    experimental: #experimental,
                    idempotency_key: #idempotency_key,
                }
            });
        }
    }
    let count = rows.len();
    let indexes = 0..count;
    quote! {
        /// What the client adds to one operation's requests, read from the spec at build time.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct OperationRules {
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
        pub const OPERATIONS: [OperationRules; #count] = [#(#rows),*];

        /// The rules of the operation whose client method is `method_name`.
        pub fn operation_rules(method_name: &str) -> ::std::option::Option<&'static OperationRules> {
            match method_name {
                #(#method_names => ::std::option::Option::Some(&OPERATIONS[#indexes]),)*
                _ => ::std::option::Option::None,
            }
        }
    }
}

/// The item-count limits (`minItems`/`maxItems`) anywhere in each operation's request body, so
/// they are checked before a request is sent (typify checks string lengths itself, not these).
fn request_array_limits(spec: &serde_json::Value) -> TokenStream {
    let mut arms = Vec::new();
    for item in spec["paths"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(_, item)| item)
    {
        for operation in item.as_object().into_iter().flatten().map(|(_, op)| op) {
            let (Some(id), Some(body)) = (
                operation["operationId"].as_str(),
                operation.pointer("/requestBody/content/application~1json/schema"),
            ) else {
                continue;
            };
            let mut limits = Vec::new();
            collect_array_limits(spec, body, &mut Vec::new(), &mut limits);
            if limits.is_empty() {
                continue;
            }
            let method_name = snake_case(id);
            let entries = limits.iter().map(|(path, min, max)| {
                let min = option_tokens(*min);
                let max = option_tokens(*max);
                quote! { ArrayLimit { path: &[#(#path),*], min_items: #min, max_items: #max } }
            });
            arms.push(quote! { #method_name => &[#(#entries),*], });
        }
    }
    quote! {
        /// An item-count limit on an array in a request body.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct ArrayLimit {
            /// Property names from the body's root; `[]` steps into every item of an array.
            pub path: &'static [&'static str],
            /// The fewest items allowed.
            pub min_items: ::std::option::Option<usize>,
            /// The most items allowed.
            pub max_items: ::std::option::Option<usize>,
        }

        /// The array limits of an operation's request body, read from the spec.
        pub fn request_array_limits(method_name: &str) -> &'static [ArrayLimit] {
            match method_name {
                #(#arms)*
                _ => &[],
            }
        }
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

type ArrayLimitRow = (Vec<String>, Option<u64>, Option<u64>);

fn collect_array_limits(
    spec: &serde_json::Value,
    schema: &serde_json::Value,
    path: &mut Vec<String>,
    out: &mut Vec<ArrayLimitRow>,
) {
    if path.len() > 12 {
        return; // recursive schemas: nothing in this API nests deeper
    }
    let schema = match schema["$ref"].as_str() {
        Some(reference) => spec
            .pointer(reference.trim_start_matches('#'))
            .unwrap_or_else(|| fail(&format!("dangling reference {reference}"))),
        None => schema,
    };
    if schema["type"] == "array" {
        let (min, max) = (schema["minItems"].as_u64(), schema["maxItems"].as_u64());
        if min.is_some() || max.is_some() {
            out.push((path.clone(), min, max));
        }
        path.push("[]".into());
        collect_array_limits(spec, &schema["items"], path, out);
        path.pop();
    }
    for (name, property) in schema["properties"].as_object().into_iter().flatten() {
        path.push(name.clone());
        collect_array_limits(spec, property, path, out);
        path.pop();
    }
    for part in schema["allOf"].as_array().into_iter().flatten() {
        collect_array_limits(spec, part, path, out);
    }
}

/// snake_case as progenitor names methods (`bulk-create-customer-accounts` →
/// `bulk_create_customer_accounts`).
fn snake_case(id: &str) -> String {
    use heck::ToSnakeCase;
    id.to_snake_case()
}
