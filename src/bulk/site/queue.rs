//! How the site works through an import's tasks, learned as they end: side by side (a task's time
//! from its send is about the same whatever is ahead of it) or one at a time (a task starts when
//! the one before it ends, and takes a time per record). On a site of the second kind a task is
//! not polled before the tasks sent before it have ended, and is then polled just before the
//! time its records take: a few polls per task, however long the queue.

use super::pace::TaskPace;
use super::polling::{patient, search_delays, From, PerRecord};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// How the site runs the tasks of one import.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Processing {
    /// Not known yet: a task is polled once the tasks ahead of it have ended, at once, to learn
    /// whether it ran beside them.
    Unknown,
    /// Side by side: every task is polled by its own time from its send.
    Alongside,
    /// One at a time, at about this time per record.
    OneAtATime(PerRecord),
}

/// A site that runs tasks one at a time, as the import knows it now.
pub(crate) struct Serial {
    /// The running time of a record.
    pub per_record: Duration,
    /// How sure of it the import is (± this).
    pub within: Duration,
    /// When its last task ended, as near as its polls tell.
    pub last_end: Option<Instant>,
    /// The records of the oldest unfinished task: the one the site runs now.
    pub running_records: u32,
}

/// The tasks of one import in the order they were sent, and what their ends taught.
#[derive(Debug)]
pub(crate) struct SiteQueue {
    state: Mutex<QueueState>,
    ended: Notify,
}

#[derive(Debug)]
struct QueueState {
    processing: Processing,
    next_ticket: u64,
    /// Unfinished tasks, by ticket, with their records.
    unfinished: BTreeMap<u64, usize>,
    /// Tasks held behind others, not polled yet.
    held: usize,
    /// When the last task ended, as near as its polls tell (between its last poll that saw it
    /// pending and the one that saw it ended).
    /// And within how much.
    last_end: Option<(Instant, Duration)>,
    /// What a record took in the first task that had nothing of the import ahead of it, from
    /// the send to its end.
    first_per_record: Option<PerRecord>,
}

/// A task's place in the import's queue; leaving it (dropped) lets the tasks behind it be polled.
pub(crate) struct Ticket<'q> {
    queue: &'q SiteQueue,
    number: u64,
    records: usize,
    sent_at: Instant,
    /// Whether it waited for tasks ahead of it, and the site's processing
    /// as it was known then.
    turn: Mutex<Option<Turn>>,
}

#[derive(Clone, Copy, Debug)]
struct Turn {
    waited: bool,
    processing: Processing,
}

impl SiteQueue {
    /// What a remembered time per record is taken to be within: close enough for a task to be
    /// polled once just after its time is up (see `search_delays`), while one that runs longer
    /// (the site slower than last time) is found within a few polls and measured again.
    const REMEMBERED_WITHIN: f64 = 0.015;

    /// The queue of an import on a site whose way of running tasks an earlier import learned
    /// (`None`: not known).
    pub fn starting_from(known: Option<TaskPace>) -> Self {
        let processing = match known {
            Some(TaskPace::OneAtATime { per_record_seconds }) => {
                Processing::OneAtATime(PerRecord {
                    estimate: per_record_seconds,
                    uncertainty: per_record_seconds.mul_f64(Self::REMEMBERED_WITHIN),
                })
            }
            Some(TaskPace::SideBySide { .. }) => Processing::Alongside,
            None => Processing::Unknown,
        };
        Self {
            state: Mutex::new(QueueState {
                processing,
                next_ticket: 0,
                unfinished: BTreeMap::new(),
                held: 0,
                last_end: None,
                first_per_record: None,
            }),
            ended: Notify::new(),
        }
    }

    /// What is known of a site seen (or known) to run tasks one at a time; `None` otherwise.
    pub fn one_at_a_time(&self) -> Option<Serial> {
        let state = self.state.lock().unwrap();
        match state.processing {
            Processing::OneAtATime(per_record) => Some(Serial {
                per_record: per_record.estimate,
                within: per_record.uncertainty,
                last_end: state.last_end.map(|(end, _)| end),
                running_records: state.unfinished.values().next().map_or(0, |r| *r as u32),
            }),
            _ => None,
        }
    }

    /// Whether the site was seen to run tasks side by side.
    pub fn side_by_side(&self) -> bool {
        self.state.lock().unwrap().processing == Processing::Alongside
    }

    /// A place for a task of `records` records whose request was sent at `sent_at`.
    pub fn enter(&self, records: usize, sent_at: Instant) -> Ticket<'_> {
        let mut state = self.state.lock().unwrap();
        let number = state.next_ticket;
        state.next_ticket += 1;
        state.unfinished.insert(number, records.max(1));
        Ticket {
            queue: self,
            number,
            records: records.max(1),
            sent_at,
            turn: Mutex::new(None),
        }
    }

    /// Whether the order the tasks reach the site matters: unless the site is known to run
    /// them side by side, requests are sent one after the other, each entered here before the
    /// next is sent, so that the queue's order is the site's.
    pub fn in_order(&self) -> bool {
        self.state.lock().unwrap().processing != Processing::Alongside
    }

    /// Tasks held behind others on a site known to run tasks one at a time: they wait their
    /// turn there (on a site not known yet, they may be running).
    pub fn waiting(&self) -> usize {
        let state = self.state.lock().unwrap();
        match state.processing {
            Processing::OneAtATime(_) => state.held,
            _ => 0,
        }
    }

    /// The time per record of a site known to run tasks one at a time.
    #[cfg(test)]
    pub fn per_record(&self) -> Option<Duration> {
        self.one_at_a_time().map(|serial| serial.per_record)
    }
}

