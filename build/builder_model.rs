//! What the generator's builders are: their fields, which are required, the wire names, and
//! which types are operation records. Read from its output, so a new type costs no line here.

use proc_macro2::Ident;
use std::collections::BTreeMap;

/// One field of a builder.
pub(crate) struct Field {
    pub(crate) ident: Ident,
    pub(crate) ty: syn::Type,
    pub(crate) wire: String,
    pub(crate) required: bool,
    pub(crate) docs: Vec<syn::Attribute>,
}

/// One builder, as the generator made it.
pub(crate) struct Builder {
    pub(crate) name: Ident,
    pub(crate) fields: Vec<Field>,
}

/// The wire name and docs of every field of every struct of `types`:
/// `(struct, field) -> (name, docs)`.
pub(crate) fn type_fields(
    types: &[syn::Item],
) -> BTreeMap<(String, String), (String, Vec<syn::Attribute>)> {
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
pub(crate) fn operation_enums(types: &[syn::Item]) -> BTreeMap<String, Vec<Ident>> {
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
pub(crate) fn read_builders(
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
pub(crate) fn unset_fields(default: &syn::ItemImpl) -> Vec<(String, bool)> {
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

pub(crate) fn type_name(ty: &syn::Type) -> String {
    match ty {
        syn::Type::Path(path) => path.path.segments.last().unwrap().ident.to_string(),
        _ => crate::fail("a builder impl is not for a named type"),
    }
}

/// `T` in `Wrapper<T, …>`.
pub(crate) fn first_generic(ty: &syn::Type) -> &syn::Type {
    generic_of(ty, None).unwrap_or_else(|| crate::fail("a builder field is not a Result"))
}

/// `T` in `Wrapper<T>` when the last segment is `wrapper` (any wrapper when `None`).
pub(crate) fn generic_of<'a>(ty: &'a syn::Type, wrapper: Option<&str>) -> Option<&'a syn::Type> {
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
pub(crate) fn super_type(ty: &syn::Type) -> Option<String> {
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
pub(crate) fn operation_record<'a>(
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
