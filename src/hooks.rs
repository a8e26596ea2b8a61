//! What happens around every generated request: the limits it must respect and the headers a
//! caller never writes (before it is sent), then tracing around its attempts (see
//! [`retry`](crate::retry) for the attempts themselves).
//!
//! Which operation needs which header is read from the spec at build time (`operation_rules`), so
//! a new operation needs no line here.

use crate::call::refuse;
use crate::config::ClientConfig;
use crate::generated::operation_rules;
use crate::headers::{self, EXPERIMENTAL_HEADER, IDEMPOTENCY_KEY_HEADER};
use crate::limits;
use crate::Client;
use progenitor_client::{ClientHooks, ClientInfo, Error, OperationInfo};
use reqwest::header::{HeaderValue, AUTHORIZATION};
use tracing::Instrument as _;

impl ClientHooks<ClientConfig> for Client {
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        info: &OperationInfo,
    ) -> Result<(), Error<E>> {
        let body = request.body().and_then(|body| body.as_bytes());
        if let Some(body) = body.filter(|_| !limits::body_is_checked()) {
            tracing::trace!(
                target: "atlassian_csm::checks",
                operation = info.operation_id,
                "request body checked"
            );
            limits::check_request(
                info.operation_id,
                body,
                self.inner().allow_unknown_enum_values,
            )
            .map_err(refuse)?;
        }
        let Some(rules) = operation_rules(info.operation_id) else {
            return Err(refuse(crate::Error::Internal(format!(
                "no header rules for operation {}",
                info.operation_id
            ))));
        };
        // What the generated code and the caller put in the headers is checked; what is added
        // below is valid by construction (the Authorization value is checked when it is made).
        if let Some((name, reason)) = headers::first_refused(request.headers()) {
            return Err(refuse(crate::Error::InvalidInput {
                field: crate::FieldPath::from(format!("{name} header").as_str()),
                message: reason,
            }));
        }
        let authorization = match &self.inner().fixed_authorization {
            Some(value) => value.clone(),
            None => {
                let renewed = self
                    .inner()
                    .credentials
                    .authorization()
                    .await
                    .map_err(refuse)?;
                self.inner().sent_tokens.sent(&renewed);
                renewed
            }
        };
        let headers = request.headers_mut();
        headers.insert(AUTHORIZATION, authorization);
        if rules.experimental {
            headers.insert(EXPERIMENTAL_HEADER, HeaderValue::from_static("opt-in"));
        }
        // Generated once per logical call, here and not per attempt, so every retry of the call
        // carries the same key.
        if rules.idempotency_key && !headers.contains_key(IDEMPOTENCY_KEY_HEADER) {
            headers.insert(IDEMPOTENCY_KEY_HEADER, headers::new_idempotency_key());
        }
        Ok(())
    }

    async fn exec(
        &self,
        request: reqwest::Request,
        info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        let span = tracing::info_span!(
            "csm.call",
            operation = info.operation_id,
            method = %request.method(),
            attempts = tracing::field::Empty,
            status = tracing::field::Empty,
        );
        if span.is_disabled() {
            // Nothing listens to the span: the call is not wrapped in it.
            let none = tracing::Span::none();
            return crate::retry::execute(self.client(), self.inner(), request, &none)
                .await
                .0;
        }
        async {
            let span = tracing::Span::current();
            let (result, attempts) =
                crate::retry::execute(self.client(), self.inner(), request, &span).await;
            span.record("attempts", attempts);
            result
        }
        .instrument(span)
        .await
    }
}
