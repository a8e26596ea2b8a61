//! Reads back what criterion measured, to print ratios against a baseline of the same run.

/// The mean time (ns) criterion just measured for `group/function`.
pub fn mean_ns(group: &str, function: &str) -> Option<f64> {
    let path = format!(
        "{}/criterion/{group}/{function}/new/estimates.json",
        target_dir()?
    );
    let estimates: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    estimates["mean"]["point_estimate"].as_f64()
}

/// The target directory as cargo reports it (`target/` unless `CARGO_TARGET_DIR` or a cargo config
/// moves it), where criterion writes.
fn target_dir() -> Option<String> {
    let output =
        std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["metadata", "--format-version", "1", "--no-deps"])
            .output()
            .ok()?;
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).ok()?;
    metadata["target_directory"].as_str().map(str::to_string)
}
