//! One line per attempt of a call, for people watching what the client does (`csm -v`): the
//! `atlassian_csm::attempt` events at debug level.

/// One attempt as `-v` shows it (`atlassian_csm::attempt` events at debug level): method, path,
/// status or failure, duration, what comes next and the rate-limit headroom. The URL carries no
/// credential (the builder refuses user info), and no header is logged. Nothing is copied from
/// the request when no one listens to those events, which is the common case.
pub(crate) struct AttemptLine(Option<Line>);

struct Line {
    method: reqwest::Method,
    path: String,
    attempt: u32,
    started: std::time::Instant,
}

impl AttemptLine {
    pub(crate) fn of(request: &reqwest::Request, attempt: u32) -> Self {
        if !tracing::enabled!(target: "atlassian_csm::attempt", tracing::Level::DEBUG) {
            return Self(None);
        }
        let url = request.url();
        let path = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_string(),
        };
        Self(Some(Line {
            method: request.method().clone(),
            path,
            attempt,
            started: std::time::Instant::now(),
        }))
    }

    pub(crate) fn log(&self, result: &Result<&reqwest::Response, &reqwest::Error>, then: &str) {
        let Some(line) = &self.0 else {
            return;
        };
        // Described only if the event is wanted: the macro formats its arguments lazily.
        let (answer, headroom) = (Answer(result), Headroom(result));
        tracing::debug!(
            target: "atlassian_csm::attempt",
            "{} {} (attempt {}) → {answer} in {} ms; rate limit {headroom}; {then}",
            line.method,
            line.path,
            line.attempt,
            line.started.elapsed().as_millis(),
        );
    }
}

/// The status of an answer, or why there was none.
struct Answer<'a, 'r>(&'a Result<&'r reqwest::Response, &'r reqwest::Error>);

impl std::fmt::Display for Answer<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Ok(response) => write!(f, "{}", response.status()),
            Err(error) if error.is_timeout() => f.write_str("no answer (timed out)"),
            Err(error) if error.is_connect() => f.write_str("no answer (could not connect)"),
            Err(error) if error.is_body() || error.is_decode() => {
                f.write_str("no answer (the answer was cut)")
            }
            Err(_) => f.write_str("no answer (transport error)"),
        }
    }
}

/// What the answer's rate-limit headers say is left.
struct Headroom<'a, 'r>(&'a Result<&'r reqwest::Response, &'r reqwest::Error>);

impl std::fmt::Display for Headroom<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Ok(response) = self.0 else {
            return f.write_str("-");
        };
        let limits = crate::RateLimit::from_headers(response.headers());
        match (limits.remaining, limits.limit) {
            (Some(left), Some(limit)) => write!(f, "{left}/{limit} left"),
            (Some(left), None) => write!(f, "{left} left"),
            _ => f.write_str("-"),
        }
    }
}
