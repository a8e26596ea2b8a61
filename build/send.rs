//! Every operation builder's `send()`: the crate's error type and runtime around the generated
//! request.

use quote::quote;

/// Gives every operation builder the crate's error type and runtime.
///
/// progenitor's `send()` becomes the private `send_raw()` (it returns progenitor's own error, over
/// whatever error body the operation declares: `RestError`, another schema, or none), and a new
/// `send()` runs it inside [`call::send`](src/call.rs): within the client's overall timeout, with
/// the attempts recorded, and its error turned into `crate::Error`. Builders of bulk calls (those
/// answering `TaskSubmitResponse`) also get `send_and_wait()`, which submits and waits for the
/// task.
pub fn wrap_send_methods(file: &mut syn::File) {
    let mut wrapped = 0;
    for item in crate::module_items(file, "builder").iter_mut() {
        let syn::Item::Impl(implementation) = item else {
            continue;
        };
        let syn::Type::Path(self_type) = implementation.self_ty.as_ref() else {
            continue;
        };
        let Some(builder_name) = self_type.path.segments.last().map(|s| s.ident.to_string()) else {
            continue;
        };
        let Some(send) = implementation.items.iter_mut().find_map(|item| match item {
            syn::ImplItem::Fn(function) if function.sig.ident == "send" => Some(function),
            _ => None,
        }) else {
            continue;
        };
        send.sig.ident = syn::Ident::new("send_raw", send.sig.ident.span());
        wrapped += 1;
        send.vis = syn::Visibility::Inherited;
        send.attrs.retain(|attr| !attr.path().is_ident("doc"));
        let success = success_type(&send.sig.output);
        let operation = atlassian_csm_spec::openapi::snake_case(&builder_name);
        let doc = format!(
            "Sends the request (`{operation}`), retrying as the client's retry policy allows, \
             within its overall call timeout."
        );
        implementation.items.push(syn::parse_quote! {
            #[doc = #doc]
            pub async fn send(self) -> ::std::result::Result<#success, crate::Error> {
                let client = self.client;
                crate::call::send(progenitor_client::ClientInfo::inner(client), #operation, ::std::boxed::Box::pin(self.send_raw())).await
            }
        });
        if names_type(&success, "TaskSubmitResponse") {
            implementation.items.push(syn::parse_quote! {
                /// Submits the bulk request, then waits for its task to end (see
                /// `Client::wait_for_task`).
                pub async fn send_and_wait(self) -> ::std::result::Result<crate::TaskOutcome, crate::Error> {
                    let client = self.client;
                    let submitted = self.send().await?;
                    client.wait_for_task(submitted.into_inner().id).await
                }
            });
        }
    }
    crate::rewrote("wraps send()", wrapped);
}

/// Whether a path in `ty` (`ResponseValue<types::TaskSubmitResponse>`) ends in `name`.
fn names_type(ty: &syn::Type, name: &str) -> bool {
    struct Find<'a>(&'a str, bool);
    impl<'ast> syn::visit::Visit<'ast> for Find<'_> {
        fn visit_path(&mut self, path: &'ast syn::Path) {
            self.1 |= path.segments.last().is_some_and(|s| s.ident == self.0);
            syn::visit::visit_path(self, path);
        }
    }
    let mut find = Find(name, false);
    syn::visit::Visit::visit_type(&mut find, ty);
    find.1
}

/// `T` of a `-> Result<T, E>` signature.
fn success_type(output: &syn::ReturnType) -> syn::Type {
    let syn::ReturnType::Type(_, result) = output else {
        crate::fail("a generated send() returns nothing")
    };
    let syn::Type::Path(path) = result.as_ref() else {
        crate::fail("a generated send() does not return a Result")
    };
    let arguments = &path
        .path
        .segments
        .last()
        .expect("a path has a segment")
        .arguments;
    match arguments {
        syn::PathArguments::AngleBracketed(generics) => match generics.args.first() {
            Some(syn::GenericArgument::Type(success)) => success.clone(),
            _ => crate::fail("a generated send() returns an unexpected Result"),
        },
        _ => crate::fail("a generated send() returns an unexpected Result"),
    }
}

