//! `csm sync` end to end: the binary against the fake.

mod support;

use atlassian_csm_mock::RecordedRequest;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;
use support::*;

fn bulk_posts(requests: &[RecordedRequest]) -> Vec<&RecordedRequest> {
    requests
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/bulk"))
        .collect()
}

fn emails_in(request: &RecordedRequest) -> Vec<String> {
    request.json().unwrap()["customerProfiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["payload"]["email"].as_str().unwrap().to_string())
        .collect()
}

fn synced_keys(state: &Path) -> Vec<String> {
    let db = rusqlite::Connection::open(state).unwrap();
    let mut select = db.prepare("SELECT key FROM records").unwrap();
    select
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn last_line(text: &str) -> &str {
    text.lines().last().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_run_sends_nothing_and_a_changed_row_is_sent_alone() {
    let (fake, dir) = (demo_fake(20).await, scratch());
    let file = customers_csv(&dir, 250, |_| "Pro");
    let output = run(sync_profiles(&dir, &fake, &file, &[])).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        last_line(&stdout(&output)),
        "250 new, 0 changed, 0 unchanged, 0 absent, 0 deleted, 0 failed"
    );

    let before = fake.requests().len();
    let output = run(sync_profiles(&dir, &fake, &file, &[])).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        last_line(&stdout(&output)),
        "0 new, 0 changed, 250 unchanged, 0 absent, 0 deleted, 0 failed"
    );
    assert_eq!(
        fake.requests().len(),
        before,
        "the second run sent requests"
    );

    let file = customers_csv(&dir, 250, |i| if i == 42 { "Free" } else { "Pro" });
    let output = run(sync_profiles(&dir, &fake, &file, &[])).await;
    assert_eq!(
        last_line(&stdout(&output)),
        "0 new, 1 changed, 249 unchanged, 0 absent, 0 deleted, 0 failed"
    );
    let requests = fake.requests();
    let posts = bulk_posts(&requests[before..]);
    assert_eq!(posts.len(), 1);
    assert_eq!(emails_in(posts[0]), ["user42@example.com"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_shows_the_diff_and_sends_nothing() {
    let (fake, dir) = (demo_fake(20).await, scratch());
    let file = customers_csv(&dir, 120, |_| "Pro");
    run(sync_profiles(&dir, &fake, &file, &[])).await;
    let before = fake.requests().len();
    let file = customers_csv(&dir, 300, |i| if i < 2 { "Free" } else { "Pro" });
    let output = run(sync_profiles(&dir, &fake, &file, &["--dry-run"])).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.contains(
            "300 rows: 180 new, 2 changed, 0 to send again unchanged, 118 unchanged, 0 absent"
        ),
        "{text}"
    );
    assert!(
        text.contains("2 requests: about") && text.contains("at the pace of the last run"),
        "{text}"
    );
    assert!(text.contains("dry run: nothing was sent"), "{text}");
    assert_eq!(fake.requests().len(), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_and_absent_rows_go_to_their_files_and_the_absent_are_kept_unless_deleted() {
    let (fake, dir) = (demo_fake(20).await, scratch());
    let file = customers_csv(&dir, 30, |i| if i == 4 { "Platinum" } else { "Pro" });
    let failures = dir.join("failed.csv");
    let output = run(sync_profiles(
        &dir,
        &fake,
        &file,
        &["--failures", failures.to_str().unwrap()],
    ))
    .await;
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.contains("30 new, 0 changed, 0 unchanged, 0 absent, 0 deleted, 1 failed"),
        "{text}"
    );
    let failed = std::fs::read_to_string(&failures).unwrap();
    assert_eq!(failed.lines().count(), 2, "{failed}");
    assert!(
        failed.contains("user4@example.com,User 4,Platinum,\"failed:"),
        "{failed}"
    );
    assert_eq!(synced_keys(&dir.join("state.db")).len(), 29);

    let fewer = customers_csv(&dir, 28, |i| if i == 4 { "Platinum" } else { "Pro" });
    let output = run(sync_profiles(&dir, &fake, &fewer, &[])).await;
    let text = stdout(&output);
    assert!(text.contains("2 absent keys written to"), "{text}");
    let absent = std::fs::read_to_string(dir.join("state.db.absent.txt")).unwrap();
    assert_eq!(
        absent.lines().collect::<Vec<_>>(),
        ["email:user28@example.com", "email:user29@example.com"]
    );
    assert!(
        text.contains("1 new, 0 changed, 27 unchanged, 2 absent, 0 deleted, 1 failed"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sync_on_a_state_another_sync_holds_is_refused_at_once() {
    let (fake, dir) = (demo_fake(200).await, scratch());
    let file = customers_csv(&dir, 1000, |_| "Pro");
    let mut first = sync_profiles(&dir, &fake, &file, &[])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // The first holds the lock once it has sent a request.
    while bulk_posts(&fake.requests()).is_empty() {
        assert!(first.try_wait().unwrap().is_none(), "the first sync ended");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let output = run(sync_profiles(&dir, &fake, &file, &[])).await;
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let errors = stderr(&output);
    assert!(
        errors.contains("another sync is running on it (process"),
        "{errors}"
    );
    assert!(errors.contains("nothing was sent"), "{errors}");
    assert!(first.wait().unwrap().success());
}

/// Killed (SIGKILL) while tasks run, then run again: the state holds only what the site holds,
/// no record is ever sent under two keys, and no request whose task ended is sent again.
#[tokio::test(flavor = "multi_thread")]
async fn a_killed_sync_leaves_a_true_state_and_the_rerun_sends_nothing_twice() {
    let (fake, dir) = (demo_fake(150).await, scratch());
    let file = customers_csv(&dir, 3000, |_| "Pro");
    let mut first = sync_profiles(&dir, &fake, &file, &[])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    while bulk_posts(&fake.requests()).len() < 8 {
        assert!(
            first.try_wait().unwrap().is_none(),
            "the sync ended before it was killed"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    first.kill().unwrap();
    first.wait().unwrap();
    let state: PathBuf = dir.join("state.db");
    let marked = synced_keys(&state);
    assert!(marked.len() < 3000, "killed after the end");
    for key in &marked {
        let email = key.strip_prefix("email:").unwrap();
        assert!(
            fake.state(|site| site.customer_by_email(email).is_some()),
            "{email} marked synced, not on the site"
        );
    }
    let before = fake.requests().len();

    let output = run(sync_profiles(&dir, &fake, &file, &[])).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(synced_keys(&state).len(), 3000);
    let requests = fake.requests();
    // One key per record and one body per key, across both runs.
    let mut key_of_email: BTreeMap<String, String> = BTreeMap::new();
    let mut body_of_key: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for post in bulk_posts(&requests) {
        let key = post.header("idempotency-key").unwrap().to_string();
        let body = body_of_key.entry(key.clone()).or_insert(post.body.clone());
        assert_eq!(*body, post.body, "two bodies under key {key}");
        for email in emails_in(post) {
            let first_key = key_of_email.entry(email.clone()).or_insert(key.clone());
            assert_eq!(*first_key, key, "{email} sent under two keys");
        }
    }
    // Requests whose tasks the first run saw end are not sent again.
    let marked: BTreeSet<String> = marked.into_iter().collect();
    for post in bulk_posts(&requests[before..]) {
        for email in emails_in(post) {
            assert!(
                !marked.contains(&format!("email:{email}")),
                "{email} sent again"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn detail_values_sync_field_by_field_and_absent_ones_are_cleared_on_request() {
    let (fake, dir) = (demo_fake(20).await, scratch());
    let ids: Vec<String> = fake.state(|site| {
        (0..3)
            .map(|i| site.add_customer(&format!("d{i}@example.com"), "D"))
            .collect()
    });
    let write = |rows: &[(&str, &str)]| {
        let mut text = String::from("customerId,detail:Plan\n");
        for (id, plan) in rows {
            text.push_str(&format!("{id},{plan}\n"));
        }
        let path = dir.join("details.csv");
        std::fs::write(&path, text).unwrap();
        path
    };
    let details = |flags: &[&str], file: &Path| {
        let mut command = csm_at(&dir, fake.base_url());
        command
            .args(["sync", "customer-details"])
            .arg(file)
            .arg("--state")
            .arg(dir.join("details.db"))
            .args(flags);
        command
    };
    let file = write(&[(&ids[0], "Pro"), (&ids[1], "Pro"), (&ids[2], "Free")]);
    let output = run(details(&[], &file)).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        last_line(&stdout(&output)),
        "3 new, 0 changed, 0 unchanged, 0 absent, 0 deleted, 0 failed"
    );

    // Customer 2 left the file: with --delete-absent (1 of 3 is above 10 %, so raised), its
    // Plan is cleared on the site.
    let file = write(&[(&ids[0], "Pro"), (&ids[1], "Free")]);
    let output = run(details(&["--delete-absent", "--max-delete", "50"], &file)).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        last_line(&stdout(&output)),
        "0 new, 1 changed, 1 unchanged, 1 absent, 1 deleted, 0 failed"
    );
    let plan = |id: &str| {
        fake.state(|site| {
            site.customers
                .get(id)
                .and_then(|c| c.details.get("Plan").cloned())
                .unwrap_or_default()
        })
    };
    assert!(plan(&ids[2]).is_empty(), "{:?}", plan(&ids[2]));
    assert_eq!(plan(&ids[1]), ["Free"]);

    // A row left out as invalid could be one of the absent: nothing is deleted.
    let file = write(&[(&ids[1], "Free"), ("", "Pro")]);
    let output = run(details(
        &["--delete-absent", "--max-delete", "100", "--skip-invalid"],
        &file,
    ))
    .await;
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let errors = stderr(&output);
    assert!(
        errors.contains("may be among the 1 absent keys; none was deleted"),
        "{errors}"
    );
    assert_eq!(
        plan(&ids[0]),
        ["Pro"],
        "deleted although a row was left out"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn two_rows_with_one_key_are_refused_by_their_lines_and_nothing_is_sent() {
    let (fake, dir) = (demo_fake(20).await, scratch());
    let file = dir.join("dup.csv");
    std::fs::write(
        &file,
        "email,displayName\na@example.com,A\nb@example.com,B\nA@Example.com,Again\n",
    )
    .unwrap();
    let before = fake.requests().len();
    let output = run(sync_profiles(&dir, &fake, &file, &[])).await;
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let errors = stderr(&output);
    assert!(
        errors.contains("line 4: its key email:a@example.com is line 2's too"),
        "{errors}"
    );
    assert!(errors.contains("nothing was sent"), "{errors}");
    assert_eq!(fake.requests().len(), before);
}
