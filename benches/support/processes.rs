//! What the import benchmarks share: the fake in a process of its own, a client of it, a
//! two-thread runtime, and the peak memory of this process.

use atlassian_csm::{Client, Credentials};
use atlassian_csm_mock::FAKE_TOKEN;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// Starts the fake (release build) with these flags; returns it and its base URL.
pub fn start_fake(flags: &[&str]) -> (Child, String) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut fake = Command::new(cargo)
        .args([
            "run",
            "--quiet",
            "--release",
            "-p",
            "atlassian-csm-mock",
            "--",
        ])
        .args(["--port", "0"])
        .args(flags)
        .stdout(Stdio::piped())
        .spawn()
        .expect("the fake starts");
    let mut first_line = String::new();
    BufReader::new(fake.stdout.take().unwrap())
        .read_line(&mut first_line)
        .unwrap();
    let base_url = first_line.trim().rsplit(' ').next().unwrap().to_string();
    (fake, base_url)
}

pub fn client(base_url: &str) -> Client {
    Client::builder()
        .base_url(base_url)
        .credentials(Credentials::bearer(FAKE_TOKEN))
        .build()
        .unwrap()
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Peak resident memory of this process (`VmHWM`), in MB.
pub fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Creates the `Plan` field the benchmarks' records set.
pub async fn create_plan_field(client: &Client) {
    let plan = atlassian_csm::types::DetailFieldType::builder().name("SELECT");
    let field = atlassian_csm::types::CreateDetailFieldRequest::builder()
        .name("Plan")
        .type_(plan.options(["Free", "Pro"]));
    client
        .create_customer_detail()
        .body(field)
        .send()
        .await
        .unwrap();
}
