//! `csm runs`: the runs a sync state recorded, read back from the state two syncs wrote.

mod support;

use support::*;

#[tokio::test(flavor = "multi_thread")]
async fn the_runs_of_a_state_are_listed_with_their_counts_and_trend() {
    let (fake, dir) = (demo_fake(20).await, scratch());
    let rows = customers_csv(&dir, 120, |_| "Pro");
    for _ in 0..2 {
        let output = run(sync_profiles(&dir, &fake, &rows, &[])).await;
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    }
    let state = dir.join("state.db");
    let before = std::fs::read(&state).unwrap();

    let mut command = csm(&dir);
    command.args(["runs", "--state"]).arg(&state);
    let output = run(command).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "a header, two runs, the trend: {text}");
    let columns = |line: &str| {
        line.split_whitespace()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    // started (date, time), took, sent, sent/s, new, changed, unchanged, absent, deleted,
    // failed, entity
    let first = columns(lines[1]);
    let second = columns(lines[2]);
    let counts = |row: &[String]| [&row[3..4], &row[5..12]].concat();
    assert_eq!(
        counts(&first),
        ["120", "120", "0", "0", "0", "0", "0", "customer_profiles"]
    );
    assert_eq!(
        counts(&second),
        ["0", "0", "0", "120", "0", "0", "0", "customer_profiles"]
    );
    assert_eq!(second[4], "0.0", "nothing sent: no pace");
    assert!(lines[3].starts_with("took "), "{text}");

    let mut command = csm(&dir);
    command
        .args(["--output", "json", "runs", "--state"])
        .arg(&state);
    let output = run(command).await;
    let object: serde_json::Value = serde_json::from_str(stdout(&output).trim()).unwrap();
    let runs = object["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["new"], 120);
    assert_eq!(runs[1]["unchanged"], 120);
    assert!(runs[1]["finished_at"].as_i64() >= runs[1]["started_at"].as_i64());
    assert_eq!(
        std::fs::read(&state).unwrap(),
        before,
        "reading wrote nothing"
    );

    // A file that is no state is refused, and left as it was.
    let other = dir.join("notes.db");
    std::fs::write(&other, "not a database").unwrap();
    let mut command = csm(&dir);
    command.args(["runs", "--state"]).arg(&other);
    let output = run(command).await;
    assert_ne!(output.status.code(), Some(0));
    assert!(stderr(&output).contains("notes.db"), "{}", stderr(&output));
    assert_eq!(std::fs::read(&other).unwrap(), b"not a database");
}
