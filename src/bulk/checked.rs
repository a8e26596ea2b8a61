//! A record checked once and carried as checked: the proof an import and a sync take instead of
//! checking the record again.

use super::endpoints::BulkEndpoint;
use std::fmt;

/// A record a [`RecordValidator`](super::RecordValidator) passed, for the endpoint `E`: an
/// import ([`Client::import_checked`](crate::Client::import_checked)) or a sync (`Client::sync_checked`) takes
/// it as it is, and its requests are not checked again before they are sent. Only
/// [`RecordValidator::checked`](super::RecordValidator::checked) makes one.
///
/// ```
/// use atlassian_csm::bulk::{CustomerProfiles, RecordValidator};
/// use atlassian_csm::types::BulkManageCustomerProfileOperation as Profile;
///
/// let mut validator = RecordValidator::<CustomerProfiles>::new();
/// let record: Profile = Profile::upsert().email("ada@example.com").try_into()?;
/// let checked = validator.checked(0, record)?;
/// assert_eq!(checked.record().payload.email.as_deref(), Some("ada@example.com"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Checked<E: BulkEndpoint> {
    record: E::Record,
    /// Checked by a validator that lets enum values the spec does not list pass.
    lenient: bool,
}

impl<E: BulkEndpoint> Checked<E> {
    /// The proof for `record`, which a validator (lenient or not) passed.
    pub(crate) fn new(record: E::Record, lenient: bool) -> Self {
        Self { record, lenient }
    }

    /// The record.
    pub fn record(&self) -> &E::Record {
        &self.record
    }

    /// The record, no longer carried as checked.
    pub fn into_record(self) -> E::Record {
        self.record
    }

    /// Whether the validator that passed it let enum values the spec does not list pass.
    pub(crate) fn lenient(&self) -> bool {
        self.lenient
    }
}

impl<E: BulkEndpoint> fmt::Debug for Checked<E>
where
    E::Record: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Checked")
            .field("record", &self.record)
            .field("lenient", &self.lenient)
            .finish()
    }
}

impl<E: BulkEndpoint> Clone for Checked<E> {
    fn clone(&self) -> Self {
        Self {
            record: self.record.clone(),
            lenient: self.lenient,
        }
    }
}
