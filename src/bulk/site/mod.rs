//! What an import knows of the site it sends to, one concern a file:
//!
//! - [`budget`]: when the site lets the import submit (a 429's wait, a refused sixth task), shared
//!   by every request of the import;
//! - [`slots`]: the site's 5 unfinished tasks, shared by every import of the site in the process;
//! - [`queue`]: the import's tasks in the order they were sent, and whether the site runs them
//!   one at a time or side by side;
//! - [`polling`]: when to look at a task again, from the times tasks have taken (a record's time
//!   on a serial site);
//! - [`pace`]: what was learned, kept beyond the import ([`SitePace`]) for the next one.
//!
//! The import's run asks these *when* to act; *whether* a failed call is retried is the client's
//! retry policy's business.

pub(crate) mod budget;
pub(crate) mod pace;
pub(crate) mod polling;
pub(crate) mod queue;
pub(crate) mod slots;

pub use pace::SitePace;