/// Removes the generated `Client::new` (it unwraps a fallible build and bypasses the client's
/// configuration) and the `prelude` module, and makes `Client::new_with_client` crate-private: a
/// client is built by `Client::builder()`.
pub fn hide_raw_constructors(file: &mut syn::File) {
    let mut hidden = 0;
    file.items
        .retain(|item| !matches!(item, syn::Item::Mod(module) if module.ident == "prelude"));
    for item in file.items.iter_mut() {
        let syn::Item::Impl(implementation) = item else {
            continue;
        };
        let is_client = matches!(implementation.self_ty.as_ref(),
            syn::Type::Path(path) if path.path.is_ident("Client"));
        if !is_client || implementation.trait_.is_some() {
            continue;
        }
        implementation.items.retain(
            |item| !matches!(item, syn::ImplItem::Fn(function) if function.sig.ident == "new"),
        );
        for item in implementation.items.iter_mut() {
            if let syn::ImplItem::Fn(function) = item {
                if function.sig.ident == "new_with_client" {
                    function.vis = syn::parse_quote!(pub(crate));
                    hidden += 1;
                }
            }
        }
    }
    crate::rewrote("hides the raw constructors", hidden);
}

/// Routes every path parameter through `crate::path::segment`, which refuses `""`, `.` and `..`
/// and encodes everything that could leave the segment (the generator's encoder leaves `.` and
/// `\\` as they are, and URL parsing then drops or climbs segments). Fails the build if any
/// path is still built with the generator's encoder.
pub fn confine_path_parameters(file: &mut syn::File) {
    use syn::visit_mut::VisitMut;
    let mut confined = 0;
    for function in crate::send_raw_functions(crate::module_items(file, "builder")) {
        let error_body = error_type(&function.sig.output);
        let mut rewriter = PathRewriter {
            error_body,
            left: 0,
            confined: 0,
        };
        rewriter.visit_block_mut(&mut function.block);
        confined += rewriter.confined;
        if rewriter.left > 0 {
            crate::fail(
                "a generated path parameter is not confined to its segment: expected every \
                     `encode_path(..)` argument of `format!` to be `&name.to_string()`",
            );
        }
    }
    crate::rewrote("confines path parameters", confined);
}

/// `E` of a `-> Result<T, Error<E>>` signature.
fn error_type(output: &syn::ReturnType) -> syn::Type {
    let syn::ReturnType::Type(_, result) = output else {
        crate::fail("a generated send() returns nothing")
    };
    let generic = |ty: &syn::Type, index: usize| -> Option<syn::Type> {
        let syn::Type::Path(path) = ty else {
            return None;
        };
        let syn::PathArguments::AngleBracketed(generics) = &path.path.segments.last()?.arguments
        else {
            return None;
        };
        generics
            .args
            .iter()
            .filter_map(|arg| match arg {
                syn::GenericArgument::Type(ty) => Some(ty.clone()),
                _ => None,
            })
            .nth(index)
    };
    generic(result, 1)
        .and_then(|error| generic(&error, 0))
        .unwrap_or_else(|| crate::fail("a generated send() does not return Result<_, Error<E>>"))
}

struct PathRewriter {
    error_body: syn::Type,
    /// Calls of the generator's encoder that could not be rewritten.
    left: usize,
    /// Path parameters routed through the segment check.
    confined: usize,
}

impl syn::visit_mut::VisitMut for PathRewriter {
    fn visit_macro_mut(&mut self, mac: &mut syn::Macro) {
        let parser = syn::punctuated::Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated;
        let Ok(mut arguments) = mac.parse_body_with(parser) else {
            return;
        };
        let is_format = mac.path.is_ident("format");
        let mut rewritten = false;
        for argument in arguments.iter_mut() {
            let syn::Expr::Call(call) = argument else {
                continue;
            };
            let is_encoder = matches!(call.func.as_ref(),
                syn::Expr::Path(path) if path.path.is_ident("encode_path"));
            if !is_encoder {
                continue;
            }
            let name = call.args.first().and_then(parameter_name);
            let (Some(name), Some(value), true) = (name, call.args.first().cloned(), is_format)
            else {
                self.left += 1;
                continue;
            };
            let error_body = &self.error_body;
            *argument = syn::parse_quote! {
                crate::path::segment::<#error_body>(#name, #value)?
            };
            rewritten = true;
            self.confined += 1;
        }
        if rewritten {
            mac.tokens = quote!(#arguments);
        }
    }

    fn visit_expr_call_mut(&mut self, call: &mut syn::ExprCall) {
        // The encoder called outside `format!` is not rewritten: it is counted as left.
        if matches!(call.func.as_ref(), syn::Expr::Path(path) if path.path.is_ident("encode_path"))
        {
            self.left += 1;
        }
        syn::visit_mut::visit_expr_call_mut(self, call);
    }
}

/// `customer_id` in `&customer_id.to_string()`.
fn parameter_name(value: &syn::Expr) -> Option<String> {
    let syn::Expr::Reference(reference) = value else {
        return None;
    };
    let syn::Expr::MethodCall(call) = reference.expr.as_ref() else {
        return None;
    };
    let syn::Expr::Path(path) = call.receiver.as_ref() else {
        return None;
    };
    Some(path.path.get_ident()?.to_string())
}
