//! The `--body` of an operation: a file, or `-` for standard input.

use std::io::Read;
use std::path::Path;

/// The text of `path`, or all of standard input when `path` is `-`.
pub fn read(path: &Path) -> std::io::Result<String> {
    if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text)?;
        return Ok(text);
    }
    std::fs::read_to_string(path)
}
