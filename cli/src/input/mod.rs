//! Reading the file `csm import`, `csm sync` and `csm jobs` send: its rows (CSV or JSON Lines),
//! the shape that makes a CSV row a record, the check of every row before anything is sent, each
//! record's position in the file, and the failures file written back in the input's format.

mod check;
pub(crate) mod failures;
mod positions;
pub(crate) mod rows;
mod shape;

pub(crate) use check::{check, rechecked_records, valid_records, BadRow, BAD_ROWS_SHOWN};
pub(crate) use positions::Positions;
pub(crate) use rows::Format;
use std::path::PathBuf;

/// What `csm import` and `csm sync` read, and how they send it.
#[derive(clap::Args, Debug)]
pub(crate) struct FileArgs {
    /// A CSV file with a header row, or JSON Lines (.jsonl).
    pub file: PathBuf,
    /// The file's format, when its extension does not say.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Send the valid rows when some are invalid (the invalid ones go to --failures).
    #[arg(long)]
    pub skip_invalid: bool,
    /// Write every row that did not succeed here, unchanged, with the reason in an added
    /// `error` column (field, for JSON Lines).
    #[arg(long, value_name = "FILE")]
    pub failures: Option<PathBuf>,
    /// Tasks unfinished at once (a site allows 5).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..=5))]
    pub max_in_flight: u16,
    /// For --dry-run's estimate: the seconds one task takes.
    #[arg(long, default_value_t = 2.0, value_name = "SECONDS")]
    pub task_seconds: f64,
    /// Which calls the records go through: bulk tasks (`bulk`), the direct calls detail values
    /// have (`direct`), or each record through the one expected to finish it sooner (`auto`).
    #[arg(long, value_enum, default_value_t = LanesArg::Auto)]
    pub lanes: LanesArg,
}

/// `--lanes`.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub(crate) enum LanesArg {
    /// Each record through the lane expected to finish it sooner.
    Auto,
    /// Bulk tasks only.
    Bulk,
    /// Direct calls wherever the endpoint has them.
    Direct,
}

impl From<LanesArg> for atlassian_csm::bulk::Lanes {
    fn from(lanes: LanesArg) -> Self {
        match lanes {
            LanesArg::Auto => Self::Auto,
            LanesArg::Bulk => Self::Bulk,
            LanesArg::Direct => Self::Direct,
        }
    }
}

impl FileArgs {
    /// The file's format: as given, or as its extension says.
    pub fn format(&self) -> Format {
        self.format.unwrap_or_else(|| Format::of(&self.file))
    }
}
