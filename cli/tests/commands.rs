//! The generated operation commands, configuration, exit codes, `csm tasks`, `csm fields` and
//! `csm mock`, end to end: the binary against the fake.

mod support;

use atlassian_csm_mock::{FakeCsm, Fault};
use std::io::{BufRead, BufReader};
use std::time::Duration;
use support::*;

#[tokio::test(flavor = "multi_thread")]
async fn every_operation_is_a_command_named_by_its_id() {
    let dir = scratch();
    let mut command = csm(&dir);
    command.arg("--help");
    let help = stdout(&run(command).await);
    // The document the commands are generated from: the vendored one with its corrections.
    let document: serde_json::Value = serde_json::from_str(include_str!(concat!(
        env!("OUT_DIR"),
        "/csm.generated.json"
    )))
    .unwrap();
    let mut missing = Vec::new();
    let mut operations = 0;
    for item in document["paths"].as_object().unwrap().values() {
        for operation in item.as_object().unwrap().values() {
            if let Some(id) = operation["operationId"].as_str() {
                operations += 1;
                if !help.contains(&format!("  {id}\n")) {
                    missing.push(id.to_string());
                }
            }
        }
    }
    assert!(missing.is_empty(), "no command for {missing:?}");
    assert_eq!(operations, 54, "every operation the client has");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_answer_is_compact_json_on_stdout_when_piped() {
    let (fake, dir) = (demo_fake(50).await, scratch());
    let mut command = csm_at(&dir, fake.base_url());
    command.args(["get-products", "--limit", "2"]);
    let output = run(command).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    assert_eq!(text.lines().count(), 1, "one line: {text}");
    let answer: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(answer["results"].as_array().unwrap().len(), 2);
    let request = &fake.requests()[0];
    assert_eq!(request.path, "/api/v1/product?limit=2");
}

#[tokio::test(flavor = "multi_thread")]
async fn help_keeps_the_cron_line_whole_and_the_global_flags_apart() {
    let dir = scratch();
    for flag in ["--help", "-h"] {
        let mut command = csm(&dir);
        command.env("COLUMNS", "60").args(["sync", flag]);
        let output = run(command).await;
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        let help = stdout(&output);
        let cron = help
            .lines()
            .find(|line| line.trim_start().starts_with("0 2 * * * csm sync"))
            .expect("a cron line");
        assert!(
            cron.ends_with("--failures /var/log/csm/failed.csv"),
            "the cron line was wrapped: {help}"
        );
        // The command's own flags, then the flags every command takes, apart.
        let (own, global) = help.split_once("Global options:").expect("a heading");
        assert!(own.contains("--state"), "{help}");
        assert!(!own.contains("--cloud-id"), "{help}");
        assert!(
            global.contains("--cloud-id") && global.contains("--verbose"),
            "{help}"
        );
        assert!(
            help.lines().all(|line| line.len() <= 60 || line == cron),
            "{help}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn csm_names_itself_in_its_requests() {
    let (fake, dir) = (demo_fake(50).await, scratch());
    let mut command = csm_at(&dir, fake.base_url());
    command.args(["get-products", "--limit", "1"]);
    let output = run(command).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let requests = fake.requests();
    assert!(!requests.is_empty());
    for request in &requests {
        assert_eq!(
            request.header("user-agent"),
            Some(concat!("csm/", env!("CARGO_PKG_VERSION"))),
            "{}",
            request.path
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_comes_from_a_file_or_stdin_and_flags_set_fields_on_top() {
    let (fake, dir) = (FakeCsm::start().await.unwrap(), scratch());
    std::fs::write(dir.join("product.json"), r#"{"name": "From the file"}"#).unwrap();
    let mut command = csm_at(&dir, fake.base_url());
    command.args([
        "create-product",
        "--body",
        "product.json",
        "--name",
        "From the flag",
    ]);
    let output = run(command).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let created: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(created["name"], "From the flag");

    let mut command = csm_at(&dir, fake.base_url());
    command
        .args(["create-product", "--body", "-"])
        .stdin(std::fs::File::open(dir.join("product.json")).unwrap());
    let output = run(command).await;
    let created: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(created["name"], "From the file");
}

#[tokio::test(flavor = "multi_thread")]
async fn exit_codes_tell_usage_input_refusal_and_failure_apart() {
    let (fake, dir) = (FakeCsm::start().await.unwrap(), scratch());
    let code = |args: &'static [&'static str], base_url: String| {
        let mut command = csm_at(&dir, &base_url);
        command.args(args).stdin(std::process::Stdio::null());
        async move {
            let output = run(command).await;
            (output.status.code(), stderr(&output))
        }
    };
    let url = fake.base_url().to_string();
    assert_eq!(
        code(&["get-products", "--no-such-flag"], url.clone())
            .await
            .0,
        Some(2)
    );
    std::fs::write(dir.join("typo.json"), r#"{"nmae": "X"}"#).unwrap();
    let (status, message) = code(&["create-product", "--body", "typo.json"], url.clone()).await;
    assert_eq!(status, Some(3), "{message}");
    assert!(message.contains("unknown field `nmae`"), "{message}");
    assert!(fake.requests().is_empty(), "an invalid body is not sent");
    let (status, message) = code(&["get-product", "--product-id", "nope"], url.clone()).await;
    assert_eq!(status, Some(4), "{message}");
    assert!(message.contains("404"), "{message}");
    fake.fail_next(20, Fault::ServerError);
    assert_eq!(code(&["get-products"], url).await.0, Some(5));
    let closed = "http://127.0.0.1:9".to_string();
    assert_eq!(code(&["get-products"], closed).await.0, Some(5));
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_site_or_credentials_the_error_says_what_to_set() {
    let dir = scratch();
    let mut command = csm(&dir);
    command.arg("get-products");
    let output = run(command).await;
    assert_eq!(output.status.code(), Some(3));
    assert!(
        stderr(&output).contains("set CSM_CLOUD_ID"),
        "{}",
        stderr(&output)
    );

    let mut command = csm(&dir);
    command
        .args([
            "get-products",
            "--cloud-id",
            "a436116f-02ce-4520-8fbb-7301462a1674",
        ])
        .env("CSM_EMAIL", "admin@example.com");
    let output = run(command).await;
    assert_eq!(output.status.code(), Some(3));
    assert!(stderr(&output).contains("CSM_EMAIL is set but not CSM_API_TOKEN"));
}

#[tokio::test(flavor = "multi_thread")]
async fn no_secret_is_printed_even_verbose() {
    let (fake, dir) = (FakeCsm::start().await.unwrap(), scratch());
    for (variables, secret) in [
        (
            vec![("CSM_ACCESS_TOKEN", "bearer-secret-1234")],
            "bearer-secret-1234",
        ),
        (
            vec![
                ("CSM_EMAIL", "admin@example.com"),
                ("CSM_API_TOKEN", "api-secret-5678"),
            ],
            "api-secret-5678",
        ),
    ] {
        for verbosity in ["--verbose", "-vv"] {
            let mut command = csm(&dir);
            command
                .args([verbosity, "get-product", "--product-id", "nope"])
                .env("CSM_BASE_URL", fake.base_url())
                .envs(variables.clone());
            let output = run(command).await;
            assert_eq!(output.status.code(), Some(4));
            let everything = format!("{}{}", stdout(&output), stderr(&output));
            assert!(
                everything.contains("GET /api/v1/product/nope (attempt 1) → 404 Not Found"),
                "{verbosity} prints each attempt: {everything}"
            );
            assert!(!everything.contains(secret), "{everything}");
            assert!(!everything.contains("Basic "), "{everything}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn tasks_wait_prints_the_ended_task() {
    let fake = FakeCsm::builder()
        .task_timing(Duration::ZERO, Duration::from_millis(100))
        .start()
        .await
        .unwrap();
    let dir = scratch();
    std::fs::write(
        dir.join("bulk.json"),
        r#"{"customerProfiles": [{"operationType": "UPSERT", "payload": {"email": "t@example.com"}}]}"#,
    )
    .unwrap();
    let mut command = csm_at(&dir, fake.base_url());
    command.args([
        "bulk-manage-multiple-customer-profiles",
        "--body",
        "bulk.json",
    ]);
    let submitted: serde_json::Value = serde_json::from_str(&stdout(&run(command).await)).unwrap();
    let id = submitted["id"].as_str().unwrap().to_string();

    let mut command = csm_at(&dir, fake.base_url());
    command.args(["tasks", "wait", &id]);
    let output = run(command).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let task: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(task["status"], "FINISHED");
    assert!(stderr(&output).contains(&format!("task {id}: FINISHED")));

    let mut command = csm_at(&dir, fake.base_url());
    command.args(["tasks", "wait", "no-such-task"]);
    assert_eq!(run(command).await.status.code(), Some(4));
}

#[tokio::test(flavor = "multi_thread")]
async fn fields_apply_creates_what_is_missing_reports_what_differs_and_is_idempotent() {
    let (fake, dir) = (demo_fake(50).await, scratch());
    std::fs::write(
        dir.join("fields.yaml"),
        "customer:\n\
         \x20 - name: Plan\n\
         \x20   type: { name: SELECT, options: [Enterprise, Pro, Free] }\n\
         \x20 - name: Segment\n\
         \x20   type: TEXT\n\
         organization:\n\
         \x20 - name: Tier\n\
         \x20   type: TEXT\n",
    )
    .unwrap();
    let apply = || {
        let mut command = csm_at(&dir, fake.base_url());
        command.args(["fields", "apply", "fields.yaml"]);
        run(command)
    };
    let output = apply().await;
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "Tier differs: {text}");
    assert!(
        text.contains("customer Plan: unchanged"),
        "options in any order: {text}"
    );
    assert!(text.contains("customer Segment: created"), "{text}");
    assert!(
        text.contains(
            "organization Tier: differs, left as is: the site's type is SELECT, the file's TEXT"
        ),
        "{text}"
    );
    let tier = fake.state(|s| {
        s.field(atlassian_csm_mock::Entity::Organization, "Tier")
            .map(|f| f.type_name.clone())
    });
    assert_eq!(tier.as_deref(), Some("SELECT"), "nothing changed");

    let writes = |fake: &FakeCsm| fake.requests().iter().filter(|r| r.method != "GET").count();
    let before = writes(&fake);
    let text = stdout(&apply().await);
    assert!(text.contains("0 created, 2 unchanged, 1 differ"), "{text}");
    assert_eq!(writes(&fake), before, "a second run writes nothing");
}

#[tokio::test(flavor = "multi_thread")]
async fn csm_mock_serves_demo_data_that_other_commands_find() {
    let dir = scratch();
    let mut command = csm(&dir);
    command
        .args(["mock", "--port", "0"])
        .stdout(std::process::Stdio::piped());
    let mut mock = command.spawn().unwrap();
    let first_line = tokio::task::spawn_blocking({
        let stdout = mock.stdout.take().unwrap();
        move || {
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line).unwrap();
            line
        }
    })
    .await
    .unwrap();
    assert!(
        first_line.starts_with("fake CSM API at http://127.0.0.1:"),
        "{first_line}"
    );

    let mut command = csm(&dir);
    command.arg("get-products");
    let output = run(command).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).contains("Acme Widget"));
    assert!(stderr(&output).contains("using the fake"));

    // Stopped, it removes its marker: commands no longer find a site.
    let stopped = std::process::Command::new("kill")
        .args(["-TERM", &mock.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    mock.wait().unwrap();
    let mut command = csm(&dir);
    command.arg("get-products");
    assert_eq!(run(command).await.status.code(), Some(3));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_fake_found_by_its_marker_never_gets_the_users_credentials() {
    let (fake, dir) = (demo_fake(50).await, scratch());
    std::fs::write(dir.join("csm-mock-tester-4242.url"), fake.base_url()).unwrap();
    let mut command = csm(&dir);
    command
        .arg("get-products")
        .env("USER", "tester")
        .env("CSM_ACCESS_TOKEN", "the-users-real-token");
    let output = run(command).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let sent = fake.requests()[0].header("authorization").map(String::from);
    assert_eq!(sent.as_deref(), Some("Bearer fake"));

    // A marker naming another machine is not followed.
    std::fs::write(
        dir.join("csm-mock-tester-4242.url"),
        "http://192.0.2.1:8790",
    )
    .unwrap();
    let mut command = csm(&dir);
    command.arg("get-products").env("USER", "tester");
    let output = run(command).await;
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert!(stderr(&output).contains("no site configured"));
}
