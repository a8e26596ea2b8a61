//! Stopping an import gracefully: no new request is sent, the ones sent are seen to their end
//! (and journaled), and the records not sent are reported as such.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Stops the import it came from ([`BulkImport::stop_handle`](super::BulkImport::stop_handle)),
/// from any task or thread (a Ctrl-C handler, a deadline of your own).
///
/// Once stopped, the import reads no more records and sends no new request or direct call;
/// requests already sent are waited for as usual, so their outcomes (and the journal) are
/// complete. Records read but not sent are reported
/// [`NotSubmitted`](crate::RecordOutcome::NotSubmitted) with [`Error::Stopped`](crate::Error::Stopped);
/// records never read are not in the report. Resuming with the same
/// [journal](super::BulkImport::journal) sends only what no task finished.
///
/// ```no_run
/// # async fn run(client: atlassian_csm::Client, records: Vec<atlassian_csm::types::BulkManageCustomerProfileOperation>) -> Result<(), atlassian_csm::Error> {
/// let import = client.import_customer_profiles(records).journal("import.journal");
/// let stop = import.stop_handle();
/// tokio::spawn(async move {
///     let _ = tokio::signal::ctrl_c().await;
///     stop.stop();
/// });
/// let report = import.await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, Default)]
pub struct StopHandle(Arc<AtomicBool>);

impl StopHandle {
    /// Asks the import to stop sending.
    pub fn stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether it was asked to.
    pub fn is_stopped(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}
