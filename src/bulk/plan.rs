//! Splitting records into the fewest requests the limits allow.

/// Groups record indexes into requests of at most `max_records` records and, when given, at most
/// `max_weight` total weight.
///
/// Without a weight limit the records keep their order and every request but the last is full:
/// `ceil(n / max_records)` requests, the fewest possible. With one, records are placed heaviest
/// first into the first request with room (first-fit decreasing), which needs at most
/// `11/9 × optimum + 1` requests and in practice the optimum. Every weight must be at most
/// `max_weight` (checked before planning).
pub(crate) fn plan_requests(
    weights: &[usize],
    max_records: usize,
    max_weight: Option<usize>,
) -> Vec<Vec<usize>> {
    let max_records = max_records.max(1);
    let Some(max_weight) = max_weight else {
        let indexes: Vec<usize> = (0..weights.len()).collect();
        return indexes.chunks(max_records).map(<[usize]>::to_vec).collect();
    };
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|a, b| weights[*b].cmp(&weights[*a]));
    let mut requests: Vec<(usize, Vec<usize>)> = Vec::new();
    // Requests that are full (by count or weight) are skipped quickly: only open ones are scanned.
    let mut open: Vec<usize> = Vec::new();
    for index in order {
        let weight = weights[index];
        let slot = open.iter().position(|&r| {
            requests[r].0 + weight <= max_weight && requests[r].1.len() < max_records
        });
        let request = match slot {
            Some(position) => open[position],
            None => {
                requests.push((0, Vec::new()));
                open.push(requests.len() - 1);
                requests.len() - 1
            }
        };
        requests[request].0 += weight;
        requests[request].1.push(index);
        if requests[request].0 >= max_weight || requests[request].1.len() >= max_records {
            open.retain(|&r| r != request);
        }
    }
    requests
        .into_iter()
        .map(|(_, mut indexes)| {
            indexes.sort_unstable();
            indexes
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_records_fill_every_request_but_the_last_in_order() {
        let plan = plan_requests(&[1; 250], 100, None);
        let sizes: Vec<_> = plan.iter().map(Vec::len).collect();
        assert_eq!(sizes, [100, 100, 50]);
        assert_eq!(plan[1][0], 100);
        assert!(plan_requests(&[], 100, None).is_empty());
    }

    #[test]
    fn weighted_records_are_packed_into_the_fewest_requests() {
        // In input order, next-fit needs 3 requests (600 | 600+300 | 400+100); first-fit
        // decreasing needs 2 (600+400 | 600+300+100).
        let weights = [600, 600, 300, 400, 100];
        let plan = plan_requests(&weights, usize::MAX, Some(1000));
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
        let plan = plan_requests(&[1; 2500], usize::MAX, Some(1000));
        let sizes: Vec<_> = plan.iter().map(Vec::len).collect();
        assert_eq!(sizes, [1000, 1000, 500]);
    }
}
