//! Syncs against the fake: only what changed is sent, the state holds only what succeeded, an
//! interrupted run is finished without a write under two keys, one sync per state at a time,
//! deletions within their threshold, duplicate keys refused, and records re-sent by age.
//!
//! Longer than 500 lines: fifteen scenarios of a sync's whole life (state, interruption, locks,
//! deletions), each run twice or more against one fake; they share the helpers at the top.

use atlassian_csm::sync::SyncReport;
use atlassian_csm::types::{self, BulkManageCustomerProfileOperation as Profile};
use atlassian_csm::{Client, Credentials, Error, RecordOutcome, RetryPolicy};
use atlassian_csm_mock::{Entity, FakeCsm, Fault, RecordedRequest};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::future::IntoFuture;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::on_both_backends;
use crate::support::backend;

/// Records whose email holds this fail on the fake.
pub(super) const FAIL_MARKER: &str = "+fail";

pub(super) async fn fake(task_time: Duration) -> FakeCsm {
    let fake = FakeCsm::builder()
        .task_timing(Duration::ZERO, task_time)
        .fail_records_where(|email| email.contains(FAIL_MARKER))
        .start()
        .await
        .unwrap();
    fake.state(|site| site.add_field(Entity::Customer, "Plan", "SELECT", &["Free", "Pro"]));
    fake
}

/// A state in a directory of its own (or, on PostgreSQL, a schema of its own), removed with it.
pub(super) struct StateDir {
    pub(super) dir: tempfile::TempDir,
    /// The PostgreSQL schema and the URL that uses it.
    postgres: Option<(String, PathBuf)>,
}

impl StateDir {
    pub(super) fn new() -> Self {
        let dir = crate::support::temp_dir();
        let postgres = backend::on_postgres().then(backend::new_postgres_state);
        Self { dir, postgres }
    }

    /// Where the state is: a file, or a PostgreSQL URL.
    pub(super) fn path(&self) -> PathBuf {
        match &self.postgres {
            Some((_, url)) => url.clone(),
            None => self.dir.path().join("state.db"),
        }
    }
}

impl Drop for StateDir {
    fn drop(&mut self) {
        if let Some((schema, _)) = &self.postgres {
            backend::drop_postgres_state(schema);
        }
    }
}

pub(super) fn profile(email: &str, name: &str) -> Profile {
    Profile::upsert()
        .email(email)
        .display_name(name)
        .detail("Plan", ["Pro"])
        .try_into()
        .unwrap()
}

pub(super) fn profiles(count: usize) -> Vec<Profile> {
    (0..count)
        .map(|i| profile(&format!("c{i}@example.com"), &format!("Customer {i}")))
        .collect()
}

pub(super) fn bulk_posts(requests: &[RecordedRequest]) -> Vec<&RecordedRequest> {
    requests
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/bulk"))
        .collect()
}

pub(super) fn key_of(request: &RecordedRequest) -> String {
    request.header("idempotency-key").unwrap().to_string()
}

