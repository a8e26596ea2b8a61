//! `csm --metrics-file`: the run as a Prometheus text exposition, read back with a Prometheus
//! parser and checked against what the fake saw.

mod support;

use std::collections::HashMap;
use support::*;

/// The samples of the exposition at `path` (an import's), by metric name and `outcome` label
/// (empty without).
fn samples(path: &std::path::Path) -> HashMap<(String, String), f64> {
    samples_of(path, "import")
}

/// The samples of the exposition `command` wrote at `path`.
fn samples_of(path: &std::path::Path, command: &str) -> HashMap<(String, String), f64> {
    let text = std::fs::read_to_string(path).unwrap();
    let lines = text.lines().map(|line| Ok(line.to_string()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("a valid exposition");
    scrape
        .samples
        .into_iter()
        .map(|sample| {
            let value = match sample.value {
                prometheus_parse::Value::Gauge(value) | prometheus_parse::Value::Untyped(value) => {
                    value
                }
                other => panic!("{} is not a gauge: {other:?}", sample.metric),
            };
            assert_eq!(sample.labels.get("command"), Some(command));
            assert_eq!(sample.labels.get("entity"), Some("customer-profiles"));
            let outcome = sample.labels.get("outcome").unwrap_or_default().to_string();
            ((sample.metric, outcome), value)
        })
        .collect()
}

/// How many of the rows `customers_csv` wrote (`user{i}@example.com`, `i < rows`) the fake holds.
fn created(fake: &atlassian_csm_mock::FakeCsm, rows: usize) -> usize {
    fake.state(|site| {
        (0..rows)
            .filter(|i| {
                site.customer_by_email(&format!("user{i}@example.com"))
                    .is_some()
            })
            .count()
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn an_import_leaves_its_metrics_for_the_textfile_collector() {
    let (fake, dir) = (demo_fake(20).await, scratch());
    let metrics = dir.join("csm.prom");
    let rows = customers_csv(&dir, 250, |i| if i % 50 == 7 { "Platinum" } else { "Pro" });
    let import = |metrics: &std::path::Path| {
        let mut command = csm_at(&dir, fake.base_url());
        command
            .arg("--metrics-file")
            .arg(metrics)
            .args(["import", "customer-profiles"])
            .arg(&rows);
        command
    };
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as f64;
    let output = run(import(&metrics)).await;
    // Five rows name a plan the site lacks: they fail, the run exits non-zero.
    assert_ne!(output.status.code(), Some(0), "{}", stderr(&output));
    let seen = samples(&metrics);
    let value = |name: &str, outcome: &str| seen[&(name.to_string(), outcome.to_string())];
    let succeeded_at_the_fake = created(&fake, 250);
    assert_eq!(succeeded_at_the_fake, 245);
    assert_eq!(
        value("csm_run_records", "succeeded"),
        succeeded_at_the_fake as f64
    );
    assert_eq!(value("csm_run_records", "failed"), 5.0);
    assert_eq!(value("csm_run_records", "records"), 250.0);
    assert_eq!(value("csm_run_in_progress", ""), 0.0);
    assert_eq!(
        value("csm_run_exit_code", ""),
        f64::from(output.status.code().unwrap())
    );
    assert!(value("csm_run_duration_seconds", "") > 0.0);
    assert!(
        !seen.contains_key(&(
            "csm_run_last_success_timestamp_seconds".into(),
            String::new()
        )),
        "no run has succeeded yet"
    );

    // A run that succeeds records when; a later failing run keeps that time.
    let clean_dir = dir.join("clean");
    std::fs::create_dir(&clean_dir).unwrap();
    let clean = customers_csv(&clean_dir, 30, |_| "Pro");
    let mut command = csm_at(&dir, fake.base_url());
    command
        .arg("--metrics-file")
        .arg(&metrics)
        .args(["import", "customer-profiles"])
        .arg(&clean);
    assert_eq!(run(command).await.status.code(), Some(0));
    let success = samples(&metrics)[&(
        "csm_run_last_success_timestamp_seconds".to_string(),
        String::new(),
    )];
    assert!(success >= before.floor(), "{success} < {before}");
    run(import(&metrics)).await;
    let after_failure = samples(&metrics);
    assert_eq!(
        after_failure[&(
            "csm_run_last_success_timestamp_seconds".into(),
            String::new()
        )],
        success
    );
    assert_ne!(
        after_failure[&("csm_run_exit_code".into(), String::new())],
        0.0
    );

    // Nothing but the file is left beside it.
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains("prom"))
        .collect();
    assert_eq!(names, ["csm.prom"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sync_leaves_its_counts_by_outcome_too() {
    let (fake, dir) = (demo_fake(20).await, scratch());
    let metrics = dir.join("sync.prom");
    let rows = customers_csv(&dir, 120, |_| "Pro");
    for (new, unchanged) in [(120.0, 0.0), (0.0, 120.0)] {
        let mut command = sync_profiles(&dir, &fake, &rows, &[]);
        command.arg("--metrics-file").arg(&metrics);
        let output = run(command).await;
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        let seen = samples_of(&metrics, "sync");
        let value = |name: &str, outcome: &str| seen[&(name.to_string(), outcome.to_string())];
        assert_eq!(value("csm_run_records", "new"), new);
        assert_eq!(value("csm_run_records", "unchanged"), unchanged);
        assert_eq!(value("csm_run_records", "failed"), 0.0);
        assert_eq!(value("csm_run_exit_code", ""), 0.0);
        assert_eq!(value("csm_run_in_progress", ""), 0.0);
    }
    let created = created(&fake, 120);
    assert_eq!(created, 120, "what the fake saw");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_rate_limit_left_is_the_sites_last_word() {
    // Every request costs a point, a bulk request one more per record (the fake's model).
    let fake = atlassian_csm_mock::FakeCsm::builder()
        .seed_demo(true)
        .task_timing(
            std::time::Duration::ZERO,
            std::time::Duration::from_millis(20),
        )
        .rate_limits(
            atlassian_csm_mock::RateLimits::live()
                .quota(10_000, std::time::Duration::from_secs(3600)),
        )
        .start()
        .await
        .unwrap();
    let dir = scratch();
    let metrics = dir.join("csm.prom");
    let rows = customers_csv(&dir, 250, |_| "Pro");
    let mut command = csm_at(&dir, fake.base_url());
    command
        .arg("--metrics-file")
        .arg(&metrics)
        .args(["import", "customer-profiles"])
        .arg(&rows);
    let output = run(command).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));

    let text = std::fs::read_to_string(&metrics).unwrap();
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).unwrap();
    let value = |metric: &str, limit: &str| {
        scrape
            .samples
            .iter()
            .find(|s| s.metric == metric && s.labels.get("limit") == Some(limit))
            .map(|s| match s.value {
                prometheus_parse::Value::Gauge(v) | prometheus_parse::Value::Untyped(v) => v,
                ref other => panic!("{other:?}"),
            })
            .unwrap_or_else(|| panic!("no {metric}{{limit={limit:?}}} in {text}"))
    };
    let spent: u64 = fake
        .requests()
        .iter()
        .filter(|r| r.status != 429)
        .map(|r| {
            let records = match (r.method.as_str(), r.path.ends_with("/bulk")) {
                ("POST", true) => serde_json::from_slice::<serde_json::Value>(&r.body)
                    .ok()
                    .and_then(|body| {
                        body.as_object()?
                            .values()
                            .find_map(|v| v.as_array().map(Vec::len))
                    })
                    .unwrap_or(0) as u64,
                _ => 0,
            };
            1 + records
        })
        .sum();
    assert_eq!(value("csm_rate_limit_limit", "tenant-app-quota"), 10_000.0);
    assert_eq!(
        value("csm_rate_limit_remaining", "tenant-app-quota"),
        (10_000 - spent) as f64
    );
    assert_eq!(value("csm_rate_limit_limit", "burst"), 10.0);
}
