//! Checking records before they are sent, one at a time, as an import reads them.

use super::checked::Checked;
use super::endpoints::BulkEndpoint;
use crate::error::Error;
use crate::field_path::FieldPath;
use crate::Client;
use std::collections::HashMap;
use std::marker::PhantomData;

/// Checks the records of one bulk endpoint against its documented limits, one record at a time,
/// as an import does before a record joins a request: the limits of the spec (lengths, counts,
/// enum values), the endpoint's own (detail operations per request) and names that must be unique
/// across the whole input (detail-field definitions).
///
/// An import checks every record this way and reports an invalid one as its own outcome. To
/// refuse a whole input when any record is invalid, check it all first:
///
/// ```
/// use atlassian_csm::bulk::{CustomerProfiles, RecordValidator};
/// use atlassian_csm::types::BulkManageCustomerProfileOperation as Profile;
///
/// let records: Vec<Profile> = ["ada@example.com", "alan@example.com"]
///     .into_iter()
///     .map(|email| Profile::upsert().email(email).try_into())
///     .collect::<Result<_, _>>()?;
/// RecordValidator::<CustomerProfiles>::new().check_all(&records)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct RecordValidator<E: BulkEndpoint> {
    allow_unknown_enum_values: bool,
    /// Names that must be unique, normalized, with the index of the record that had them.
    seen: HashMap<String, usize>,
    endpoint: PhantomData<E>,
}

impl<E: BulkEndpoint> Default for RecordValidator<E> {
    fn default() -> Self {
        Self {
            allow_unknown_enum_values: false,
            seen: HashMap::new(),
            endpoint: PhantomData,
        }
    }
}

impl<E: BulkEndpoint> RecordValidator<E> {
    /// A validator that refuses enum values the spec does not list.
    pub fn new() -> Self {
        Self::default()
    }

    /// A validator that checks as `client` does (see
    /// [`ClientBuilder::allow_unknown_enum_values`](crate::ClientBuilder::allow_unknown_enum_values)).
    pub fn for_client(client: &Client) -> Self {
        Self::new().allow_unknown_enum_values(client.config().allow_unknown_enum_values)
    }

    /// Whether enum values the spec does not list pass.
    pub fn allow_unknown_enum_values(mut self, allow: bool) -> Self {
        self.allow_unknown_enum_values = allow;
        self
    }

    /// Checks the record at `index` of the input (the index names it in the error). A record
    /// repeating a name an earlier checked record had is refused.
    pub fn check(&mut self, index: usize, record: &E::Record) -> Result<(), Error> {
        // Counted by the test that checks each record is checked once.
        tracing::trace!(target: "atlassian_csm::checks", index, "record checked");
        let array = E::ARRAY_FIELD;
        let weight = E::weight(record);
        if let Some(max) = E::MAX_WEIGHT.filter(|max| weight > *max) {
            return Err(Error::InvalidInput {
                field: FieldPath::record_of(array, index),
                message: format!("{weight} operations; one request carries at most {max}"),
            });
        }
        let alone = serde_json::json!({ array: [record] });
        crate::limits::check_value(E::METHOD_NAME, &alone, self.allow_unknown_enum_values)
            .map_err(|error| match error {
                // Checked alone, the record is the first of its request.
                Error::InvalidInput { field, message } => Error::InvalidInput {
                    field: field.with_record(index),
                    message,
                },
                other => other,
            })?;
        if let Some((field, name)) = E::unique_name(record) {
            let normalized = name.trim().to_lowercase();
            if let Some(first) = self.seen.get(&normalized) {
                return Err(Error::InvalidInput {
                    field: FieldPath::record_of(array, index).field(field),
                    message: format!(
                        "{name:?} repeats the name at {array}[{first}].{field} (names are unique, case ignored)"
                    ),
                });
            }
            self.seen.insert(normalized, index);
        }
        Ok(())
    }

    /// Checks the record at `index` as [`check`](Self::check) does, and carries it as checked:
    /// an import or a sync takes the [`Checked`] record without checking it again.
    pub fn checked(&mut self, index: usize, record: E::Record) -> Result<Checked<E>, Error> {
        self.check(index, &record)?;
        Ok(Checked::new(record, self.allow_unknown_enum_values))
    }

    /// The record `checked` carries: as it is when it was checked at least as strictly as this
    /// validator checks, else checked here as the record at `index` (a record passed by a
    /// lenient validator, taken by a strict client).
    pub(crate) fn take_checked(
        &mut self,
        index: usize,
        checked: Checked<E>,
    ) -> Result<E::Record, Error> {
        let strict_enough = !checked.lenient() || self.allow_unknown_enum_values;
        let record = checked.into_record();
        if !strict_enough {
            self.check(index, &record)?;
        }
        Ok(record)
    }

    /// Checks every record, in order; the first invalid one is the error.
    pub fn check_all<'r>(
        &mut self,
        records: impl IntoIterator<Item = &'r E::Record>,
    ) -> Result<(), Error> {
        records
            .into_iter()
            .enumerate()
            .try_for_each(|(index, record)| self.check(index, record))
    }
}
