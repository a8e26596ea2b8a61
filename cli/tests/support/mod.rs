//! Running the `csm` binary as a user would, against the fake in this process.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The fake with its demo site, its bulk tasks taking `task_ms`.
pub async fn demo_fake(task_ms: u64) -> atlassian_csm_mock::FakeCsm {
    atlassian_csm_mock::FakeCsm::builder()
        .seed_demo(true)
        .task_timing(
            std::time::Duration::ZERO,
            std::time::Duration::from_millis(task_ms),
        )
        .start()
        .await
        .unwrap()
}

/// A fresh directory for one test's files (and `TMPDIR`, so no `csm mock` marker is found),
/// removed with everything in it when the test ends.
pub fn scratch() -> Scratch {
    let dir = tempfile::Builder::new()
        .prefix("csm-test-")
        .tempdir()
        .expect("a temp directory");
    Scratch(dir)
}

/// A test's directory: a path, removed (even by a failing test) when dropped.
pub struct Scratch(tempfile::TempDir);

impl std::ops::Deref for Scratch {
    type Target = Path;

    fn deref(&self) -> &Path {
        self.0.path()
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        self.0.path()
    }
}

impl AsRef<std::ffi::OsStr> for Scratch {
    fn as_ref(&self) -> &std::ffi::OsStr {
        self.0.path().as_os_str()
    }
}

/// `csm` with no configuration from the environment it runs in (no `CSM_*` variable, its
/// configuration directory under `dir`), `TMPDIR` set to `dir`.
pub fn csm(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_csm"));
    for name in [
        "CSM_CLOUD_ID",
        "CSM_SITE",
        "CSM_BASE_URL",
        "CSM_EMAIL",
        "CSM_API_TOKEN",
        "CSM_ACCESS_TOKEN",
        "CSM_PROFILE",
    ] {
        command.env_remove(name);
    }
    command
        .env("TMPDIR", dir)
        .env("XDG_RUNTIME_DIR", dir)
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_STATE_HOME", dir.join("state"))
        .current_dir(dir);
    command
}

/// `csm` pointed at `base_url` with a bearer token.
pub fn csm_at(dir: &Path, base_url: &str) -> Command {
    let mut command = csm(dir);
    command
        .env("CSM_BASE_URL", base_url)
        .env("CSM_ACCESS_TOKEN", "test-token");
    command
}

/// Runs `command` off the async runtime (the fake in this process keeps serving).
pub async fn run(mut command: Command) -> Output {
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A CSV of `rows` customer profiles (`email,displayName,detail:Plan`), row `i` by `plan(i)`.
pub fn customers_csv(dir: &Path, rows: usize, plan: impl Fn(usize) -> &'static str) -> PathBuf {
    let mut text = String::from("email,displayName,detail:Plan\n");
    for i in 0..rows {
        text.push_str(&format!("user{i}@example.com,User {i},{}\n", plan(i)));
    }
    let path = dir.join("customers.csv");
    std::fs::write(&path, text).unwrap();
    path
}

/// The bulk submissions the fake received.
pub fn submits(fake: &atlassian_csm_mock::FakeCsm) -> Vec<atlassian_csm_mock::RecordedRequest> {
    fake.requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/bulk"))
        .collect()
}

/// `csm sync customer-profiles FILE --state DIR/state.db FLAGS` against `fake`.
pub fn sync_profiles(
    dir: &Path,
    fake: &atlassian_csm_mock::FakeCsm,
    file: &Path,
    flags: &[&str],
) -> Command {
    let mut command = csm_at(dir, fake.base_url());
    command
        .args(["sync", "customer-profiles"])
        .arg(file)
        .arg("--state")
        .arg(dir.join("state.db"))
        .args(flags);
    command
}
