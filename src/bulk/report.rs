//! What an import reports: its progress, each record's outcome, each request, and the whole.

use super::endpoints::BulkEndpoint;
use crate::error::Error;
use crate::types::{TaskFailure, TaskStatusResponseStatus};
use std::sync::Arc;
use std::time::Duration;

/// The progress callback of an import.
pub(crate) type ProgressCallback<'a> = Arc<dyn Fn(&BulkProgress) + Send + Sync + 'a>;

/// How far an import has come, passed to the progress callback.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BulkProgress {
    /// Records in the import (for a streamed input: the records read so far, or as many as
    /// [`BulkImport::expected_records`](super::BulkImport::expected_records) said if more, until
    /// the input ends; then the records it held).
    pub total_records: usize,
    /// Records whose request the API accepted.
    pub submitted_records: usize,
    /// Records whose task ended (or whose request failed for good). Records a stopped import
    /// did not send are not among them: the count stops where the site's work did.
    pub finished_records: usize,
    /// Requests the import makes in all (for a streamed input: the requests planned so far).
    pub total_requests: usize,
    /// Requests whose task ended (or that failed for good).
    pub finished_requests: usize,
    /// Tasks of the import the site accepted and has not started: last seen `NOT_STARTED`, or,
    /// on a site seen to run tasks one at a time, held (not polled) behind the ones sent before
    /// them. The queue they wait in.
    pub waiting_tasks: usize,
    /// Time since the import sent its first request (zero before).
    pub sending_for: Duration,
    /// The import's estimate of its time left (see [`BulkProgress::estimated_time_left`]).
    pub(super) time_left: Option<Duration>,
}

impl BulkProgress {
    /// The pace the site has shown in this import: records with an outcome per second since
    /// the first request was sent; `None` before any record has one.
    pub fn records_per_second(&self) -> Option<f64> {
        let seconds = self.sending_for.as_secs_f64();
        (self.finished_records > 0 && seconds > 0.0).then(|| self.finished_records as f64 / seconds)
    }

    /// The time the import has left, estimated from the records really left (all of them: the
    /// input's, or [`BulkImport::expected_records`](super::BulkImport::expected_records) of a
    /// stream) and the pace the site has shown: on a site that runs tasks one at a time, their
    /// time per record, the task it runs now counted as under way; elsewhere, the records per
    /// second it had shown when records last got an outcome, running down until the next do.
    /// Before any record has an outcome, it is known only from what an earlier import learned
    /// of the site ([`SitePace`](crate::SitePace)); else `None`, not a guess.
    ///
    /// ```
    /// # use atlassian_csm::BulkProgress;
    /// # fn show(progress: &BulkProgress) {
    /// match progress.estimated_time_left() {
    ///     Some(left) => println!("about {} s left", left.as_secs()),
    ///     None => println!("time left not known yet"),
    /// }
    /// # }
    /// ```
    pub fn estimated_time_left(&self) -> Option<Duration> {
        self.time_left
    }
}

/// What became of one record.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum RecordOutcome {
    /// Its task finished and named no failure for it.
    Succeeded,
    /// Its task named it in these failures.
    Failed(Vec<TaskFailure>),
    /// Its task ended `FAILED` or `CANCELLED` without naming any record: the server said no more.
    TaskEnded {
        /// The task.
        task_id: String,
        /// `FAILED` or `CANCELLED`.
        status: TaskStatusResponseStatus,
    },
    /// It was invalid (`Error::InvalidInput`: it was never put in a request), or its request was
    /// refused (a 4xx, a rate limit) or provably never sent (connection refused); nothing was
    /// done with it.
    NotSubmitted(Arc<Error>),
    /// What became of it is not known: its request was sent but its answer was lost or was a
    /// 5xx (the server may have started a task under its key), or its task was started but its
    /// end could not be seen. Resubmitting it under the same key is safe.
    Unconfirmed(Arc<Error>),
}

impl RecordOutcome {
    /// The outcome's name as the metrics label it: `succeeded`, `failed`, `task_ended`,
    /// `not_submitted`, `unconfirmed`.
    pub(crate) fn label(&self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Failed(_) => "failed",
            Self::TaskEnded { .. } => "task_ended",
            Self::NotSubmitted(_) => "not_submitted",
            Self::Unconfirmed(_) => "unconfirmed",
        }
    }
}

