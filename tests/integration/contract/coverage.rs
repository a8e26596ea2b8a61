//! Every operation of the corrected spec has exactly one contract test, and every contract test
//! names an operation: a refreshed spec with a new operation turns this red until it is covered.

use crate::support::spec::operations;
use std::collections::BTreeSet;

const CONTRACT_SOURCES: [&str; 9] = [
    include_str!("customer.rs"),
    include_str!("customer_bulk.rs"),
    include_str!("entitlement.rs"),
    include_str!("organization.rs"),
    include_str!("organization_bulk.rs"),
    include_str!("pending.rs"),
    include_str!("product.rs"),
    include_str!("request.rs"),
    include_str!("task.rs"),
];

/// The names given to `contract!(name, …)` in the sources.
fn contract_test_names() -> Vec<String> {
    CONTRACT_SOURCES
        .iter()
        .flat_map(|source| atlassian_csm_spec::coverage::contract_test_names(source))
        .collect()
}

#[test]
fn every_operation_has_exactly_one_contract_test() {
    let tested = contract_test_names();
    let unique: BTreeSet<_> = tested.iter().cloned().collect();
    assert_eq!(
        unique.len(),
        tested.len(),
        "an operation is tested twice: {tested:?}"
    );

    let operations: BTreeSet<String> = operations().iter().map(|op| op.method_name()).collect();
    let untested: Vec<_> = operations.difference(&unique).collect();
    let unknown: Vec<_> = unique.difference(&operations).collect();
    assert!(
        untested.is_empty(),
        "operations without a contract test: {untested:?}"
    );
    assert!(
        unknown.is_empty(),
        "contract tests for no operation: {unknown:?}"
    );
    assert_eq!(operations.len(), 54, "the corrected spec has 54 operations");
}
