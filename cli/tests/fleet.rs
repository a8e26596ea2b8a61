//! A fleet: three `csm jobs run` workers given one job list of twenty sites and one PostgreSQL
//! database; one is killed (SIGKILL) while it syncs, and the others finish its sites.
//!
//! Needs a PostgreSQL server (`CSM_TEST_POSTGRES_URL`; `bash scripts/with-postgres.sh cargo test`
//! starts one, as CI does). Without one it is skipped, said on standard error, unless
//! `CSM_REQUIRE_POSTGRES` is set.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Stdio;
use std::time::{Duration, Instant};
use support::*;

const SITES: usize = 20;
const ROWS: usize = 500;

/// The test server, or `None` (skipped) when there is none.
fn server() -> Option<String> {
    match std::env::var("CSM_TEST_POSTGRES_URL") {
        Ok(url) => Some(url),
        Err(_) if std::env::var_os("CSM_REQUIRE_POSTGRES").is_some() => {
            panic!("CSM_REQUIRE_POSTGRES is set and CSM_TEST_POSTGRES_URL is not")
        }
        Err(_) => {
            eprintln!("skipped: no PostgreSQL server (bash scripts/with-postgres.sh cargo test)");
            None
        }
    }
}

/// Runs `work` with a connection to the server, off the async threads.
fn with_server<T: Send>(url: &str, work: impl FnOnce(&mut postgres::Client) -> T + Send) -> T {
    std::thread::scope(|scope| {
        scope
            .spawn(|| work(&mut postgres::Client::connect(url, postgres::NoTls).unwrap()))
            .join()
            .unwrap()
    })
}

/// The emails of a bulk profile request, and its key.
fn sent(request: &atlassian_csm_mock::RecordedRequest) -> (String, Vec<String>) {
    let key = request.header("idempotency-key").unwrap().to_string();
    let body = request.json().unwrap();
    let emails = body["customerProfiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["payload"]["email"].as_str().unwrap().to_string())
        .collect();
    (key, emails)
}

#[tokio::test(flavor = "multi_thread")]
async fn three_workers_split_twenty_sites_and_finish_the_sites_of_one_killed() {
    let Some(server) = server() else { return };
    let dir = scratch();
    let schema = format!("fleet_{}", std::process::id());
    with_server(&server, |c| {
        c.batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
        ))
        .unwrap()
    });
    let separator = if server.contains('?') { '&' } else { '?' };
    let state = format!("{server}{separator}options=-csearch_path%3D{schema}");

    // Twenty sites, each with its own file: tasks of 400 ms, so each sync lasts a few seconds.
    let mut fakes = Vec::new();
    let mut list = format!("state = \"{state}\"\n");
    for site in 0..SITES {
        let fake = atlassian_csm_mock::FakeCsm::builder()
            .seed_demo(true)
            .task_timing(Duration::ZERO, Duration::from_millis(400))
            .start()
            .await
            .unwrap();
        let site_dir = dir.join(format!("site{site}"));
        std::fs::create_dir(&site_dir).unwrap();
        let file = customers_csv(&site_dir, ROWS, |_| "Pro");
        list.push_str(&format!(
            "\n[[job]]\nname = \"site{site}\"\nbase_url = \"{}\"\nentity = \"customer-profiles\"\ninput = \"{}\"\n",
            fake.base_url(),
            file.display()
        ));
        fakes.push(fake);
    }
    let jobs = dir.join("jobs.toml");
    std::fs::write(&jobs, list).unwrap();

    let worker = |name: &str| {
        let mut command = csm(&dir);
        command
            .args(["jobs", "run"])
            .arg(&jobs)
            .args(["--parallel", "4", "--worker", name, "--schedule", "test"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command.spawn().unwrap()
    };
    let mut doomed = worker("w1");
    let (second, third) = (worker("w2"), worker("w3"));

    // Killed once it holds a site whose requests are under way.
    let started = Instant::now();
    let held_by_w1 = loop {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "w1 never got under way"
        );
        let claimed: Vec<String> = with_server(&server, |c| {
            c.query(
                &format!(
                    "SELECT job FROM {schema}.csm_sync_jobs WHERE worker = 'w1' \
                     AND finished_at IS NULL"
                ),
                &[],
            )
            .map(|rows| rows.into_iter().map(|r| r.get(0)).collect())
            .unwrap_or_default()
        });
        let under_way: Vec<String> = claimed
            .into_iter()
            .filter(|job| {
                let site: usize = job.trim_start_matches("site").parse().unwrap();
                fakes[site].requests().iter().any(|r| r.status == 202)
            })
            .collect();
        if !under_way.is_empty() {
            break under_way;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    doomed.kill().unwrap();
    doomed.wait().unwrap();
    let finish = |child: std::process::Child| {
        tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
    };
    let (second, third) = (finish(second).await.unwrap(), finish(third).await.unwrap());
    for output in [&second, &third] {
        assert!(output.status.success(), "{}", stderr(output));
    }

    // Every job done once in the schedule; the killed worker's under way, by another.
    let done: BTreeMap<String, (String, bool)> = with_server(&server, |c| {
        c.query(
            &format!("SELECT job, worker, succeeded FROM {schema}.csm_sync_jobs WHERE finished_at IS NOT NULL"),
            &[],
        )
        .unwrap()
        .into_iter()
        .map(|r| (r.get(0), (r.get(1), r.get(2))))
        .collect()
    });
    assert_eq!(done.len(), SITES, "{done:?}");
    assert!(done.values().all(|(_, ok)| *ok), "{done:?}");
    for job in &held_by_w1 {
        assert_ne!(done[job].0, "w1", "{job} was finished by the worker killed");
    }
    for (site, fake) in fakes.iter().enumerate() {
        // Exactly its input.
        let held = fake.state(|s| {
            (0..ROWS)
                .filter(|i| {
                    s.customer_by_email(&format!("user{i}@example.com"))
                        .is_some()
                })
                .count()
        });
        assert_eq!(held, ROWS, "site{site}");
        // No record under two keys, no key with two bodies.
        let mut keys_of: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut body_of: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        for request in fake
            .requests()
            .iter()
            .filter(|r| r.method == "POST" && r.path.ends_with("/bulk"))
        {
            let (key, emails) = sent(request);
            let body = body_of
                .entry(key.clone())
                .or_insert_with(|| request.body.clone());
            assert_eq!(*body, request.body, "site{site}: key {key} with two bodies");
            for email in emails {
                keys_of.entry(email).or_default().insert(key.clone());
            }
        }
        assert!(
            keys_of.values().all(|keys| keys.len() == 1),
            "site{site}: a record under two keys"
        );
        assert!(fake.state(|s| s.peak_unfinished_tasks) <= 5, "site{site}");
    }
    // The syncs under way: none left.
    let holders: i64 = with_server(&server, |c| {
        c.query_one(
            &format!("SELECT count(*) FROM {schema}.csm_sync_holders"),
            &[],
        )
        .unwrap()
        .get(0)
    });
    assert_eq!(holders, 0);
    with_server(&server, |c| {
        c.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
            .unwrap()
    });
}
