//! Waiting for the asynchronous task a bulk call starts.

use crate::error::Error;
use crate::server_text::Secrets;
use crate::types::{TaskFailure, TaskStatusResponse, TaskStatusResponseStatus};
use crate::Client;
use reqwest::StatusCode;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::time::{Duration, Instant};

/// How a task is polled: the first poll comes quickly, then the gaps grow to a cap, until a
/// deadline.
///
/// ```
/// use atlassian_csm::PollPolicy;
/// use std::time::Duration;
/// // A task that takes 10 s is seen finished on the 6th poll with the default policy.
/// assert_eq!(PollPolicy::default().polls_until(Duration::from_secs(10)), 6);
/// let patient = PollPolicy::default().deadline(Duration::from_secs(3600));
/// assert_eq!(patient.deadline, Duration::from_secs(3600));
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct PollPolicy {
    /// The wait before the first poll.
    pub first_delay: Duration,
    /// Each wait is the previous one times this.
    pub growth: f64,
    /// The longest wait between two polls.
    pub max_delay: Duration,
    /// How long to wait for the task in all.
    pub deadline: Duration,
}

impl Default for PollPolicy {
    /// 0.5 s, then ×1.5 per poll up to 5 s between polls; 30 min deadline (the API counts an
    /// unfinished task older than 30 minutes as timed out).
    fn default() -> Self {
        Self {
            first_delay: Duration::from_millis(500),
            growth: 1.5,
            max_delay: Duration::from_secs(5),
            deadline: Duration::from_secs(30 * 60),
        }
    }
}

impl PollPolicy {
    /// The wait before the first poll.
    pub fn first_delay(mut self, delay: Duration) -> Self {
        self.first_delay = delay;
        self
    }

    /// Each wait is the previous one times `growth`.
    pub fn growth(mut self, growth: f64) -> Self {
        self.growth = growth;
        self
    }

    /// The longest wait between two polls.
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// How long to wait for the task in all.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// The wait before each poll, in order (endless; the deadline stops the waiter).
    pub fn delays(&self) -> impl Iterator<Item = Duration> + Send + 'static {
        let (growth, max_delay) = (self.growth, self.max_delay);
        std::iter::successors(Some(self.first_delay.min(max_delay)), move |previous| {
            Some(previous.mul_f64(growth).min(max_delay))
        })
    }

    /// How many polls see a task that ends `duration` after it was submitted.
    pub fn polls_until(&self, duration: Duration) -> usize {
        let mut elapsed = Duration::ZERO;
        self.delays()
            .take_while(|delay| {
                let before = elapsed;
                elapsed += *delay;
                before < duration
            })
            .count()
    }
}

/// How a task ended.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum TaskOutcome {
    /// `FINISHED`. Check [`failures`](Self::failures): a finished task may have partly failed.
    Finished(TaskStatusResponse),
    /// `FAILED`: the task failed or timed out.
    Failed(TaskStatusResponse),
    /// `CANCELLED`.
    Cancelled(TaskStatusResponse),
}

impl TaskOutcome {
    /// The final status as the server sent it.
    pub fn task(&self) -> &TaskStatusResponse {
        match self {
            Self::Finished(task) | Self::Failed(task) | Self::Cancelled(task) => task,
        }
    }

    /// The records that failed, as the server listed them (a secret of the client that a
    /// failure's text echoed is redacted).
    pub fn failures(&self) -> &[TaskFailure] {
        &self.task().failures
    }

    /// `Ok` with the status when the task finished, [`Error::TaskFailed`] otherwise (each of
    /// its texts bounded, as every error's are).
    pub fn into_result(self) -> Result<TaskStatusResponse, Error> {
        match self {
            Self::Finished(task) => Ok(task),
            Self::Failed(task) | Self::Cancelled(task) => Err(Error::TaskFailed {
                task: Box::new(task),
            }
            .with_server_text_kept(&Secrets::none())),
        }
    }
}

type ProgressCallback<'a> = Box<dyn FnMut(&TaskStatusResponse) + Send + 'a>;
type Delays<'a> = Box<dyn Iterator<Item = Duration> + Send + 'a>;
type Turn<'a> = Pin<Box<dyn Future<Output = Delays<'static>> + Send + 'a>>;

/// Waits for a task; made by [`Client::wait_for_task`], run with `.await`.
#[must_use = "a waiter does nothing until awaited"]
pub struct TaskWaiter<'a> {
    client: &'a Client,
    task_id: String,
    delays: Delays<'a>,
    deadline: Duration,
    running_deadline: Option<Duration>,
    on_progress: Option<ProgressCallback<'a>>,
    /// Awaited before the first poll (within the deadline); gives the delays then.
    turn: Option<Turn<'a>>,
}

impl<'a> TaskWaiter<'a> {
    /// Awaits `turn` before the first poll, then polls with the delays it gives: a bulk import
    /// holds a task behind the ones sent before it on a site that runs them one at a time.
    pub(crate) fn poll_delays_after(
        mut self,
        turn: impl Future<Output = Delays<'static>> + Send + 'a,
    ) -> Self {
        self.turn = Some(Box::pin(turn));
        self
    }

    /// Polls with this policy instead of [`PollPolicy::default`].
    pub fn policy(mut self, policy: PollPolicy) -> Self {
        self.deadline = policy.deadline;
        self.delays = Box::new(policy.delays());
        self
    }