/// The emails a bulk profile request carried.
pub(super) fn emails_in(request: &RecordedRequest) -> Vec<String> {
    let body = request.json().unwrap();
    body["customerProfiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["payload"]["email"].as_str().unwrap().to_string())
        .collect()
}

pub(super) async fn sync_profiles(
    client: &Client,
    state: &Path,
    records: Vec<Profile>,
) -> SyncReport {
    client
        .sync_customer_profiles(records)
        .state(state)
        .await
        .unwrap()
}

/// What the state holds: (entity, key, field, confirmed_at), read as an admin would.
pub(super) fn state_rows(state: &Path) -> Vec<(String, String, String, i64)> {
    if let Some(schema) = backend::schema_of(state) {
        return backend::with_server(|client| {
            client
                .query(
                    &format!(
                        "SELECT entity, key, field, confirmed_at FROM {schema}.csm_sync_records \
                         ORDER BY key, field"
                    ),
                    &[],
                )
                .unwrap()
                .into_iter()
                .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
                .collect()
        });
    }
    let db = rusqlite::Connection::open(state).unwrap();
    let mut select = db
        .prepare("SELECT entity, key, field, confirmed_at FROM records ORDER BY key, field")
        .unwrap();
    select
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

on_both_backends! {
    async fn a_second_identical_run_sends_no_request() {
    let fake = fake(Duration::from_millis(20)).await;
    let client = fake.client();
    let dir = StateDir::new();

    let first = sync_profiles(&client, &dir.path(), profiles(250)).await;
    assert_eq!((first.counts.new, first.counts.unchanged), (250, 0));
    assert!(first.all_succeeded(), "{:?}", first.failures);
    assert_eq!(bulk_posts(&fake.requests()).len(), 3);
    assert_eq!(state_rows(&dir.path()).len(), 250);

    let before = fake.requests().len();
    let second = sync_profiles(&client, &dir.path(), profiles(250)).await;
    assert_eq!(
        fake.requests().len(),
        before,
        "the second run sent requests"
    );
    assert_eq!((second.counts.new, second.counts.unchanged), (0, 250));
    assert_eq!(second.counts.changed + second.counts.resent, 0);
}
}

on_both_backends! {
    async fn three_changed_rows_among_a_thousand_are_sent_alone_in_one_request() {
    let fake = fake(Duration::from_millis(20)).await;
    let client = fake.client();
    let dir = StateDir::new();
    sync_profiles(&client, &dir.path(), profiles(1000)).await;
    let before = fake.requests().len();

    let mut changed = profiles(1000);
    for i in [3, 500, 998] {
        changed[i] = profile(&format!("c{i}@example.com"), "Renamed");
    }
    // The same content written otherwise (another operation type) is not a change.
    changed[7] = Profile::update()
        .email("c7@example.com")
        .display_name("Customer 7")
        .detail("Plan", ["Pro"])
        .try_into()
        .unwrap();
    let report = sync_profiles(&client, &dir.path(), changed).await;

    let requests = fake.requests();
    let posts = bulk_posts(&requests[before..]);
    assert_eq!(posts.len(), 1);
    assert_eq!(
        emails_in(posts[0]),
        ["c3@example.com", "c500@example.com", "c998@example.com"]
    );
    assert_eq!((report.counts.changed, report.counts.unchanged), (3, 997));
    let renamed = fake.state(|site| site.customer_by_email("c500@example.com").cloned());
    assert_eq!(renamed.unwrap().display_name, "Renamed");
}
}

on_both_backends! {
    async fn a_failed_record_is_sent_again_by_the_next_run_and_not_before() {
    let fake = fake(Duration::from_millis(20)).await;
    let client = fake.client();
    let dir = StateDir::new();
    let mut records = profiles(10);
    records.push(profile("bad+fail@example.com", "Bad"));

    let first = sync_profiles(&client, &dir.path(), records.clone()).await;
    assert_eq!(first.counts.failed, 1);
    assert_eq!(first.failures[0].row, Some(10));
    assert!(matches!(
        first.failures[0].outcome,
        RecordOutcome::Failed(_)
    ));
    let sent_first: usize = bulk_posts(&fake.requests())
        .iter()
        .map(|r| {
            emails_in(r)
                .iter()
                .filter(|e| e.contains(FAIL_MARKER))
                .count()
        })
        .sum();
    assert_eq!(sent_first, 1, "sent once in the first run");
    let keys: Vec<String> = state_rows(&dir.path()).into_iter().map(|r| r.1).collect();
    assert!(!keys.contains(&"email:bad+fail@example.com".to_string()));
    assert_eq!(keys.len(), 10);

    let before = fake.requests().len();
    let second = sync_profiles(&client, &dir.path(), records).await;
    let requests = fake.requests();
    let posts = bulk_posts(&requests[before..]);
    assert_eq!(posts.len(), 1);
    assert_eq!(emails_in(posts[0]), ["bad+fail@example.com"]);
    assert_eq!((second.counts.new, second.counts.unchanged), (1, 10));
}
}

on_both_backends! {
    async fn an_unconfirmed_request_is_sent_again_by_the_next_run_under_the_same_key() {
    let fake = fake(Duration::from_millis(20)).await;
    let dir = StateDir::new();
    let no_retries = Client::builder()
        .base_url(fake.base_url())
        .credentials(Credentials::bearer("fake"))
        .retry_policy(RetryPolicy::never())
        .build()
        .unwrap();
    fake.fail_next(1, Fault::ServerError);
    let first = sync_profiles(&no_retries, &dir.path(), profiles(5)).await;
    assert_eq!(first.counts.failed, 5);
    assert!(first
        .failures
        .iter()
        .all(|f| matches!(f.outcome, RecordOutcome::Unconfirmed(_))));
    assert!(state_rows(&dir.path()).is_empty());
    let first_key = key_of(bulk_posts(&fake.requests())[0]);

    let client = fake.client();
    let before = fake.requests().len();
    let second = sync_profiles(&client, &dir.path(), profiles(5)).await;
    let requests = fake.requests();
    let posts = bulk_posts(&requests[before..]);
    assert_eq!(posts.len(), 1, "sent once, under its key, and not again");
    assert_eq!(key_of(posts[0]), first_key);
    assert_eq!(second.counts.recovered_requests, 1);
    assert_eq!(state_rows(&dir.path()).len(), 5);
    assert_eq!(fake.state(|site| site.customers.len()), 5);

    let before = fake.requests().len();
    let third = sync_profiles(&client, &dir.path(), profiles(5)).await;
    assert_eq!(fake.requests().len(), before);
    assert_eq!(third.counts.unchanged, 5);
}
}

on_both_backends! {
    async fn a_run_stopped_half_way_is_finished_by_the_next_without_a_write_twice() {
    let fake = fake(Duration::from_millis(300)).await;
    let client = fake.client();
    let dir = StateDir::new();
    let records = profiles(1500);

    // Stopped once two tasks ended and others run (the future dropped: its requests in flight
    // are never seen to their end by it).
    let run = client
        .sync_customer_profiles(records.clone())
        .state(dir.path())
        .into_future();
    let stopped = tokio::time::timeout(Duration::from_millis(900), run).await;
    assert!(stopped.is_err(), "the run ended before it was stopped");
    let first_posts: Vec<RecordedRequest> =
        bulk_posts(&fake.requests()).into_iter().cloned().collect();
    assert!(!first_posts.is_empty());
    // Nothing is marked synced that the site does not hold.
    for (_, key, _, _) in state_rows(&dir.path()) {
        let email = key.strip_prefix("email:").unwrap();
        assert!(fake.state(|site| site.customer_by_email(email).is_some()));
    }

    let before = fake.requests().len();
    let report = sync_profiles(&client, &dir.path(), records.clone()).await;
    assert!(report.all_succeeded(), "{:?}", report.failures.first());
    assert!(
        report.counts.recovered_requests > 0,
        "nothing was left in flight"
    );
    // Each record went in one request (one key): a request the site refused (its task limit
    // reached) is sent again under its own key, and wrote nothing; a request the first run
    // sent but never saw answered (its answer was on the way when the run stopped) is sent
    // again under its key, and the site answers with the task that key started. So each
    // record is in one task: as many tasks as keys accepted, and no email under two keys.
    let requests = fake.requests();
    let mut key_of_email = std::collections::BTreeMap::new();
    let mut accepted_keys = BTreeSet::new();
    for post in bulk_posts(&requests) {
        for email in emails_in(post) {
            let key = key_of_email
                .entry(email.clone())
                .or_insert_with(|| key_of(post));
            assert_eq!(*key, key_of(post), "{email} sent under two keys");
        }
        if post.status == 202 {
            accepted_keys.insert(key_of(post));
        }
    }
    assert_eq!(
        fake.state(|site| site.tasks.len()),
        accepted_keys.len(),
        "a record written twice: a key started two tasks"
    );
    // A task the first run saw started is waited for, not sent again.
    let seen_started: BTreeSet<String> = first_posts
        .iter()
        .filter(|r| r.status == 202)
        .map(key_of)
        .collect();
    let resent: Vec<String> = bulk_posts(&requests[before..])
        .into_iter()
        .map(key_of)
        .filter(|key| seen_started.contains(key))
        .collect();
    assert!(
        resent.len() <= 5,
        "only requests whose answers were in flight are sent again: {resent:?}"
    );
    assert_eq!(state_rows(&dir.path()).len(), 1500);
    assert_eq!(fake.state(|site| site.customers.len()), 1500);
}
}

/// A sync of `records` on `state`, and a signal sent once it holds the state's lock (its first
/// progress report).
pub(super) fn sync_holding_the_lock<'a>(
    client: &'a Client,
    state: &Path,
    records: Vec<Profile>,
) -> (
    impl std::future::Future<Output = Result<SyncReport, Error>> + 'a,
    tokio::sync::oneshot::Receiver<()>,
) {
    let (reading, read) = tokio::sync::oneshot::channel::<()>();
    let reading = std::sync::Mutex::new(Some(reading));
    let run = client
        .sync_customer_profiles(records)
        .state(state)
        .on_progress(move |_| {
            if let Some(reading) = reading.lock().unwrap().take() {
                let _ = reading.send(());
            }
        })
        .into_future();
    (run, read)
}

on_both_backends! {
    async fn a_second_sync_on_a_state_in_use_is_refused_at_once() {
    let fake = fake(Duration::from_millis(300)).await;
    let client = fake.client();
    let dir = StateDir::new();
    let (first, read) = sync_holding_the_lock(&client, &dir.path(), profiles(300));
    let second = async {
        read.await.unwrap();
        let started = std::time::Instant::now();
        let refused = client
            .sync_customer_profiles(profiles(300))
            .state(dir.path())
            .await;
        (refused, started.elapsed())
    };
    let (first, (second, waited)) = tokio::join!(first, second);
    assert!(first.unwrap().all_succeeded());
    let error = second.unwrap_err();
    assert!(matches!(error, Error::StateLocked { .. }), "{error}");
    assert!(
        error.to_string().contains("another sync is running"),
        "{error}"
    );
    assert!(error.to_string().contains("process"), "{error}");
    assert!(
        waited < Duration::from_millis(250),
        "refused after {waited:?}"
    );
    // Once the first is done, the state is free.
    let third = sync_profiles(&client, &dir.path(), profiles(300)).await;
    assert_eq!(third.counts.unchanged, 300);
}
}

on_both_backends! {
    async fn two_records_with_one_key_are_refused_naming_both_rows_and_nothing_is_sent() {
    let fake = fake(Duration::from_millis(20)).await;
    let client = fake.client();
    let dir = StateDir::new();
    let mut records = profiles(6);
    records[5] = profile("C2@Example.com ", "Again");
    let error = client
        .sync_customer_profiles(records)
        .state(dir.path())
        .await
        .unwrap_err();
    let text = error.to_string();
    // The two rows are fields of the error, as well as words of its message.
    assert!(
        matches!(&error, Error::DuplicateKey { field, key, record: 5, first_record: 2 }
            if field.record() == Some(5) && key == "email:c2@example.com"),
        "{text}"
    );
    assert!(text.contains("customerProfiles[5]"), "{text}");
    assert!(text.contains("record 2"), "{text}");
    assert!(text.contains("email:c2@example.com"), "{text}");
    assert!(fake.requests().is_empty());
    assert!(state_rows(&dir.path()).is_empty());
}
}

/// `count` customers added to the fake (`{prefix}{i}@example.com`); their ids.
pub(super) fn customers_on(fake: &FakeCsm, prefix: &str, count: usize) -> Vec<String> {
    fake.state(|site| {
        (0..count)
            .map(|i| site.add_customer(&format!("{prefix}{i}@example.com"), prefix))
            .collect()
    })
}

pub(super) fn plan_of(id: &str, plan: &str) -> types::BulkCustomerDetailFieldOperation {
    serde_json::from_value(json!({
        "customerId": id,
        "operations": [{"operationType": "UPDATE", "payload": {"name": "Plan", "values": [plan]}}]
    }))
    .unwrap()
}

pub(super) fn plan_value(fake: &FakeCsm, id: &str) -> Vec<String> {
    fake.state(|site| {
        site.customers
            .values()
            .find(|c| c.id == id)
            .and_then(|c| c.details.get("Plan").cloned())
            .unwrap_or_default()
    })
}

/// A fake whose `count` customers each had their `Plan` set to `Pro` by a first sync: the fake,
/// its client, the state, the customer ids and the records.
pub(super) async fn plans_synced(
    count: usize,
) -> (
    FakeCsm,
    Client,
    StateDir,
    Vec<String>,
    Vec<types::BulkCustomerDetailFieldOperation>,
) {
    let fake = fake(Duration::from_millis(20)).await;
    let client = fake.client();
    let dir = StateDir::new();
    let ids = customers_on(&fake, "d", count);
    let all: Vec<_> = ids.iter().map(|id| plan_of(id, "Pro")).collect();
    client
        .sync_customer_details(all.clone())
        .state(dir.path())
        .await
        .unwrap();
    (fake, client, dir, ids, all)
}

on_both_backends! {
    async fn absent_items_are_reported_and_deleted_only_within_the_threshold() {
    let (fake, client, dir, ids, all) = plans_synced(20).await;
    assert_eq!(plan_value(&fake, &ids[0]), ["Pro"]);

    // Reported, not deleted, unless asked.
    let report = client
        .sync_customer_details(all[1..].to_vec())
        .state(dir.path())
        .await
        .unwrap();
    assert_eq!((report.counts.absent, report.counts.deleted), (1, 0));
    assert_eq!(report.absent[0].to_string(), format!("{} / Plan", ids[0]));
    assert_eq!(plan_value(&fake, &ids[0]), ["Pro"]);

    // 1 of 20 is within 10 %: cleared on the site and gone from the state.
    let report = client
        .sync_customer_details(all[1..].to_vec())
        .state(dir.path())
        .delete_absent(true)
        .await
        .unwrap();
    assert_eq!((report.counts.absent, report.counts.deleted), (1, 1));
    assert!(report.all_succeeded(), "{report:?}");
    assert!(plan_value(&fake, &ids[0]).is_empty());
    assert_eq!(state_rows(&dir.path()).len(), 19);

    // 4 of 19 is more than 10 %: refused, nothing deleted, until the share is raised.
    let before = fake.requests().len();
    let report = client
        .sync_customer_details(all[5..].to_vec())
        .state(dir.path())
        .delete_absent(true)
        .await
        .unwrap();
    assert_eq!((report.counts.absent, report.counts.deleted), (4, 0));
    let refused = report.deletion_refused.clone().unwrap();
    assert!(refused.contains("4 of the state's 19"), "{refused}");
    assert_eq!(fake.requests().len(), before, "something was sent");
    assert!(!report.all_succeeded());

    let report = client
        .sync_customer_details(all[5..].to_vec())
        .state(dir.path())
        .delete_absent(true)
        .max_delete_fraction(0.25)
        .await
        .unwrap();
    assert_eq!(report.counts.deleted, 4);
    assert!((1..5).all(|i| plan_value(&fake, &ids[i]).is_empty()));
    assert_eq!(plan_value(&fake, &ids[5]), ["Pro"]);
    assert_eq!(state_rows(&dir.path()).len(), 15);
}
}

on_both_backends! {
    async fn one_changed_field_of_a_customer_sends_that_operation_only() {
    let fake = fake(Duration::from_millis(20)).await;
    fake.state(|site| site.add_field(Entity::Customer, "Region", "TEXT", &[]));
    let client = fake.client();
    let dir = StateDir::new();
    let id = customers_on(&fake, "d", 1).remove(0);
    let record = |region: &str| -> types::BulkCustomerDetailFieldOperation {
        serde_json::from_value(json!({"customerId": id, "operations": [
            {"operationType": "UPDATE", "payload": {"name": "Plan", "values": ["Pro"]}},
            {"operationType": "UPDATE", "payload": {"name": "Region", "values": [region]}}
        ]}))
        .unwrap()
    };
    client
        .sync_customer_details([record("EU")])
        .state(dir.path())
        .await
        .unwrap();
    let before = fake.requests().len();
    let report = client
        .sync_customer_details([record("US")])
        .state(dir.path())
        .await
        .unwrap();
    assert_eq!((report.counts.changed, report.counts.unchanged), (1, 1));
    let requests = fake.requests();
    let posts = bulk_posts(&requests[before..]);
    let body: Value = posts[0].json().unwrap();
    let operations = body["customers"][0]["operations"].as_array().unwrap();
    assert_eq!(operations.len(), 1);
    assert_eq!(operations[0]["payload"]["name"], "Region");
}
}

/// Moves every confirmation of the state `days` into the past, as time passing would.
fn age_state(state: &Path, days: i64) {
    if let Some(schema) = backend::schema_of(state) {
        let sql = format!(
            "UPDATE {schema}.csm_sync_records SET confirmed_at = confirmed_at - {}",
            days * 86_400
        );
        backend::with_server(|client| client.batch_execute(&sql).unwrap());
        return;
    }
    let db = rusqlite::Connection::open(state).unwrap();
    db.execute(
        "UPDATE records SET confirmed_at = confirmed_at - ?1",
        [days * 86_400],
    )
    .unwrap();
}

on_both_backends! {
    async fn records_confirmed_long_ago_are_sent_again_spread_over_runs() {
    let fake = fake(Duration::from_millis(20)).await;
    let client = fake.client();
    let dir = StateDir::new();
    sync_profiles(&client, &dir.path(), profiles(200)).await;
    let week = Duration::from_secs(7 * 86_400);
    let with_age = |records| {
        client
            .sync_customer_profiles(records)
            .state(dir.path())
            .max_age(week)
    };

    // Confirmed 2 days ago: none is due.
    age_state(&dir.path(), 2);
    let report = with_age(profiles(200)).await.unwrap();
    assert_eq!((report.counts.resent, report.counts.unchanged), (0, 200));

    // 5 days (between half of a week and a week): some are due, not all.
    age_state(&dir.path(), 3);
    let report = with_age(profiles(200)).await.unwrap();
    let resent = report.counts.resent;
    assert!(resent > 20 && resent < 180, "{resent} of 200 re-sent");

    // Those re-sent were confirmed again; past a week, all the others are due.
    age_state(&dir.path(), 3);
    let report = with_age(profiles(200)).await.unwrap();
    assert_eq!(report.counts.resent, 200 - resent);

    // `full` sends everything.
    let before = fake.requests().len();
    let report = client
        .sync_customer_profiles(profiles(200))
        .state(dir.path())
        .full(true)
        .await
        .unwrap();
    assert_eq!(report.counts.resent, 200);
    assert_eq!(bulk_posts(&fake.requests()[before..]).len(), 2);
}
}

on_both_backends! {
    async fn a_plan_says_what_a_run_would_send_and_sends_nothing() {
    let fake = fake(Duration::from_millis(20)).await;
    let client = fake.client();
    let dir = StateDir::new();
    sync_profiles(&client, &dir.path(), profiles(150)).await;
    let before = fake.requests().len();
    let mut records = profiles(140);
    records[0] = profile("c0@example.com", "Renamed");
    records.extend((0..120).map(|i| profile(&format!("new{i}@example.com"), "New")));
    let plan = client
        .sync_customer_profiles(records)
        .state(dir.path())
        .delete_absent(true)
        .plan()
        .await
        .unwrap();
    assert_eq!(fake.requests().len(), before);
    let c = plan.counts;
    assert_eq!((c.new, c.changed, c.unchanged, c.absent), (120, 1, 139, 10));
    assert_eq!(plan.requests, 2);
    assert_eq!(plan.deletions, 0);
    // The first run sent 150 records: its pace is the estimate's.
    assert!(
        plan.last_pace.is_some_and(|pace| pace > 0.0),
        "{:?}",
        plan.last_pace
    );
    assert!(plan
        .deletion_refused
        .unwrap()
        .contains("no delete operation"));
    assert_eq!(state_rows(&dir.path()).len(), 150);
}
}

on_both_backends! {
    async fn an_invalid_record_skipped_is_not_taken_for_an_absent_one() {
    let (fake, client, dir, ids, all) = plans_synced(10).await;

    // Row 3 now holds an operation the API does not know: skipped, and still not absent.
    let mut next = all.clone();
    next[3] = serde_json::from_value(json!({"customerId": ids[3], "operations": [
        {"operationType": "MERGE", "payload": {"name": "Plan", "values": ["Free"]}}
    ]}))
    .unwrap();
    let report = client
        .sync_customer_details(next)
        .state(dir.path())
        .skip_invalid(true)
        .delete_absent(true)
        .await
        .unwrap();
    assert_eq!((report.counts.failed, report.counts.absent), (1, 0));
    assert_eq!(report.failures[0].row, Some(3));
    assert_eq!(
        report.failures[0].key.as_ref().unwrap().to_string(),
        format!("{} / Plan", ids[3])
    );
    assert_eq!(plan_value(&fake, &ids[3]), ["Pro"], "deleted");

    // A record whose key cannot be known stops every deletion of the run.
    let keyless: types::BulkCustomerDetailFieldOperation =
        serde_json::from_value(json!({"customerId": "", "operations": []})).unwrap();
    let mut next: Vec<_> = all[1..].to_vec();
    next.push(keyless);
    let report = client
        .sync_customer_details(next)
        .state(dir.path())
        .skip_invalid(true)
        .delete_absent(true)
        .await;
    let report = report.unwrap();
    assert_eq!(report.counts.deleted, 0);
    assert!(
        report
            .deletion_refused
            .as_deref()
            .unwrap()
            .contains("have no key"),
        "{report:?}"
    );
    assert_eq!(plan_value(&fake, &ids[0]), ["Pro"]);
}
}

on_both_backends! {
    async fn absent_accounts_known_by_id_are_deleted_through_their_delete_call() {
    let fake = fake(Duration::from_millis(20)).await;
    let client = fake.client();
    let dir = StateDir::new();
    let ids = customers_on(&fake, "a", 12);
    let account = |id: &str, name: &str| -> types::BulkCustomerAccountOperationRequest {
        serde_json::from_value(json!({
            "operationType": "UPDATE",
            "payload": {"customerId": id, "displayName": name}
        }))
        .unwrap()
    };
    let mut accounts: Vec<_> = ids.iter().map(|id| account(id, "Account")).collect();
    // One account known by email only: it cannot be deleted by id.
    accounts.push(
        serde_json::from_value(json!({
            "operationType": "CREATE",
            "payload": {"email": "by-email@example.com", "displayName": "E"}
        }))
        .unwrap(),
    );
    let report = client
        .sync_customer_accounts(accounts.clone())
        .state(dir.path())
        .await
        .unwrap();
    assert!(report.all_succeeded(), "{:?}", report.failures);

    // The first account and the one known by email leave the source: 2 of 13, so the share
    // allowed is raised.
    let report = client
        .sync_customer_accounts(accounts[1..12].to_vec())
        .state(dir.path())
        .delete_absent(true)
        .max_delete_fraction(0.2)
        .await
        .unwrap();
    assert_eq!((report.counts.absent, report.counts.deleted), (2, 1));
    let refused = report.deletion_refused.clone().unwrap();
    assert!(refused.contains("known by email or name"), "{refused}");
    let deletes: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "DELETE")
        .collect();
    assert_eq!(deletes.len(), 1);
    assert!(deletes[0].path.ends_with(&ids[0]), "{}", deletes[0].path);
    assert!(fake.state(|site| site.customers.values().all(|c| c.id != ids[0])));
    let keys: Vec<String> = state_rows(&dir.path()).into_iter().map(|r| r.1).collect();
    assert!(!keys.contains(&format!("id:{}", ids[0])));
    assert!(keys.contains(&"email:by-email@example.com".to_string()));
}
}

