//! Tolerant reading of optional fields: a server that sends `null` for an optional array (or any
//! optional field with a default) means "none", not "the whole answer is invalid".

/// Every field of a generated type that has a serde default and is not an `Option` also reads
/// `null` as that default.
pub fn null_as_default(file: &mut syn::File) {
    let mut lenient = 0;
    for item in crate::module_items(file, "types").iter_mut() {
        let syn::Item::Struct(structure) = item else {
            continue;
        };
        let syn::Fields::Named(fields) = &mut structure.fields else {
            continue;
        };
        for field in fields.named.iter_mut() {
            if has_serde_default(field) && !is_option(&field.ty) {
                field.attrs.push(syn::parse_quote!(
                    #[serde(deserialize_with = "crate::lenient::null_as_default")]
                ));
                lenient += 1;
            }
        }
    }
    crate::rewrote("reads null as a default", lenient);
}

fn has_serde_default(field: &syn::Field) -> bool {
    field.attrs.iter().any(|attr| {
        let mut found = false;
        if attr.path().is_ident("serde") {
            let _ = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("default") {
                    found = true;
                }
                // Skip the value of `key = "…"` entries.
                if meta.input.peek(syn::Token![=]) {
                    let _: syn::Expr = meta.value()?.parse()?;
                }
                Ok(())
            });
        }
        found
    })
}

fn is_option(ty: &syn::Type) -> bool {
    matches!(ty, syn::Type::Path(path)
        if path.path.segments.last().is_some_and(|s| s.ident == "Option"))
}
