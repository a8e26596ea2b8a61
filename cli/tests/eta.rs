//! The time left that `csm import` and `csm sync` show on a site that runs tasks one at a time,
//! checked against the time that really remained; and the site's pace kept for the next import.

mod support;

use std::io::BufRead;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::*;

/// The demo site at a live site's pace divided by `factor`: one task at a time, a time per
/// record.
async fn live_fake(factor: u32) -> atlassian_csm_mock::FakeCsm {
    atlassian_csm_mock::FakeCsm::builder()
        .seed_demo(true)
        .task_timing(Duration::ZERO, Duration::ZERO)
        .pace(atlassian_csm_mock::Pace::live_scaled(factor))
        .start()
        .await
        .unwrap()
}

/// Runs `command`, reading its progress lines as they come: each line with when it came, and
/// when the command ended.
async fn lines_as_they_come(mut command: Command) -> (Vec<(Instant, String)>, Instant, bool) {
    tokio::task::spawn_blocking(move || {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let lines: Vec<(Instant, String)> = stdout
            .lines()
            .map(|line| (Instant::now(), line.unwrap()))
            .collect();
        let success = child.wait().unwrap().success();
        (lines, Instant::now(), success)
    })
    .await
    .unwrap()
}

/// `9 s`, `2 min 05 s` as shown after `ETA `.
fn shown_time(text: &str) -> Duration {
    let mut seconds = 0;
    let words: Vec<&str> = text.split_whitespace().collect();
    for pair in words.chunks(2) {
        let value: u64 = pair[0].parse().unwrap();
        seconds += match pair[1] {
            "h" => value * 3600,
            "min" => value * 60,
            "s" => value,
            unit => panic!("unit {unit}"),
        };
    }
    Duration::from_secs(seconds)
}

/// Every progress line of `unit` from 10 % on shows a time left within 20 % of the time that
/// really remained (and the second it is shown to, rounded down); returns how many were checked.
fn assert_estimates_hold(lines: &[(Instant, String)], ended: Instant, unit: &str) -> usize {
    let mut checked = 0;
    for (at, line) in lines {
        // `1200/2000 records (60 %), 98/s, ETA 8 s at the site's pace`
        let Some((count, rest)) = line.split_once(&format!(" {unit} (")) else {
            continue;
        };
        let Some((done, total)) = count.trim().split_once('/') else {
            continue;
        };
        let (done, total): (u64, u64) = (done.parse().unwrap(), total.parse().unwrap());
        if done * 10 < total || done == total {
            continue;
        }
        let eta = rest
            .split_once("ETA ")
            .map(|(_, eta)| eta.split(" at ").next().unwrap())
            .unwrap_or_else(|| panic!("no time left shown at {done}/{total}: {line}"));
        let shown = shown_time(eta);
        let remained = ended - *at;
        let off = shown.abs_diff(remained);
        assert!(
            off <= remained / 5 + Duration::from_secs(1),
            "{line:?} while {remained:?} remained"
        );
        checked += 1;
    }
    checked
}

/// Status polls and accepted bulk requests the fake saw.
fn polls_and_tasks(fake: &atlassian_csm_mock::FakeCsm) -> (usize, usize) {
    let requests = fake.requests();
    let polls = requests
        .iter()
        .filter(|r| r.method == "GET" && r.path.contains("/tasks/"))
        .count();
    let tasks = requests
        .iter()
        .filter(|r| r.method == "POST" && r.status == 202)
        .count();
    (polls, tasks)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_import_shows_a_true_time_left_and_the_next_one_starts_from_the_sites_pace() {
    // A live site's pace divided by 480: 10 ms a record, a second a task of 100 records, one
    // task at a time: 2,000 rows take about 20 s.
    let (fake, dir) = (live_fake(480).await, scratch());
    let rows = customers_csv(&dir, 2_000, |_| "Pro");
    let mut command = csm_at(&dir, fake.base_url());
    command.args(["import", "customer-profiles"]).arg(&rows);
    let (lines, ended, success) = lines_as_they_come(command).await;
    assert!(success, "{lines:?}");
    let checked = assert_estimates_hold(&lines, ended, "records");
    assert!(checked >= 5, "{checked} lines checked: {lines:?}");
    // What it learned of the site is kept for the next import of the same site.
    let kept = std::fs::read_to_string(dir.join("state/csm/site-pace.json")).unwrap();
    let kept: serde_json::Value = serde_json::from_str(&kept).unwrap();
    assert_eq!(
        kept[fake.base_url()]["pace"]["tasks"]["run"],
        "one_at_a_time",
        "{kept}"
    );

    // The next import polls about twice a task from its first, and knows its time left from
    // its first line.
    let rows = customers_csv(&dir, 1_000, |_| "Free");
    let before = polls_and_tasks(&fake);
    let mut command = csm_at(&dir, fake.base_url());
    command.args(["import", "customer-profiles"]).arg(&rows);
    let (lines, _, success) = lines_as_they_come(command).await;
    assert!(success, "{lines:?}");
    let after = polls_and_tasks(&fake);
    let (polls, tasks) = (after.0 - before.0, after.1 - before.1);
    assert_eq!(tasks, 10);
    assert!(polls * 2 <= tasks * 5, "{polls} polls for {tasks} tasks");
    let first = lines
        .iter()
        .find(|(_, l)| l.contains(" records ("))
        .unwrap();
    assert!(first.1.contains("ETA"), "{first:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sync_shows_a_true_time_left() {
    let (fake, dir) = (live_fake(480).await, scratch());
    let rows = customers_csv(&dir, 2_000, |_| "Pro");
    let (lines, ended, success) = lines_as_they_come(sync_profiles(&dir, &fake, &rows, &[])).await;
    assert!(success, "{lines:?}");
    let checked = assert_estimates_hold(&lines, ended, "records sent");
    assert!(checked >= 5, "{checked} lines checked: {lines:?}");
}
