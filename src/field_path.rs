//! Where in a request, a record or an input a refused value is: a list of field names and list
//! indexes, shown as `customerProfiles[17].payload.email`.

use std::fmt;

/// The place of a value in what was being built or sent: field names and list indexes from the
/// outermost value in. Errors carry it ([`Error::InvalidInput`](crate::Error::InvalidInput),
/// [`Error::DuplicateKey`](crate::Error::DuplicateKey)) so a program can find the record and
/// the field at fault without reading the message.
///
/// `Display` writes it as JSON paths are usually written, and it compares equal to that text:
///
/// ```
/// use atlassian_csm::FieldPath;
///
/// let path = FieldPath::new().field("customerProfiles").index(17).field("payload").field("email");
/// assert_eq!(path.to_string(), "customerProfiles[17].payload.email");
/// assert_eq!(path, "customerProfiles[17].payload.email");
/// assert_eq!(path.record(), Some(17));
/// assert_eq!(path.within_record(), "payload.email");
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct FieldPath {
    segments: Vec<PathSegment>,
}

/// One step of a [`FieldPath`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PathSegment {
    /// A field of an object (or, for a refused header or path parameter, its name).
    Field(String),
    /// An item of a list.
    Index(usize),
}

impl FieldPath {
    /// The empty path: the value itself.
    pub fn new() -> Self {
        Self::default()
    }

    /// The path one field further in.
    pub fn field(mut self, name: impl Into<String>) -> Self {
        self.segments.push(PathSegment::Field(name.into()));
        self
    }

    /// The path to one item of the list it names.
    pub fn index(mut self, index: usize) -> Self {
        self.segments.push(PathSegment::Index(index));
        self
    }

    /// The path to record `index` of a bulk request's list `array` (`customerProfiles[3]`).
    pub fn record_of(array: &str, index: usize) -> Self {
        Self::new().field(array).index(index)
    }

    /// Its steps, outermost first.
    pub fn segments(&self) -> &[PathSegment] {
        &self.segments
    }

    /// Whether it names the value itself.
    pub fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }

    /// The record it points into, when it starts at a bulk request's or an input's list of
    /// records (`customerProfiles[3]…`): that record's index.
    pub fn record(&self) -> Option<usize> {
        match self.segments.as_slice() {
            [PathSegment::Field(_), PathSegment::Index(index), ..] => Some(*index),
            _ => None,
        }
    }

    /// The part of the path inside its record (`payload.email` of
    /// `customerProfiles[3].payload.email`); the whole path when it does not start at a record.
    pub fn within_record(&self) -> FieldPath {
        match self.record() {
            Some(_) => Self {
                segments: self.segments[2..].to_vec(),
            },
            None => self.clone(),
        }
    }

    /// The same path with `outer` before it.
    pub(crate) fn under(mut self, outer: FieldPath) -> Self {
        let mut segments = outer.segments;
        segments.append(&mut self.segments);
        self.segments = segments;
        self
    }

    /// The same path, pointing into record `index` instead of the one it names (a record checked
    /// alone is record 0 of its own request).
    pub(crate) fn with_record(mut self, index: usize) -> Self {
        if let [PathSegment::Field(_), PathSegment::Index(at), ..] = self.segments.as_mut_slice() {
            *at = index;
        }
        self
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (at, segment) in self.segments.iter().enumerate() {
            match segment {
                PathSegment::Field(name) if at == 0 => f.write_str(name)?,
                PathSegment::Field(name) => write!(f, ".{name}")?,
                PathSegment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

impl fmt::Debug for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FieldPath({:?})", self.to_string())
    }
}

/// A path of one field (a parameter's or a header's name).
impl From<&str> for FieldPath {
    fn from(name: &str) -> Self {
        Self::new().field(name)
    }
}

impl FieldPath {
    /// Whether its `Display` is `text`, written piece by piece against it (nothing allocated).
    fn reads_as(&self, text: &str) -> bool {
        /// Consumes the expected text as the path is written; fails at the first difference.
        struct Against<'t>(&'t str);
        impl fmt::Write for Against<'_> {
            fn write_str(&mut self, piece: &str) -> fmt::Result {
                self.0 = self.0.strip_prefix(piece).ok_or(fmt::Error)?;
                Ok(())
            }
        }
        let mut rest = Against(text);
        fmt::write(&mut rest, format_args!("{self}")).is_ok() && rest.0.is_empty()
    }
}

impl PartialEq<str> for FieldPath {
    fn eq(&self, text: &str) -> bool {
        self.reads_as(text)
    }
}

impl PartialEq<&str> for FieldPath {
    fn eq(&self, text: &&str) -> bool {
        self.reads_as(text)
    }
}

impl PartialEq<String> for FieldPath {
    fn eq(&self, text: &String) -> bool {
        self.reads_as(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_is_shown_and_taken_apart_by_its_steps() {
        let path = FieldPath::record_of("detailFields", 4).field("name");
        assert_eq!(path.to_string(), "detailFields[4].name");
        assert_eq!(path.record(), Some(4));
        assert_eq!(path.clone().with_record(9), "detailFields[9].name");
        let inner = FieldPath::new().field("values").index(1);
        assert_eq!(inner.to_string(), "values[1]");
        assert_eq!(
            inner.record(),
            Some(1),
            "a list of values reads as one of records"
        );
        assert_eq!(
            FieldPath::new().index(2).field("email").to_string(),
            "[2].email"
        );
        assert_eq!(inner.under(FieldPath::from("payload")), "payload.values[1]");
        assert_eq!(FieldPath::from("task_id").record(), None);
        assert_ne!(FieldPath::from("task_id"), "task");
        assert_ne!(FieldPath::from("task"), "task_id");
        assert_eq!(
            FieldPath::from("task_id").within_record(),
            FieldPath::from("task_id")
        );
    }
}
