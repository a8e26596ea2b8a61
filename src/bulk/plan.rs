//! Packing records into requests as they arrive, so an import holds only the requests it is
//! filling, never the whole input; and what the planner hands on.

use crate::error::Error;

/// One request being filled.
struct Open<R> {
    weight: usize,
    indexes: Vec<usize>,
    records: Vec<R>,
}

/// A request ready to send: the input indexes of its records, and the records.
pub(crate) struct Chunk<R> {
    pub indexes: Vec<usize>,
    pub records: Vec<R>,
}

/// Packs records into requests of at most `max_records` records and, when given, at most
/// `max_weight` total weight.
///
/// Without a weight limit records keep their order and every request but the last is full:
/// `ceil(n / max_records)` requests, the fewest possible. With one, a record goes into the first
/// of a few open requests it fits in (first fit), a request is sent as soon as it is full, and
/// when none of the open requests has room the fullest is sent: a few requests' worth of records
/// in memory, and in practice the fewest requests (600, 600, 300, 400, 100 operations under 1000
/// make 2). Every weight must be at most `max_weight` (checked before a record is packed).
pub(crate) struct Packer<R> {
    max_records: usize,
    max_weight: Option<usize>,
    open: Vec<Open<R>>,
}

/// Requests kept open at once when records are weighed.
const OPEN_WEIGHED_REQUESTS: usize = 4;

impl<R> Packer<R> {
    pub fn new(max_records: usize, max_weight: Option<usize>) -> Self {
        Self {
            max_records: max_records.max(1),
            max_weight,
            open: Vec::new(),
        }
    }

    /// Adds a record; returns the request it completed (or had to send to make room), if any.
    pub fn add(&mut self, index: usize, record: R, weight: usize) -> Option<Chunk<R>> {
        let max_weight = self.max_weight.unwrap_or(usize::MAX);
        let fits = |open: &Open<R>| {
            open.indexes.len() < self.max_records
                && open.weight.saturating_add(weight) <= max_weight
        };
        let mut sent = None;
        let slot = match self.open.iter().position(fits) {
            Some(slot) => slot,
            None => {
                let limit = if self.max_weight.is_some() {
                    OPEN_WEIGHED_REQUESTS
                } else {
                    1
                };
                if self.open.len() >= limit {
                    let fullest = (0..self.open.len())
                        .max_by_key(|&i| (self.open[i].weight, usize::MAX - i))
                        .expect("limit is at least 1");
                    sent = Some(self.take(fullest));
                }
                self.open.push(Open {
                    weight: 0,
                    indexes: Vec::new(),
                    records: Vec::new(),
                });
                self.open.len() - 1
            }
        };
        let open = &mut self.open[slot];
        open.weight += weight;
        open.indexes.push(index);
        open.records.push(record);
        if open.indexes.len() >= self.max_records || open.weight >= max_weight {
            debug_assert!(
                sent.is_none(),
                "a new request is never full after one record"
            );
            return Some(self.take(slot));
        }
        sent
    }

    /// The requests still open, in the order they were opened.
    pub fn finish(self) -> Vec<Chunk<R>> {
        self.open
            .into_iter()
            .map(|open| Chunk {
                indexes: open.indexes,
                records: open.records,
            })
            .collect()
    }

    fn take(&mut self, slot: usize) -> Chunk<R> {
        let open = self.open.remove(slot);
        Chunk {
            indexes: open.indexes,
            records: open.records,
        }
    }
}

/// How many requests an import of `records` through `E` makes: the records packed as the import
/// packs them (every record assumed valid). For a dry run: nothing is sent, and records may be
/// given by value or by reference, so a large input need not be held.
///
/// ```
/// use atlassian_csm::bulk::{requests_for, CustomerProfiles};
/// use atlassian_csm::types::BulkManageCustomerProfileOperation as Profile;
///
/// let records: Vec<_> = (0..250)
///     .map(|i| Profile::upsert().email(format!("user{i}@example.com")).try_into().unwrap())
///     .collect();
/// assert_eq!(requests_for::<CustomerProfiles>(&records), 3); // 100, 100 and 50
/// ```
pub fn requests_for<E: super::endpoints::BulkEndpoint>(
    records: impl IntoIterator<Item = impl std::borrow::Borrow<E::Record>>,
) -> usize {
    let mut packer = Packer::new(E::MAX_RECORDS, E::MAX_WEIGHT);
    let mut requests = 0;
    for (index, record) in records.into_iter().enumerate() {
        requests += usize::from(
            packer
                .add(index, (), E::weight(std::borrow::Borrow::borrow(&record)))
                .is_some(),
        );
    }
    requests + packer.finish().len()
}

