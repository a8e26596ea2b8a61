//! Reads back what criterion measured, to print ratios against a baseline of the same run.

/// The mean time (ns) criterion just measured for `group/function`.
pub fn mean_ns(group: &str, function: &str) -> Option<f64> {
    let root = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let path = format!("{root}/criterion/{group}/{function}/new/estimates.json");
    let estimates: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    estimates["mean"]["point_estimate"].as_f64()
}
