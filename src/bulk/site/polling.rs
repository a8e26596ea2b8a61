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
    /// Task times starting from `known` (an earlier import's), else from nothing.
    pub fn starting_from(known: Option<Duration>) -> Self {
        Self {
            estimate: Mutex::new(known),
        }
    }

    /// The time a task takes, once known.
    pub fn estimate(&self) -> Option<Duration> {
        *self.estimate.lock().unwrap()
    }

    /// When to poll a task sent `sent` ago: as [`learned_poll_delays`] once tasks of this
    /// import have finished; before that, from 100 ms growing ×1.5 (see [`patient`]).
    pub fn poll_delays(&self, sent: Duration) -> Box<dyn Iterator<Item = Duration> + Send> {
        match *self.estimate.lock().unwrap() {
            Some(estimate) => Box::new(learned_poll_delays(estimate, sent)),
            None => Box::new(patient(Duration::from_millis(100), sent)),
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

/// Delays from `first`, growing ×1.5 up to every 5 s (as [`PollPolicy::default`]), or up to a
/// quarter of the time the task has been waited for (`waited` before the first): a task a site
/// takes minutes over, or keeps waiting its turn, is seen finished at most about a quarter late,
/// with a few dozen polls instead of one every 5 s. Tasks of seconds are polled as before.
pub(crate) fn patient(first: Duration, waited: Duration) -> impl Iterator<Item = Duration> + Send {
    let max_delay = PollPolicy::default().max_delay;
    let mut total = waited;
    std::iter::successors(Some(first.min(max_delay.max(waited / 4))), move |delay| {
        total += *delay;
        Some(delay.mul_f64(1.5).min(max_delay.max(total / 4)))
    })
}

/// Polls of a task sent `sent` ago, when the import's tasks take about `estimate`: just before
/// (99 % of) it, counted from the send, then every 150th of it (at least 1 ms) a few times, to
/// about 103 %; a task still running then (a slow one, or one whose request was retried before
/// it started) is polled ever less often ([`patient`]), so it costs a few polls more, not
/// hundreds.
pub(crate) fn learned_poll_delays(
    estimate: Duration,
    sent: Duration,
) -> impl Iterator<Item = Duration> + Send {
    const CLOSE_POLLS: usize = 6;
    let close = (estimate / 150).clamp(Duration::from_millis(1), Duration::from_secs(5));
    let first = estimate.mul_f64(0.99).saturating_sub(sent);
    let slower = patient(close, estimate.max(sent) + close * CLOSE_POLLS as u32).skip(1);
    std::iter::once(first)
        .chain(std::iter::repeat_n(close, CLOSE_POLLS))
        .chain(slower)
}

/// What a record takes on a site that runs tasks one at a time, and how sure of it the import
/// is: each task's time is measured to within the time between its last two polls, and weighs
/// in the estimate by how precise it was (a one-dimensional Kalman filter), so one coarse
/// measure (the task that taught the site's way, polled with growing waits) is corrected by the
/// first precise one instead of dragging for a dozen tasks.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct PerRecord {
    pub estimate: Duration,
    pub uncertainty: Duration,
}

impl PerRecord {
    /// The site's own drift between two tasks: 0.3 % of a record's time.
    const DRIFT: f64 = 0.003;

    /// A measure `sample` ± `uncertainty` weighed in.
    pub fn measured(self, sample: Duration, uncertainty: Duration) -> Self {
        let known = self
            .uncertainty
            .as_secs_f64()
            .hypot(self.estimate.as_secs_f64() * Self::DRIFT);
        let new = uncertainty.as_secs_f64().max(1e-6);
        let weight = known * known / (known * known + new * new);
        let estimate = self.estimate.as_secs_f64() * (1.0 - weight) + sample.as_secs_f64() * weight;
        Self {
            estimate: Duration::from_secs_f64(estimate),
            uncertainty: Duration::from_secs_f64((known * new) / known.hypot(new)),
        }
    }

    /// A task that ended by `bound` a record (seen finished at its first poll): the estimate is
    /// at most that, less half its margin, so that later first polls come earlier until one
    /// sees a task pending and measures it again.
    pub fn at_most(self, bound: Duration) -> Self {
        let margin = self.uncertainty.max(self.estimate / 300);
        Self {
            estimate: self.estimate.min(bound).saturating_sub(margin / 2),
            ..self
        }
    }
}

/// Where the polls of a task begin.
#[derive(Clone, Copy)]
pub(crate) enum From {
    Earliest,
    Latest,
}

/// The least time between two polls of a search.
const JITTER: Duration = Duration::from_millis(10);

/// Polls of a task expected to end `expected` ± `uncertainty` after it started (`since_start`
/// ago): the first at the earliest likely end (`From::Earliest`, to measure it) or at the latest
/// (`From::Latest`: one poll a task when the estimate holds, the end seen at most the margin late,
/// which costs nothing while the tasks behind it keep the site's queue full), then in steps of
/// half the uncertainty (at least 1/300 of the expected time), then ever less often.
pub(crate) fn search_delays(
    expected: Duration,
    uncertainty: Duration,
    since_start: Duration,
    from: From,
) -> impl Iterator<Item = Duration> + Send {
    const STEPS: usize = 6;
    // Never finer than a request's own jitter (the time between a request's send and its
    // arrival, a loaded machine's scheduling): a task of a second, expected to within 1 %, is
    // otherwise searched for in steps of 5 ms when it started 50 ms late.
    let margin = uncertainty.max(expected / 300).max(JITTER * 2);
    let step = (margin / 2).max(expected / 300).max(JITTER);
    let first = match from {
        From::Earliest => expected.saturating_sub(margin),
        From::Latest => expected + margin,
    };
    let searched = first + step * STEPS as u32;
    let first = first.saturating_sub(since_start);
    std::iter::once(first)
        .chain(std::iter::repeat_n(step, STEPS))
        .chain(patient(step, searched).skip(1))
}

#[cfg(test)]
mod tests {
    use super::{learned_poll_delays, patient};
    use crate::tasks::PollPolicy;
    use std::time::Duration;

    /// Polls until a task that ends `after` its send is seen finished.
    fn polls(delays: impl Iterator<Item = Duration>, after: Duration) -> usize {
        let mut waited = Duration::ZERO;
        delays
            .take_while(|delay| {
                let before = waited;
                waited += *delay;
                before < after
            })
            .count()
    }

    #[test]
    fn a_task_of_minutes_costs_dozens_of_polls_and_one_of_seconds_as_many_as_before() {
        let first = Duration::from_millis(100);
        let before = || PollPolicy::default().first_delay(first).delays();
        // 8 minutes (100 records at a live site's pace): about 100 polls every 5 s before.
        let eight_minutes = Duration::from_secs(480);
        assert!(polls(before(), eight_minutes) > 90);
        let now = polls(patient(first, Duration::ZERO), eight_minutes);
        assert!(now <= 30, "{now} polls");
        // Seen at most about a quarter late.
        let mut waited = Duration::ZERO;
        for delay in patient(first, Duration::ZERO) {
            waited += delay;
            if waited >= eight_minutes {
                break;
            }
        }
        assert!(waited <= eight_minutes.mul_f64(1.3), "{waited:?}");
        // 10 seconds: the same polls as before.
        let ten: Vec<Duration> = patient(first, Duration::ZERO).take(12).collect();
        let old: Vec<Duration> = before().take(12).collect();
        assert_eq!(ten, old);
    }

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
