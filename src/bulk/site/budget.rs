//! One back-off for all the requests of an import: the site's budget (its rate limit, its 5
//! unfinished tasks) is shared by all of them, so when one request is told to wait, none is sent
//! until the wait is over; and the answer that says the site's tasks are all taken.

use crate::error::Error;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// The first pause after a "Maximum number of tasks reached"; each refusal in a row doubles it.
const FIRST_PAUSE: Duration = Duration::from_millis(100);
/// The longest pause after a refusal without `Retry-After`.
const LONGEST_PAUSE: Duration = Duration::from_secs(5);

#[derive(Debug)]
pub(crate) struct Budget {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// A quota used up past the import's deadline: the refusal every later submission gets
    /// without being sent.
    quota_refusal: Option<(&'static str, reqwest::StatusCode, crate::RateLimit)>,
    /// No request is sent before this.
    paused_until: Option<Instant>,
    /// The next pause after a refusal.
    next_pause: Duration,
}

impl Budget {
    pub fn new() -> Self {
        Self {
            state: Mutex::new(State {
                quota_refusal: None,
                paused_until: None,
                next_pause: FIRST_PAUSE,
            }),
        }
    }

    /// Waits until submissions may go on.
    pub async fn ready(&self) {
        loop {
            let until = self.state.lock().unwrap().paused_until;
            match until {
                Some(until) if until > Instant::now() => tokio::time::sleep_until(until).await,
                _ => return,
            }
        }
    }

    /// Pauses every submission for `wait` (a `Retry-After`), or for a pause that doubles with
    /// each refusal in a row when the server named none. Returns the pause.
    pub fn pause(&self, wait: Option<Duration>) -> Duration {
        let mut state = self.state.lock().unwrap();
        let pause = wait.unwrap_or(state.next_pause);
        if wait.is_none() {
            state.next_pause = (state.next_pause * 2).min(LONGEST_PAUSE);
        }
        let until = Instant::now() + pause;
        state.paused_until = Some(
            state
                .paused_until
                .map_or(until, |current| current.max(until)),
        );
        pause
    }

    /// Refuses every later submission as `error` (a quota used up past the deadline) refused
    /// this one.
    pub fn refuse_all(&self, error: &crate::Error) {
        if let crate::Error::RateLimited {
            operation,
            status,
            rate_limit,
            ..
        } = error
        {
            self.state.lock().unwrap().quota_refusal =
                Some((operation, *status, (**rate_limit).clone()));
        }
    }

    /// The refusal of a used-up quota, for a submission not to be sent.
    pub fn refusal(&self) -> Option<crate::Error> {
        let state = self.state.lock().unwrap();
        let (operation, status, rate_limit) = state.quota_refusal.clone()?;
        // Not sent: no attempt was made for it.
        Some(crate::Error::RateLimited {
            operation,
            status,
            attempts: crate::error::Attempts::default(),
            rate_limit: Box::new(rate_limit),
        })
    }

    /// A submission was accepted: the next refusal starts the pauses over.
    pub fn accepted(&self) {
        self.state.lock().unwrap().next_pause = FIRST_PAUSE;
    }
}

/// Whether the API refused a submit because the site has too many unfinished tasks: a `400`
/// whose message holds the document's (correction 19), case aside.
pub(crate) fn is_task_limit(error: &Error) -> bool {
    match error {
        Error::Api {
            status,
            error: Some(body),
            ..
        } if status.as_u16() == 400 => body.error_message.as_deref().is_some_and(|m| {
            m.to_lowercase()
                .contains(&crate::generated::TASK_LIMIT_MESSAGE.to_lowercase())
        }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_every_submission_until_it_ends() {
        let budget = Budget::new();
        assert_eq!(
            budget.pause(Some(Duration::from_secs(3))),
            Duration::from_secs(3)
        );
        let started = Instant::now();
        budget.ready().await;
        assert_eq!(started.elapsed(), Duration::from_secs(3));
        // Refusals without a hint pause 100 ms, 200 ms, 400 ms…; an acceptance starts over.
        assert_eq!(budget.pause(None), FIRST_PAUSE);
        assert_eq!(budget.pause(None), FIRST_PAUSE * 2);
        budget.accepted();
        assert_eq!(budget.pause(None), FIRST_PAUSE);
    }
}
