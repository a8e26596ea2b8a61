//! Open string enums: servers add values, and one value this version does not know must not make
//! a whole answer fail to decode.

use proc_macro2::TokenStream;
use quote::quote;

/// Makes every generated string enum open: servers add values, and one unknown value must not make
/// a whole response fail to decode.
///
/// Each enum whose variants are all unit variants renamed to a wire string gets an
/// `Unknown(UnknownValue)` variant for any other string, and becomes `#[non_exhaustive]` (a newer
/// document adds values). Its serde derives and typify's conversions (`Display`, `FromStr`,
/// `TryFrom<&str>`…) are replaced by ones that go through one `From<&str>`: a known wire string
/// always becomes its own variant, and `UnknownValue` has no public constructor, so `Unknown`
/// never holds a value this version knows.
pub fn open_string_enums(file: &mut syn::File) {
    let items = crate::module_items(file, "types");

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
        items.extend(crate::parse_items(open_enum_conversions(ident, wire_names)));
    }
    crate::rewrote("opens string enums", opened.len());
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
    // `Copy` cannot hold a String; serde goes through the wire string (below).
    for attr in &mut enumeration.attrs {
        if attr.path().is_ident("derive") {
            let derives: syn::punctuated::Punctuated<syn::Path, syn::Token![,]> = attr
                .parse_args_with(syn::punctuated::Punctuated::parse_terminated)
                .unwrap_or_default();
            let kept = derives.into_iter().filter(|path| {
                path.segments.last().is_none_or(|s| {
                    !matches!(
                        s.ident.to_string().as_str(),
                        "Copy" | "Serialize" | "Deserialize"
                    )
                })
            });
            *attr = syn::parse_quote!(#[derive(#(#kept),*)]);
        }
    }
    enumeration
        .attrs
        .retain(|attr| !attr.path().is_ident("serde"));
    enumeration.attrs.push(syn::parse_quote!(#[non_exhaustive]));
    for variant in &mut enumeration.variants {
        variant.attrs.retain(|attr| !attr.path().is_ident("serde"));
    }
    enumeration.variants.push(syn::parse_quote! {
        /// A value this version of the client does not know yet, kept as the server sent it.
        Unknown(crate::UnknownValue)
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
        impl ::serde::Serialize for #ident {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> ::std::result::Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }
        impl<'de> ::serde::Deserialize<'de> for #ident {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> ::std::result::Result<Self, D::Error> {
                crate::open_enum::deserialize_str(deserializer, |value: &str| Self::from(value))
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
                    other => Self::Unknown(crate::UnknownValue::new(other)),
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
