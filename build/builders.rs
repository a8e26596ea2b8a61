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

use heck::ToSnakeCase;
use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote};
use std::collections::{BTreeMap, BTreeSet};
use syn::visit_mut::VisitMut;

/// One field of a builder.
struct Field {
    ident: Ident,
    ty: syn::Type,
    wire: String,
    required: bool,
    docs: Vec<syn::Attribute>,
}

/// One builder, as the generator made it.
struct Builder {
    name: Ident,
    fields: Vec<Field>,
}

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
        let last = path.segments.last().unwrap();
        if last.ident != "TryFrom" || !quote!(#last).to_string().contains("& str") {
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
    types.extend(crate::parse_items(quote! { #(#added)* }));
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

/// The wire name and docs of every field of every struct of `types`:
/// `(struct, field) -> (name, docs)`.
fn type_fields(types: &[syn::Item]) -> BTreeMap<(String, String), (String, Vec<syn::Attribute>)> {
    let mut names = BTreeMap::new();
    for item in types {
        let syn::Item::Struct(item) = item else {
            continue;
        };
        for field in &item.fields {
            let Some(ident) = &field.ident else { continue };
            let mut wire = ident.to_string().trim_start_matches("r#").to_string();
            for attr in field.attrs.iter().filter(|a| a.path().is_ident("serde")) {
                let _ = attr.parse_nested_meta(|meta| {
                    if meta.path.is_ident("rename") {
                        let value: syn::LitStr = meta.value()?.parse()?;
                        wire = value.value();
                    } else if meta.input.peek(syn::Token![=]) {
                        let _: syn::Expr = meta.value()?.parse()?;
                    }
                    Ok(())
                });
            }
            let docs = field
                .attrs
                .iter()
                .filter(|a| a.path().is_ident("doc"))
                .cloned()
                .collect();
            names.insert((item.ident.to_string(), ident.to_string()), (wire, docs));
        }
    }
    names
}

/// The unit variants (but `Unknown`) of every enum of `types`: candidates for an operation
/// record's `operationType`.
fn operation_enums(types: &[syn::Item]) -> BTreeMap<String, Vec<Ident>> {
    types
        .iter()
        .filter_map(|item| match item {
            syn::Item::Enum(item) => Some(item),
            _ => None,
        })
        .map(|item| {
            let variants = item
                .variants
                .iter()
                .filter(|v| matches!(v.fields, syn::Fields::Unit))
                .map(|v| v.ident.clone())
                .collect();
            (item.ident.to_string(), variants)
        })
        .collect()
}

/// The builders the generator made: their fields (the `T` of `Result<T, String>`), and which
/// fields its `Default` leaves unset (`Err`), that is, which are required.
fn read_builders(
    items: &[syn::Item],
    type_fields: &BTreeMap<(String, String), (String, Vec<syn::Attribute>)>,
) -> Vec<Builder> {
    let mut required: BTreeMap<(String, String), bool> = BTreeMap::new();
    for item in items {
        let syn::Item::Impl(item) = item else {
            continue;
        };
        let is_default = item
            .trait_
            .as_ref()
            .is_some_and(|(path, _)| path.segments.last().unwrap().ident == "Default");
        if !is_default {
            continue;
        }
        let name = type_name(&item.self_ty);
        for (field, unset) in unset_fields(item) {
            required.insert((name.clone(), field), unset);
        }
    }
    let mut builders = Vec::new();
    for item in items {
        let syn::Item::Struct(item) = item else {
            continue;
        };
        let name = item.ident.to_string();
        let fields = item
            .fields
            .iter()
            .map(|field| {
                let ident = field.ident.clone().expect("builder fields are named");
                let key = (name.clone(), ident.to_string());
                let (wire, docs) = type_fields.get(&key).cloned().unwrap_or_else(|| {
                    crate::fail(&format!("builder field {name}.{ident} has no type field"))
                });
                Field {
                    ty: first_generic(&field.ty).clone(),
                    required: *required.get(&key).unwrap_or(&false),
                    ident,
                    wire,
                    docs,
                }
            })
            .collect();
        builders.push(Builder {
            name: item.ident.clone(),
            fields,
        });
    }
    builders
}

/// `(field, unset)` for each field of the struct literal the generator's `Default` returns:
/// unset when it starts as `Err(…)` (no value supplied), set when it starts as `Ok(…)`.
fn unset_fields(default: &syn::ItemImpl) -> Vec<(String, bool)> {
    let literal = default.items.iter().find_map(|item| match item {
        syn::ImplItem::Fn(function) => function.block.stmts.iter().find_map(|stmt| match stmt {
            syn::Stmt::Expr(syn::Expr::Struct(literal), _) => Some(literal),
            _ => None,
        }),
        _ => None,
    });
    let Some(literal) = literal else {
        crate::fail("a builder's Default does not return a struct literal")
    };
    literal
        .fields
        .iter()
        .filter_map(|field| {
            let syn::Member::Named(name) = &field.member else {
                return None;
            };
            let syn::Expr::Call(call) = &field.expr else {
                return None;
            };
            let syn::Expr::Path(function) = call.func.as_ref() else {
                return None;
            };
            let unset = function.path.segments.last()?.ident == "Err";
            Some((name.to_string(), unset))
        })
        .collect()
}

fn type_name(ty: &syn::Type) -> String {
    match ty {
        syn::Type::Path(path) => path.path.segments.last().unwrap().ident.to_string(),
        _ => crate::fail("a builder impl is not for a named type"),
    }
}

/// `T` in `Wrapper<T, …>`.
fn first_generic(ty: &syn::Type) -> &syn::Type {
    generic_of(ty, None).unwrap_or_else(|| crate::fail("a builder field is not a Result"))
}

/// `T` in `Wrapper<T>` when the last segment is `wrapper` (any wrapper when `None`).
fn generic_of<'a>(ty: &'a syn::Type, wrapper: Option<&str>) -> Option<&'a syn::Type> {
    let syn::Type::Path(path) = ty else {
        return None;
    };
    let last = path.path.segments.last()?;
    if wrapper.is_some_and(|w| last.ident != w) {
        return None;
    }
    match &last.arguments {
        syn::PathArguments::AngleBracketed(args) => args.args.iter().find_map(|a| match a {
            syn::GenericArgument::Type(ty) => Some(ty),
            _ => None,
        }),
        _ => None,
    }
}

/// The name of a type of `types` written `super::X`.
fn super_type(ty: &syn::Type) -> Option<String> {
    let syn::Type::Path(path) = ty else {
        return None;
    };
    let segments: Vec<String> = path
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    match segments.as_slice() {
        [parent, name] if parent == "super" => Some(name.clone()),
        _ => None,
    }
}

/// The operation-record shape: `(operation enum, its variants, payload builder)`.
fn operation_record<'a>(
    builder: &Builder,
    builders: &'a [Builder],
    enums: &BTreeMap<String, Vec<Ident>>,
) -> Option<(syn::Type, Vec<Ident>, &'a Builder)> {
    let kind = builder.fields.iter().find(|f| f.wire == "operationType")?;
    let payload = builder.fields.iter().find(|f| f.wire == "payload")?;
    if !kind.required || !payload.required {
        return None;
    }
    let variants = enums.get(&super_type(&kind.ty)?)?.clone();
    let payload_name = super_type(&payload.ty)?;
    let payload_builder = builders.iter().find(|b| b.name == payload_name)?;
    Some((kind.ty.clone(), variants, payload_builder))
}

/// How a setter stores what it converted: the place that holds the field (`self.x`, or
/// `payload.x` on an operation record), and how the statement writing it is wrapped.
struct Store<'a> {
    place: TokenStream,
    wrap: &'a dyn Fn(TokenStream) -> TokenStream,
}

