//! `csm runs --state FILE`: the runs a sync state recorded, as a table with a trend, so that
//! "tonight took three times longer" is seen at a glance; with `--output json`, one object.

use crate::terminal::say;
use atlassian_csm::sync::RecordedRun;
use std::path::PathBuf;
use std::process::ExitCode;

/// `csm runs`.
#[derive(clap::Args, Debug)]
pub struct RunsArgs {
    /// The sync state file (read only: a sync running on it is not disturbed).
    #[arg(long, value_name = "FILE")]
    state: PathBuf,
    /// Show the last N runs.
    #[arg(long, value_name = "N", default_value_t = 20)]
    last: usize,
}

/// The bars of the trend, lowest first.
const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// Runs `csm runs`.
pub fn run(args: RunsArgs) -> anyhow::Result<ExitCode> {
    let runs = atlassian_csm::sync::recorded_runs(&args.state)?;
    let shown = &runs[runs.len().saturating_sub(args.last)..];
    if crate::summary::json() {
        let object = serde_json::json!({
            "command": "runs",
            "state": args.state.display().to_string(),
            "runs": shown,
        });
        crate::output::JsonOutput { pretty: false }.print(&object);
        return Ok(ExitCode::SUCCESS);
    }
    if shown.is_empty() {
        say!("{}: no run recorded yet", args.state.display());
        return Ok(ExitCode::SUCCESS);
    }
    say!(
        "{:<17} {:>8} {:>8} {:>7} {:>6} {:>8} {:>9} {:>7} {:>8} {:>7}  entity",
        "started (UTC)",
        "took",
        "sent",
        "sent/s",
        "new",
        "changed",
        "unchanged",
        "absent",
        "deleted",
        "failed"
    );
    for run in shown {
        // The pace the site gave this run: what it sent, per second of the run.
        let pace = run.sent() as f64 / run.duration().as_secs_f64().max(1.0);
        say!(
            "{:<17} {:>8} {:>8} {:>7.1} {:>6} {:>8} {:>9} {:>7} {:>8} {:>7}  {}",
            started(run),
            took(run.duration().as_secs()),
            run.sent(),
            pace,
            run.new,
            run.changed + run.resent,
            run.unchanged,
            run.absent,
            run.deleted,
            run.failed,
            run.entity
        );
    }
    let seconds: Vec<u64> = shown.iter().map(|run| run.duration().as_secs()).collect();
    say!("{}", trend(&seconds));
    Ok(ExitCode::SUCCESS)
}

/// `42s`, `3m05s`, `2h07m`: one word, for a column.
fn took(seconds: u64) -> String {
    match seconds {
        0..60 => format!("{seconds}s"),
        60..3600 => format!("{}m{:02}s", seconds / 60, seconds % 60),
        _ => format!("{}h{:02}m", seconds / 3600, seconds % 3600 / 60),
    }
}

/// `2026-12-06 02:00`.
fn started(run: &RecordedRun) -> String {
    chrono::DateTime::from_timestamp(run.started_at, 0)
        .map(|at| at.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| run.started_at.to_string())
}

/// `took ▁▂▁▁█, the last 3.0× the median`: one bar a run, its height its duration.
fn trend(seconds: &[u64]) -> String {
    let longest = seconds.iter().copied().max().unwrap_or(0).max(1);
    let bars: String = seconds
        .iter()
        .map(|s| BARS[(*s * (BARS.len() as u64 - 1) / longest) as usize])
        .collect();
    let mut sorted = seconds.to_vec();
    sorted.sort_unstable();
    let median = sorted[sorted.len() / 2];
    match (seconds.last(), seconds.len() > 1 && median > 0) {
        (Some(last), true) => format!(
            "took {bars}, the last {:.1}× the median",
            *last as f64 / median as f64
        ),
        _ => format!("took {bars}"),
    }
}

#[cfg(test)]
mod tests {
    use super::trend;

    #[test]
    fn the_trend_draws_each_run_and_compares_the_last_with_the_median() {
        assert_eq!(
            trend(&[100, 110, 90, 105, 300]),
            "took ▃▃▃▃█, the last 2.9× the median"
        );
        assert_eq!(trend(&[0, 0]), "took ▁▁");
        assert_eq!(trend(&[42]), "took █");
    }

    #[test]
    fn a_duration_is_one_word() {
        assert_eq!(super::took(42), "42s");
        assert_eq!(super::took(185), "3m05s");
        assert_eq!(super::took(7620), "2h07m");
    }
}