/// What the planner hands on: a request to send, or a record that will never be in one.
pub(crate) enum Planned<R> {
    Request {
        number: usize,
        chunk: Chunk<R>,
    },
    /// A record sent through the endpoint's direct calls instead of a request, holding its room
    /// among the direct calls under way.
    Direct {
        index: usize,
        record: R,
        room: tokio::sync::OwnedSemaphorePermit,
    },
    Invalid {
        index: usize,
        error: Error,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pack(weights: &[usize], max_records: usize, max_weight: Option<usize>) -> Vec<Vec<usize>> {
        let mut packer = Packer::new(max_records, max_weight);
        let mut requests = Vec::new();
        for (index, &weight) in weights.iter().enumerate() {
            requests.extend(packer.add(index, (), weight).map(|chunk| chunk.indexes));
        }
        requests.extend(packer.finish().into_iter().map(|chunk| chunk.indexes));
        requests
    }

    #[test]
    fn counted_records_fill_every_request_but_the_last_in_order() {
        let plan = pack(&[1; 250], 100, None);
        let sizes: Vec<_> = plan.iter().map(Vec::len).collect();
        assert_eq!(sizes, [100, 100, 50]);
        assert_eq!(plan[1][0], 100);
        assert!(pack(&[], 100, None).is_empty());
    }

    #[test]
    fn weighted_records_are_packed_into_the_fewest_requests() {
        // In input order, next-fit needs 3 requests (600 | 600+300 | 400+100); first fit over
        // open requests needs 2 (600+300+100 | 600+400).
        let weights = [600, 600, 300, 400, 100];
        let plan = pack(&weights, usize::MAX, Some(1000));
        assert_eq!(plan.len(), 2, "{plan:?}");
        for request in &plan {
            assert!(request.iter().map(|&i| weights[i]).sum::<usize>() <= 1000);
        }
        let mut all: Vec<usize> = plan.concat();
        all.sort_unstable();
        assert_eq!(all, [0, 1, 2, 3, 4], "every record exactly once");
    }

    #[test]
    fn a_thousand_single_operations_fill_requests_exactly() {
        let plan = pack(&[1; 2500], usize::MAX, Some(1000));
        let sizes: Vec<_> = plan.iter().map(Vec::len).collect();
        assert_eq!(sizes, [1000, 1000, 500]);
    }

    #[test]
    fn only_a_few_requests_are_held_open() {
        // Records of 600 never share a request: each fills one as far as it goes.
        let mut packer = Packer::new(usize::MAX, Some(1000));
        let mut sent = 0;
        for index in 0..100 {
            sent += usize::from(packer.add(index, (), 600).is_some());
            assert!(packer.open.len() <= OPEN_WEIGHED_REQUESTS);
        }
        assert_eq!(sent + packer.finish().len(), 100);
    }

    #[test]
    fn requests_for_counts_as_the_import_packs() {
        use crate::bulk::CustomerDetails;
        use crate::types::BulkCustomerDetailFieldOperation;
        let record = |operations: usize| -> BulkCustomerDetailFieldOperation {
            let operation = serde_json::json!({"operationType": "UPDATE", "payload": {"name": "Plan", "values": ["Pro"]}});
            serde_json::from_value(serde_json::json!({
                "customerId": "c", "operations": vec![operation; operations]
            }))
            .unwrap()
        };
        // 600 + 300 + 100 fill one request, 600 + 400 another.
        let records = [600, 600, 300, 400, 100].map(record);
        assert_eq!(requests_for::<CustomerDetails>(&records), 2);
        assert_eq!(requests_for::<CustomerDetails>(&records[..0]), 0);
    }
}
