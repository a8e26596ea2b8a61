//! Generates the typed CSM client from the vendored OpenAPI document.
//!
//! Steps: read `spec/csm.openapi.json`, apply every correction in `spec/corrections/` and the
//! [rules](rules) every operation follows, generate the client with progenitor (builder style,
//! hooks expected) from the document without its length limits (answers are read tolerantly),
//! open every string enum so unknown values decode, read optional fields sent as `null` as
//! absent, give every builder the crate's `send()`, confine path parameters to their segment,
//! drop the generator's own `api-version` header and the copy of each answer's headers,
//! add the per-operation tables read from the strict document (headers, request limits), format
//! with prettyplease and write `$OUT_DIR/csm_client.rs`. The corrected document is written beside it
//! for the tests. Nothing is read from the network and nothing is written outside `OUT_DIR`.

mod assertions;
mod builder_model;
mod builder_tokens;
mod builders;
mod docs;
mod enums;
mod lenient;
mod request;
mod send;
mod strict;
mod tables;

use atlassian_csm_spec::{pins, rules, spec_file};
use proc_macro2::TokenStream;
use quote::quote;
use std::path::{Path, PathBuf};

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo"));
    watch_inputs(&root);

    let spec = spec_file::corrected_spec(&root).unwrap_or_else(|message| fail(&message));
    let corrected_path = out_dir.join("csm.corrected.json");
    std::fs::write(&corrected_path, spec_file::to_normalized_string(&spec))
        .unwrap_or_else(|e| fail(&format!("cannot write the corrected spec: {e}")));
    // Read by the build script of `atlassian-csm-mock` (`DEP_ATLASSIAN_CSM_CORRECTED_SPEC`): its
    // fake checks requests against the same limits.
    println!("cargo:corrected_spec={}", corrected_path.display());

    // The document the client is generated from, for crates that generate from it too (the
    // typed stubs of `atlassian-csm-mock`): its path reaches their build scripts as
    // `DEP_ATLASSIAN_CSM_GENERATED_SPEC`.
    let mut generated_spec = rules::relaxed_for_reading(&spec);
    assertions::without_assertions(&mut generated_spec);
    let generated_spec_path = out_dir.join("csm.generated.json");
    std::fs::write(
        &generated_spec_path,
        spec_file::to_normalized_string(&generated_spec),
    )
    .unwrap_or_else(|e| fail(&format!("cannot write the generated spec: {e}")));
    println!("cargo:generated_spec={}", generated_spec_path.display());

    let openapi = atlassian_csm_spec::openapi::typed(&generated_spec)
        .unwrap_or_else(|e| fail(&format!("the corrected spec is {e}")));
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

    let mut file: syn::File = syn::parse2(client).unwrap_or_else(|e| {
        fail(&format!(
            "progenitor {} produced invalid Rust: {e}",
            pins::PROGENITOR
        ))
    });
    enums::open_string_enums(&mut file);
    strict::deny_unknown_request_fields(&mut file);
    builders::rewrite_builders(&mut file);
    send::wrap_send_methods(&mut file);
    send::hide_raw_constructors(&mut file);
    send::confine_path_parameters(&mut file);
    request::trim_generated_requests(&mut file);
    file.items
        .extend(parse_items(tables::operation_rules(&spec)));
    file.items
        .extend(parse_items(tables::request_limits(&spec)));
    file.items
        .extend(parse_items(assertions::request_assertions(&spec)));
    file.items
        .extend(parse_items(tables::task_limit_message(&spec)));
    lenient::null_as_default(&mut file);
    docs::document_client_and_builders(&mut file);

    let code = prettyplease::unparse(&file);
    std::fs::write(out_dir.join("csm_client.rs"), code)
        .unwrap_or_else(|e| fail(&format!("cannot write the generated client: {e}")));
}

/// Regenerate whenever the document, a correction or this generator changes.
fn watch_inputs(root: &Path) {
    println!("cargo:rerun-if-changed=build");
    println!("cargo:rerun-if-changed={}", spec_file::SPEC_FILE);
    println!("cargo:rerun-if-changed={}", spec_file::CORRECTIONS_DIR);
    let corrections = root.join(spec_file::CORRECTIONS_DIR);
    for file in spec_file::correction_files(&corrections).unwrap_or_default() {
        println!("cargo:rerun-if-changed={}", file.display());
    }
}

/// The items of generated tokens.
fn parse_items(tokens: TokenStream) -> Vec<syn::Item> {
    syn::parse2::<syn::File>(tokens)
        .unwrap_or_else(|e| fail(&format!("the build script produced invalid Rust: {e}")))
        .items
}

/// Stops the build when the pass `pass` rewrote nothing: the generator's output changed shape,
/// and a pass that silently does nothing would leave its guarantee unkept.
fn rewrote(pass: &str, count: usize) {
    if count == 0 {
        fail(&format!(
            "the pass that {pass} found nothing to rewrite in progenitor {}'s output",
            pins::PROGENITOR
        ));
    }
}

/// Stops the build with a message naming what went wrong.
fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1)
}

/// The module `name` of the generated file (`types`, `builder`).
/// Every builder's `send_raw()` (the generator's `send()`, renamed by `send::wrap_send_methods`).
fn send_raw_functions(items: &mut [syn::Item]) -> impl Iterator<Item = &mut syn::ImplItemFn> {
    items
        .iter_mut()
        .filter_map(|item| match item {
            syn::Item::Impl(implementation) => Some(implementation.items.iter_mut()),
            _ => None,
        })
        .flatten()
        .filter_map(|item| match item {
            syn::ImplItem::Fn(function) if function.sig.ident == "send_raw" => Some(function),
            _ => None,
        })
}

fn module_items<'a>(file: &'a mut syn::File, name: &str) -> &'a mut Vec<syn::Item> {
    module_items_in(&mut file.items, name)
}

/// The module `name` among `items` (`types::builder`, `types::error`).
fn module_items_in<'a>(items: &'a mut [syn::Item], name: &str) -> &'a mut Vec<syn::Item> {
    let found = items.iter_mut().find_map(|item| match item {
        syn::Item::Mod(module) if module.ident == name => module.content.as_mut(),
        _ => None,
    });
    match found {
        Some((_, items)) => items,
        None => fail(&format!(
            "progenitor {} output has no `{name}` module",
            pins::PROGENITOR
        )),
    }
}
