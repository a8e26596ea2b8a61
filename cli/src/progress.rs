//! Progress, as a terminal user or a log reader wants it: a live bar when standard output is a
//! terminal, a plain line every few seconds (and at the end) when it is not.

use crate::terminal::say;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often a plain progress line is printed.
const LINE_EVERY: Duration = Duration::from_secs(2);

/// Progress of a count of `unit`s towards a total.
pub struct Progress {
    unit: &'static str,
    shown: Shown,
}

enum Shown {
    Bar(ProgressBar),
    Lines {
        started: Instant,
        /// When a line was last printed, and the count it gave.
        last: Mutex<Option<(Instant, u64)>>,
        total: u64,
    },
}

impl Progress {
    /// A bar on a terminal, lines otherwise.
    pub fn new(total: u64, unit: &'static str) -> Self {
        let shown = if std::io::stdout().is_terminal() {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stdout());
            // The rate is ours (whole numbers); indicatif's has four decimals.
            let template = format!("{{bar:30.cyan/blue}} {{pos}}/{{len}} {unit} · {{msg}}");
            bar.set_style(
                ProgressStyle::with_template(&template)
                    .expect("a valid template")
                    .progress_chars("█▉▊▋▌▍▎▏ "),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            Shown::Bar(bar)
        } else {
            Shown::Lines {
                started: Instant::now(),
                last: Mutex::new(None),
                total,
            }
        };
        Self { unit, shown }
    }

    /// `done` of the total are done; the time left is at the rate since the start.
    pub fn set(&self, done: u64) {
        let elapsed = self.elapsed().as_secs_f64().max(0.001);
        let rate = done as f64 / elapsed;
        let eta = (done > 0)
            .then(|| Duration::from_secs_f64(self.total().saturating_sub(done) as f64 / rate));
        self.show(done, eta.map(|eta| (eta, "")), "");
    }

    /// `done` of the total are done, `eta` left at the pace the site has shown (the import's
    /// own estimate), with `note` after it (`4 tasks waiting their turn`).
    /// Without an estimate (no record has an outcome yet, and the site's pace is not known from
    /// an earlier run), it says so instead of guessing.
    pub fn set_paced(&self, done: u64, eta: Option<Duration>, note: &str) {
        let unknown;
        let note = match eta {
            None if done < self.total() => {
                unknown = match note {
                    "" => "time left not known yet".to_string(),
                    note => format!("time left not known yet · {note}"),
                };
                unknown.as_str()
            }
            _ => note,
        };
        self.show(done, eta.map(|eta| (eta, " at the site's pace")), note);
    }

    fn total(&self) -> u64 {
        match &self.shown {
            Shown::Bar(bar) => bar.length().unwrap_or(0),
            Shown::Lines { total, .. } => *total,
        }
    }

    fn elapsed(&self) -> Duration {
        match &self.shown {
            Shown::Bar(bar) => bar.elapsed(),
            Shown::Lines { started, .. } => started.elapsed(),
        }
    }

    /// Shows `done`, the time left (with what it was estimated from) and `note`.
    fn show(&self, done: u64, eta: Option<(Duration, &str)>, note: &str) {
        crate::metrics_file::running(done, self.total(), self.elapsed());
        let note = if note.is_empty() {
            String::new()
        } else {
            format!(" · {note}")
        };
        match &self.shown {
            Shown::Bar(bar) => {
                bar.set_position(done);
                let rate = done as f64 / bar.elapsed().as_secs_f64().max(0.001);
                let eta = eta
                    .filter(|_| done < self.total())
                    .map(|(eta, from)| format!(" · ETA {}{from}", clock(eta)))
                    .unwrap_or_default();
                bar.set_message(format!("{rate:.0}/s{eta}{note}"));
            }
            Shown::Lines {
                started,
                last,
                total,
            } => {
                let mut last = last.lock().unwrap_or_else(|e| e.into_inner());
                let due = last.is_none_or(|(at, _)| at.elapsed() >= LINE_EVERY);
                let ended = done >= *total && last.is_none_or(|(_, shown)| shown < *total);
                if (due && last.is_none_or(|(_, shown)| shown != done)) || ended {
                    *last = Some((Instant::now(), done));
                    say!(
                        "{}{note}",
                        line(done, *total, self.unit, started.elapsed(), eta)
                    );
                }
            }
        }
    }

    /// Stops the bar (the last line stays on the terminal).
    pub fn finish(&self) {
        if let Shown::Bar(bar) = &self.shown {
            bar.finish();
        }
    }

    /// Stops the bar where it is, short of its end (a run that was stopped).
    pub fn abandon(&self) {
        if let Shown::Bar(bar) = &self.shown {
            bar.abandon();
        }
    }
}

/// `12000/100000 records (12 %), 1500/s, ETA 59 s`
fn line(
    done: u64,
    total: u64,
    unit: &str,
    elapsed: Duration,
    eta: Option<(Duration, &str)>,
) -> String {
    let percent = (done * 100).checked_div(total).unwrap_or(100);
    let rate = done as f64 / elapsed.as_secs_f64().max(0.001);
    let eta = match eta {
        Some((eta, from)) if done < total => format!(", ETA {}{from}", clock(eta)),
        _ => String::new(),
    };
    format!("{done}/{total} {unit} ({percent} %), {rate:.0}/s{eta}")
}

/// `59 s`, `12 min 05 s`, `20 h 03 min`.
pub(crate) fn duration(seconds: f64) -> String {
    let total = Duration::from_secs_f64(seconds.max(0.0)).as_secs();
    let (hours, minutes, seconds) = (total / 3600, total / 60 % 60, total % 60);
    match (hours, minutes) {
        (0, 0) => format!("{seconds} s"),
        (0, _) => format!("{minutes} min {seconds:02} s"),
        _ => format!("{hours} h {minutes:02} min"),
    }
}

/// [`duration`] of a `Duration`.
fn clock(time: Duration) -> String {
    duration(time.as_secs_f64())
}

/// `4 tasks waiting their turn`, or nothing when none waits.
pub(crate) fn waiting(tasks: usize) -> String {
    match tasks {
        0 => String::new(),
        1 => "1 task waiting its turn".into(),
        n => format!("{n} tasks waiting their turn"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_line_gives_the_count_rate_and_time_left() {
        let eta = Some((Duration::from_secs(59), " at the site's pace"));
        let text = line(12_000, 100_000, "records", Duration::from_secs(8), eta);
        assert_eq!(
            text,
            "12000/100000 records (12 %), 1500/s, ETA 59 s at the site's pace"
        );
        let done = line(10, 10, "records", Duration::from_secs(1), eta);
        assert_eq!(done, "10/10 records (100 %), 10/s");
        assert_eq!(clock(Duration::from_secs(725)), "12 min 05 s");
        assert_eq!(clock(Duration::from_secs(72_180)), "20 h 03 min");
    }

    #[test]
    fn the_queue_is_said_in_words() {
        assert_eq!(waiting(0), "");
        assert_eq!(waiting(1), "1 task waiting its turn");
        assert_eq!(waiting(4), "4 tasks waiting their turn");
    }
}
