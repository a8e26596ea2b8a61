//! The documentation of what progenitor names generically: the client itself and the two
//! `builder` modules, so that a reader of the docs finds how to build a client, how to try it
//! against the fake, and which builder is which.

/// The `Client`'s documentation.
const CLIENT: &str = r#"A client of the CSM REST API: one method per operation, each returning a builder whose
`send()` makes the call (see [`builder`]).

Build one with [`Client::builder`] (a site's cloud id or name, and [`Credentials`](crate::Credentials)).
It is cheap to clone, and clones share their connections, rate limits and what imports learned of
the site.

Tests and examples run it against **`atlassian-csm-mock`**, a faithful fake of the API (demo
data, bulk tasks, rate limits, the live site's pace), started in the test's process:

```
# #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
use atlassian_csm_mock::FakeCsm;

let fake = FakeCsm::builder().seed_demo(true).start().await?;
let client = fake.client(); // or Client::builder().base_url(fake.base_url())…
let products = client.get_products().send().await?;
assert_eq!(products.results.len(), 3);
assert_eq!(fake.requests().len(), 1); // every request the fake received, to assert on
# Ok(()) }
```

`csm mock` (the command line) serves the same fake on a port, for programs in other processes."#;

/// The operation builders' module.
const OPERATION_BUILDERS: &str = "The builders the client's methods return, one per operation \
(`client.get_products()` is a [`builder::GetProducts`](crate::builder::GetProducts)): set the parameters and \
body, then `send()`. The builders of request bodies and bulk records are elsewhere, in \
[`types::builder`](crate::types::builder).";

/// The body builders' module.
const BODY_BUILDERS: &str = "The builders of request bodies and bulk records: \
`types::X::builder()` (and each operation record's constructors, such as \
`types::BulkManageCustomerProfileOperation::upsert()`) returns `types::builder::XBuilder`. Pass \
one wherever an `X` is taken, or convert it with `X::try_from(builder)`. The builders the \
client's methods return are elsewhere, in [`builder`](crate::builder).";

/// Replaces the documentation of the client and of both `builder` modules; fails the build when
/// one of them is not where progenitor used to put it.
pub fn document_client_and_builders(file: &mut syn::File) {
    let mut documented = 0;
    for item in &mut file.items {
        match item {
            syn::Item::Struct(client) if client.ident == "Client" => {
                set_doc(&mut client.attrs, CLIENT);
                documented += 1;
            }
            syn::Item::Mod(module) if module.ident == "builder" => {
                set_doc(&mut module.attrs, OPERATION_BUILDERS);
                documented += 1;
            }
            syn::Item::Mod(module) if module.ident == "types" => {
                let Some((_, items)) = module.content.as_mut() else {
                    continue;
                };
                for item in items {
                    if let syn::Item::Mod(inner) = item {
                        if inner.ident == "builder" {
                            set_doc(&mut inner.attrs, BODY_BUILDERS);
                            documented += 1;
                        }
                    }
                }
            }
            _ => {}
        }
    }
    if documented != 3 {
        crate::fail(&format!(
            "progenitor {} output: the client and both builder modules were not all found \
             ({documented} of 3) to document",
            atlassian_csm_spec::pins::PROGENITOR
        ));
    }
}

fn set_doc(attrs: &mut Vec<syn::Attribute>, text: &str) {
    attrs.retain(|attr| !attr.path().is_ident("doc"));
    attrs.insert(0, syn::parse_quote!(#[doc = #text]));
}
