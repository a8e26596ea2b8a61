//! What an [`Error`] keeps of a server's text: at most a few KiB of each piece (saying how much
//! was cut), with every secret the client knows redacted, even one the server (or a proxy)
//! echoed back, such as the `Authorization` header in an error body.
//!
//! Every error that carries a server's words passes through [`Error::with_server_text_kept`]
//! before it reaches the caller, so no `Display`, `Debug` or log line of it can hold a 10 MB
//! message or a token.

use crate::error::Error;
use crate::types::RestError;
use base64::Engine as _;
use reqwest::header::HeaderValue;

/// The most bytes of one piece of a server's text an error keeps.
pub(crate) const MAX_SERVER_TEXT_BYTES: usize = 4096;

/// What stands where a secret was.
const REDACTED: &str = "<redacted>";

/// Secrets shorter than this are not searched for: they would redact ordinary words, and no
/// credential the API accepts is that short.
const MIN_SECRET_CHARS: usize = 4;

/// The secrets a client sends, in every form a server may echo them: as sent, JSON-escaped, and
/// for Basic credentials the encoded pair and its parts.
#[derive(Clone, Default)]
pub(crate) struct Secrets(Vec<String>);

impl Secrets {
    /// No secret (for text from a server that was sent none).
    pub fn none() -> Self {
        Self::default()
    }

    /// Adds `secret` and the forms it takes once echoed.
    pub fn add(&mut self, secret: &str) {
        if secret.chars().count() < MIN_SECRET_CHARS {
            return;
        }
        let json = serde_json::to_string(secret).unwrap_or_default();
        let json = json.trim_matches('"');
        for form in [secret, json, &json.replace('/', "\\/")] {
            if !self.0.iter().any(|known| known == form) {
                self.0.push(form.to_string());
            }
        }
        // Longest first, so a secret holding another is redacted whole.
        self.0.sort_by_key(|known| std::cmp::Reverse(known.len()));
    }

    /// Adds what an `Authorization` header carries: the token of `Bearer …`, the encoded pair of
    /// `Basic …` and the API token in it.
    pub fn add_authorization(&mut self, header: &HeaderValue) {
        let Ok(text) = header.to_str() else { return };
        self.add(text);
        let Some((scheme, credential)) = text.split_once(' ') else {
            return;
        };
        self.add(credential);
        if scheme.eq_ignore_ascii_case("basic") {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(credential)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok());
            if let Some(pair) = decoded {
                self.add(&pair);
                if let Some((_, api_token)) = pair.split_once(':') {
                    self.add(api_token);
                }
            }
        }
    }

    /// The longest form of a secret, in bytes.
    fn longest(&self) -> usize {
        self.0.first().map_or(0, String::len)
    }

    /// `text` with every secret replaced by `<redacted>`.
    pub fn redact(&self, text: &str) -> String {
        let mut text = text.to_string();
        for secret in &self.0 {
            if text.contains(secret.as_str()) {
                text = text.replace(secret.as_str(), REDACTED);
            }
        }
        text
    }

    /// `text` as an error keeps it: secrets redacted, then at most `limit` bytes (cut at a
    /// character boundary), followed by how long the server's text was when it was longer.
    pub fn keep(&self, text: &str, limit: usize) -> String {
        let (mut kept, cut) = self.start(text, limit);
        if cut {
            kept.push_str(&format!(
                "… (cut: the server's text was {} bytes)",
                text.len()
            ));
        }
        kept
    }

    /// The start of `text`, secrets redacted, in at most `limit` bytes; and whether it was cut.
    pub fn start(&self, text: &str, limit: usize) -> (String, bool) {
        // Redacted before it is cut, over enough of it that no secret is cut in two.
        let window = floor_char_boundary(text, limit.saturating_add(self.longest()));
        let mut kept = self.redact(&text[..window]);
        let cut = window < text.len() || kept.len() > limit;
        kept.truncate(floor_char_boundary(&kept, limit));
        (kept, cut)
    }

    /// `text` kept at [`MAX_SERVER_TEXT_BYTES`].
    pub fn kept(&self, text: &str) -> String {
        self.keep(text, MAX_SERVER_TEXT_BYTES)
    }
}

/// The largest index ≤ `at` that is a character boundary of `text`.
fn floor_char_boundary(text: &str, at: usize) -> usize {
    if at >= text.len() {
        return text.len();
    }
    (0..=at)
        .rev()
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(0)
}

