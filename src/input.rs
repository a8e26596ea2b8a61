//! What the generated builders report when a value cannot be used: the path of the field that
//! holds it (`payload.details[0].values[1]`) and why. Nested builders keep the path of the
//! innermost field, so a bulk record's error reads `customerProfiles[17].payload.email: …`.

use crate::field_path::FieldPath;
use std::any::Any;
use std::borrow::Cow;
use std::fmt;

/// A value a builder (or a `TryFrom`) could not turn into the type asked for: the field it was
/// given for, as a path from the value being built, and why.
///
/// ```
/// use atlassian_csm::types::BulkManageCustomerProfileOperation;
///
/// let record = BulkManageCustomerProfileOperation::upsert()
///     .email("ada@example.com")
///     .detail("Plan", ["x".repeat(300)]);
/// let error = BulkManageCustomerProfileOperation::try_from(record).unwrap_err();
/// assert_eq!(error.path(), "payload.details[0].values[0]");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ConversionError {
    path: FieldPath,
    message: Cow<'static, str>,
}

impl ConversionError {
    /// The field the value was given for, from the value being built (empty when the value
    /// itself was refused).
    pub fn path(&self) -> &FieldPath {
        &self.path
    }

    /// Why the value was refused.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// A required field that was never set.
    pub(crate) fn missing(field: &str) -> Self {
        Self {
            path: FieldPath::from(field),
            message: Cow::Borrowed("required, and not set"),
        }
    }

    /// `error`, raised converting the value given for `field`: a nested builder's error keeps
    /// its own path under `field`.
    pub(crate) fn at<E: fmt::Display + 'static>(field: &str, error: E) -> Self {
        Self::at_path(FieldPath::from(field), error)
    }

    /// `error`, raised converting the value at `path`.
    pub(crate) fn at_path<E: fmt::Display + 'static>(path: FieldPath, error: E) -> Self {
        match (&error as &dyn Any).downcast_ref::<ConversionError>() {
            Some(inner) => inner.clone().within_path(path),
            None => Self {
                path,
                message: Cow::Owned(error.to_string()),
            },
        }
    }

    /// The same error, seen from the value that holds `field`.
    pub(crate) fn within(self, field: &str) -> Self {
        self.within_path(FieldPath::from(field))
    }

    /// The same error, seen from the list `field` whose item `index` it was raised in.
    pub(crate) fn within_item(self, field: &str, index: usize) -> Self {
        self.within_path(FieldPath::from(field).index(index))
    }

    fn within_path(mut self, outer: FieldPath) -> Self {
        self.path = self.path.under(outer);
        self
    }
}

/// Converts every value of a list, naming the index of the first that fails.
pub(crate) fn collect<I, T>(field: &str, values: I) -> Result<Vec<T>, ConversionError>
where
    I: IntoIterator,
    I::Item: TryInto<T>,
    <I::Item as TryInto<T>>::Error: fmt::Display + 'static,
{
    values
        .into_iter()
        .enumerate()
        .map(|(index, value)| {
            value.try_into().map_err(|error| {
                ConversionError::at_path(FieldPath::from(field).index(index), error)
            })
        })
        .collect()
}

impl fmt::Display for ConversionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl fmt::Debug for ConversionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for ConversionError {}

impl From<&'static str> for ConversionError {
    fn from(message: &'static str) -> Self {
        Self {
            path: FieldPath::new(),
            message: Cow::Borrowed(message),
        }
    }
}

impl From<String> for ConversionError {
    fn from(message: String) -> Self {
        Self {
            path: FieldPath::new(),
            message: Cow::Owned(message),
        }
    }
}

/// A value that could not be built is invalid input: nothing was sent.
impl From<ConversionError> for crate::Error {
    fn from(error: ConversionError) -> Self {
        crate::Error::InvalidInput {
            field: error.path,
            message: error.message.into_owned(),
        }
    }
}

impl From<std::convert::Infallible> for ConversionError {
    fn from(never: std::convert::Infallible) -> Self {
        match never {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_errors_keep_the_innermost_path() {
        let inner = ConversionError::at("values[1]", ConversionError::from("too long"));
        let outer = ConversionError::at("details[0]", inner).within("payload");
        assert_eq!(outer.path(), "payload.details[0].values[1]");
        assert_eq!(outer.message(), "too long");
        let plain = ConversionError::at("count", "12x".parse::<i64>().unwrap_err());
        assert_eq!(plain.to_string(), "count: invalid digit found in string");
    }

    #[test]
    fn lists_name_the_index_that_failed() {
        let values: Result<Vec<u8>, _> = collect("sizes", [1_i64, 2, 300]);
        assert_eq!(values.unwrap_err().path(), "sizes[2]");
    }
}
