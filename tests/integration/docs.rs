//! What a new user reads first says what the crate has.

/// The variants of `Error`, read from its definition.
fn error_variants() -> Vec<String> {
    let source = include_str!("../../src/error.rs");
    let body = source
        .split_once("pub enum Error {")
        .and_then(|(_, rest)| rest.split_once("\n}\n"))
        .map(|(body, _)| body)
        .expect("the Error enum");
    body.lines()
        .filter_map(|line| line.strip_prefix("    "))
        .filter(|line| line.starts_with(|c: char| c.is_ascii_uppercase()))
        .map(|line| {
            line.split(|c: char| !c.is_ascii_alphanumeric())
                .next()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

#[test]
fn the_readme_names_every_error_variant() {
    let variants = error_variants();
    assert!(variants.len() >= 20, "{variants:?}");
    let readme = include_str!("../../README.md");
    let missing: Vec<&String> = variants
        .iter()
        .filter(|variant| !readme.contains(&format!("`{variant}`")))
        .collect();
    assert!(missing.is_empty(), "the README does not name {missing:?}");
}
