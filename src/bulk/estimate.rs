//! How long an import's tasks take, learned from the tasks it has seen end, and when to poll the
//! next one so that it is seen finished soon after it ends, with few polls.

use crate::tasks::PollPolicy;
use std::sync::Mutex;
use std::time::Duration;

/// The time tasks of one import take, from the send of their request to seen finished: none
/// until a first task has finished.
#[derive(Debug, Default)]
pub(crate) struct TaskTimes {
    estimate: Mutex<Option<Duration>>,
}

impl TaskTimes {
    /// When to poll a task sent `sent` ago: as [`learned_poll_delays`] once tasks of this
    /// import have finished; before that, from 100 ms growing ×1.5 up to 5 s.
    pub fn poll_delays(&self, sent: Duration) -> Box<dyn Iterator<Item = Duration> + Send> {
        match *self.estimate.lock().unwrap() {
            Some(estimate) => Box::new(learned_poll_delays(estimate, sent)),
            None => Box::new(
                PollPolicy {
                    first_delay: Duration::from_millis(100),
                    ..PollPolicy::default()
                }
                .delays(),
            ),
        }
    }

    /// Learns how long tasks take from one that was seen pending at `last_pending` (if ever)
    /// and finished at `finished`. Seen finished at the first poll, the task may have taken
    /// less: the estimate shrinks a little (3 %), so later tasks are polled earlier until one is
    /// seen pending, without the swings a large step would cause.
    pub fn observe(&self, last_pending: Option<Duration>, finished: Duration) {
        let sample = match last_pending {
            Some(pending) => (pending + finished) / 2,
            None => finished.mul_f64(0.97),
        };
        let mut estimate = self.estimate.lock().unwrap();
        *estimate = Some(match *estimate {
            Some(previous) => previous.mul_f64(0.7) + sample.mul_f64(0.3),
            None => sample,
        });
    }
}

/// Polls of a task sent `sent` ago, when the import's tasks take about `estimate`: just before
/// (99 % of) it, counted from the send, then every 150th of it (at least 1 ms) a few times, to
/// about 103 %; a task still running then (a slow one, or one whose request was retried before
/// it started) is polled ever less often, ×1.5 up to every 5 s, so it costs a few polls more,
/// not hundreds.
fn learned_poll_delays(
    estimate: Duration,
    sent: Duration,
) -> impl Iterator<Item = Duration> + Send {
    const CLOSE_POLLS: usize = 6;
    let close = (estimate / 150).clamp(Duration::from_millis(1), Duration::from_secs(5));
    let first = estimate.mul_f64(0.99).saturating_sub(sent);
    let slower = std::iter::successors(Some(close), |delay| {
        Some(delay.mul_f64(1.5).min(Duration::from_secs(5)))
    })
    .skip(1);
    std::iter::once(first)
        .chain(std::iter::repeat_n(close, CLOSE_POLLS))
        .chain(slower)
}

#[cfg(test)]
mod tests {
    use super::learned_poll_delays;
    use std::time::Duration;

    #[test]
    fn a_task_is_polled_close_to_its_end_and_less_often_past_it() {
        let estimate = Duration::from_millis(200);
        let sent = Duration::from_millis(20);
        let delays: Vec<Duration> = learned_poll_delays(estimate, sent).take(7).collect();
        assert_eq!(
            delays[0],
            Duration::from_millis(178),
            "99 % of the time, from the send"
        );
        assert!(delays[1..].iter().all(|d| *d == estimate / 150));
        // A task that started a second late (its request retried) costs a few polls, not 750.
        let mut waited = Duration::ZERO;
        let polls = learned_poll_delays(estimate, sent)
            .take_while(|delay| {
                waited += *delay;
                waited < Duration::from_millis(1_200)
            })
            .count();
        assert!(polls < 25, "{polls} polls");
    }
}
