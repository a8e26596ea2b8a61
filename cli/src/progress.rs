//! Progress, as a terminal user or a log reader wants it: a live bar when standard output is a
//! terminal, a plain line every few seconds (and at the end) when it is not.

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
            let template =
                format!("{{bar:30.cyan/blue}} {{pos}}/{{len}} {unit} · {{msg}} · ETA {{eta}}");
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

    /// `done` of the total are done.
    pub fn set(&self, done: u64) {
        self.set_noting(done, "");
    }

    /// `done` of the total are done, with `note` after the rate (`4 tasks waiting their turn`).
    pub fn set_noting(&self, done: u64, note: &str) {
        let note = if note.is_empty() {
            String::new()
        } else {
            format!(" · {note}")
        };
        match &self.shown {
            Shown::Bar(bar) => {
                bar.set_position(done);
                let rate = done as f64 / bar.elapsed().as_secs_f64().max(0.001);
                bar.set_message(format!("{rate:.0}/s{note}"));
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
                    println!("{}{note}", line(done, *total, self.unit, started.elapsed()));
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
}

/// `12000/100000 records (12 %), 1500/s, ETA 58 s`
fn line(done: u64, total: u64, unit: &str, elapsed: Duration) -> String {
    let percent = (done * 100).checked_div(total).unwrap_or(100);
    let rate = done as f64 / elapsed.as_secs_f64().max(0.001);
    let eta = if done == 0 || done >= total {
        String::new()
    } else {
        format!(", ETA {:.0} s", (total - done) as f64 / rate)
    };
    format!("{done}/{total} {unit} ({percent} %), {rate:.0}/s{eta}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_line_gives_the_count_rate_and_time_left() {
        let text = line(12_000, 100_000, "records", Duration::from_secs(8));
        assert_eq!(text, "12000/100000 records (12 %), 1500/s, ETA 59 s");
        let done = line(10, 10, "records", Duration::from_secs(1));
        assert_eq!(done, "10/10 records (100 %), 10/s");
    }
}
