//! The value an open enum keeps when the server sends one this version does not know.

use std::fmt;

/// A value of an API enum that this version of the crate does not know yet (the API added it),
/// kept exactly as the server sent it.
///
/// Every enum of the API has an `Unknown(UnknownValue)` variant. It is only ever made from a
/// string no other variant matches (when an answer is decoded, or by the enum's
/// `From<&str>`), and it has no public constructor: `Unknown` never holds a value that has a
/// variant of its own, so matching on the named variants is always right.
///
/// ```
/// use atlassian_csm::types::TaskStatusResponseStatus;
/// let known = TaskStatusResponseStatus::from("FINISHED");
/// assert_eq!(known, TaskStatusResponseStatus::Finished);
/// let newer = TaskStatusResponseStatus::from("PAUSED");
/// match &newer {
///     TaskStatusResponseStatus::Unknown(value) => assert_eq!(value.as_str(), "PAUSED"),
///     _ => unreachable!(),
/// }
/// assert_eq!(newer.to_string(), "PAUSED");
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnknownValue(String);

impl UnknownValue {
    /// Only the generated `From<&str>` calls this, after every known value was tried.
    pub(crate) fn new(value: &str) -> Self {
        Self(value.to_string())
    }

    /// The value as the server sent it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for UnknownValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Decodes an open enum from its wire string through `from`, which maps every known value to
/// its variant and anything else to `Unknown`.
pub(crate) fn deserialize_str<'de, D, T>(
    deserializer: D,
    from: fn(&str) -> T,
) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
{
    struct Visitor<T>(fn(&str) -> T);
    impl<T> serde::de::Visitor<'_> for Visitor<T> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string")
        }
        fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<T, E> {
            Ok((self.0)(value))
        }
    }
    deserializer.deserialize_str(Visitor(from))
}
