//! How far an import has come: its counts, and the time it has left, estimated from the work
//! really left and the pace the site has shown (or an earlier import learned).

use super::report::{BulkProgress, ProgressCallback};
use super::site::pace::SitePace;
use super::site::queue::SiteQueue;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The counts of one import, and its progress callback.
pub(super) struct Counts<'r> {
    on_progress: Option<ProgressCallback<'r>>,
    /// The records in all, when the input was read before the import started.
    known_total: Option<usize>,
    /// The records a streamed input will yield, as the caller expects.
    expected_records: Option<usize>,
    /// The input was read to its end: the records read are all of them.
    pub input_read: AtomicBool,
    pub read_records: AtomicUsize,
    pub planned_requests: AtomicUsize,
    pub submitted_records: AtomicUsize,
    finished_records: AtomicUsize,
    /// Of the finished records, those a stop kept from being sent: no outcome from the site.
    not_sent_records: AtomicUsize,
    finished_requests: AtomicUsize,
    /// Records finished through the direct lane.
    direct_records: AtomicUsize,
    /// Tasks last seen `NOT_STARTED`.
    pub waiting_tasks: AtomicUsize,
    /// When the import sent its first request.
    first_sent: OnceLock<Instant>,
    /// When records last got an outcome, and how many had one then.
    last_finish: Mutex<Option<(Instant, usize)>>,
}

/// What the site is known to do, for the estimate: its queue (what this import saw), and what
/// the client knew of its pace (earlier imports, or a pace it was handed).
pub(super) struct SiteNow<'a> {
    pub queue: &'a SiteQueue,
    pub known: &'a SitePace,
    /// The tasks the import keeps unfinished at once.
    pub at_once: usize,
}

impl<'r> Counts<'r> {
    pub fn new(
        on_progress: Option<ProgressCallback<'r>>,
        known_total: Option<usize>,
        expected_records: Option<usize>,
    ) -> Self {
        Self {
            on_progress,
            known_total,
            expected_records,
            input_read: AtomicBool::new(false),
            read_records: AtomicUsize::new(0),
            planned_requests: AtomicUsize::new(0),
            submitted_records: AtomicUsize::new(0),
            finished_records: AtomicUsize::new(0),
            not_sent_records: AtomicUsize::new(0),
            finished_requests: AtomicUsize::new(0),
            direct_records: AtomicUsize::new(0),
            waiting_tasks: AtomicUsize::new(0),
            first_sent: OnceLock::new(),
            last_finish: Mutex::new(None),
        }
    }

    /// A request (or a direct call) is being sent now.
    pub fn sending(&self) {
        self.first_sent.get_or_init(Instant::now);
    }

    /// Requests planned whose task has not ended.
    pub fn unfinished_requests(&self) -> usize {
        self.planned_requests
            .load(Ordering::SeqCst)
            .saturating_sub(self.finished_requests.load(Ordering::SeqCst))
    }

    /// `records` got their outcome, through one request (a task) or the direct lane.
    pub fn finished(&self, records: usize, request: bool, direct: bool) {
        let finished = self.finished_records.fetch_add(records, Ordering::SeqCst) + records;
        if request {
            self.finished_requests.fetch_add(1, Ordering::SeqCst);
        }
        if direct {
            self.direct_records.fetch_add(records, Ordering::SeqCst);
        }
        // Records a previous run finished (read back from a journal) say nothing of the pace.
        if self.first_sent.get().is_some() && records > 0 {
            *self.last_finish.lock().unwrap() = Some((Instant::now(), finished));
        }
    }

    /// Of the records just finished, `records` were not sent (the import was stopped): they are
    /// done with, but not shown as finished.
    pub fn not_sent(&self, records: usize) {
        self.not_sent_records.fetch_add(records, Ordering::SeqCst);
    }

    /// Calls the progress callback, if any.
    pub fn report(&self, site: SiteNow<'_>) {
        let Some(callback) = &self.on_progress else {
            return;
        };
        let read = self.read_records.load(Ordering::SeqCst);
        let total = match (self.known_total, self.expected_records) {
            (Some(total), _) => total,
            (None, Some(expected)) if !self.input_read.load(Ordering::SeqCst) => read.max(expected),
            (None, _) => read,
        };
        let finished = self.finished_records.load(Ordering::SeqCst);
        let not_sent = self.not_sent_records.load(Ordering::SeqCst);
        callback(&BulkProgress {
            total_records: total,
            submitted_records: self.submitted_records.load(Ordering::SeqCst),
            finished_records: finished.saturating_sub(not_sent),
            total_requests: self.planned_requests.load(Ordering::SeqCst),
            finished_requests: self.finished_requests.load(Ordering::SeqCst),
            waiting_tasks: self.waiting_tasks.load(Ordering::SeqCst) + site.queue.waiting(),
            sending_for: self
                .first_sent
                .get()
                .map_or(Duration::ZERO, Instant::elapsed),
            time_left: self.time_left(total.saturating_sub(finished), &site),
        });
    }

    /// The time the `left` records will take.
    ///
    /// - On a site seen (or known from an earlier import) to run tasks one at a time, and with
    ///   every record in tasks: the records left at its time per record, less what the task
    ///   running now has already had. The site's queue is kept full, so its time is the import's.
    /// - Otherwise, at the pace shown when records last got an outcome (records per second since
    ///   the first send), less the time since: the estimate runs down between the ends of tasks
    ///   instead of jumping back up while the site works on the next ones.
    /// - Before any record has an outcome: from a side-by-side task's time an earlier import
    ///   learned, or not known (`None`) rather than a guess.
    fn time_left(&self, left: usize, site: &SiteNow<'_>) -> Option<Duration> {
        if left == 0 {
            return Some(Duration::ZERO);
        }
        let direct = self.direct_records.load(Ordering::SeqCst) > 0;
        if let (Some(serial), false) = (site.queue.one_at_a_time(), direct) {
            let first_sent = self
                .first_sent
                .get()
                .map(|at| tokio::time::Instant::from_std(*at));
            let started = serial.last_end.or(first_sent);
            let running_for = started.map_or(Duration::ZERO, |at| at.elapsed());
            // A record's time as measured task by task, once it is known closely; until then
            // (the first tasks are found with coarse polls) the time the site has taken for the
            // records finished so far, from the first send to the last end, whose error is that
            // of one end's.
            let finished = self.finished_records.load(Ordering::SeqCst);
            let per_record = match (serial.last_end, first_sent) {
                (Some(end), Some(first))
                    if serial.within * 33 > serial.per_record && finished > 0 =>
                {
                    end.saturating_duration_since(first)
                        / u32::try_from(finished).unwrap_or(u32::MAX)
                }
                _ => serial.per_record,
            };
            let whole = per_record * u32::try_from(left).unwrap_or(u32::MAX);
            let running = running_for.min(per_record * serial.running_records);
            return Some(whole.saturating_sub(running));
        }
        let first_sent = self.first_sent.get();
        match *self.last_finish.lock().unwrap() {
            Some((at, finished)) if finished > 0 => {
                let shown_for = at.duration_since(*first_sent?).as_secs_f64();
                let whole = Duration::from_secs_f64(left as f64 * shown_for / finished as f64);
                Some(whole.saturating_sub(at.elapsed()))
            }
            _ => {
                let whole = site.known.time_for(left, site.at_once)?;
                let since = first_sent.map_or(Duration::ZERO, Instant::elapsed);
                // Less the time the tasks under way have had, at most one task's.
                let task = site.known.time_for(100, 1).unwrap_or_default();
                Some(whole.saturating_sub(since.min(task)))
            }
        }
    }
}
