//! Faults the fake answers with instead of serving a request: the next requests of any kind, of
//! one operation, or matching a predicate over the request; or a seeded fraction of all.

use crate::recorded::RecordedRequest;
use std::sync::Arc;
use std::time::Duration;

/// A fault the fake answers with instead of serving a request.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// `429 Too Many Requests` with this `Retry-After` (whole seconds, rounded up).
    RateLimited {
        /// The wait the fake asks for.
        retry_after: Duration,
    },
    /// `503 Service Unavailable`.
    Unavailable,
    /// `500 Internal Server Error`.
    ServerError,
    /// Any status, with the API's error body (`errors` holds the status's key, e.g.
    /// `SERVICE_UNAVAILABLE` for `Fault::Status(503)`). A number that is no HTTP status (outside
    /// 100–999) is answered `500`.
    Status(u16),
    /// The connection is cut in the middle of the answer.
    CutConnection,
}

/// Which requests a planned fault answers.
#[derive(Clone)]
pub(crate) enum Aim {
    /// Any request.
    Any,
    /// Requests for this operation of the document (`get-products`).
    Operation(&'static str),
    /// Requests the predicate holds for.
    Matching(Arc<dyn Fn(&RecordedRequest) -> bool + Send + Sync>),
}

impl std::fmt::Debug for Aim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Aim::Any => f.write_str("Any"),
            Aim::Operation(id) => f.debug_tuple("Operation").field(id).finish(),
            Aim::Matching(_) => f.write_str("Matching(..)"),
        }
    }
}

impl Aim {
    /// The operation a fault is aimed at, given by its id (`get-products`) or its client method
    /// (`get_products`).
    ///
    /// # Panics
    ///
    /// When the document has no such operation: a fault aimed at nothing would leave a test
    /// passing for the wrong reason.
    pub(crate) fn operation(name: &str) -> Self {
        let wanted = name.trim().replace('_', "-");
        match crate::routes::OPERATIONS.iter().find(|op| op.id == wanted) {
            Some(operation) => Aim::Operation(operation.id),
            None => {
                let mut near: Vec<&str> = crate::routes::OPERATIONS
                    .iter()
                    .map(|op| op.id)
                    .filter(|id| {
                        let stem = wanted.trim_end_matches('s');
                        id.contains(stem) || stem.contains(id.trim_end_matches('s'))
                    })
                    .collect();
                near.sort_unstable();
                panic!(
                    "no operation {name:?} in the document, so no request could meet this fault{}",
                    if near.is_empty() {
                        String::new()
                    } else {
                        format!(" (did you mean {}?)", near.join(", "))
                    }
                )
            }
        }
    }

    fn holds(&self, request: &RecordedRequest) -> bool {
        match self {
            Aim::Any => true,
            Aim::Operation(id) => request.operation.as_deref() == Some(*id),
            Aim::Matching(predicate) => predicate(request),
        }
    }
}

/// Faults still to come.
#[derive(Clone, Debug, Default)]
pub(crate) struct FaultPlan {
    /// Each entry answers that many of the next requests it is aimed at, in the order planned.
    pub next: Vec<(Fault, usize, Aim)>,
    /// A fraction of all requests, drawn from a seeded generator.
    pub fraction: Option<(Fault, f64, u64)>,
}

impl FaultPlan {
    /// Plans `fault` for the next `requests` requests `aim` holds for.
    pub fn plan(&mut self, requests: usize, fault: Fault, aim: Aim) {
        if requests > 0 {
            self.next.push((fault, requests, aim));
        }
    }

    /// The fault for `request`, if any: the first planned one aimed at it, else a draw of the
    /// fraction.
    pub fn draw(&mut self, request: &RecordedRequest) -> Option<Fault> {
        if let Some(index) = self.next.iter().position(|(_, _, aim)| aim.holds(request)) {
            let (fault, left, _) = &mut self.next[index];
            let fault = fault.clone();
            *left -= 1;
            if *left == 0 {
                self.next.remove(index);
            }
            return Some(fault);
        }
        let (fault, fraction, state) = self.fraction.as_mut()?;
        // xorshift64*: reproducible for a seed, no dependency.
        *state ^= *state >> 12;
        *state ^= *state << 25;
        *state ^= *state >> 27;
        let draw = (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64;
        (draw < *fraction).then(|| fault.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn request(operation: Option<&str>, path: &str) -> RecordedRequest {
        RecordedRequest {
            method: "GET".into(),
            path: path.into(),
            operation: operation.map(str::to_string),
            headers: Vec::new(),
            body: Vec::new(),
            status: 0,
            received_at: Instant::now(),
        }
    }

    #[test]
    fn aimed_faults_meet_only_their_requests_in_the_order_planned() {
        let mut plan = FaultPlan::default();
        plan.plan(2, Fault::Status(503), Aim::operation("get_products"));
        plan.plan(
            1,
            Fault::ServerError,
            Aim::Matching(Arc::new(|r: &RecordedRequest| r.path.contains("cursor="))),
        );
        let product = request(Some("get-product"), "/api/v1/product/1");
        let products = request(Some("get-products"), "/api/v1/product");
        let next_page = request(Some("get-products"), "/api/v1/product?cursor=after-1");
        assert_eq!(plan.draw(&product), None, "another operation passes");
        assert_eq!(plan.draw(&products), Some(Fault::Status(503)));
        assert_eq!(
            plan.draw(&next_page),
            Some(Fault::Status(503)),
            "first planned first"
        );
        assert_eq!(plan.draw(&next_page), Some(Fault::ServerError));
        assert_eq!(plan.draw(&next_page), None, "all spent");
        assert!(plan.next.is_empty());
    }

    #[test]
    #[should_panic(expected = "did you mean get-product, get-products?")]
    fn a_fault_aimed_at_no_operation_is_refused_with_the_near_names() {
        Aim::operation("get-productz");
    }
}