impl Ticket<'_> {
    /// Waits until the task may be polled: at once on a site that runs tasks side by side, else
    /// once every task sent before it has ended. Then the waits before its polls: `alongside`'s
    /// (given the time since the send) on a site known to run tasks side by side or for a task
    /// with nothing ahead; once one ahead ended on a site not known yet, at once and then growing;
    /// on a site that runs them one at a time, about when its records' time is up, counted from
    /// the end of the one before it.
    pub async fn turn<D>(
        &self,
        alongside: impl FnOnce(Duration) -> D,
    ) -> Box<dyn Iterator<Item = Duration> + Send>
    where
        D: Iterator<Item = Duration> + Send + 'static,
    {
        // Counted among the held while it waits (also when the wait is given up).
        let mut held: Option<Held> = None;
        let (processing, last_end) = loop {
            let ended = self.queue.ended.notified();
            {
                let mut state = self.queue.state.lock().unwrap();
                let ahead = state.unfinished.range(..self.number).next().is_some();
                if state.processing == Processing::Alongside || !ahead {
                    break (state.processing, state.last_end);
                }
                if held.is_none() {
                    state.held += 1;
                    held = Some(Held(self.queue));
                }
            }
            ended.await;
        };
        let waited = held.is_some();
        drop(held);
        *self.turn.lock().unwrap() = Some(Turn { waited, processing });
        match (processing, waited) {
            (Processing::OneAtATime(per_record), _) => {
                // Its records' time counts from the end of the one before it (or from its send,
                // with nothing ahead of it: the first task of an import on a site whose pace an
                // earlier import learned).
                let records = self.records as u32;
                let started = match waited {
                    true => last_end.map_or(self.sent_at, |(end, _)| end.max(self.sent_at)),
                    false => self.sent_at,
                };
                Box::new(search_delays(
                    per_record.estimate * records,
                    per_record.uncertainty * records,
                    started.elapsed(),
                    // Late by a margin only when the margin is small.
                    if per_record.uncertainty * 50 <= per_record.estimate {
                        From::Latest
                    } else {
                        From::Earliest
                    },
                ))
            }
            (Processing::Unknown, true) => {
                // Polled at once (seen ended: it ran beside the one before it), then from a
                // twentieth of the time its records took in the first task, growing: a site that
                // ran it beside the others (its time is not per record) sees it soon, and one
                // that runs tasks one at a time has it measured to within the gap of its polls.
                let records = self.records as u32;
                let first = self.queue.state.lock().unwrap().first_per_record;
                let step = first.map_or(Duration::from_millis(100), |first| {
                    (first.estimate * records / 20).max(Duration::from_millis(1))
                });
                Box::new(std::iter::once(Duration::ZERO).chain(patient(step, step * 4)))
            }
            _ => Box::new(alongside(self.sent_at.elapsed())),
        }
    }

    /// The task was seen finished now, and last seen unfinished at `last_pending`: learns how
    /// the site runs tasks.
    pub fn finished(&self, last_pending: Option<Instant>) {
        let now = Instant::now();
        let turn = *self.turn.lock().unwrap();
        let mut state = self.queue.state.lock().unwrap();
        let records = self.records as u32;
        // When it started: at the end of the one before it, or at its send.
        let (since, since_uncertainty) = match (turn, state.last_end) {
            (Some(Turn { waited: true, .. }), Some((end, uncertainty))) if end > self.sent_at => {
                (end, uncertainty)
            }
            _ => (self.sent_at, Duration::ZERO),
        };
        // When it ended: between its last poll that saw it pending and this one.
        let seen_pending = last_pending.filter(|pending| *pending > since);
        let (mut ended, own_uncertainty) = match seen_pending {
            Some(pending) => (pending + (now - pending) / 2, (now - pending) / 2),
            None => (since + (now - since) / 2, (now - since) / 2),
        };
        let sample = ended.saturating_duration_since(since) / records;
        let uncertainty = (own_uncertainty + since_uncertainty) / records;
        match turn {
            Some(Turn {
                waited: true,
                processing,
                ..
            }) => {
                state.processing = match processing {
                    Processing::OneAtATime(known) => Processing::OneAtATime(match seen_pending {
                        Some(_) => known.measured(sample, uncertainty),
                        // Seen finished at its first poll: it took at most that, and ended
                        // when the estimate now says.
                        None => {
                            let known = known.at_most((now - since) / records);
                            ended = now.min(since + known.estimate * records);
                            known
                        }
                    }),
                    // Seen pending after the ones ahead of it ended, and taking at least half as
                    // long per record as the first task: it ran after them.
                    _ => match state.first_per_record {
                        Some(first) if seen_pending.is_some() && sample * 2 >= first.estimate => {
                            Processing::OneAtATime(PerRecord {
                                estimate: sample,
                                uncertainty,
                            })
                        }
                        // Ended soon after them, or before: beside them, unless the end of the
                        // one before it is known too loosely to tell (then the next one tells).
                        Some(first) if since_uncertainty * 2 >= first.estimate * records => {
                            Processing::Unknown
                        }
                        _ => Processing::Alongside,
                    },
                };
            }
            _ => {
                // Nothing ahead of it on a site known to run tasks one at a time: seen finished
                // at its first poll, it ended when the estimate says, not half-way since its send.
                if let Some(Turn {
                    processing: Processing::OneAtATime(known),
                    ..
                }) = turn
                {
                    if seen_pending.is_none() {
                        ended = now.min(since + known.estimate * records);
                    }
                }
                if state.first_per_record.is_none() {
                    state.first_per_record = Some(PerRecord {
                        estimate: sample,
                        uncertainty,
                    });
                }
            }
        }
        state.last_end = Some((ended, own_uncertainty));
    }
}

