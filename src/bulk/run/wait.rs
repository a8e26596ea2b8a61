//! Waiting for one task of an import: polled in its turn, learning how long the site takes.

use super::Run;
use crate::bulk::report::BulkRequest;
use crate::bulk::site::queue::Ticket;
use crate::error::Error;
use crate::tasks::TaskOutcome;
use crate::types::TaskStatusResponseStatus;
use std::sync::atomic::Ordering;
use std::sync::Mutex;
use std::time::{Duration, Instant};

impl Run<'_> {
    /// Waits for a task whose request was sent at `submitted_at`, learning how long the
    /// import's tasks take.
    pub(super) async fn wait(
        &self,
        request: &mut BulkRequest,
        task_id: &str,
        submitted_at: Instant,
        ticket: Ticket<'_>,
    ) -> Result<TaskOutcome, Error> {
        // (polls made, when the task was last seen pending)
        let polled = Mutex::new((0usize, None::<Duration>));
        let last_pending = Mutex::new(None::<tokio::time::Instant>);
        // Whether the task is counted among those waiting their turn.
        let waiting = std::sync::atomic::AtomicBool::new(false);
        let waited = self
            .client
            .wait_for_task(task_id.to_string())
            // On a site that runs tasks one at a time, not polled before the ones sent before
            // it ended, then about when its records' time is up.
            .poll_delays_after(ticket.turn(|sent| self.site.task_times.poll_delays(sent)))
            // The deadline counts the task's own running time: one waiting its turn behind
            // others (a site that runs them one at a time) is not lost. Waiting for its turn is
            // bounded too, by the time every task in flight could take before it.
            .running_deadline(self.limits.task_deadline)
            .deadline(self.limits.queue_deadline)
            .on_progress(|status| {
                {
                    let mut polled = polled.lock().unwrap();
                    polled.0 += 1;
                    if !matches!(status.status, TaskStatusResponseStatus::Finished) {
                        polled.1 = Some(submitted_at.elapsed());
                        *last_pending.lock().unwrap() = Some(tokio::time::Instant::now());
                    }
                }
                let not_started = matches!(status.status, TaskStatusResponseStatus::NotStarted);
                if waiting.swap(not_started, Ordering::SeqCst) != not_started {
                    let metrics = &self.client.config().metrics;
                    if not_started {
                        self.counts.waiting_tasks.fetch_add(1, Ordering::SeqCst);
                        metrics.tasks_waiting(self.operation, 1);
                    } else {
                        self.counts.waiting_tasks.fetch_sub(1, Ordering::SeqCst);
                        metrics.tasks_waiting(self.operation, -1);
                    }
                    self.report_progress();
                }
            })
            .await;
        if waiting.load(Ordering::SeqCst) {
            self.counts.waiting_tasks.fetch_sub(1, Ordering::SeqCst);
            self.client
                .config()
                .metrics
                .tasks_waiting(self.operation, -1);
        }
        if let Ok(outcome) = &waited {
            self.client.config().metrics.task_waited(
                self.operation,
                &outcome.task().status.to_string(),
                submitted_at.elapsed(),
            );
        }
        if waited.is_ok() {
            ticket.finished(*last_pending.lock().unwrap());
        }
        drop(ticket);
        let (polls, last_pending) = *polled.lock().unwrap();
        request.polls = polls;
        if let Ok(TaskOutcome::Finished(_)) = &waited {
            self.site
                .task_times
                .observe(last_pending, submitted_at.elapsed());
            self.direct
                .observe_record_time(submitted_at.elapsed(), request.records.len());
            self.remember_pace();
        }
        waited
    }
}