/// One line: `succeeded`, `failed: DETAIL_FIELD UPDATE: Invalid detail field`, `not submitted: …`.
impl std::fmt::Display for RecordOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Succeeded => f.write_str("succeeded"),
            Self::Failed(failures) => {
                f.write_str("failed")?;
                for (index, failure) in failures.iter().enumerate() {
                    let separator = if index == 0 { ": " } else { "; " };
                    write!(
                        f,
                        "{separator}{} {}",
                        failure.operated_on, failure.operation
                    )?;
                    if let Some(error) = &failure.error {
                        write!(f, ": {error}")?;
                    }
                }
                Ok(())
            }
            Self::TaskEnded { task_id, status } => write!(f, "task {task_id} ended {status}"),
            Self::NotSubmitted(error) => write!(f, "not submitted: {error}"),
            Self::Unconfirmed(error) => write!(f, "unconfirmed: {error}"),
        }
    }
}

/// One request of an import.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct BulkRequest {
    /// The records it carried, as indexes into the input.
    pub records: Vec<usize>,
    /// Its `Idempotency-Key`: derived from its content, so resubmitting the same records gives
    /// the same key.
    pub idempotency_key: String,
    /// The task the API started for it.
    pub task_id: Option<String>,
    /// How the task ended.
    pub status: Option<TaskStatusResponseStatus>,
    /// Status polls made for the task.
    pub polls: usize,
    /// Times the API refused the request because too many tasks were unfinished.
    pub refusals: usize,
}

/// The result of an import: every record's outcome, in input order.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct BulkReport {
    /// Outcome of record `i` of the input at index `i`.
    pub records: Vec<RecordOutcome>,
    /// Every request made.
    pub requests: Vec<BulkRequest>,
    /// Failures a task listed that name no record of its request, exactly as the server sent
    /// them.
    pub unmatched_failures: Vec<TaskFailure>,
}

impl BulkReport {
    /// Records that succeeded.
    pub fn succeeded(&self) -> usize {
        self.records
            .iter()
            .filter(|outcome| matches!(outcome, RecordOutcome::Succeeded))
            .count()
    }

    /// Records that did not succeed, with their index in the input.
    pub fn not_succeeded(&self) -> impl Iterator<Item = (usize, &RecordOutcome)> {
        self.records
            .iter()
            .enumerate()
            .filter(|(_, outcome)| !matches!(outcome, RecordOutcome::Succeeded))
    }

    /// Whether every record succeeded and no failure went unmatched.
    pub fn all_succeeded(&self) -> bool {
        self.succeeded() == self.records.len() && self.unmatched_failures.is_empty()
    }
}

/// What one request of an import came to, yielded by [`BulkImport::stream`](super::BulkImport::stream) as soon as it is
/// known: its records' indexes in the input and their outcomes.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct BulkResult {
    /// The request; `None` for a record refused before it joined one (invalid).
    pub request: Option<BulkRequest>,
    /// `(index in the input, outcome)` of each of its records.
    pub records: Vec<(usize, RecordOutcome)>,
    /// Failures its task listed that name none of its records, as the server sent them.
    pub unmatched_failures: Vec<TaskFailure>,
}

/// Every record of `request` with the same outcome.
pub(crate) fn all(request: BulkRequest, outcome: RecordOutcome) -> BulkResult {
    BulkResult {
        records: request
            .records
            .iter()
            .map(|&index| (index, outcome.clone()))
            .collect(),
        request: Some(request),
        unmatched_failures: Vec::new(),
    }
}

/// The outcome of each record of a request whose task ended with `status` and `failures`.
pub(crate) fn outcomes<E: BulkEndpoint>(
    request: BulkRequest,
    records: &[E::Record],
    task_id: &str,
    status: &TaskStatusResponseStatus,
    failures: &[TaskFailure],
) -> BulkResult {
    let mut named: Vec<Vec<TaskFailure>> = vec![Vec::new(); records.len()];
    let mut unmatched = Vec::new();
    for failure in failures {
        let mut found = false;
        for (position, record) in records.iter().enumerate() {
            if E::is_named_by(record, failure) {
                named[position].push(failure.clone());
                found = true;
            }
        }
        if !found {
            unmatched.push(failure.clone());
        }
    }
    let finished = matches!(status, TaskStatusResponseStatus::Finished);
    let outcomes = named
        .into_iter()
        .map(|failures| match (finished, failures.is_empty()) {
            (_, false) => RecordOutcome::Failed(failures),
            (true, true) => RecordOutcome::Succeeded,
            (false, true) => RecordOutcome::TaskEnded {
                task_id: task_id.to_string(),
                status: status.clone(),
            },
        });
    BulkResult {
        records: request.records.iter().copied().zip(outcomes).collect(),
        request: Some(request),
        unmatched_failures: unmatched,
    }
}