impl RestError {
    /// The same error, each string of it kept as [`Secrets::kept`] does (and at most 100 error
    /// keys).
    fn kept(mut self, secrets: &Secrets) -> Self {
        const MAX_KEYS: usize = 100;
        self.error_message = self.error_message.map(|message| secrets.kept(&message));
        self.errors.truncate(MAX_KEYS);
        for key in &mut self.errors {
            *key = secrets.keep(key, 256);
        }
        self
    }
}

impl Error {
    /// The error with every piece of a server's text in it bounded and its secrets redacted.
    pub(crate) fn with_server_text_kept(self, secrets: &Secrets) -> Self {
        match self {
            Self::Api {
                operation,
                status,
                attempts,
                error,
                body_excerpt,
                rate_limit,
            } => Self::Api {
                operation,
                status,
                attempts,
                error: error.map(|error| Box::new(error.kept(secrets))),
                body_excerpt: body_excerpt.map(|excerpt| secrets.start(&excerpt, EXCERPT_BYTES).0),
                rate_limit,
            },
            Self::Auth { message } => Self::Auth {
                message: secrets.kept(&message),
            },
            Self::Decode {
                operation,
                status,
                message,
                body_excerpt,
            } => Self::Decode {
                operation,
                status,
                message: secrets.kept(&message),
                body_excerpt: secrets.start(&body_excerpt, EXCERPT_BYTES).0,
            },
            Self::Redirected {
                operation,
                status,
                location,
            } => Self::Redirected {
                operation,
                status,
                location: secrets.keep(&location, 1024),
            },
            Self::TaskFailed { mut task } => {
                task.id = secrets.keep(&task.id, 256);
                for failure in &mut task.failures {
                    failure.error = failure.error.as_deref().map(|error| secrets.kept(error));
                    failure.entity_id = secrets.keep(&failure.entity_id, 1024);
                }
                Self::TaskFailed { task }
            }
            Self::TaskDeadline {
                task_id,
                last_status,
                waited,
            } => Self::TaskDeadline {
                task_id,
                last_status: secrets.keep(&last_status, 256),
                waited,
            },
            Self::Config(message) => Self::Config(secrets.kept(&message)),
            other => other,
        }
    }
}

/// How much of a body that is not an error the API documents an error keeps.
pub(crate) const EXCERPT_BYTES: usize = 200;

/// The start of a body, for an error: more than [`EXCERPT_BYTES`], so that the secrets in it can
/// be redacted before it is cut to that.
pub(crate) fn excerpt(body: &[u8]) -> String {
    let start = &body[..body.len().min(EXCERPT_BYTES + 1024)];
    String::from_utf8_lossy(start).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_text_is_cut_and_says_how_long_it_was() {
        let text = "é".repeat(10_000);
        let kept = Secrets::none().keep(&text, 101);
        assert!(kept.starts_with(&"é".repeat(50)));
        assert!(kept.ends_with("… (cut: the server's text was 20000 bytes)"));
        assert!(kept.len() < 200);
        assert_eq!(Secrets::none().keep("short", 101), "short");
    }

    #[test]
    fn a_secret_is_redacted_in_every_form_even_where_the_text_is_cut() {
        let mut secrets = Secrets::none();
        secrets.add_authorization(&HeaderValue::from_static(
            "Basic YWRtaW5AZXhhbXBsZS5jb206QVRBVFQzeFNlY3JldC8x",
        ));
        for echoed in [
            "Authorization: Basic YWRtaW5AZXhhbXBsZS5jb206QVRBVFQzeFNlY3JldC8x",
            "token ATATT3xSecret/1 refused",
            r#"{"token":"ATATT3xSecret\/1"}"#,
        ] {
            let kept = secrets.kept(echoed);
            assert!(!kept.contains("ATATT3x"), "{kept}");
            assert!(!kept.contains("YWRtaW5A"), "{kept}");
            assert!(kept.contains(REDACTED), "{kept}");
        }
        // A secret across the cut is redacted, not half kept.
        let text = format!("{}ATATT3xSecret/1", "x".repeat(95));
        let kept = secrets.keep(&text, 100);
        assert!(!kept.contains("ATATT"), "{kept}");
        // Short values are not secrets worth searching for.
        let mut short = Secrets::none();
        short.add("abc");
        assert_eq!(short.redact("abc"), "abc");
    }
}
