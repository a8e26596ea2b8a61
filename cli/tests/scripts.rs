//! `csm` as scripts and cron jobs use it: one JSON summary object as the last line of standard
//! output (`--output json`), shell completions, profiles from a configuration file.

mod support;

use serde_json::Value;
use support::*;

/// The last line of standard output, as JSON; standard output holds nothing else.
fn summary(output: &std::process::Output) -> Value {
    let text = stdout(output);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "the summary alone on stdout: {text}");
    let summary: Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(
        summary["exit_code"].as_i64(),
        output.status.code().map(i64::from),
        "{summary}"
    );
    assert!(summary["duration_seconds"].as_f64().unwrap() >= 0.0);
    summary
}

#[tokio::test(flavor = "multi_thread")]
async fn import_sync_fields_and_tasks_each_end_with_one_json_summary() {
    let (fake, dir) = (demo_fake(20).await, scratch());
    let file = customers_csv(&dir, 30, |i| if i == 7 { "Gold" } else { "Pro" });
    let json = |args: &[&str]| {
        let mut command = csm_at(&dir, fake.base_url());
        command.args(["--output", "json"]).args(args);
        run(command)
    };

    let output = json(&[
        "import",
        "customer-profiles",
        "customers.csv",
        "--failures",
        "failed.csv",
    ])
    .await;
    let import = summary(&output);
    assert_eq!(import["command"], "import");
    assert_eq!(import["entity"], "customer-profiles");
    assert_eq!(import["records"], 30);
    assert_eq!(import["succeeded"], 29, "{import}");
    assert_eq!(import["failed"], 1);
    assert_eq!(import["failures_file"], "failed.csv");
    assert_eq!(import["exit_code"], 1);
    assert!(stderr(&output).contains("30 records: 29 succeeded, 1 failed"));

    let output = json(&[
        "sync",
        "customer-profiles",
        "customers.csv",
        "--state",
        "state.db",
    ])
    .await;
    let sync = summary(&output);
    assert_eq!(sync["command"], "sync");
    assert_eq!(sync["failed"], 1, "{sync}");
    let (new, unchanged) = (
        sync["new"].as_u64().unwrap(),
        sync["unchanged"].as_u64().unwrap(),
    );
    assert_eq!(new + unchanged, 30, "{sync}");

    std::fs::write(
        dir.join("fields.yaml"),
        "customer:\n  - name: Segment\n    type: TEXT\n",
    )
    .unwrap();
    let output = json(&["fields", "apply", "fields.yaml"]).await;
    let fields = summary(&output);
    assert_eq!(fields["command"], "fields apply");
    assert_eq!(fields["created"], 1, "{fields}");
    assert_eq!(fields["exit_code"], 0);

    let task = fake
        .client()
        .bulk_manage_organizations()
        .body(
            atlassian_csm::types::BulkOrganizationRequest::builder().organizations(vec![
                atlassian_csm::types::BulkOrganizationOperationRequest::try_from(
                    atlassian_csm::types::BulkOrganizationOperationRequest::create()
                        .name("Initech"),
                )
                .unwrap(),
            ]),
        )
        .send()
        .await
        .unwrap()
        .into_inner();
    let output = json(&["tasks", "wait", &task.id]).await;
    let wait = summary(&output);
    assert_eq!(wait["command"], "tasks wait");
    assert_eq!(wait["task_id"], task.id.as_str());
    assert_eq!(wait["status"], "FINISHED");
    assert_eq!(wait["task"]["id"], task.id.as_str());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_command_that_fails_still_ends_with_its_summary() {
    let (fake, dir) = (demo_fake(20).await, scratch());
    std::fs::write(dir.join("bad.csv"), "email,displayName\nnot-an-address,A\n").unwrap();
    let mut command = csm_at(&dir, fake.base_url());
    command.args(["--output", "json", "import", "customer-profiles", "bad.csv"]);
    let output = run(command).await;
    assert_eq!(output.status.code(), Some(3));
    let refused = summary(&output);
    assert_eq!(refused["invalid"], 1, "{refused}");
    assert!(fake.requests().is_empty());

    let mut command = csm(&dir);
    command.args(["--output", "json", "tasks", "wait", "t-1"]);
    let output = run(command).await;
    let failed = summary(&output);
    assert!(
        failed["error"]
            .as_str()
            .unwrap()
            .contains("no site configured"),
        "{failed}"
    );
    assert_eq!(failed["exit_code"], 3);
}

#[test]
fn completions_name_every_command_and_bash_reads_its_script() {
    let dir = scratch();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let output = csm(&dir).args(["completions", shell]).output().unwrap();
        assert!(output.status.success(), "{shell}: {}", stderr(&output));
        let script = stdout(&output);
        for word in [
            "get-products",
            "import",
            "customer-profiles",
            "output",
            "completions",
        ] {
            assert!(script.contains(word), "{shell}: no {word}");
        }
    }
    let script = dir.join("csm.bash");
    let output = csm(&dir).args(["completions", "bash"]).output().unwrap();
    std::fs::write(&script, &output.stdout).unwrap();
    let checked = std::process::Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .unwrap();
    assert!(checked.status.success(), "{}", stderr(&checked));
    let refused = csm(&dir).args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(refused.status.code(), Some(2));

    let page = csm(&dir).arg("man").output().unwrap();
    let page = stdout(&page);
    assert!(
        page.starts_with(".ie") && page.contains(".TH csm 1"),
        "{page}"
    );
}
