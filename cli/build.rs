//! Generates one `csm` command per operation of the API with progenitor's `Generator::cli`, from
//! the document the client is generated from (`DEP_ATLASSIAN_CSM_GENERATED_SPEC`), and fits its
//! output to the client and to the command line `csm` promises:
//!
//! * the client's `send()` returns the crate's one `Error`, so the output hooks take that;
//! * no `schemars` bound: the output is the answer's own JSON;
//! * the body is `--body FILE` (or `--body -` for standard input), read before the flags that set
//!   single body fields, so that a flag changes the file's value rather than being overwritten;
//! * progenitor's unimplemented `--json-body-template` flag is dropped.
//!
//! The document is also copied beside the code: `csm import` reads the shape of each bulk record
//! from it to map CSV columns to fields.

use atlassian_csm_spec::openapi::operations;
use atlassian_csm_spec::spec_file::{read_from_client_build, GENERATED_SPEC_VARIABLE};
use quote::quote;
use std::path::PathBuf;
use syn::visit::Visit;
use syn::visit_mut::VisitMut;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo"));
    let text = read_from_client_build(GENERATED_SPEC_VARIABLE).unwrap_or_else(|m| panic!("{m}"));
    let document: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let spec = atlassian_csm_spec::openapi::typed(&document).unwrap_or_else(|m| panic!("{m}"));

    let mut settings = progenitor::GenerationSettings::new();
    settings
        .with_interface(progenitor::InterfaceStyle::Builder)
        .with_tag(progenitor::TagStyle::Merged);
    let tokens = progenitor::Generator::new(&settings)
        .cli(&spec, "atlassian_csm")
        .expect("progenitor generates the commands");
    let mut file: syn::File = syn::parse2(tokens).expect("the commands are Rust");
    read_body_first(&mut file);
    let mut fit = FitToClient::default();
    fit.visit_file_mut(&mut file);
    fit.check();
    std::fs::write(out.join("commands.rs"), prettyplease::unparse(&file)).expect("writable");
    std::fs::write(out.join("operations.rs"), operation_pointers(&text)).expect("writable");
    std::fs::write(out.join("csm.generated.json"), text).expect("writable");
}

/// `OPERATIONS`: each operation's client method name, its id in the document (the command's
/// name) and where it stands there (a JSON pointer), named by the spec toolkit's one walk and
/// conversion.
fn operation_pointers(text: &str) -> String {
    let doc: serde_json::Value = serde_json::from_str(text).expect("the document is JSON");
    let escape = |segment: &str| segment.replace('~', "~0").replace('/', "~1");
    let rows: String = operations(&doc)
        .map(|operation| {
            let pointer = format!("/paths/{}/{}", escape(operation.path), operation.method);
            format!(
                "    Operation {{ method: {:?}, id: {:?}, pointer: {:?} }},\n",
                operation.method_name(),
                operation.id(),
                pointer
            )
        })
        .collect();
    format!("pub(crate) const OPERATIONS: &[Operation] = &[\n{rows}];\n")
}

/// In every `execute_*` method, moves the statement that reads the body file to the front (just
/// after the request is created), so flags for single fields apply on top of the file.
fn read_body_first(file: &mut syn::File) {
    let mut moved = 0;
    for item in &mut file.items {
        let syn::Item::Impl(implementation) = item else {
            continue;
        };
        for item in &mut implementation.items {
            let syn::ImplItem::Fn(function) = item else {
                continue;
            };
            if !function.sig.ident.to_string().starts_with("execute_") {
                continue;
            }
            let statements = &mut function.block.stmts;
            let reads_body = |s: &syn::Stmt| holds_literal(s, "json-body");
            if let Some(at) = statements.iter().position(reads_body) {
                let statement = statements.remove(at);
                statements.insert(1.min(statements.len()), statement);
                moved += 1;
            }
        }
    }
    if moved == 0 {
        panic!(
            "progenitor's commands changed: no `execute_*` method reads the body with \
             `matches.get_one(\"json-body\")`, so `--body` cannot be read before the flags"
        );
    }
}

/// Whether the string literal `text` stands anywhere in `node` (outside macros).
fn holds_literal(node: &syn::Stmt, text: &str) -> bool {
    struct Find<'a>(&'a str, bool);
    impl<'ast> Visit<'ast> for Find<'_> {
        fn visit_lit_str(&mut self, literal: &'ast syn::LitStr) {
            self.1 |= literal.value() == self.0;
        }
    }
    let mut find = Find(text, false);
    find.visit_stmt(node);
    find.1
}