#[cfg(unix)]
#[tokio::test]
async fn a_state_named_through_a_link_is_locked_all_the_same() {
    let fake = fake(Duration::from_millis(300)).await;
    let client = fake.client();
    let dir = StateDir::new();
    sync_profiles(&client, &dir.path(), profiles(1)).await;
    let link = dir.dir.path().join("link.db");
    std::os::unix::fs::symlink(dir.path(), &link).unwrap();
    let (first, read) = sync_holding_the_lock(&client, &dir.path(), profiles(300));
    let second = async {
        read.await.unwrap();
        client
            .sync_customer_profiles(profiles(300))
            .state(&link)
            .plan()
            .await
    };
    let (first, second) = tokio::join!(first, second);
    assert!(first.unwrap().all_succeeded());
    assert!(
        matches!(second, Err(Error::StateLocked { .. })),
        "{second:?}"
    );
}

on_both_backends! {
    async fn a_share_allowed_that_is_not_a_number_allows_no_deletion() {
    let (fake, client, dir, ids, all) = plans_synced(20).await;
    let report = client
        .sync_customer_details(all[1..].to_vec())
        .state(dir.path())
        .delete_absent(true)
        .max_delete_fraction(f64::NAN)
        .await
        .unwrap();
    assert_eq!((report.counts.absent, report.counts.deleted), (1, 0));
    assert!(report.deletion_refused.is_some());
    assert_eq!(plan_value(&fake, &ids[0]), ["Pro"]);
}
}
