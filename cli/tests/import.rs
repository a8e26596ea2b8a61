//! `csm import` end to end: the binary against the fake.

mod support;

use atlassian_csm_mock::FakeCsm;
use std::time::Duration;
use support::*;

/// Row 3 has a detail value longer than the API allows, row 7 an operation it does not know;
/// the fake fails row 5 (no such option).
fn csv_with_bad_rows(dir: &std::path::Path) -> std::path::PathBuf {
    let long = "x".repeat(300);
    let text = format!(
        "operationType,email,displayName,detail:Plan\n\
         UPSERT,a@example.com,A,Pro\n\
         UPSERT,b@example.com,B,Free\n\
         UPSERT,c@example.com,C,{long}\n\
         UPSERT,d@example.com,D,Pro\n\
         UPSERT,e@example.com,E,Platinum\n\
         UPSERT,f@example.com,F,Free\n\
         UPSRT,g@example.com,G,Pro\n"
    );
    let path = dir.join("bad.csv");
    std::fs::write(&path, text).unwrap();
    path
}

/// `csm import customer-profiles FLAGS FILE` against `fake`.
fn import(
    dir: &std::path::Path,
    fake: &FakeCsm,
    file: &std::path::Path,
    flags: &[&str],
) -> std::process::Command {
    let mut command = csm_at(dir, fake.base_url());
    command
        .args(["import", "customer-profiles"])
        .args(flags)
        .arg(file);
    command
}

