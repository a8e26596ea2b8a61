//! What every generated request did for nothing, taken out of `send_raw()`: the generator's own
//! `api-version` header (the CSM API defines none, so it was removed again before sending), the
//! copy of the answer's headers that `ResponseValue::from_response` makes before it reads the
//! body (`crate::body::response_value` moves them instead), and the formatting machinery the URL
//! was built with (`format!("{}/api/v1/...", client.baseurl, ...)` becomes a string sized once
//! and appended to), and reqwest's rewriting of the query for a parameter that is `None`
//! (`.query(&QueryParam::new(name, &value))` becomes `.query_unless_absent(name, &value)`, see
//! `src/query.rs`).

use syn::visit_mut::VisitMut;

/// Rewrites every builder's `send_raw()`; fails the build naming what it expected when a builder
/// has no `api-version` header to remove or no URL built by `format!`, or no builder decodes its
/// answer with `ResponseValue::from_response`.
pub fn trim_generated_requests(file: &mut syn::File) {
    let mut decoders = 0;
    let builders = crate::module_items(file, "builder");
    builders.insert(
        0,
        syn::parse_quote!(
            use crate::query::QueryUnlessAbsent as _;
        ),
    );
    for function in crate::send_raw_functions(builders) {
        let mut trim = Trim::default();
        trim.visit_block_mut(&mut function.block);
        if trim.urls_built != 1 || trim.urls_left != 0 {
            crate::fail(&format!(
                "expected one `let url = format!(\"{{}}/..\", client.baseurl, ..)` in every \
                     generated send_raw(), with `{{}}` its only placeholder; rewrote {}, left {}",
                trim.urls_built, trim.urls_left
            ));
        }
        if trim.headers_removed != 1 || trim.capacities_lowered != 1 {
            crate::fail(&format!(
                "expected one `header_map.append(HeaderName::from_static(\"api-version\"), ..)` \
                     and one `HeaderMap::with_capacity(N)` in every generated send_raw(), found {} \
                     and {}",
                trim.headers_removed, trim.capacities_lowered
            ));
        }
        if trim.queries_left != 0 {
            crate::fail(&format!(
                "expected every `.query(..)` of a generated send_raw() to take \
                     `&progenitor_client::QueryParam::new(name, &value)`; {} did not",
                trim.queries_left
            ));
        }
        decoders += trim.decoders_replaced;
    }
    if decoders == 0 {
        crate::fail(
            "expected generated answers decoded by `ResponseValue::from_response`, found none",
        );
    }
}

#[derive(Default)]
struct Trim {
    headers_removed: usize,
    capacities_lowered: usize,
    decoders_replaced: usize,
    urls_built: usize,
    urls_left: usize,
    queries_left: usize,
}

impl VisitMut for Trim {
    fn visit_block_mut(&mut self, block: &mut syn::Block) {
        let before = block.stmts.len();
        block
            .stmts
            .retain(|statement| !appends_generator_header(statement));
        self.headers_removed += before - block.stmts.len();
        syn::visit_mut::visit_block_mut(self, block);
        // A map left with nothing to append is no longer written to.
        for statement in block.stmts.iter_mut() {
            if let syn::Stmt::Local(local) = statement {
                let empty = local
                    .init
                    .as_ref()
                    .is_some_and(|init| is_empty_map(&init.expr));
                if let (true, syn::Pat::Ident(binding)) = (empty, &mut local.pat) {
                    binding.mutability = None;
                }
            }
        }
    }

    fn visit_local_mut(&mut self, local: &mut syn::Local) {
        let is_url = matches!(&local.pat, syn::Pat::Ident(binding) if binding.ident == "url");
        if let (true, Some(init)) = (is_url, local.init.as_mut()) {
            if let syn::Expr::Macro(format) = init.expr.as_ref() {
                match url_without_format(&format.mac) {
                    Some(built) => {
                        *init.expr = built;
                        self.urls_built += 1;
                    }
                    None => self.urls_left += 1,
                }
            }
        }
        syn::visit_mut::visit_local_mut(self, local);
    }

