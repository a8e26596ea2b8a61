//! Reading an import file row by row, each with its line number: CSV with a header row, or JSON
//! Lines (one record per line, as the API writes it). The file is read as it goes, never whole.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

/// The file's format.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON record per line.
    Jsonl,
}

impl Format {
    /// The format a file's extension says: `.jsonl`, `.ndjson` and `.json` are JSON Lines,
    /// anything else CSV.
    pub fn of(path: &Path) -> Self {
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match extension.as_deref() {
            Some("jsonl" | "ndjson" | "json") => Self::Jsonl,
            _ => Self::Csv,
        }
    }
}

/// One data row.
pub struct Row {
    /// Its first line in the file (1 is the first line; a CSV header is line 1).
    pub line: u64,
    pub cells: Cells,
}

/// A row's content.
pub enum Cells {
    Csv(csv::StringRecord),
    Json(String),
}

impl Cells {
    /// The CSV cells (none for a JSON line).
    pub fn fields(&self) -> Vec<&str> {
        match self {
            Self::Csv(record) => record.iter().collect(),
            Self::Json(_) => Vec::new(),
        }
    }
}

/// An open import file.
pub struct Rows {
    /// The CSV header (none for JSON Lines).
    pub headers: Option<csv::StringRecord>,
    inner: Box<dyn Iterator<Item = anyhow::Result<Row>> + Send>,
}

impl Iterator for Rows {
    type Item = anyhow::Result<Row>;

    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next()
    }
}

/// Opens `path` to read its rows.
pub fn open(path: &Path, format: Format) -> anyhow::Result<Rows> {
    let file =
        File::open(path).map_err(|e| anyhow::anyhow!("cannot open {}: {e}", path.display()))?;
    match format {
        Format::Csv => {
            let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(file);
            let mut headers = reader.headers()?.clone();
            // A file with no header line (an export that wrote nothing) is no input at all.
            if headers.iter().all(|h| h.trim().is_empty()) {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!(
                        "{} has no header line (it is empty): it is not a file of records; nothing was sent",
                        path.display()
                    ),
                )
                .into());
            }
            // A spreadsheet's byte order mark is not part of the first column's name.
            headers = headers
                .iter()
                .map(|h| h.trim_start_matches('\u{feff}').trim())
                .collect();
            let rows = reader.into_records().map(|record| {
                let record = record?;
                let line = record.position().map_or(0, |p| p.line());
                Ok(Row {
                    line,
                    cells: Cells::Csv(record),
                })
            });
            Ok(Rows {
                headers: Some(headers),
                inner: Box::new(rows),
            })
        }
        Format::Jsonl => {
            let lines =
                BufReader::new(file)
                    .lines()
                    .enumerate()
                    .filter_map(|(at, line)| match line {
                        Ok(line) if line.trim().is_empty() => None,
                        Ok(line) => Some(Ok(Row {
                            line: at as u64 + 1,
                            cells: Cells::Json(line),
                        })),
                        Err(e) => Some(Err(e.into())),
                    });
            Ok(Rows {
                headers: None,
                inner: Box::new(lines),
            })
        }
    }
}
