//! The parts of an import's run state: what it knows of the site and the turns it takes there,
//! its own bounds, and where its requests are kept.

use crate::bulk::journal::Journal;
use crate::bulk::observer::RequestObserver;
use crate::bulk::site::budget::Budget;
use crate::bulk::site::pace::SitePace;
use crate::bulk::site::polling::TaskTimes;
use crate::bulk::site::queue::SiteQueue;
use crate::Client;
use std::sync::Arc;
use std::time::Duration;

/// What an import knows of its site, and the turns it takes there.
pub(super) struct SiteTurns {
    /// When the site lets the import submit.
    pub(super) budget: Budget,
    /// The site's own 5, shared with every other import of the site in this process.
    pub(super) slots: Arc<tokio::sync::Semaphore>,
    /// The import's tasks in the order they were sent, and how the site runs them.
    pub(super) queue: SiteQueue,
    /// How long tasks of this import have taken, from submit to seen finished.
    pub(super) task_times: TaskTimes,
    /// Held from a request's send to its entry in the queue, while the order matters.
    pub(super) submit_order: tokio::sync::Mutex<()>,
}

impl SiteTurns {
    /// Starting from what the client knew of the site.
    pub(super) fn new(
        client: &Client,
        known: &SitePace,
        side_by_side_task: Option<Duration>,
    ) -> Self {
        Self {
            budget: Budget::new(),
            slots: crate::bulk::site::slots::of_site(client.base_url()),
            queue: SiteQueue::starting_from(known.tasks()),
            task_times: TaskTimes::starting_from(side_by_side_task),
            submit_order: tokio::sync::Mutex::new(()),
        }
    }
}

/// The import's own bounds.
pub(super) struct Limits {
    /// One permit per task the import may have unfinished at once, held from submit to end.
    pub(super) slots: tokio::sync::Semaphore,
    pub(super) max_in_flight: usize,
    pub(super) task_deadline: Duration,
    /// The longest wait for one task, its turn included.
    pub(super) queue_deadline: Duration,
}

/// Where an import's requests are kept durably.
pub(super) struct Keeping {
    /// What earlier runs recorded, read back.
    pub(super) journal: Option<Journal>,
    /// Told of every request (the journal, a sync's state), in this order.
    pub(super) observers: Vec<Arc<dyn RequestObserver>>,
}
