//! Contract tests written by `cargo xtask contract-test OPERATION_ID` from the spec's examples,
//! waiting for review: check each against the docs, then move it to the file of its tag.
