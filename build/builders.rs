//! The builders of the types, rewritten from the generator's so that a record is one short
//! expression that cannot go silently wrong:
//!
//! - each is named `XBuilder`, so no two public types share a name (`types::X` and its builder
//!   used to both be `X`);
//! - a setter takes a plain value for an optional field (`.display_name("Ada")`), and any list
//!   of plain values or nested builders for a list field (`.values(["Pro"])`);
//! - an invalid value is kept, with the path of its field (`payload.details[0].values[1]`), and
//!   reported when the value is built (when the request is sent), never as a panic;
//! - an operation record (a required `operationType` enum and an object `payload`) gets one
//!   constructor per operation (`X::upsert()`) and its payload's setters, so
//!   `X::upsert().email("ada@example.com")` is a whole record.
//!
//! The field lists, which fields are required, and the names on the wire are read from the
//! generator's output, so a new type costs no line here.

use crate::builder_model::*;
use crate::builder_tokens::builder_tokens;
use quote::{format_ident, quote};
use std::collections::{BTreeMap, BTreeSet};
use syn::visit_mut::VisitMut;

/// Rewrites `types::builder` and every reference to its builders.
pub fn rewrite_builders(file: &mut syn::File) {
    let types = crate::module_items(file, "types");
    let type_fields = type_fields(types);
    let enums = operation_enums(types);
    let builder_items = crate::module_items_in(types, "builder");
    let builders = read_builders(builder_items, &type_fields);
    let names: BTreeSet<String> = builders.iter().map(|b| b.name.to_string()).collect();

    let mut generated = Vec::new();
    for builder in &builders {
        generated.push(builder_tokens(builder, &builders, &enums));
    }
    *builder_items = crate::parse_items(quote! { #(#generated)* });

    let mut renamer = RenameBuilders { names: &names };
    for item in file.items.iter_mut() {
        match item {
            syn::Item::Mod(module) if module.ident == "types" => {
                for inner in module.content.iter_mut().flat_map(|(_, items)| items) {
                    let is_builder_module =
                        matches!(inner, syn::Item::Mod(m) if m.ident == "builder");
                    if !is_builder_module {
                        renamer.visit_item_mut(inner);
                    }
                }
            }
            other => renamer.visit_item_mut(other),
        }
    }
    replace_conversion_error(crate::module_items(file, "types"));
    borrowed_strings(crate::module_items(file, "types"));
    lists_from_arrays(crate::module_items(file, "types"));
    check_unique_names(file);
}

/// A list type (`struct X(Vec<Item>)`) is also made from an array of anything that converts into
/// its items: `.options(["Free", "Pro"])`.
fn lists_from_arrays(types: &mut Vec<syn::Item>) {
    let mut added = Vec::new();
    for item in types.iter() {
        let syn::Item::Struct(item) = item else {
            continue;
        };
        let syn::Fields::Unnamed(fields) = &item.fields else {
            continue;
        };
        let [field] = fields.unnamed.iter().collect::<Vec<_>>()[..] else {
            continue;
        };
        let Some(element) = generic_of(&field.ty, Some("Vec")) else {
            continue;
        };
        let target = &item.ident;
        added.push(quote! {
            impl<T: ::std::convert::Into<#element>, const N: usize> ::std::convert::From<[T; N]> for #target {
                fn from(values: [T; N]) -> Self {
                    Self(values.into_iter().map(::std::convert::Into::into).collect())
                }
            }
        });
    }
    types.extend(crate::parse_items(quote! { #(#added)* }));
}

/// A constrained string (`TryFrom<&str>`) also converts from a `&String`, so a row's fields can
/// be passed as they are.
fn borrowed_strings(types: &mut Vec<syn::Item>) {
    let mut added = Vec::new();
    for item in types.iter() {
        let syn::Item::Impl(item) = item else {
            continue;
        };
        let Some((path, _)) = &item.trait_ else {
            continue;
        };
        if !is_try_from_str(path) {
            continue;
        }
        let target = &item.self_ty;
        added.push(quote! {
            impl ::std::convert::TryFrom<&::std::string::String> for #target {
                type Error = self::error::ConversionError;
                fn try_from(
                    value: &::std::string::String,
                ) -> ::std::result::Result<Self, self::error::ConversionError> {
                    Self::try_from(value.as_str())
                }
            }
        });
    }
    if added.is_empty() {
        crate::fail("typify generated no `impl TryFrom<&str>` for a constrained string or an enum");
    }
    types.extend(crate::parse_items(quote! { #(#added)* }));
}

/// `TryFrom<&str>` (any path to it).
fn is_try_from_str(path: &syn::Path) -> bool {
    let Some(last) = path.segments.last() else {
        return false;
    };
    let syn::PathArguments::AngleBracketed(arguments) = &last.arguments else {
        return false;
    };
    let borrowed_str = matches!(arguments.args.first(),
        Some(syn::GenericArgument::Type(syn::Type::Reference(reference)))
            if matches!(reference.elem.as_ref(), syn::Type::Path(target) if target.path.is_ident("str")));
    last.ident == "TryFrom" && borrowed_str
}

/// `builder::X` (in any path) becomes `builder::XBuilder`.
struct RenameBuilders<'a> {
    names: &'a BTreeSet<String>,
}

impl VisitMut for RenameBuilders<'_> {
    fn visit_path_mut(&mut self, path: &mut syn::Path) {
        let count = path.segments.len();
        if count >= 2 && path.segments[count - 2].ident == "builder" {
            let last = &mut path.segments[count - 1];
            if self.names.contains(&last.ident.to_string()) {
                last.ident = format_ident!("{}Builder", last.ident);
            }
        }
        syn::visit_mut::visit_path_mut(self, path);
    }
}

/// The generator's `ConversionError` carries only a message: it is replaced by the crate's,
/// which also carries the path of the field.
fn replace_conversion_error(types: &mut [syn::Item]) {
    let error = crate::module_items_in(types, "error");
    error.retain(|item| match item {
        syn::Item::Struct(item) => item.ident != "ConversionError",
        syn::Item::Impl(item) => type_name(&item.self_ty) != "ConversionError",
        _ => true,
    });
    error.extend(crate::parse_items(
        quote! { pub use crate::input::ConversionError; },
    ));
}

/// No two public types may render with the same name: the types, their builders and the
/// operations' builders share one namespace in a reader's mind.
fn check_unique_names(file: &syn::File) {
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    let mut visit = |module: &str, items: &[syn::Item]| {
        for item in items {
            let name = match item {
                syn::Item::Struct(item) => item.ident.to_string(),
                syn::Item::Enum(item) => item.ident.to_string(),
                _ => continue,
            };
            if let Some(first) = seen.insert(name.clone(), module.to_string()) {
                crate::fail(&format!(
                    "two public types are named {name}: in {first} and in {module}"
                ));
            }
        }
    };
    for item in &file.items {
        let syn::Item::Mod(module) = item else {
            continue;
        };
        let Some((_, items)) = &module.content else {
            continue;
        };
        visit(&module.ident.to_string(), items);
        for inner in items {
            if let syn::Item::Mod(inner_module) = inner {
                if let Some((_, inner_items)) = &inner_module.content {
                    visit(
                        &format!("{}::{}", module.ident, inner_module.ident),
                        inner_items,
                    );
                }
            }
        }
    }
}
