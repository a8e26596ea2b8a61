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
    customers_csv(&dir, 30, |i| if i == 7 { "Gold" } else { "Pro" });
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

/// Writes the configuration file `csm` under `dir` reads, with `mode`.
fn config(dir: &std::path::Path, text: &str, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let folder = dir.join("config").join("csm");
    std::fs::create_dir_all(&folder).unwrap();
    let file = folder.join("config.toml");
    std::fs::write(&file, text).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_profile_names_the_site_and_its_token_command_gives_the_token() {
    let (fake, dir) = (demo_fake(20).await, scratch());
    config(
        &dir,
        &format!(
            "[profile.prod]\nbase_url = \"{}\"\nemail = \"admin@acme.example\"\n\
             token_command = \"printf 'api-token-1234\\\\n'\"\n\n\
             [profile.oauth]\nbase_url = \"{}\"\ntoken_command = \"echo access-5678\"\n",
            fake.base_url(),
            fake.base_url()
        ),
        0o600,
    );
    let output = run({
        let mut command = csm(&dir);
        command.args(["--profile", "prod", "get-products"]);
        command
    })
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    let output = run({
        let mut command = csm(&dir);
        command.env("CSM_PROFILE", "oauth").arg("get-products");
        command
    })
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    let sent: Vec<String> = fake
        .requests()
        .iter()
        .map(|r| r.header("authorization").unwrap().to_string())
        .collect();
    let basic = format!("Basic {}", base64_of("admin@acme.example:api-token-1234"));
    assert_eq!(sent, [basic, "Bearer access-5678".to_string()]);

    let output = run({
        let mut command = csm(&dir);
        command.args(["--profile", "staging", "get-products"]);
        command
    })
    .await;
    assert_eq!(output.status.code(), Some(3));
    assert!(
        stderr(&output).contains("no profile \"staging\""),
        "{}",
        stderr(&output)
    );
    assert!(
        stderr(&output).contains("it has: oauth, prod"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_config_others_can_write_a_secret_in_clear_or_a_failing_command_is_refused() {
    let (fake, dir) = (demo_fake(20).await, scratch());
    let profile = |extra: &str| {
        format!(
            "[profile.prod]\nbase_url = \"{}\"\n{extra}\n",
            fake.base_url()
        )
    };
    let attempt = || {
        let mut command = csm(&dir);
        command.args(["--profile", "prod", "get-products"]);
        run(command)
    };
    config(&dir, &profile("token_command = \"echo t-1234\""), 0o666);
    let output = attempt().await;
    assert_eq!(output.status.code(), Some(3));
    assert!(
        stderr(&output).contains("can be written by others"),
        "{}",
        stderr(&output)
    );
    assert!(
        stderr(&output).contains("chmod go-w"),
        "{}",
        stderr(&output)
    );

    config(&dir, &profile("api_token = \"plain-secret-999\""), 0o600);
    let output = attempt().await;
    assert_eq!(output.status.code(), Some(3));
    let errors = stderr(&output);
    assert!(
        errors.contains("keeps a secret in clear (api_token)"),
        "{errors}"
    );
    assert!(!errors.contains("plain-secret-999"), "{errors}");

    config(&dir, &profile("token_command = \"exit 7\""), 0o600);
    let output = attempt().await;
    assert_eq!(output.status.code(), Some(3));
    assert!(
        stderr(&output).contains("its token_command failed"),
        "{}",
        stderr(&output)
    );
    assert!(fake.requests().is_empty(), "nothing was sent");
}

/// Standard base64, for the expected Basic header.
fn base64_of(text: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in text.as_bytes().chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn the_example_csm_help_import_shows_is_a_valid_file() {
    let (fake, dir) = (demo_fake(20).await, scratch());
    let help = csm(&dir).args(["help", "import"]).output().unwrap();
    let help = stdout(&help);
    let example: Vec<&str> = help
        .lines()
        .skip_while(|line| !line.starts_with("Example: customers.csv"))
        .skip(1)
        .map(str::trim)
        .skip_while(|line| line.is_empty())
        .take_while(|line| !line.is_empty())
        .collect();
    assert!(example.len() >= 2, "{help}");
    std::fs::write(dir.join("customers.csv"), example.join("\n") + "\n").unwrap();
    let mut command = csm_at(&dir, fake.base_url());
    command.args(["import", "customer-profiles", "customers.csv", "--dry-run"]);
    let output = run(command).await;
    assert!(
        output.status.success(),
        "{}{}",
        stdout(&output),
        stderr(&output)
    );
    assert!(stdout(&output).contains("0 invalid"), "{}", stdout(&output));
}

#[tokio::test(flavor = "multi_thread")]
async fn verbose_shows_each_attempt_and_never_a_credential() {
    let fake = atlassian_csm_mock::FakeCsm::builder()
        .seed_demo(true)
        .fail_next_for("get-products", 1, atlassian_csm_mock::Fault::Status(503))
        .start()
        .await
        .unwrap();
    let dir = scratch();
    let mut command = csm_at(&dir, fake.base_url());
    command.args(["-v", "get-products", "--limit", "2"]);
    let output = run(command).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let lines = stderr(&output);
    let attempts: Vec<&str> = lines.lines().filter(|l| l.contains("(attempt ")).collect();
    assert_eq!(attempts.len(), 2, "{lines}");
    assert!(
        attempts[0].starts_with(
            "csm: GET /api/v1/product?limit=2 (attempt 1) → 503 Service Unavailable in "
        ),
        "{lines}"
    );
    assert!(attempts[0].contains("; retry in "), "{lines}");
    assert!(attempts[1].contains("(attempt 2) → 200 OK"), "{lines}");
    assert!(attempts[1].ends_with("; done"), "{lines}");
    assert!(!lines.contains("test-token"), "{lines}");
    assert!(
        !lines.contains("hyper_util"),
        "-v is about requests: {lines}"
    );
    assert!(
        !lines.contains('\u{1b}'),
        "no colour off a terminal: {lines}"
    );

    let mut command = csm_at(&dir, fake.base_url());
    command.args(["-vv", "get-products"]);
    let output = run(command).await;
    let lines = stderr(&output);
    assert!(
        lines.contains("connecting to 127.0.0.1"),
        "-vv shows the transport: {lines}"
    );
    assert!(!lines.contains("test-token"), "{lines}");
}
