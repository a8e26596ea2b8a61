//! Where each record came from: its row's position in the file and its line, by the index the
//! import or sync gives the record, so that every message names a line.

/// The position in the file, and the line, of each record, by the index the import or sync
/// gives it (the order the records are read in).
pub(crate) struct Positions(std::sync::Mutex<Vec<(usize, u64)>>);

impl Positions {
    pub fn with_capacity(records: usize) -> Self {
        Self(std::sync::Mutex::new(Vec::with_capacity(records)))
    }

    /// The records of `rows` (position, line, record), each noted as it is read.
    pub fn track<'p, R>(
        &'p self,
        rows: impl Iterator<Item = (usize, u64, R)> + Send + 'p,
    ) -> impl Iterator<Item = R> + Send + 'p {
        rows.map(move |(position, line, record)| {
            self.lock().push((position, line));
            record
        })
    }

    /// The records of `rows` read by a reader that may fail, each noted as it is read.
    pub fn track_read<'p, R, X>(
        &'p self,
        rows: impl Iterator<Item = Result<(usize, u64, R), X>> + Send + 'p,
    ) -> impl Iterator<Item = Result<R, X>> + Send + 'p {
        rows.map(move |read| {
            read.map(|(position, line, record)| {
                self.lock().push((position, line));
                record
            })
        })
    }

    pub fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(usize, u64)>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}
