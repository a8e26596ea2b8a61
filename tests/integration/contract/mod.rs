//! Contract tests: one per operation of the corrected spec.
//!
//! Each test proves that the client sends exactly what the API expects (method, path with its
//! encoding, query, `Authorization`, `Accept`, `Content-Type`, `X-ExperimentalApi`,
//! `Idempotency-Key`, JSON body, and no other documented header such as `api-version`), that it
//! decodes the spec's own example response without losing a field, and that a documented 4xx
//! decodes as the spec's own `RestError` example.

mod coverage;
mod customer;
mod customer_bulk;
mod entitlement;
mod organization;
mod organization_bulk;
mod pending;
mod product;
mod request;
mod task;

use crate::support::mock_api::{Expected, MockApi};
use crate::support::spec::{
    documented_client_error, request_example, rest_error_example, success_example,
};
use atlassian_csm::{Client, Error};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::future::Future;

/// A customer account id as the API issues them: it contains `:`, sent unescaped in paths.
pub const CUSTOMER_ID: &str =
    "qm:82a83bc1-d19a-4220-b388-af3f7d92165d:a495e659-5978-402f-a878-636e415ba1c1";
pub const ORGANIZATION_ID: &str = "123";
pub const PRODUCT_ID: &str = "3858a61a-d337-42e6-993e-e13e1c366d4f";
pub const ENTITLEMENT_ID: &str = "9b2c3d4e-1f2a-4b5c-8d7e-0f1a2b3c4d5e";
pub const TASK_ID: &str = "3858a61a-d337-42e6-993e-e13e1c366d4f";
/// A detail-field name with a space: it must reach the server as `Phone%20Number`.
pub const FIELD_NAME: &str = "Phone Number";
pub const FIELD_NAME_IN_PATH: &str = "Phone%20Number";

/// The spec's request example for an operation, as the typed body the client takes.
pub fn body<T: DeserializeOwned>(method_name: &str) -> T {
    let example = request_example(method_name).expect("the operation takes a body");
    serde_json::from_value(example).expect("the spec's request example decodes")
}

/// The spec's request example for an operation, as the exact JSON the server must receive.
pub fn json(method_name: &str) -> Value {
    request_example(method_name).expect("the operation takes a body")
}

/// Runs one operation twice against a strict mock: once answered with the spec's success
/// example, once with the first documented 4xx (other than 401, which is an authentication
/// error) and the spec's `RestError` example.
pub async fn check_contract<F, Fut>(method_name: &str, expected: Expected, call: F)
where
    F: Fn(Client) -> Fut,
    Fut: Future<Output = Result<Value, Error>>,
{
    let api = MockApi::start().await;

    let (status, example) = success_example(method_name);
    let mock = api.expect(&expected, status, example.clone()).await;
    let decoded = call(api.client.clone())
        .await
        .unwrap_or_else(|e| panic!("{method_name} failed against its contract: {e:?}"));
    mock.assert_calls_async(1).await;
    assert_eq!(
        decoded,
        example.unwrap_or(Value::Null),
        "{method_name}: the decoded response differs from the spec's example"
    );
    mock.delete_async().await;

    let error_status = documented_client_error(method_name);
    let mock = api
        .expect(&expected, error_status, Some(rest_error_example()))
        .await;
    match call(api.client.clone()).await {
        Err(Error::Api {
            status,
            error: Some(error),
            ..
        }) => {
            assert_eq!(status.as_u16(), error_status);
            assert_eq!(serde_json::to_value(error).unwrap(), rest_error_example());
        }
        other => panic!("{method_name}: a {error_status} must decode as RestError, got {other:?}"),
    }
    mock.assert_calls_async(1).await;
}

/// `contract!(method_name, expected_request, |client| client.method_name()…send())`: one test.
#[macro_export]
macro_rules! contract {
    ($name:ident, $expected:expr, |$client:ident| $call:expr) => {
        #[tokio::test]
        async fn $name() {
            $crate::contract::check_contract(stringify!($name), $expected, |$client| async move {
                $call
                    .await
                    .map(|response| serde_json::to_value(response.into_inner()).unwrap())
            })
            .await
        }
    };
}