impl Store<'_> {
    fn assign(&self, value: TokenStream) -> TokenStream {
        let place = &self.place;
        (self.wrap)(quote! { #place = #value; })
    }
}

/// The setters of one field: a plain value for an optional field (and `set_x` taking an
/// `Option`), any list of values for a list, and for a list of `{name, values}` items (detail
/// values) an adder of one item: `.detail("Plan", ["Pro"])`.
fn setters(field: &Field, store: &Store, builders: &[Builder]) -> TokenStream {
    let ident = &field.ident;
    let wire = &field.wire;
    let docs = &field.docs;
    let summary = format!("Sets `{wire}`.");
    let optional = generic_of(&field.ty, Some("Option"));
    let inner = optional.unwrap_or(&field.ty);
    let wrap = if optional.is_some() {
        quote!(.map(::std::option::Option::Some))
    } else {
        quote!()
    };
    if let Some(item) = generic_of(inner, Some("Vec")) {
        let stored = store.assign(quote! { crate::input::collect(#wire, values) #wrap });
        let adder = if optional.is_none() {
            named_values_adder(field, item, store, builders)
        } else {
            quote!()
        };
        return quote! {
            #[doc = #summary]
            #[doc = ""]
            #(#docs)*
            pub fn #ident<I>(mut self, values: I) -> Self
            where
                I: ::std::iter::IntoIterator,
                I::Item: ::std::convert::TryInto<#item>,
                <I::Item as ::std::convert::TryInto<#item>>::Error: ::std::fmt::Display + 'static,
            {
                #stored
                self
            }
            #adder
        };
    }
    let convert = quote! {
        value.try_into().map_err(|e| super::error::ConversionError::at(#wire, e))
    };
    let stored = store.assign(quote! { #convert #wrap });
    let setter = quote! {
        #[doc = #summary]
        #[doc = ""]
        #(#docs)*
        pub fn #ident<T>(mut self, value: T) -> Self
        where
            T: ::std::convert::TryInto<#inner>,
            T::Error: ::std::fmt::Display + 'static,
        {
            #stored
            self
        }
    };
    if optional.is_none() {
        return setter;
    }
    let set_ident = format_ident!("set_{}", ident.to_string().trim_start_matches("r#"));
    let set_summary = format!("Sets `{wire}`, or leaves it out when `None`.");
    let stored = store.assign(quote! { value.map(|value| #convert).transpose() });
    quote! {
        #setter
        #[doc = #set_summary]
        pub fn #set_ident<T>(mut self, value: ::std::option::Option<T>) -> Self
        where
            T: ::std::convert::TryInto<#inner>,
            T::Error: ::std::fmt::Display + 'static,
        {
            #stored
            self
        }
    }
}

/// For a list field (`details`) whose items are a required `name` and a list of `values`: an
/// adder of one item, named in the singular (`detail(name, values)`).
fn named_values_adder(
    field: &Field,
    item: &syn::Type,
    store: &Store,
    builders: &[Builder],
) -> TokenStream {
    let Some(item_builder) = super_type(item).and_then(|n| builders.iter().find(|b| b.name == n))
    else {
        return quote!();
    };
    let name = item_builder.fields.iter().find(|f| f.wire == "name");
    let values = item_builder.fields.iter().find(|f| f.wire == "values");
    let (Some(name), Some(values)) = (name, values) else {
        return quote!();
    };
    let Some(value_ty) = generic_of(&values.ty, Some("Vec")) else {
        return quote!();
    };
    if item_builder.fields.len() != 2
        || !name.required
        || generic_of(&name.ty, Some("Option")).is_some()
    {
        return quote!();
    }
    let plural = field.ident.to_string();
    let Some(singular) = plural.strip_suffix('s') else {
        return quote!();
    };
    let adder = Ident::new(singular, Span::call_site());
    let name_ty = &name.ty;
    let item_builder_name = format_ident!("{}Builder", item_builder.name);
    let wire = &field.wire;
    let place = &store.place;
    let stored = store.assign(quote! {
        ::std::mem::replace(&mut #place, ::std::result::Result::Ok(::std::vec::Vec::new()))
            .and_then(|mut list| {
                let index = list.len();
                let item = #item::try_from(item)
                    .map_err(|e| e.within(&::std::format!("{}[{index}]", #wire)))?;
                list.push(item);
                ::std::result::Result::Ok(list)
            })
    });
    let doc = format!(
        "Adds one item to `{wire}`: the field `name` with its `values` (one, or several for a \
         multi-value field)."
    );
    quote! {
        #[doc = #doc]
        pub fn #adder<N, I>(mut self, name: N, values: I) -> Self
        where
            N: ::std::convert::TryInto<#name_ty>,
            N::Error: ::std::fmt::Display + 'static,
            I: ::std::iter::IntoIterator,
            I::Item: ::std::convert::TryInto<#value_ty>,
            <I::Item as ::std::convert::TryInto<#value_ty>>::Error: ::std::fmt::Display + 'static,
        {
            let item = #item_builder_name::default().name(name).values(values);
            #stored
            self
        }
    }
}

/// The builder of one type, with its `Default`, setters and conversions.
fn builder_tokens(
    builder: &Builder,
    builders: &[Builder],
    enums: &BTreeMap<String, Vec<Ident>>,
) -> TokenStream {
    let target = &builder.name;
    let name = format_ident!("{}Builder", builder.name);
    let record = operation_record(builder, builders, enums);
    let payload_builder = record
        .as_ref()
        .map(|(_, _, payload)| format_ident!("{}Builder", payload.name));
    let is_payload = |field: &Field| record.is_some() && field.wire == "payload";

    let mut storage = Vec::new();
    let mut defaults = Vec::new();
    let mut methods = Vec::new();
    let mut build = Vec::new();
    let mut from = Vec::new();
    for field in &builder.fields {
        let ident = &field.ident;
        let wire = &field.wire;
        let ty = &field.ty;
        if is_payload(field) {
            // Kept as a builder, so the payload's setters can be called on the record.
            let payload = payload_builder.as_ref().unwrap();
            storage.push(
                quote! { #ident: ::std::result::Result<#payload, super::error::ConversionError> },
            );
            defaults.push(
                quote! { #ident: ::std::result::Result::Ok(::std::default::Default::default()) },
            );
            let summary =
                format!("Sets `{wire}` (its fields can also be set one by one, on this builder).");
            methods.push(quote! {
                #[doc = #summary]
                pub fn #ident<T>(mut self, value: T) -> Self
                where
                    T: ::std::convert::TryInto<#ty>,
                    T::Error: ::std::fmt::Display + 'static,
                {
                    self.#ident = value
                        .try_into()
                        .map(#payload::from)
                        .map_err(|e| super::error::ConversionError::at(#wire, e));
                    self
                }
            });
            build.push(quote! {
                #ident: value.#ident.and_then(|payload| {
                    #ty::try_from(payload).map_err(|e| e.within(#wire))
                })?
            });
            from.push(quote! { #ident: ::std::result::Result::Ok(value.#ident.into()) });
            continue;
        }
        storage.push(quote! { #ident: ::std::result::Result<#ty, super::error::ConversionError> });
        defaults.push(if field.required {
            quote! { #ident: ::std::result::Result::Err(super::error::ConversionError::missing(#wire)) }
        } else {
            quote! { #ident: ::std::result::Result::Ok(::std::default::Default::default()) }
        });
        let own = Store {
            place: quote!(self.#ident),
            wrap: &|statement| statement,
        };
        methods.push(setters(field, &own, builders));
        build.push(quote! { #ident: value.#ident? });
        from.push(quote! { #ident: ::std::result::Result::Ok(value.#ident) });
    }

    let mut constructors = TokenStream::new();
    if let Some((kind, variants, payload)) = &record {
        let own: BTreeSet<String> = builder.fields.iter().map(|f| f.ident.to_string()).collect();
        let kind_field = &builder
            .fields
            .iter()
            .find(|f| f.wire == "operationType")
            .unwrap()
            .ident;
        for field in payload
            .fields
            .iter()
            .filter(|f| !own.contains(&f.ident.to_string()))
        {
            let payload_field = &field.ident;
            let forwarded = Store {
                place: quote!(payload.#payload_field),
                wrap: &|statement| {
                    quote! {
                        self.payload = self.payload.map(|mut payload| {
                            #statement
                            payload
                        });
                    }
                },
            };
            methods.push(setters(field, &forwarded, builders));
        }
        let kind_path = match kind {
            syn::Type::Path(path) => path.clone(),
            _ => unreachable!("checked by operation_record"),
        };
        let functions = variants.iter().filter(|v| *v != "Unknown").map(|variant| {
            let function = Ident::new(&variant.to_string().to_snake_case(), Span::call_site());
            let doc = format!(
                "A builder for a `{}` operation: `{target}::builder().{kind_field}({}::{variant})`.",
                variant.to_string().to_uppercase(),
                type_name(kind),
            );
            quote! {
                #[doc = #doc]
                pub fn #function() -> #name {
                    #name::default().#kind_field(#kind_path::#variant)
                }
            }
        });
        constructors = quote! {
            impl super::#target {
                #(#functions)*
            }
        };
    }

    let doc = format!(
        "A builder of [`{target}`](super::{target}): set its fields, then pass it wherever a \
         `{target}` is taken (or convert it with `try_from`). An invalid value is reported, with \
         the path of its field, when the value is built."
    );
    quote! {
        #[doc = #doc]
        #[derive(Clone, Debug)]
        #[must_use]
        pub struct #name {
            #(#storage,)*
        }

        impl ::std::default::Default for #name {
            fn default() -> Self {
                Self { #(#defaults,)* }
            }
        }

        impl #name {
            #(#methods)*
        }

        impl ::std::convert::TryFrom<#name> for super::#target {
            type Error = super::error::ConversionError;
            fn try_from(value: #name) -> ::std::result::Result<Self, super::error::ConversionError> {
                ::std::result::Result::Ok(Self { #(#build,)* })
            }
        }

        impl ::std::convert::From<super::#target> for #name {
            fn from(value: super::#target) -> Self {
                Self { #(#from,)* }
            }
        }

        #constructors
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
