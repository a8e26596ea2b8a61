//! The headers a caller never writes, added to every request just before it is sent.
//!
//! Which operation needs which header is read from the spec at build time
//! ([`operation_rules`](crate::operation_rules)), so a new operation needs no line here.

use crate::config::ClientConfig;
use crate::generated::operation_rules;
use crate::Client;
use progenitor_client::{ClientHooks, Error, OperationInfo};
use reqwest::header::{HeaderName, HeaderValue, AUTHORIZATION};

/// `X-ExperimentalApi`: experimental operations answer 412 without `opt-in`.
pub const EXPERIMENTAL_HEADER: HeaderName = HeaderName::from_static("x-experimentalapi");
/// `Idempotency-Key`: bulk operations answer 412 without one.
pub const IDEMPOTENCY_KEY_HEADER: HeaderName = HeaderName::from_static("idempotency-key");
/// The header the generator adds to every request; the CSM API defines none.
const GENERATOR_VERSION_HEADER: &str = "api-version";

impl ClientHooks<ClientConfig> for Client {
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        info: &OperationInfo,
    ) -> Result<(), Error<E>> {
        let headers = request.headers_mut();
        headers.remove(GENERATOR_VERSION_HEADER);
        headers.insert(AUTHORIZATION, self.inner.authorization.clone());
        let Some(rules) = operation_rules(info.operation_id) else {
            return Err(Error::Custom(format!(
                "no header rules for operation {}",
                info.operation_id
            )));
        };
        if rules.experimental {
            headers.insert(EXPERIMENTAL_HEADER, HeaderValue::from_static("opt-in"));
        }
        if rules.idempotency_key && !headers.contains_key(IDEMPOTENCY_KEY_HEADER) {
            headers.insert(IDEMPOTENCY_KEY_HEADER, new_idempotency_key());
        }
        Ok(())
    }
}

/// A fresh UUID v4, generated once per logical call (before any retry) so every attempt of the
/// call carries the same key.
pub fn new_idempotency_key() -> HeaderValue {
    let mut buffer = uuid::Uuid::encode_buffer();
    let text = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut buffer);
    HeaderValue::from_str(text).expect("a UUID is a valid header value")
}