    /// Waits before each poll as `delays` says (the bulk helpers poll a task when tasks like it
    /// have been finishing); the deadline still applies.
    pub fn poll_delays(mut self, delays: impl Iterator<Item = Duration> + Send + 'a) -> Self {
        self.delays = Box::new(delays);
        self
    }

    /// Waits at most this long in all.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// Gives up once the task has been running (seen `IN_PROGRESS`) this long, however long it
    /// waited its turn (`NOT_STARTED`) before: on a site that works through tasks one at a time,
    /// a task queued behind others is not lost. The [`deadline`](Self::deadline) still bounds
    /// the whole wait.
    pub fn running_deadline(mut self, deadline: Duration) -> Self {
        self.running_deadline = Some(deadline);
        self
    }

    /// Called with every status polled.
    pub fn on_progress(mut self, callback: impl FnMut(&TaskStatusResponse) + Send + 'a) -> Self {
        self.on_progress = Some(Box::new(callback));
        self
    }

    /// Polls until the task ends, within the deadline whatever a poll, a retry or a server's
    /// `Retry-After` does: the whole wait runs under one timeout.
    async fn wait(mut self) -> Result<TaskOutcome, Error> {
        let started = Instant::now();
        let deadline = self.deadline;
        let task_id = self.task_id.clone();
        let last_status = std::sync::Mutex::new(String::from("not polled yet"));
        let secrets = self.client.config().secrets();
        let outcome = match tokio::time::timeout(
            deadline,
            self.poll_until_ended(started, &last_status),
        )
        .await
        {
            Ok(Some(result)) => result,
            // Out of time, or of delays before the deadline.
            Ok(None) | Err(_) => Err(Error::TaskDeadline {
                task_id,
                last_status: last_status.into_inner().unwrap_or_else(|e| e.into_inner()),
                waited: started.elapsed(),
            }),
        };
        match outcome {
            // A failure's words are the server's: a secret it echoed is not passed on.
            Ok(mut outcome) => {
                let (TaskOutcome::Finished(task)
                | TaskOutcome::Failed(task)
                | TaskOutcome::Cancelled(task)) = &mut outcome;
                for failure in &mut task.failures {
                    failure.error = failure.error.as_deref().map(|error| secrets.redact(error));
                }
                Ok(outcome)
            }
            Err(error) => Err(error.with_server_text_kept(&secrets)),
        }
    }

    /// The task's end, or `None` when the next wait would pass the deadline.
    async fn poll_until_ended(
        &mut self,
        started: Instant,
        last_status: &std::sync::Mutex<String>,
    ) -> Option<Result<TaskOutcome, Error>> {
        if let Some(turn) = self.turn.take() {
            self.delays = turn.await;
        }
        // When the task was first seen running.
        let mut running_since: Option<Instant> = None;
        for delay in self.delays.by_ref() {
            if started.elapsed() + delay > self.deadline {
                return None;
            }
            if let (Some(since), Some(limit)) = (running_since, self.running_deadline) {
                if since.elapsed() + delay > limit {
                    return None;
                }
            }
            tokio::time::sleep(delay).await;
            let task = match self
                .client
                .get_task_status()
                .task_id(self.task_id.as_str())
                .send()
                .await
            {
                Ok(task) => task.into_inner(),
                Err(error) if error.status() == Some(StatusCode::NOT_FOUND) => {
                    return Some(Err(Error::TaskNotFound {
                        task_id: self.task_id.clone(),
                    }))
                }
                Err(error) => return Some(Err(error)),
            };
            if let Some(callback) = self.on_progress.as_mut() {
                callback(&task);
            }
            let status = task.status.to_string();
            *last_status.lock().unwrap_or_else(|e| e.into_inner()) = status.clone();
            match task.status {
                TaskStatusResponseStatus::Finished => return Some(Ok(TaskOutcome::Finished(task))),
                TaskStatusResponseStatus::Failed => return Some(Ok(TaskOutcome::Failed(task))),
                TaskStatusResponseStatus::Cancelled => {
                    return Some(Ok(TaskOutcome::Cancelled(task)))
                }
                TaskStatusResponseStatus::NotStarted => {
                    tracing::debug!(task_id = %self.task_id, %status, "task waiting its turn")
                }
                // IN_PROGRESS and values this version does not know: running.
                _ => {
                    running_since.get_or_insert_with(Instant::now);
                    tracing::debug!(task_id = %self.task_id, %status, "task pending")
                }
            }
        }
        None
    }
}

impl<'a> IntoFuture for TaskWaiter<'a> {
    type Output = Result<TaskOutcome, Error>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.wait())
    }
}

impl Client {
    /// Waits until the task ends, polling `GET /api/v1/tasks/{taskId}` (see [`PollPolicy`]).
    ///
    /// ```no_run
    /// # async fn run(client: atlassian_csm::Client, task_id: String) -> Result<(), atlassian_csm::Error> {
    /// use atlassian_csm::TaskOutcome;
    /// match client.wait_for_task(task_id).on_progress(|t| println!("{}", t.status)).await? {
    ///     TaskOutcome::Finished(task) => println!("{} records failed", task.failures.len()),
    ///     ended => eprintln!("task ended {}", ended.task().status),
    /// }
    /// # Ok(()) }
    /// ```
    pub fn wait_for_task(&self, task_id: impl Into<String>) -> TaskWaiter<'_> {
        let waiter = TaskWaiter {
            client: self,
            task_id: task_id.into(),
            delays: Box::new(std::iter::empty()),
            deadline: Duration::ZERO,
            running_deadline: None,
            on_progress: None,
            turn: None,
        };
        waiter.policy(PollPolicy::default())
    }
}