/// A task counted among those held behind others.
struct Held<'q>(&'q SiteQueue);

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.0.state.lock().unwrap().held -= 1;
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        let mut state = self.queue.state.lock().unwrap();
        state.unfinished.remove(&self.number);
        if state.last_end.is_none() {
            state.last_end = Some((Instant::now(), Duration::ZERO));
        }
        drop(state);
        self.queue.ended.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Polls made by `delays` until `ends_after` has passed, in paused time.
    async fn polls_until(
        delays: Box<dyn Iterator<Item = Duration> + Send>,
        ends_after: Duration,
    ) -> (usize, Option<Instant>) {
        let started = Instant::now();
        let mut polls = 0;
        let mut last_pending = None;
        for delay in delays {
            tokio::time::sleep(delay).await;
            polls += 1;
            if started.elapsed() >= ends_after {
                break;
            }
            last_pending = Some(Instant::now());
        }
        (polls, last_pending)
    }

    #[tokio::test(start_paused = true)]
    async fn tasks_run_one_at_a_time_are_polled_in_turn_a_few_times_each() {
        let queue = SiteQueue::starting_from(None);
        let task = Duration::from_secs(480);
        let sent = Instant::now();
        // Twelve tasks sent at once; the site ends task `index` (index + 1) × 480 s later.
        let waits = (0..12u32).map(|index| {
            let ticket = queue.enter(100, sent);
            async move {
                let delays = ticket
                    .turn(|_| patient(Duration::from_millis(100), Duration::ZERO))
                    .await;
                let ends_at = sent + task * (index + 1);
                let (polls, last_pending) =
                    polls_until(delays, ends_at.duration_since(Instant::now())).await;
                ticket.finished(last_pending);
                (polls, Instant::now().duration_since(ends_at))
            }
        });
        let (polls, late): (Vec<usize>, Vec<Duration>) =
            futures::future::join_all(waits).await.into_iter().unzip();
        let per_record = queue.per_record().expect("one at a time");
        let error = per_record.as_secs_f64() / 4.8 - 1.0;
        assert!(error.abs() < 0.03, "{per_record:?} a record");
        // The first task is found with growing waits, the second with a few more while the
        // site's way is learned, the others in about two polls each, seen ended within 3 % of
        // a task's time (the tasks behind them keep the site busy meanwhile).
        assert!(polls[0] <= 30, "{polls:?}");
        assert!(polls[1] <= 10, "{polls:?}");
        let rest = &polls[2..];
        assert!(rest.iter().sum::<usize>() <= 3 * rest.len(), "{polls:?}");
        assert!(late[4..].iter().all(|l| *l < task * 3 / 100), "{late:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn tasks_run_side_by_side_are_not_held_behind_each_other() {
        let queue = SiteQueue::starting_from(None);
        let sent = Instant::now();
        let first = queue.enter(100, sent);
        let second = queue.enter(100, sent);
        let first_done = async {
            let _ = first.turn(|_| std::iter::empty()).await;
            // Seen pending 10 ms before it was seen ended: its end is known closely.
            tokio::time::sleep(Duration::from_millis(190)).await;
            let pending = Instant::now();
            tokio::time::sleep(Duration::from_millis(10)).await;
            first.finished(Some(pending));
            drop(first);
        };
        let second_done = async {
            // Held until the first ended, then polled at once: seen finished, it ran alongside.
            let mut delays = second.turn(|_| std::iter::empty()).await;
            assert_eq!(delays.next(), Some(Duration::ZERO));
            second.finished(None);
        };
        futures::join!(first_done, second_done);
        let third = queue.enter(100, Instant::now());
        let _ahead = queue.enter(100, Instant::now());
        let fourth = queue.enter(100, Instant::now());
        // Not held behind the unfinished one ahead of it.
        let mut delays = fourth
            .turn(|_| std::iter::once(Duration::from_millis(7)))
            .await;
        assert_eq!(delays.next(), Some(Duration::from_millis(7)));
        drop(third);
    }
}
