//! The operations a contract-test source covers: the names given to `contract!(name, …)`.
//!
//! Read by the tests (every operation has one) and by `cargo xtask`, which reports the operations
//! no contract test covers.

/// The names given to `contract!(name, …)` in `source`, in order.
pub fn contract_test_names(source: &str) -> Vec<String> {
    source
        .split("contract!(")
        .skip(1)
        .filter_map(|rest| {
            rest.trim_start()
                .split(|c: char| c == ',' || c.is_whitespace())
                .next()
                .filter(|name| !name.is_empty())
                .map(str::to_string)
        })
        .collect()
}