    fn visit_expr_method_call_mut(&mut self, call: &mut syn::ExprMethodCall) {
        if call.method == "query" {
            match query_parameter(call) {
                Some((name, value)) => {
                    call.method = syn::Ident::new("query_unless_absent", call.method.span());
                    call.args = syn::parse_quote!(#name, #value);
                }
                None => self.queries_left += 1,
            }
        }
        syn::visit_mut::visit_expr_method_call_mut(self, call);
    }

    fn visit_expr_call_mut(&mut self, call: &mut syn::ExprCall) {
        if path_ends_with(&call.func, &["HeaderMap", "with_capacity"]) {
            if let Some(syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Int(capacity),
                ..
            })) = call.args.first_mut()
            {
                if let Ok(count) = capacity.base10_parse::<usize>() {
                    // The generator counts its own header in the capacity.
                    let lowered = count.saturating_sub(1);
                    *capacity = syn::LitInt::new(&format!("{lowered}usize"), capacity.span());
                    self.capacities_lowered += 1;
                }
            }
        }
        if path_ends_with(&call.func, &["ResponseValue", "from_response"]) {
            *call.func = syn::parse_quote!(crate::body::response_value);
            self.decoders_replaced += 1;
        }
        syn::visit_mut::visit_expr_call_mut(self, call);
    }
}

/// `name` and `value` of `.query(&progenitor_client::QueryParam::new(name, value))`.
fn query_parameter(call: &syn::ExprMethodCall) -> Option<(syn::Expr, syn::Expr)> {
    let (Some(syn::Expr::Reference(reference)), 1) = (call.args.first(), call.args.len()) else {
        return None;
    };
    let syn::Expr::Call(parameter) = reference.expr.as_ref() else {
        return None;
    };
    if !path_ends_with(&parameter.func, &["QueryParam", "new"]) || parameter.args.len() != 2 {
        return None;
    }
    Some((parameter.args[0].clone(), parameter.args[1].clone()))
}

/// `format!("{}/api/v1/customer/{}", client.baseurl, segment)` as a block that sizes the string
/// once and appends each piece; `None` when it is not such a `format!`.
fn url_without_format(mac: &syn::Macro) -> Option<syn::Expr> {
    if !mac.path.is_ident("format") {
        return None;
    }
    let parser = syn::punctuated::Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated;
    let arguments: Vec<syn::Expr> = mac.parse_body_with(parser).ok()?.into_iter().collect();
    let (
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(template),
            ..
        }),
        values,
    ) = arguments.split_first()?
    else {
        return None;
    };
    let template = template.value();
    // Only bare `{}` placeholders, as many as there are values: anything else (a format spec, an
    // escaped brace) is left to `format!`.
    let pieces: Vec<&str> = template.split("{}").collect();
    if pieces.len() != values.len() + 1 || pieces.iter().any(|piece| piece.contains(['{', '}'])) {
        return None;
    }
    let parts: Vec<syn::Ident> = (0..values.len())
        .map(|index| quote::format_ident!("url_part_{index}"))
        .collect();
    let literal_length: usize = pieces.iter().map(|piece| piece.len()).sum();
    let mut appends = Vec::new();
    for (index, piece) in pieces.iter().enumerate() {
        if index > 0 {
            let part = &parts[index - 1];
            appends.push(quote::quote!(url.push_str(#part);));
        }
        if !piece.is_empty() {
            appends.push(quote::quote!(url.push_str(#piece);));
        }
    }
    Some(syn::parse_quote! {{
        #(let #parts = &(#values);)*
        let mut url = ::std::string::String::with_capacity(#literal_length #(+ #parts.len())*);
        #(#appends)*
        url
    }})
}

/// `header_map.append(HeaderName::from_static("api-version"), ..);`
fn appends_generator_header(statement: &syn::Stmt) -> bool {
    let syn::Stmt::Expr(syn::Expr::MethodCall(call), Some(_)) = statement else {
        return false;
    };
    if call.method != "append" {
        return false;
    }
    let Some(syn::Expr::Call(name)) = call.args.first() else {
        return false;
    };
    path_ends_with(&name.func, &["HeaderName", "from_static"])
        && matches!(name.args.first(), Some(syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(text),
            ..
        })) if text.value() == "api-version")
}

/// `HeaderMap::with_capacity(0usize)`.
fn is_empty_map(expression: &syn::Expr) -> bool {
    let syn::Expr::Call(call) = expression else {
        return false;
    };
    path_ends_with(&call.func, &["HeaderMap", "with_capacity"])
        && matches!(call.args.first(), Some(syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(capacity),
            ..
        })) if capacity.base10_parse::<usize>().ok() == Some(0))
}

/// Whether `expression` is a path whose last segments are `segments`.
fn path_ends_with(expression: &syn::Expr, segments: &[&str]) -> bool {
    let syn::Expr::Path(path) = expression else {
        return false;
    };
    let names: Vec<_> = path
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    names.ends_with(&segments.iter().map(|s| s.to_string()).collect::<Vec<_>>())
}
