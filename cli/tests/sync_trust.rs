//! `csm sync` trusted with production data: a dry run writes nothing and reports its counts, an
//! empty export deletes nothing, a state of another site is refused, and SIGTERM stops a sync
//! plainly, the same command resuming it.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};
use support::*;

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name != "config")
        .collect();
    names.sort();
    names
}

fn synced(state: &Path) -> i64 {
    let db = rusqlite::Connection::open(state).unwrap();
    db.query_row("SELECT count(*) FROM records", [], |r| r.get(0))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_writes_nothing_and_its_json_carries_the_counts() {
    let (fake, dir) = (demo_fake(20).await, scratch());
    let file = customers_csv(&dir, 120, |_| "Pro");
    let before = listing(&dir);
    let output = run(sync_profiles(
        &dir,
        &fake,
        &file,
        &["--dry-run", "--output", "json"],
    ))
    .await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(listing(&dir), before, "the dry run left files behind");
    let summary: serde_json::Value =
        serde_json::from_str(stdout(&output).lines().last().unwrap()).unwrap();
    assert_eq!(summary["new"], 120, "{summary}");
    assert_eq!(summary["unchanged"], 0, "{summary}");
    assert_eq!(summary["requests"], 2, "{summary}");
    assert!(
        summary["estimated_seconds"].as_f64().unwrap() > 0.0,
        "{summary}"
    );
    assert!(fake.requests().is_empty());

    // Against a state: still nothing written, and what would be deleted listed exactly.
    let output = run(sync_profiles(&dir, &fake, &file, &[])).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let names = listing(&dir);
    let bytes = std::fs::read(dir.join("state.db")).unwrap();
    let fewer = customers_csv(&dir, 119, |_| "Pro");
    let output = run(sync_profiles(
        &dir,
        &fake,
        &fewer,
        &["--dry-run", "--delete-absent"],
    ))
    .await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(listing(&dir), names);
    assert_eq!(std::fs::read(dir.join("state.db")).unwrap(), bytes);
    let text = stdout(&output);
    assert!(text.contains("1 absent"), "{text}");
    assert!(
        text.contains("profiles are not deleted") || text.contains("were not deleted"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_export_is_refused_and_deletes_nothing() {
    let (fake, dir) = (demo_fake(20).await, scratch());
    let file = customers_csv(&dir, 30, |_| "Pro");
    let output = run(sync_profiles(&dir, &fake, &file, &[])).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let before = fake.requests().len();
    std::fs::write(&file, b"").unwrap();
    let output = run(sync_profiles(
        &dir,
        &fake,
        &file,
        &["--delete-absent", "--max-delete", "100"],
    ))
    .await;
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("no header line"),
        "{}",
        stderr(&output)
    );
    assert_eq!(fake.requests().len(), before);
    assert_eq!(synced(&dir.join("state.db")), 30);

    // A header and no rows: read to its end, but no evidence that anyone left.
    let header = std::fs::read_to_string(customers_csv(&dir, 1, |_| "Pro")).unwrap();
    std::fs::write(&file, header.lines().next().unwrap()).unwrap();
    let output = run(sync_profiles(
        &dir,
        &fake,
        &file,
        &["--delete-absent", "--max-delete", "100"],
    ))
    .await;
    let text = stdout(&output);
    assert!(text.contains("0 absent, 0 deleted"), "{text}");
    assert_eq!(fake.requests().len(), before);
    assert_eq!(synced(&dir.join("state.db")), 30);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_state_of_another_site_is_refused_until_the_move_is_said() {
    let (sandbox, production, dir) = (demo_fake(20).await, demo_fake(20).await, scratch());
    let file = customers_csv(&dir, 10, |_| "Pro");
    let output = run(sync_profiles(&dir, &sandbox, &file, &[])).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let output = run(sync_profiles(&dir, &production, &file, &[])).await;
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let said = stderr(&output);
    assert!(said.contains(sandbox.base_url()), "{said}");
    assert!(said.contains("--site-moved"), "{said}");
    assert!(production.requests().is_empty());
    let output = run(sync_profiles(&dir, &production, &file, &["--site-moved"])).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("10 unchanged"),
        "{}",
        stdout(&output)
    );
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_stops_a_sync_plainly_and_the_same_command_resumes_it() {
    // Tasks of a second, one at a time: the first is under way when SIGTERM comes.
    let (fake, dir) = (demo_fake(1000).await, scratch());
    let seeded = fake.state(|site| site.customers.len());
    let file = customers_csv(&dir, 300, |_| "Pro");
    let mut command = sync_profiles(&dir, &fake, &file, &["--max-in-flight", "1"]);
    let child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while submits(&fake).is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "nothing was sent"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let said = stderr(&output);
    assert_eq!(output.status.code(), Some(130), "{said}");
    assert!(said.contains("interrupted"), "{said}");
    assert!(said.contains("200 records were not sent"), "{said}");
    assert!(said.contains("csm sync customer-profiles"), "{said}");
    // The request under way was seen to its end and kept.
    assert_eq!(synced(&dir.join("state.db")), 100);
    assert_eq!(submits(&fake).len(), 1);

    let output = run(sync_profiles(&dir, &fake, &file, &["--max-in-flight", "5"])).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("200 new, 0 changed, 100 unchanged"),
        "{}",
        stdout(&output)
    );
    assert_eq!(submits(&fake).len(), 3);
    assert_eq!(fake.state(|site| site.customers.len()), 300 + seeded);
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn a_sync_killed_once_its_tasks_started_is_finished_by_the_next_run_without_a_write_twice() {
    let (fake, dir) = (demo_fake(1000).await, scratch());
    let file = customers_csv(&dir, 300, |_| "Pro");
    let state = dir.join("state.db");
    let mut child = sync_profiles(&dir, &fake, &file, &["--max-in-flight", "2"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Killed (SIGKILL: nothing of it runs after) once the state holds both tasks it started.
    let started = Instant::now();
    let tasks_kept = || -> i64 {
        rusqlite::Connection::open_with_flags(&state, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .and_then(|db| {
                db.query_row(
                    "SELECT count(*) FROM pending_requests WHERE task_id IS NOT NULL",
                    [],
                    |r| r.get(0),
                )
            })
            .unwrap_or(0)
    };
    while tasks_kept() < 2 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no task was kept"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let first = submits(&fake);

    let output = run(sync_profiles(&dir, &fake, &file, &[])).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    // The two it started, and the one it had kept before sending it, if it had.
    assert!(
        text.contains("requests of an interrupted run were seen to their end"),
        "{text}"
    );
    assert!(text.contains("0 failed"), "{text}");
    assert_eq!(synced(&state), 300);
    // The two tasks it started were waited for, not sent again: one request for the rest.
    let all = submits(&fake);
    assert_eq!(
        all.len(),
        first.len() + 1,
        "{} then {}",
        first.len(),
        all.len()
    );
    let keys: std::collections::BTreeSet<&str> = all
        .iter()
        .map(|r| r.header("idempotency-key").unwrap())
        .collect();
    assert_eq!(keys.len(), all.len(), "a request was sent twice");
}