async fn fake() -> FakeCsm {
    demo_fake(20).await
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_rows_are_listed_with_line_column_and_reason_and_nothing_is_sent() {
    let (fake, dir) = (fake().await, scratch());
    let file = csv_with_bad_rows(&dir);
    let output = run(import(&dir, &fake, &file, &[])).await;
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let errors = stderr(&output);
    assert!(errors.contains("line 4, column detail:Plan:"), "{errors}");
    assert!(errors.contains("line 8, column operationType:"), "{errors}");
    assert!(
        errors.contains("2 of 7 rows are invalid; nothing was sent"),
        "{errors}"
    );
    assert!(fake.requests().is_empty(), "nothing reaches the site");
}

/// Rows a careless export gives: empty, missing and malformed emails, a create without one, an
/// update with nothing to update, an over-long value. Each breaks a rule of the document.
#[tokio::test(flavor = "multi_thread")]
async fn rows_breaking_the_documents_rules_are_each_named_and_nothing_is_sent() {
    let (fake, dir) = (fake().await, scratch());
    let long = "x".repeat(256);
    let rows = [
        ("UPSERT,ok@example.com,,Fine,Pro", None),
        (
            "UPSERT,,,Empty email,Pro",
            Some("line 3: Either email or customerId is required"),
        ),
        (
            "UPSERT,ada@,,Half,Pro",
            Some("line 4, column email: \"ada@\" is not an email address"),
        ),
        (
            "UPSERT,not-an-address,,No at,Pro",
            Some("line 5, column email: \"not-an-address\" is not"),
        ),
        (
            "UPSERT,a b@example.com,,Space,Pro",
            Some("line 6, column email: \"a b@example.com\" is not"),
        ),
        (
            "UPSERT,ada@example..com,,Dots,Pro",
            Some("line 7, column email:"),
        ),
        (
            "CREATE,,qm:1:2,By id,Pro",
            Some("line 8, column email: To create a new customer, email must be provided."),
        ),
        (
            "UPDATE,b@example.com,,,",
            Some("line 9: At least one of displayName, details"),
        ),
        (
            &format!("UPSERT,c@example.com,,Long,{long}") as &str,
            Some("line 10, column detail:Plan: "),
        ),
        ("UPSERT,ok2@example.com,,Fine too,Free", None),
    ];
    let mut text = String::from("operationType,email,customerId,displayName,detail:Plan\n");
    for (row, _) in &rows {
        text.push_str(row);
        text.push('\n');
    }
    let file = dir.join("careless.csv");
    std::fs::write(&file, text).unwrap();
    let output = run(import(&dir, &fake, &file, &[])).await;
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let errors = stderr(&output);
    for expected in rows.iter().filter_map(|(_, reason)| *reason) {
        assert!(errors.contains(expected), "{expected:?} not in {errors}");
    }
    assert!(
        errors.contains("8 of 10 rows are invalid; nothing was sent"),
        "{errors}"
    );
    assert!(fake.requests().is_empty(), "nothing reaches the site");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_column_is_refused_before_any_row() {
    let (fake, dir) = (fake().await, scratch());
    let file = dir.join("typo.csv");
    std::fs::write(&file, "emial,displayName\na@example.com,A\n").unwrap();
    let output = run(import(&dir, &fake, &file, &[])).await;
    assert_eq!(output.status.code(), Some(3));
    assert!(
        stderr(&output).contains("emial is not a field"),
        "{}",
        stderr(&output)
    );
    assert!(fake.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn skipped_and_failed_rows_go_unchanged_to_the_failures_file() {
    let (fake, dir) = (fake().await, scratch());
    let file = csv_with_bad_rows(&dir);
    let failures = dir.join("failures.csv");
    let failures_flag = failures.to_str().unwrap();
    let flags = ["--skip-invalid", "--failures", failures_flag];
    let output = run(import(&dir, &fake, &file, &flags)).await;
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("5 records: 4 succeeded, 1 failed; 2 invalid rows skipped"),
        "{}",
        stdout(&output)
    );
    let mut reader = csv::Reader::from_path(&failures).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header,
        [
            "operationType",
            "email",
            "displayName",
            "detail:Plan",
            "error"
        ]
    );
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    let emails: Vec<&str> = rows.iter().map(|r| r[1].as_str()).collect();
    assert_eq!(emails, ["c@example.com", "e@example.com", "g@example.com"]);
    assert_eq!(
        rows[1][..4],
        ["UPSERT", "e@example.com", "E", "Platinum"],
        "the row as it was"
    );
    assert!(
        rows[1][4].contains("'Platinum' is not an option"),
        "{}",
        rows[1][4]
    );
    assert!(
        rows[0][4].starts_with("invalid: line 4, column detail:Plan"),
        "{}",
        rows[0][4]
    );
    assert!(
        rows[2][4].starts_with("invalid: line 8, column operationType"),
        "{}",
        rows[2][4]
    );
    // What succeeded is on the site.
    let imported = fake.state(|s| s.customer_by_email("f@example.com").is_some());
    assert!(imported);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_prints_the_plan_and_sends_nothing() {
    let (fake, dir) = (fake().await, scratch());
    let file = customers_csv(&dir, 250, |_| "Pro");
    let flags = ["--dry-run", "--task-seconds", "3"];
    let output = run(import(&dir, &fake, &file, &flags)).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let plan = stdout(&output);
    assert!(
        plan.contains("250 rows: 250 records to import, 0 invalid"),
        "{plan}"
    );
    assert!(
        plan.contains("3 requests (100 records at most each), so 3 tasks, 5 at once"),
        "{plan}"
    );
    assert!(
        plan.contains("estimated time: 3 s (1 rounds of tasks at 3 s a task, --task-seconds)"),
        "{plan}"
    );
    // And at a live site's pace: 250 records one task at a time, 4.8 s a record.
    assert!(
        plan.contains(
            "one at a time at a live site's published pace (8 min per 100 records): 20 min 00 s"
        ),
        "{plan}"
    );
    assert!(fake.requests().is_empty(), "a dry run sends nothing");
}

#[tokio::test(flavor = "multi_thread")]
async fn json_lines_import_and_name_the_field_at_fault() {
    let (fake, dir) = (fake().await, scratch());
    let file = dir.join("profiles.jsonl");
    let long = "y".repeat(300);
    std::fs::write(
        &file,
        format!(
            "{{\"operationType\":\"UPSERT\",\"payload\":{{\"email\":\"j@example.com\"}}}}\n\n\
             {{\"operationType\":\"UPSERT\",\"payload\":{{\"email\":\"k@example.com\",\"details\":[{{\"name\":\"Plan\",\"values\":[\"{long}\"]}}]}}}}\n"
        ),
    )
    .unwrap();
    let output = run(import(&dir, &fake, &file, &[])).await;
    assert_eq!(output.status.code(), Some(3));
    assert!(
        stderr(&output).contains("line 3, column payload.details[0].values[0]:"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn progress_is_plain_lines_when_stdout_is_not_a_terminal() {
    let (fake, dir) = (fake().await, scratch());
    let file = customers_csv(&dir, 300, |_| "Free");
    let output = run(import(&dir, &fake, &file, &[])).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("300/300 records (100 %)"), "{text}");
    assert_eq!(
        text.matches("300/300 records").count(),
        1,
        "the last line once: {text}"
    );
    assert!(
        !text.contains('\u{1b}'),
        "no terminal codes in a log: {text:?}"
    );
    assert!(
        text.contains("300 records: 300 succeeded, 0 failed"),
        "{text}"
    );
}

/// `script` (util-linux) runs a command in a real pseudo-terminal.
fn script_available() -> bool {
    std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_terminal_gets_a_live_progress_bar() {
    assert!(
        script_available(),
        "`script` (util-linux) is needed to run csm in a pseudo-terminal"
    );
    let fake = demo_fake(150).await;
    let dir = scratch();
    let file = customers_csv(&dir, 2000, |_| "Pro");
    let typescript = dir.join("typescript");
    let inner = format!(
        "{} import customer-profiles {}",
        env!("CARGO_BIN_EXE_csm"),
        file.display()
    );
    let mut command = csm_at(&dir, fake.base_url());
    command = {
        let mut script = std::process::Command::new("script");
        script.args(["-qfec", &inner]).arg(&typescript);
        for (name, value) in command.get_envs() {
            match value {
                Some(value) => script.env(name, value),
                None => script.env_remove(name),
            };
        }
        script.current_dir(&dir);
        script
    };
    let output = run(command).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let screen = std::fs::read_to_string(&typescript).unwrap();
    // The bar is redrawn in place (carriage returns and erase-line codes) as records finish.
    let positions: std::collections::BTreeSet<&str> = screen
        .split(" records · ")
        .filter_map(|before| before.rsplit(' ').next())
        .filter(|count| count.ends_with("/2000"))
        .collect();
    assert!(positions.len() >= 4, "the bar moved through {positions:?}");
    assert!(screen.contains("\u{1b}[2K"), "redrawn in place");
    assert!(screen.contains("2000/2000 records"), "ends full");
    assert!(screen.contains("ETA"), "with the time left");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_import_resumes_from_its_journal_with_nothing_finished_sent_again() {
    let fake = demo_fake(150).await;
    let dir = scratch();
    let file = customers_csv(
        &dir,
        3000,
        |i| if i % 500 == 7 { "Platinum" } else { "Pro" },
    );
    let journal = dir.join("import.journal");
    let journal_flag = journal.to_str().unwrap();
    let resumable = || import(&dir, &fake, &file, &["--journal", journal_flag]);
    let mut first = resumable()
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Killed once some tasks have ended (the journal says so) and before all have.
    let ended_lines = |text: &str| text.lines().filter(|l| l.contains("\"ended\"")).count();
    loop {
        let text = std::fs::read_to_string(&journal).unwrap_or_default();
        if ended_lines(&text) >= 5 {
            break;
        }
        assert!(
            first.try_wait().unwrap().is_none(),
            "the import ended before it was killed"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    first.kill().unwrap();
    first.wait().unwrap();
    let journal_text = std::fs::read_to_string(&journal).unwrap();
    let ended_keys: Vec<String> = ended_keys(&journal_text);
    assert!(
        ended_keys.len() >= 5 && ended_keys.len() < 30,
        "{}",
        ended_keys.len()
    );
    let sent_before = fake.requests().len();

    let output = run(resumable()).await;
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let summary = stdout(&output);
    assert!(
        summary.contains("3000 records: 2994 succeeded, 6 failed"),
        "{summary}"
    );

    let resubmitted: Vec<String> = fake.requests()[sent_before..]
        .iter()
        .filter(|r| r.path.ends_with("/bulk"))
        .filter_map(|r| r.header("idempotency-key").map(String::from))
        .filter(|key| ended_keys.contains(key))
        .collect();
    assert!(
        resubmitted.is_empty(),
        "finished requests sent again: {resubmitted:?}"
    );
    // Every request's content went under one key.
    let mut bodies = std::collections::HashMap::<String, Vec<u8>>::new();
    for request in submits(&fake) {
        let key = request.header("idempotency-key").unwrap().to_string();
        let first = bodies.entry(key).or_insert_with(|| request.body.clone());
        assert_eq!(*first, request.body, "one key, one content");
    }
    assert_eq!(
        bodies.len(),
        30,
        "3000 records in 30 requests, each under its own key"
    );
}

/// The keys of the requests whose task ended, as the journal recorded them.
fn ended_keys(journal: &str) -> Vec<String> {
    let events: Vec<serde_json::Value> = journal
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let key_of = |request: &serde_json::Value| {
        events
            .iter()
            .find(|e| e["event"] == "planned" && e["request"] == *request)
            .and_then(|e| e["key"].as_str())
            .map(String::from)
    };
    events
        .iter()
        .filter(|e| e["event"] == "ended")
        .filter_map(|e| key_of(&e["request"]))
        .collect()
}