/// `schemars::JsonSchema`, `::schemars::JsonSchema`: a bound from the `schemars` crate.
fn is_schemars_bound(bound: &syn::TypeParamBound) -> bool {
    matches!(bound, syn::TypeParamBound::Trait(bound)
        if bound.path.segments.first().is_some_and(|segment| segment.ident == "schemars"))
}

/// `std::fs::read_to_string`, written as a path.
fn is_read_to_string(function: &syn::Expr) -> bool {
    let syn::Expr::Path(path) = function else {
        return false;
    };
    let names: Vec<String> = path
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    names == ["std", "fs", "read_to_string"]
}

/// What the fitting rewrote, so that a pass finding nothing to rewrite (the generator changed)
/// fails the build instead of leaving the commands unfitted.
#[derive(Default)]
struct FitToClient {
    error_hooks: usize,
    schemars_bounds: usize,
    template_flags: usize,
    body_reads: usize,
}

impl FitToClient {
    fn check(&self) {
        let expected = [
            (
                self.error_hooks,
                "the output hooks `error` and `list_end_error`",
            ),
            (
                self.schemars_bounds,
                "a `schemars::JsonSchema` bound on the output hooks",
            ),
            (self.template_flags, "the `json-body-template` flag"),
            (
                self.body_reads,
                "a `std::fs::read_to_string` call reading the body file",
            ),
        ];
        for (found, what) in expected {
            if found == 0 {
                panic!("progenitor's commands changed: expected {what}, found none");
            }
        }
    }
}

impl VisitMut for FitToClient {
    fn visit_trait_item_fn_mut(&mut self, function: &mut syn::TraitItemFn) {
        let name = function.sig.ident.to_string();
        if name == "error" || name == "list_end_error" {
            self.error_hooks += 1;
            // The client's error is not generic over the error body.
            function.sig.generics = syn::Generics::default();
            for input in &mut function.sig.inputs {
                if let syn::FnArg::Typed(argument) = input {
                    *argument.ty = syn::parse_quote!(&Error);
                }
            }
        }
        if let Some(clause) = &mut function.sig.generics.where_clause {
            for predicate in &mut clause.predicates {
                if let syn::WherePredicate::Type(bounded) = predicate {
                    let before = bounded.bounds.len();
                    bounded.bounds = bounded
                        .bounds
                        .iter()
                        .filter(|bound| !is_schemars_bound(bound))
                        .cloned()
                        .collect();
                    self.schemars_bounds += before - bounded.bounds.len();
                }
            }
        }
        syn::visit_mut::visit_trait_item_fn_mut(self, function);
    }

    fn visit_expr_mut(&mut self, expr: &mut syn::Expr) {
        // `.arg(Arg::new("json-body-template")…)`: a flag progenitor does not implement.
        if let syn::Expr::MethodCall(call) = expr {
            let template = call.method == "arg"
                && call.args.iter().any(|argument| {
                    holds_literal(
                        &syn::Stmt::Expr(argument.clone(), None),
                        "json-body-template",
                    )
                });
            if template {
                self.template_flags += 1;
                *expr = (*call.receiver).clone();
                self.visit_expr_mut(expr);
                return;
            }
        }
        // The body file may be `-`: standard input.
        if let syn::Expr::Call(call) = expr {
            if is_read_to_string(&call.func) {
                self.body_reads += 1;
                let args = &call.args;
                *expr = syn::parse2(quote!(crate::body::read(#args))).expect("an expression");
                return;
            }
        }
        syn::visit_mut::visit_expr_mut(self, expr);
    }

    fn visit_lit_str_mut(&mut self, literal: &mut syn::LitStr) {
        let replacement = match literal.value().as_str() {
            "json-body" => "body",
            "JSON-FILE" => "FILE",
            "failed to read {}" => "cannot read {}",
            "failed to parse {}" => "{} is not a valid request body",
            "Path to a file that contains the full json body." => {
                "The request body as JSON: a file, or - to read standard input. Flags for single \
                 fields apply on top of it."
            }
            _ => return,
        };
        *literal = syn::LitStr::new(replacement, literal.span());
    }
}
