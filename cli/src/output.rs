//! What a generated command prints: the answer as JSON on standard output (indented on a
//! terminal, one line otherwise, for `jq` and scripts), the error on standard error.

use atlassian_csm::{Error, ResponseValue};
use std::io::{IsTerminal, Write};

/// The output of the generated commands.
pub struct JsonOutput {
    /// Indented, for people.
    pub pretty: bool,
}

impl JsonOutput {
    /// Indented when standard output is a terminal.
    pub fn for_stdout() -> Self {
        Self {
            pretty: std::io::stdout().is_terminal(),
        }
    }

    /// Prints `value` as one JSON document on standard output.
    pub fn print(&self, value: &impl serde::Serialize) {
        let text = if self.pretty {
            serde_json::to_string_pretty(value)
        } else {
            serde_json::to_string(value)
        };
        let text =
            text.unwrap_or_else(|e| format!("{{\"error\": \"cannot print the answer: {e}\"}}"));
        let mut stdout = std::io::stdout().lock();
        // A closed pipe (`csm … | head`) is not an error worth a panic.
        let _ = writeln!(stdout, "{text}");
    }
}

impl crate::generated::CliConfig for JsonOutput {
    fn success_item<T>(&self, value: &ResponseValue<T>)
    where
        T: serde::Serialize + std::fmt::Debug,
    {
        self.print(&**value);
    }

    fn success_no_item(&self, _value: &ResponseValue<()>) {}

    fn error(&self, _value: &Error) {
        // Printed once, with its exit code, where the command ends (`main`).
    }

    fn list_start<T>(&self)
    where
        T: serde::Serialize + std::fmt::Debug,
    {
    }

    fn list_item<T>(&self, value: &T)
    where
        T: serde::Serialize + std::fmt::Debug,
    {
        self.print(value);
    }

    fn list_end_success<T>(&self)
    where
        T: serde::Serialize + std::fmt::Debug,
    {
    }

    fn list_end_error(&self, _value: &Error) {}
}
