//! Reading a file's rows as records and checking each as the import checks it: the bad rows are
//! named by line, column and reason; the good ones are read again, as they are sent, with their
//! position in the file.

use super::rows::{self, Cells, Format, Row};
use super::shape::Shape;
use crate::terminal::{tell, Shown};
use atlassian_csm::bulk::{BulkEndpoint, Checked as CheckedRecord, RecordValidator};
use std::collections::BTreeMap;

/// Bad rows printed before the rest are only counted.
pub(crate) const BAD_ROWS_SHOWN: usize = 50;

/// A row that cannot be imported.
pub struct BadRow {
    pub line: u64,
    pub column: Option<String>,
    pub reason: String,
}

impl std::fmt::Display for BadRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}", self.line)?;
        if let Some(column) = &self.column {
            write!(f, ", column {column}")?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// Rows made into records of `E`, checked as the import checks them.
struct Reader<E: BulkEndpoint> {
    format: Format,
    shape: Option<Shape>,
    validator: RecordValidator<E>,
    /// Records made so far (the index the import knows a record by).
    records: usize,
}

impl<E: BulkEndpoint> Reader<E>
where
    E::Record: serde::de::DeserializeOwned,
{
    fn new(format: Format, headers: Option<&csv::StringRecord>) -> anyhow::Result<Self> {
        let shape = match headers {
            Some(headers) => {
                let headers: Vec<String> = headers.iter().map(str::to_string).collect();
                let shape = Shape::new(E::METHOD_NAME, E::ARRAY_FIELD, &headers).map_err(|e| {
                    atlassian_csm::Error::InvalidInput {
                        field: atlassian_csm::FieldPath::from("header"),
                        message: e,
                    }
                })?;
                Some(shape)
            }
            None => None,
        };
        Ok(Self {
            format,
            shape,
            validator: RecordValidator::new(),
            records: 0,
        })
    }

    /// The record `row` makes (counted, to be imported), or why it cannot be imported.
    fn record(&mut self, row: &Row) -> Result<CheckedRecord<E>, BadRow> {
        let bad = |column: Option<String>, reason: String| BadRow {
            line: row.line,
            column,
            reason,
        };
        let cells = row.cells.fields();
        let value = match (&row.cells, &self.shape) {
            (Cells::Csv(_), Some(shape)) => shape
                .record(&cells)
                .map_err(|e| bad(Some(e.column), e.reason))?,
            (Cells::Json(line), _) => {
                serde_json::from_str(line).map_err(|e| bad(None, format!("not JSON: {e}")))?
            }
            (Cells::Csv(_), None) => unreachable!("a CSV file has a header"),
        };
        let column = |path: &str| match (&self.shape, self.format) {
            (Some(shape), Format::Csv) => shape.column_of(path, &cells),
            _ => (!path.is_empty() && path != ".").then(|| path.to_string()),
        };
        let record: E::Record = serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            bad(column(&path), e.into_inner().to_string())
        })?;
        let index = self.records;
        // Checked here, once: the import or sync takes it as checked.
        let checked = self.validator.checked(index, record).map_err(|error| {
            let (path, message) = match error {
                atlassian_csm::Error::InvalidInput { field, message } => {
                    (field.within_record().to_string(), message)
                }
                other => (String::new(), other.to_string()),
            };
            bad(column(&path), message)
        })?;
        self.records += 1;
        Ok(checked)
    }
}

/// What checking every row of a file found.
pub(crate) struct Checked {
    /// Rows read.
    pub rows: usize,
    /// Valid records.
    pub records: usize,
    /// The invalid rows, by position in the file.
    pub bad_rows: BTreeMap<usize, BadRow>,
}

/// Checks every row of `file` as a record of `E`, printing the first bad rows.
pub(crate) fn check<E: BulkEndpoint>(
    file: &std::path::Path,
    format: Format,
) -> anyhow::Result<Checked>
where
    E::Record: serde::de::DeserializeOwned,
{
    let rows = rows::open(file, format)?;
    let mut reader = Reader::<E>::new(format, rows.headers.as_ref())?;
    let mut bad_rows: BTreeMap<usize, BadRow> = BTreeMap::new();
    let mut rows_read = 0;
    for (position, row) in rows.enumerate() {
        let row = row?;
        rows_read += 1;
        if let Err(bad) = reader.record(&row) {
            if bad_rows.len() < BAD_ROWS_SHOWN {
                tell!("{}: {}", file.display(), Shown(&bad));
            }
            bad_rows.insert(position, bad);
        }
    }
    if bad_rows.len() > BAD_ROWS_SHOWN {
        tell!(
            "… and {} more invalid rows",
            bad_rows.len() - BAD_ROWS_SHOWN
        );
    }
    Ok(Checked {
        rows: rows_read,
        records: reader.records,
        bad_rows,
    })
}

/// The records of the file's valid rows, read as they are asked for, each with the row's position
/// and line.
pub(crate) fn valid_records<E: BulkEndpoint>(
    file: &std::path::Path,
    format: Format,
) -> anyhow::Result<impl Iterator<Item = (usize, u64, CheckedRecord<E>)> + Send>
where
    E::Record: serde::de::DeserializeOwned,
{
    let rows = rows::open(file, format)?;
    let mut reader = Reader::<E>::new(format, rows.headers.as_ref())?;
    Ok(rows.enumerate().filter_map(move |(position, row)| {
        let row = row.ok()?;
        let record = reader.record(&row).ok()?;
        Some((position, row.line, record))
    }))
}

/// A valid row read again (its position, its line and its record), or why the file could not be
/// read to its end.
pub(crate) type RowRead<R> = Result<(usize, u64, R), String>;

/// The records of the file's valid rows read again, as [`valid_records`] reads them, but as a
/// reader that may fail: a row that cannot be read, a row that changed since `checked` saw it,
/// or a file that ends elsewhere than it did is an error, so that a sync never takes a part of a
/// file for the whole.
pub(crate) fn rechecked_records<E: BulkEndpoint>(
    file: &std::path::Path,
    format: Format,
    checked: &Checked,
) -> anyhow::Result<impl Iterator<Item = RowRead<CheckedRecord<E>>> + Send>
where
    E::Record: serde::de::DeserializeOwned,
{
    let rows = rows::open(file, format)?;
    let mut reader = Reader::<E>::new(format, rows.headers.as_ref())?;
    let bad: std::collections::BTreeSet<usize> = checked.bad_rows.keys().copied().collect();
    let expected = checked.rows;
    let mut rows = rows.enumerate();
    let mut read = 0;
    let mut failed = false;
    Ok(std::iter::from_fn(move || loop {
        if failed {
            return None;
        }
        let Some((position, row)) = rows.next() else {
            failed = true;
            return (read != expected).then(|| {
                Err(format!(
                    "the file changed while it was read: it held {expected} rows, now {read}"
                ))
            });
        };
        read += 1;
        let row = match row {
            Ok(row) => row,
            Err(error) => {
                failed = true;
                return Some(Err(format!(
                    "row {} could not be read: {error}",
                    position + 1
                )));
            }
        };
        match reader.record(&row) {
            Ok(record) => return Some(Ok((position, row.line, record))),
            Err(_) if bad.contains(&position) => continue,
            Err(bad) => {
                failed = true;
                return Some(Err(format!(
                    "the file changed while it was read (line {} is now invalid: {bad})",
                    row.line
                )));
            }
        }
    }))
}
