//! `--failures FILE`: every row that did not succeed, as the input had it, with the reason added
//! (an `error` column for CSV, an `error` field for JSON Lines).

use super::rows::{self, Cells, Format};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

/// Copies the rows at `reasons`' positions from `input` to `output`, each with its reason;
/// returns how many were written.
pub fn write(
    input: &Path,
    format: Format,
    output: &Path,
    reasons: &BTreeMap<usize, String>,
) -> anyhow::Result<usize> {
    let rows = rows::open(input, format)?;
    let file = std::fs::File::create(output)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", output.display()))?;
    let mut written = 0;
    match &rows.headers {
        Some(headers) => {
            let mut writer = csv::Writer::from_writer(file);
            let column = if headers.iter().any(|h| h == "error") {
                "csm_error"
            } else {
                "error"
            };
            let mut header = headers.clone();
            header.push_field(column);
            writer.write_record(&header)?;
            for (position, row) in rows.enumerate() {
                let (Some(reason), Cells::Csv(record)) = (reasons.get(&position), row?.cells)
                else {
                    continue;
                };
                let mut record = record;
                record.push_field(reason);
                writer.write_record(&record)?;
                written += 1;
            }
            writer.flush()?;
        }
        None => {
            let mut writer = std::io::BufWriter::new(file);
            for (position, row) in rows.enumerate() {
                let (Some(reason), Cells::Json(line)) = (reasons.get(&position), row?.cells) else {
                    continue;
                };
                let value = match serde_json::from_str::<serde_json::Value>(&line) {
                    Ok(serde_json::Value::Object(mut object)) => {
                        object.insert("error".into(), reason.clone().into());
                        serde_json::Value::Object(object)
                    }
                    _ => serde_json::json!({ "row": line, "error": reason }),
                };
                writeln!(writer, "{value}")?;
                written += 1;
            }
            writer.flush()?;
        }
    }
    Ok(written)
}
