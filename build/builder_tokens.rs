//! The rewritten builders' code: setters that take plain values and nested builders, errors kept
//! with their field's path, and one constructor per operation of an operation record.

use crate::builder_model::*;
use heck::ToSnakeCase;
use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote};
use std::collections::{BTreeMap, BTreeSet};

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
                    .map_err(|e| e.within_item(#wire, index))?;
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
pub(crate) fn builder_tokens(
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
