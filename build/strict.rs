//! Request bodies refuse unknown fields: a type only requests hold rejects, when deserialized, a
//! field it does not know (`"displayname"` is an error naming it, not a field silently dropped).
//! A type any answer can hold keeps ignoring unknown fields, since the API may add some.
//!
//! Which types a request or an answer can hold is read from the generated operations: the body
//! of each operation's builder, and the answer and error types of each `send_raw`.

use std::collections::{BTreeMap, BTreeSet};
use syn::visit::Visit;

/// Adds `#[serde(deny_unknown_fields)]` to every struct only requests can hold.
pub fn deny_unknown_request_fields(file: &mut syn::File) {
    let (request_roots, response_roots) = roots(file);
    let types = crate::module_items(file, "types");
    let graph = references(types);
    let requests = reachable(&graph, request_roots);
    let responses = reachable(&graph, response_roots);
    let mut denied = 0;
    for item in types.iter_mut() {
        let syn::Item::Struct(item) = item else {
            continue;
        };
        let name = item.ident.to_string();
        let named = matches!(item.fields, syn::Fields::Named(_));
        if !named
            || !requests.contains(&name)
            || responses.contains(&name)
            || !derives_deserialize(item)
        {
            continue;
        }
        let flattened = item.fields.iter().any(|field| {
            field
                .attrs
                .iter()
                .any(|a| a.path().is_ident("serde") && attribute_lists(a, "flatten"))
        });
        if !flattened {
            item.attrs
                .push(syn::parse_quote!(#[serde(deny_unknown_fields)]));
            denied += 1;
        }
    }
    crate::rewrote("denies unknown request fields", denied);
}

fn derives_deserialize(item: &syn::ItemStruct) -> bool {
    item.attrs
        .iter()
        .any(|a| a.path().is_ident("derive") && attribute_lists(a, "Deserialize"))
}

/// Whether `#[attr(…)]` lists `name` (`serde(flatten)`, `derive(::serde::Deserialize)`: the last
/// segment of a listed path).
fn attribute_lists(attribute: &syn::Attribute, name: &str) -> bool {
    let mut listed = false;
    let _ = attribute.parse_nested_meta(|meta| {
        listed |= meta.path.segments.last().is_some_and(|s| s.ident == name);
        // Skip a value (`rename = "x"`) or a nested list, so the next entry parses.
        if meta.input.peek(syn::Token![=]) {
            meta.value()?.parse::<syn::Expr>()?;
        } else if meta.input.peek(syn::token::Paren) {
            meta.parse_nested_meta(|_| Ok(()))?;
        }
        Ok(())
    });
    listed
}

/// The `types` named by the operation builders' fields (requests) and by `send_raw`'s result
/// (answers and errors).
fn roots(file: &syn::File) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut requests = TypeNames::default();
    let mut responses = TypeNames::default();
    for item in &file.items {
        let syn::Item::Mod(module) = item else {
            continue;
        };
        if module.ident != "builder" {
            continue;
        }
        for item in module.content.iter().flat_map(|(_, items)| items) {
            match item {
                syn::Item::Struct(item) => requests.visit_fields(&item.fields),
                syn::Item::Impl(item) => {
                    for inner in &item.items {
                        if let syn::ImplItem::Fn(function) = inner {
                            if function.sig.ident == "send_raw" {
                                responses.visit_return_type(&function.sig.output);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
    (requests.names, responses.names)
}

/// Every identifier met in a path.
#[derive(Default)]
struct TypeNames {
    names: BTreeSet<String>,
}

impl<'ast> Visit<'ast> for TypeNames {
    fn visit_path_segment(&mut self, segment: &'ast syn::PathSegment) {
        self.names.insert(segment.ident.to_string());
        syn::visit::visit_path_segment(self, segment);
    }
}

/// For each struct and enum of `types`, the identifiers its fields name.
fn references(types: &[syn::Item]) -> BTreeMap<String, BTreeSet<String>> {
    let mut graph = BTreeMap::new();
    for item in types {
        let mut names = TypeNames::default();
        let name = match item {
            syn::Item::Struct(item) => {
                names.visit_fields(&item.fields);
                item.ident.to_string()
            }
            syn::Item::Enum(item) => {
                for variant in &item.variants {
                    names.visit_fields(&variant.fields);
                }
                item.ident.to_string()
            }
            _ => continue,
        };
        graph.insert(name, names.names);
    }
    graph
}

/// The types reachable from `roots` (only names that are types of the graph count).
fn reachable(
    graph: &BTreeMap<String, BTreeSet<String>>,
    roots: BTreeSet<String>,
) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut pending: Vec<String> = roots.into_iter().collect();
    while let Some(name) = pending.pop() {
        let Some(references) = graph.get(&name) else {
            continue;
        };
        if seen.insert(name) {
            pending.extend(references.iter().cloned());
        }
    }
    seen
}
