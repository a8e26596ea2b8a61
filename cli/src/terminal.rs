//! What `csm` prints for people. A server's words (an `errorMessage`, a failure, a task status, a
//! field's definition) are data, not terminal control: every line goes out through [`say!`] or
//! [`tell!`], which show control characters escaped (`\u{1b}`), so an endpoint cannot move the
//! cursor, clear the screen or set the window title; text a server wrote goes in through
//! [`Shown`], which also escapes line breaks, so it cannot fake a line of ours. The secrets `csm`
//! was given are redacted from both, even when a server echoes them back. JSON output
//! ([`crate::output`]) is exact JSON: its encoder already escapes control characters.

use std::borrow::Cow;
use std::fmt;
use std::sync::Mutex;

/// The secrets of this run (the API token, the access token), as they were read.
static SECRETS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Remembers a secret this run sends, so nothing printed shows it (values shorter than 4
/// characters are not searched for: they would redact ordinary words).
pub fn keep_secret(secret: &str) {
    let mut secrets = SECRETS.lock().unwrap_or_else(|e| e.into_inner());
    if secret.chars().count() >= 4 && !secrets.iter().any(|s| s == secret) {
        secrets.push(secret.to_string());
    }
}

/// Whether `c` could control a terminal: C0 and C1 controls, DEL, and the marks that reorder
/// text (bidirectional overrides and isolates).
fn controls(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` fit for a terminal: controls escaped as Rust writes them (`\u{1b}`, `\r`), line breaks
/// kept only where `keep_lines`, and secrets redacted.
pub fn clean(text: &str, keep_lines: bool) -> Cow<'_, str> {
    let secrets = SECRETS.lock().unwrap_or_else(|e| e.into_inner());
    let has_secret = secrets.iter().any(|s| text.contains(s.as_str()));
    let escapes = text
        .chars()
        .any(|c| controls(c) && !(keep_lines && c == '\n'));
    if !has_secret && !escapes {
        return Cow::Borrowed(text);
    }
    let mut text = text.to_string();
    for secret in secrets.iter() {
        text = text.replace(secret.as_str(), "<redacted>");
    }
    if !escapes {
        return Cow::Owned(text);
    }
    let mut shown = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if controls(c) && !(keep_lines && c == '\n') {
            shown.extend(c.escape_debug());
        } else {
            shown.push(c);
        }
    }
    Cow::Owned(shown)
}

/// Text a server (or a file) wrote, shown on one line: [`clean`] without line breaks.
pub struct Shown<T>(pub T);

impl<T: fmt::Display> fmt::Display for Shown<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&clean(&self.0.to_string(), false))
    }
}

/// Prints a line on standard output, cleaned (see the module's doc); on standard error when the
/// run reports as JSON (`--output json`), whose standard output holds the summary alone.
macro_rules! say {
    ($($arg:tt)*) => {{
        let text = format!($($arg)*);
        let line = $crate::terminal::clean(&text, true);
        if $crate::summary::json() {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    }};
}

/// Prints a line on standard error, cleaned (see the module's doc).
macro_rules! tell {
    ($($arg:tt)*) => {
        eprintln!("{}", $crate::terminal::clean(&format!($($arg)*), true))
    };
}

pub(crate) use {say, tell};

/// The client's events as `-v` shows them: one line each on standard error, the message then its
/// other fields (`attempt=2 delay_ms=250`), cleaned as every line is.
pub struct Lines;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Lines {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        struct Fields(String, Vec<String>);
        impl tracing::field::Visit for Fields {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn fmt::Debug) {
                if field.name() == "message" {
                    self.0 = format!("{value:?}");
                } else {
                    self.1.push(format!("{}={value:?}", field.name()));
                }
            }
            fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
                if field.name() == "message" {
                    self.0 = value.to_string();
                } else {
                    self.1.push(format!("{}={value}", field.name()));
                }
            }
        }
        let mut fields = Fields(String::new(), Vec::new());
        event.record(&mut fields);
        let mut line = format!("csm: {}", fields.0);
        if !fields.1.is_empty() {
            line.push_str(&format!(" ({})", fields.1.join(" ")));
        }
        tell!("{line}");
    }
}

/// An error and its causes on one line, each said once (an error that names its cause in its
/// own message is not followed by it again), shown as [`Shown`] shows server text.
pub fn error_line(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let message = cause.to_string();
        if line.contains(&message) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&message);
    }
    clean(&line, false).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_shown_escaped_and_lines_kept_only_where_asked() {
        let hostile = "bad\u{1b}]0;owned\u{7}\u{1b}[2J\r\u{202e}txt\nnext";
        let shown = clean(hostile, false);
        assert!(!shown.chars().any(controls), "{shown}");
        assert!(shown.contains(r"\u{1b}]0;owned\u{7}"), "{shown}");
        assert!(shown.contains(r"\r") && shown.contains(r"\n"), "{shown}");
        assert_eq!(clean("a\nb", true), "a\nb");
        assert_eq!(clean("plain é", false), "plain é");
    }

    #[test]
    fn a_cause_already_named_is_not_repeated() {
        let error = anyhow::Error::new(std::io::Error::other("Connection refused"))
            .context("could not reach host.example: Connection refused");
        assert_eq!(
            error_line(&error),
            "could not reach host.example: Connection refused"
        );
    }
}
