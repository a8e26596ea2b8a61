//! A vendor's night: 100 sites × 10,000 customer profiles synced by `csm jobs run` into one
//! PostgreSQL state, 1 % of each site changed since the night before; in one process, then in
//! three splitting the list.
//!
//! `FLEET_DATABASE=postgres://… cargo bench --features postgres --bench fleet` (a database of its
//! own: the bench fills it; `bash scripts/with-postgres.sh` gives a server whose `postgres`
//! database will do). The 100 fakes run in a process of their own (tasks of 200 ms, 5 unfinished
//! at once each), so the workers' memory is their own. It prints, for each night, the wall time,
//! the slowest site's bound (its requests ÷ 5 × 200 ms) and each worker's peak RSS (GNU time).
//! `FLEET_SITES` and `FLEET_ROWS` change the size.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TASK_MS: u64 = 200;

fn number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

fn main() {
    if std::env::var("FLEET_MODE").as_deref() == Ok("fakes") {
        return fakes();
    }
    let Ok(database) = std::env::var("FLEET_DATABASE") else {
        eprintln!("FLEET_DATABASE=postgres://… names the database the fleet's state goes in");
        return;
    };
    let (sites, rows) = (number("FLEET_SITES", 100), number("FLEET_ROWS", 10_000));
    let csm = build_csm();
    let dir = tempfile::tempdir().unwrap();

    let mut fakes = Command::new(std::env::current_exe().unwrap())
        .env("FLEET_MODE", "fakes")
        .env("FLEET_SITES", sites.to_string())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(fakes.stdout.take().unwrap()).lines();
    let urls: Vec<String> = (0..sites).map(|_| lines.next().unwrap().unwrap()).collect();

    let nights = [
        ("first", "seed"),
        ("second", "1 % changed"),
        ("third", "1 % changed"),
    ];
    for (night, (schedule, what)) in nights.iter().enumerate() {
        let list = dir.path().join(format!("{schedule}.toml"));
        let mut text = format!("state = \"{database}\"\n");
        for (site, url) in urls.iter().enumerate() {
            let file = dir.path().join(format!("{schedule}-{site}.csv"));
            write_csv(&file, rows, night);
            text.push_str(&format!(
                "\n[[job]]\nname = \"site{site}\"\nbase_url = \"{url}\"\nentity = \"customer-profiles\"\ninput = \"{}\"\n",
                file.display()
            ));
        }
        std::fs::write(&list, text).unwrap();
        let workers = if night == 2 { 3 } else { 1 };
        let parallel = sites.div_ceil(workers);
        let started = Instant::now();
        let children: Vec<_> = (0..workers)
            .map(|worker| {
                Command::new("/usr/bin/time")
                    .args(["-f", "peak_rss_kb=%M"])
                    .arg(&csm)
                    .args(["jobs", "run"])
                    .arg(&list)
                    .args(["--parallel", &parallel.to_string()])
                    .args(["--schedule", schedule, "--worker", &format!("w{worker}")])
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let rss: Vec<f64> = children
            .into_iter()
            .map(|child| {
                let output = child.wait_with_output().unwrap();
                let text = String::from_utf8_lossy(&output.stderr);
                assert!(output.status.success(), "{text}");
                text.lines()
                    .find_map(|l| l.strip_prefix("peak_rss_kb="))
                    .and_then(|kb| kb.trim().parse::<f64>().ok())
                    .map_or(f64::NAN, |kb| kb / 1024.0)
            })
            .collect();
        let wall = started.elapsed().as_secs_f64();
        // A site's bound: its requests, 5 at a time, 200 ms each.
        let sent = if night == 0 { rows } else { rows / 100 };
        let bound = (sent.div_ceil(100) as f64 / 5.0).ceil() * TASK_MS as f64 / 1000.0;
        println!(
            "{schedule} night ({what}), {sites} sites × {rows} profiles, {workers} process(es) × --parallel {parallel}: wall {wall:.1} s, the slowest site's bound {bound:.1} s (wall / bound {:.1}), peak RSS per process {} MB",
            wall / bound,
            rss.iter().map(|mb| format!("{mb:.1}")).collect::<Vec<_>>().join(", ")
        );
    }
    let _ = fakes.kill();
    let _ = fakes.wait();
}

/// The `csm` binary, built for release.
fn build_csm() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--quiet", "--release", "-p", "atlassian-csm-cli"])
        .status()
        .unwrap();
    assert!(status.success());
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    Path::new(&target).join("release").join("csm")
}

/// Night `night`'s file: `user{i}`; from the second night on, 1 % of the rows renamed (another
/// name each night).
fn write_csv(path: &Path, rows: usize, night: usize) {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(file, "email,displayName,detail:Plan").unwrap();
    for i in 0..rows {
        let name = match (night, i % 100) {
            (0, _) | (_, 1..) => format!("User {i}"),
            (night, _) => format!("User {i} renamed {night}"),
        };
        writeln!(file, "user{i}@example.com,{name},Pro").unwrap();
    }
}

/// The fakes: `FLEET_SITES` sites in this process, their URLs on standard output.
fn fakes() {
    let sites = number("FLEET_SITES", 100);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let mut fakes = Vec::new();
        for _ in 0..sites {
            let fake = atlassian_csm_mock::FakeCsm::builder()
                .seed_demo(true)
                .task_timing(Duration::ZERO, Duration::from_millis(TASK_MS))
                .start()
                .await
                .unwrap();
            println!("{}", fake.base_url());
            fakes.push(fake);
        }
        std::io::stdout().flush().unwrap();
        // Until the bench kills this process.
        std::future::pending::<()>().await;
    });
}
