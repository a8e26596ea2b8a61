//! Syncs an admin can trust with production data: the state knows what it describes (site,
//! entities, keys, version) and is checked before a byte is written; one writer per file, however
//! it is named; what a killed run left is finished or reported, never claimed; a customer named
//! two ways is one customer; nothing is deleted without evidence; a sync stops when asked; a
//! plan writes nothing.

use crate::sync::{
    bulk_posts, customers_on, fake, key_of, profiles, state_rows, sync_holding_the_lock,
    sync_profiles, StateDir,
};
use atlassian_csm::types;
use atlassian_csm::{Error, RecordOutcome};
use atlassian_csm_mock::FakeCsm;
use serde_json::json;
use std::collections::BTreeSet;
use std::future::IntoFuture;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::on_both_backends;
use crate::support::backend;

/// The names in a directory, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Waits (at most 20 s) until `done` holds, looking every 10 ms.
async fn until(what: &str, done: impl Fn() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < Duration::from_secs(20), "never: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Requests of the state still pending whose task the site answered with, read as an admin would.
fn pending_with_task(state: &Path) -> usize {
    if let Some(schema) = backend::schema_of(state) {
        let sql = format!(
            "SELECT count(*) FROM {schema}.csm_sync_pending_requests WHERE task_id IS NOT NULL"
        );
        return backend::with_server(|client| {
            client
                .query_one(&sql, &[])
                .map_or(0, |row| row.get::<_, i64>(0) as usize)
        });
    }
    let db =
        rusqlite::Connection::open_with_flags(state, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    db.query_row(
        "SELECT count(*) FROM pending_requests WHERE task_id IS NOT NULL",
        [],
        |r| r.get::<_, i64>(0),
    )
    .unwrap_or(0) as usize
}

fn organization(name: &str) -> types::BulkOrganizationOperationRequest {
    serde_json::from_value(json!({"operationType": "CREATE", "payload": {"name": name}})).unwrap()
}

/// A sync of `records` allowed to delete every absent account.
fn accounts_deleting_all_absent<'a>(
    client: &'a atlassian_csm::Client,
    dir: &StateDir,
    records: Vec<types::BulkCustomerAccountOperationRequest>,
) -> impl std::future::Future<Output = Result<atlassian_csm::sync::SyncReport, Error>> + 'a {
    client
        .sync_customer_accounts(records)
        .state(dir.path())
        .delete_absent(true)
        .max_delete_fraction(1.0)
        .into_future()
}

/// An account update naming the customer as `payload` does (by id, by email, or both).
fn account(payload: serde_json::Value) -> types::BulkCustomerAccountOperationRequest {
    serde_json::from_value(json!({"operationType": "UPDATE", "payload": payload})).unwrap()
}

#[tokio::test]
async fn a_state_of_another_site_is_refused_before_anything_is_sent_unless_the_site_moved() {
    let (sandbox, production) = (
        fake(Duration::from_millis(20)).await,
        fake(Duration::from_millis(20)).await,
    );
    let dir = StateDir::new();
    sync_profiles(&sandbox.client(), &dir.path(), profiles(20)).await;

    let client = production.client();
    let refused = client
        .sync_customer_profiles(profiles(20))
        .state(dir.path())
        .await
        .unwrap_err();
    let text = refused.to_string();
    assert!(matches!(refused, Error::State { .. }), "{text}");
    assert!(text.contains(sandbox.base_url()), "{text}");
    assert!(text.contains(production.base_url()), "{text}");
    let planned = client
        .sync_customer_profiles(profiles(20))
        .state(dir.path())
        .plan()
        .await;
    assert!(matches!(planned, Err(Error::State { .. })), "{planned:?}");
    assert!(
        production.requests().is_empty(),
        "the other site was sent something"
    );

    // Moved on purpose: the state is rebound, and the old site is now the other one.
    let moved = client
        .sync_customer_profiles(profiles(20))
        .state(dir.path())
        .site_moved(true)
        .await
        .unwrap();
    assert_eq!(moved.counts.unchanged, 20);
    let again = sync_profiles(&client, &dir.path(), profiles(21)).await;
    assert_eq!((again.counts.new, again.counts.unchanged), (1, 20));
    let back = sandbox
        .client()
        .sync_customer_profiles(profiles(20))
        .state(dir.path())
        .await;
    assert!(matches!(back, Err(Error::State { .. })), "{back:?}");
}

#[tokio::test]
async fn a_state_of_other_entities_is_refused_unless_the_entity_is_added_on_purpose() {
    let fake = fake(Duration::from_millis(20)).await;
    let client = fake.client();
    let dir = StateDir::new();
    sync_profiles(&client, &dir.path(), profiles(5)).await;
    let before = fake.requests().len();

    let organizations = vec![organization("Acme"), organization("Globex")];
    let refused = client
        .sync_organizations(organizations.clone())
        .state(dir.path())
        .await
        .unwrap_err();
    let text = refused.to_string();
    assert!(text.contains("customer_profiles"), "{text}");
    assert!(text.contains("organizations"), "{text}");
    assert_eq!(fake.requests().len(), before, "something was sent");

    let added = client
        .sync_organizations(organizations.clone())
        .state(dir.path())
        .add_entity(true)
        .await
        .unwrap();
    assert_eq!(added.counts.new, 2);
    // Both are now what the state describes.
    let again = client
        .sync_organizations(organizations)
        .state(dir.path())
        .await
        .unwrap();
    assert_eq!(again.counts.unchanged, 2);
    assert_eq!(
        sync_profiles(&client, &dir.path(), profiles(5))
            .await
            .counts
            .unchanged,
        5
    );
}

#[tokio::test]
async fn a_state_of_a_newer_version_or_not_a_state_at_all_is_left_exactly_as_it_was() {
    let fake = fake(Duration::from_millis(20)).await;
    let client = fake.client();
    let dir = StateDir::new();
    let newer = dir.dir.path().join("newer.db");
    let foreign = dir.dir.path().join("foreign.db");
    let text = dir.dir.path().join("notes.txt");
    {
        let db = rusqlite::Connection::open(&newer).unwrap();
        db.execute_batch(
            "CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
             INSERT INTO meta VALUES ('schema_version', '99');
             CREATE TABLE records (entity TEXT, key TEXT);",
        )
        .unwrap();
        let db = rusqlite::Connection::open(&foreign).unwrap();
        db.execute_batch("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL);")
            .unwrap();
    }
    std::fs::write(&text, "not a database, but someone's notes\n".repeat(200)).unwrap();
    let names = listing(dir.dir.path());
    for (path, why) in [
        (&newer, "newer version"),
        (&foreign, "not a sync state"),
        (&text, "not a sync state"),
    ] {
        let bytes = std::fs::read(path).unwrap();
        let refused = client
            .sync_customer_profiles(profiles(3))
            .state(path)
            .await
            .unwrap_err();
        assert!(refused.to_string().contains(why), "{refused}");
        let planned = client
            .sync_customer_profiles(profiles(3))
            .state(path)
            .plan()
            .await
            .unwrap_err();
        assert!(planned.to_string().contains(why), "{planned}");
        assert_eq!(
            std::fs::read(path).unwrap(),
            bytes,
            "{} was changed",
            path.display()
        );
    }
    assert_eq!(
        listing(dir.dir.path()),
        names,
        "files were created beside them"
    );
    assert!(fake.requests().is_empty());
}

#[cfg(unix)]
#[tokio::test]
async fn a_state_path_that_is_not_a_regular_file_is_refused_and_nothing_is_created() {
    let fake = fake(Duration::from_millis(20)).await;
    let client = fake.client();
    let dir = StateDir::new();
    let to_device = dir.dir.path().join("device.db");
    std::os::unix::fs::symlink("/dev/null", &to_device).unwrap();
    let dangling = dir.dir.path().join("dangling.db");
    std::os::unix::fs::symlink(dir.dir.path().join("elsewhere.db"), &dangling).unwrap();
    let directory = dir.dir.path().join("directory.db");
    std::fs::create_dir(&directory).unwrap();
    let names = listing(dir.dir.path());
    for path in [&to_device, &dangling, &directory] {
        let refused = client
            .sync_customer_profiles(profiles(3))
            .state(path)
            .await
            .unwrap_err();
        assert!(matches!(refused, Error::State { .. }), "{refused}");
        let planned = client
            .sync_customer_profiles(profiles(3))
            .state(path)
            .plan()
            .await;
        assert!(matches!(planned, Err(Error::State { .. })), "{planned:?}");
    }
    assert_eq!(listing(dir.dir.path()), names, "files were created");
    assert!(listing(&directory).is_empty());
    assert!(fake.requests().is_empty());
}

#[cfg(unix)]
#[tokio::test]
async fn a_state_reached_by_a_second_name_is_locked_and_no_lock_file_is_left() {
    let fake = fake(Duration::from_millis(300)).await;
    let client = fake.client();
    let dir = StateDir::new();
    sync_profiles(&client, &dir.path(), profiles(1)).await;
    let second_name = dir.dir.path().join("second-name.db");
    std::fs::hard_link(dir.path(), &second_name).unwrap();
    let (first, read) = sync_holding_the_lock(&client, &dir.path(), profiles(300));
    let second = async {
        read.await.unwrap();
        client
            .sync_customer_profiles(profiles(300))
            .state(&second_name)
            .await
    };
    let (first, second) = tokio::join!(first, second);
    assert!(first.unwrap().all_succeeded());
    assert!(
        matches!(second, Err(Error::StateLocked { .. })),
        "{second:?}"
    );
    // The state and its second name, nothing else once the syncs closed it.
    assert_eq!(listing(dir.dir.path()), ["second-name.db", "state.db"]);
}

on_both_backends! {
    async fn two_first_syncs_of_a_state_not_created_yet_are_one_writer() {
    let fake = fake(Duration::from_millis(300)).await;
    let client = fake.client();
    let dir = StateDir::new();
    let (first, second) = tokio::join!(
        client
            .sync_customer_profiles(profiles(300))
            .state(dir.path())
            .into_future(),
        client
            .sync_customer_profiles(profiles(300))
            .state(dir.path())
            .into_future(),
    );
    let refused = [&first, &second]
        .iter()
        .filter(|r| matches!(r, Err(Error::StateLocked { .. })))
        .count();
    assert_eq!(refused, 1, "{first:?} {second:?}");
    assert_eq!(state_rows(&dir.path()).len(), 300);
}
}

on_both_backends! {
    async fn a_sync_dropped_while_it_opens_its_state_does_not_refuse_the_next() {
    let fake = fake(Duration::from_millis(20)).await;
    let client = fake.client();
    let dir = StateDir::new();
    sync_profiles(&client, &dir.path(), profiles(5)).await;
    for _ in 0..20 {
        let mut run = client
            .sync_customer_profiles(profiles(5))
            .state(dir.path())
            .into_future();
        // Polled once: its state is being opened on a blocking thread when it is dropped.
        assert!(futures::poll!(&mut run).is_pending());
        drop(run);
        let report = client
            .sync_customer_profiles(profiles(5))
            .state(dir.path())
            .await
            .expect("a run given up is no other sync running");
        assert_eq!(report.counts.unchanged, 5);
    }
}
}

/// A fake whose tasks take `task_time`, and a first run of `records` profiles killed once the
/// site answered its requests with their tasks (`requests` of them); then the site forgets every
/// task, as it does 3 days later.
async fn killed_then_expired(records: usize, requests: usize) -> (FakeCsm, StateDir, Vec<String>) {
    let fake = fake(Duration::from_secs(1)).await;
    let client = fake.client();
    let dir = StateDir::new();
    let run = client
        .sync_customer_profiles(profiles(records))
        .state(dir.path())
        .into_future();
    let path = dir.path();
    tokio::select! {
        report = run => panic!("the run ended before it was killed: {report:?}"),
        () = until("every request answered with its task", || {
            (backend::on_postgres() || path.exists()) && pending_with_task(&path) == requests
        }) => {}
    }
    let first_keys: Vec<String> = bulk_posts(&fake.requests())
        .into_iter()
        .map(key_of)
        .collect();
    assert_eq!(first_keys.len(), requests);
    fake.state(|site| site.expire_tasks());
    (fake, dir, first_keys)
}

on_both_backends! {
    async fn records_of_a_killed_run_whose_tasks_expired_are_sent_again_under_new_keys() {
    let (fake, dir, first_keys) = killed_then_expired(500, 5).await;
    let report = sync_profiles(&fake.client(), &dir.path(), profiles(500)).await;
    assert!(report.all_succeeded(), "{:?}", report.failures.first());
    assert_eq!(report.counts.expired_requests, 5);
    assert_eq!(
        report.counts.recovered_requests, 0,
        "nothing was seen to its end"
    );
    assert_eq!(report.counts.new, 500);
    assert_eq!(state_rows(&dir.path()).len(), 500);
    assert_eq!(fake.state(|site| site.customers.len()), 500);
    let requests = fake.requests();
    let resent: BTreeSet<String> = bulk_posts(&requests)
        .into_iter()
        .map(key_of)
        .filter(|key| !first_keys.contains(key))
        .collect();
    assert_eq!(
        resent.len(),
        5,
        "each record is sent again under a key of its own"
    );
}
}

on_both_backends! {
    async fn records_of_an_expired_task_that_left_the_input_are_reported_unconfirmed() {
    let (fake, dir, _) = killed_then_expired(200, 2).await;
    // The first request carried profiles 0 to 99: the input no longer holds them.
    let report = sync_profiles(&fake.client(), &dir.path(), profiles(200)[100..].to_vec()).await;
    assert!(!report.all_succeeded());
    assert_eq!(report.counts.expired_requests, 2);
    let unconfirmed: Vec<String> = report
        .failures
        .iter()
        .filter(|f| matches!(f.outcome, RecordOutcome::Unconfirmed(_)))
        .map(|f| f.key.clone().unwrap().key)
        .collect();
    assert_eq!(unconfirmed.len(), 100);
    assert!(unconfirmed.contains(&"email:c0@example.com".to_string()));
    assert_eq!(report.counts.failed, 100);
    assert_eq!(state_rows(&dir.path()).len(), 100);
}
}

on_both_backends! {
    async fn an_export_switching_from_ids_to_emails_neither_duplicates_nor_deletes_anyone() {
    let fake = fake(Duration::from_millis(20)).await;
    let client = fake.client();
    let dir = StateDir::new();
    let ids = customers_on(&fake, "s", 10);
    let by_id_and_email: Vec<_> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| account(json!({"customerId": id, "email": format!("s{i}@example.com")})))
        .collect();
    let by_email: Vec<_> = (0..10)
        .map(|i| account(json!({"email": format!("S{i}@Example.com")})))
        .collect();
    let sync = |records| accounts_deleting_all_absent(&client, &dir, records);
    assert!(sync(by_id_and_email.clone()).await.unwrap().all_succeeded());
    for records in [by_email, by_id_and_email] {
        let report = sync(records).await.unwrap();
        assert!(report.all_succeeded(), "{:?}", report.failures.first());
        assert_eq!((report.counts.absent, report.counts.deleted), (0, 0));
        assert_eq!(report.counts.new, 0, "a customer taken for a new one");
        assert_eq!(state_rows(&dir.path()).len(), 10);
    }
    assert!(fake.requests().iter().all(|r| r.method != "DELETE"));
    assert_eq!(fake.state(|site| site.customers.len()), 10);
}
}

on_both_backends! {
    async fn customers_known_by_id_alone_are_not_deleted_when_the_input_names_new_ones_by_email() {
    let fake = fake(Duration::from_millis(20)).await;
    let client = fake.client();
    let dir = StateDir::new();
    let ids = customers_on(&fake, "t", 10);
    let by_id: Vec<_> = ids
        .iter()
        .map(|id| account(json!({"customerId": id})))
        .collect();
    let by_email: Vec<_> = (0..10)
        .map(|i| account(json!({"email": format!("t{i}@example.com")})))
        .collect();
    client
        .sync_customer_accounts(by_id)
        .state(dir.path())
        .await
        .unwrap();
    let report = accounts_deleting_all_absent(&client, &dir, by_email)
        .await
        .unwrap();
    assert_eq!((report.counts.absent, report.counts.deleted), (10, 0));
    let refused = report.deletion_refused.unwrap();
    assert!(refused.contains("known by id alone"), "{refused}");
    assert!(fake.requests().iter().all(|r| r.method != "DELETE"));
    assert_eq!(fake.state(|site| site.customers.len()), 10);
}
}

on_both_backends! {
    async fn an_empty_input_is_no_evidence_that_anything_left_whatever_the_share_allowed() {
    let (fake, client, dir, ids, _) = crate::sync::plans_synced(5).await;
    let empty: Vec<types::BulkCustomerDetailFieldOperation> = Vec::new();
    let plan = client
        .sync_customer_details(empty.clone())
        .state(dir.path())
        .delete_absent(true)
        .max_delete_fraction(1.0)
        .plan()
        .await
        .unwrap();
    assert_eq!((plan.counts.absent, plan.deletions), (0, 0));
    assert!(plan.to_delete.is_empty());
    let report = client
        .sync_customer_details(empty)
        .state(dir.path())
        .delete_absent(true)
        .max_delete_fraction(1.0)
        .await
        .unwrap();
    assert_eq!((report.counts.absent, report.counts.deleted), (0, 0));
    assert!(report.deletion_refused.unwrap().contains("no records"));
    assert_eq!(state_rows(&dir.path()).len(), 5);
    for id in &ids {
        assert_eq!(crate::sync::plan_value(&fake, id), ["Pro"]);
    }
}
}

on_both_backends! {
    async fn an_input_not_read_to_its_end_ends_the_sync_before_anything_is_sent() {
    let (fake, client, dir, ids, all) = crate::sync::plans_synced(5).await;
    let before = fake.requests().len();
    // The reader fails after two records, whatever skip_invalid says.
    let read: Vec<Result<types::BulkCustomerDetailFieldOperation, String>> = vec![
        Ok(crate::sync::plan_of(&ids[0], "Free")),
        Ok(all[1].clone()),
        Err("connection reset while reading the export".into()),
    ];
    let failed = client
        .sync_try_stream::<atlassian_csm::bulk::CustomerDetails, _, _>(futures::stream::iter(read))
        .state(dir.path())
        .delete_absent(true)
        .max_delete_fraction(1.0)
        .skip_invalid(true)
        .await
        .unwrap_err();
    assert!(
        failed.to_string().contains("could not be read to its end"),
        "{failed}"
    );
    assert_eq!(fake.requests().len(), before, "something was sent");
    assert_eq!(crate::sync::plan_value(&fake, &ids[0]), ["Pro"]);
    assert_eq!(state_rows(&dir.path()).len(), 5);
}
}

on_both_backends! {
    async fn a_stopped_sync_finishes_what_is_under_way_and_the_next_run_sends_the_rest_once() {
    let fake = fake(Duration::from_millis(200)).await;
    let client = fake.client();
    let dir = StateDir::new();
    let sync = client
        .sync_customer_profiles(profiles(1000))
        .state(dir.path())
        .max_in_flight(2);
    let stop = sync.stop_handle();
    let run = sync.into_future();
    let path = dir.path();
    let stopping = async {
        until("two tasks under way", || {
            (backend::on_postgres() || path.exists()) && pending_with_task(&path) == 2
        })
        .await;
        stop.stop();
    };
    let (report, ()) = tokio::join!(run, stopping);
    let report = report.unwrap();
    assert!(report.stopped);
    assert!(!report.all_succeeded());
    assert!(report.failures.is_empty(), "{:?}", report.failures.first());
    // The two requests under way were seen to their end; nothing else was sent.
    assert_eq!(bulk_posts(&fake.requests()).len(), 2);
    assert_eq!(report.counts.not_sent, 800);
    assert_eq!(state_rows(&dir.path()).len(), 200);
    assert_eq!(pending_with_task(&dir.path()), 0);

    let rest = sync_profiles(&client, &dir.path(), profiles(1000)).await;
    assert!(rest.all_succeeded());
    assert_eq!((rest.counts.new, rest.counts.unchanged), (800, 200));
    assert_eq!(bulk_posts(&fake.requests()).len(), 10);
    assert_eq!(fake.state(|site| site.customers.len()), 1000);
}
}

#[tokio::test]
async fn a_plan_creates_and_writes_nothing() {
    let fake = fake(Duration::from_millis(20)).await;
    let client = fake.client();
    let dir = StateDir::new();
    // A state that does not exist is planned against as an empty one, and not created.
    let plan = client
        .sync_customer_profiles(profiles(10))
        .state(dir.path())
        .plan()
        .await
        .unwrap();
    assert_eq!(plan.counts.new, 10);
    assert!(
        listing(dir.dir.path()).is_empty(),
        "{:?}",
        listing(dir.dir.path())
    );

    sync_profiles(&client, &dir.path(), profiles(10)).await;
    let names = listing(dir.dir.path());
    let bytes = std::fs::read(dir.path()).unwrap();
    let plan = client
        .sync_customer_profiles(profiles(12))
        .state(dir.path())
        .plan()
        .await
        .unwrap();
    assert_eq!((plan.counts.new, plan.counts.unchanged), (2, 10));
    assert_eq!(listing(dir.dir.path()), names);
    assert_eq!(std::fs::read(dir.path()).unwrap(), bytes);
}

on_both_backends! {
    async fn an_export_switching_from_emails_to_ids_rekeys_the_state_and_deletes_no_one() {
    let fake = fake(Duration::from_millis(20)).await;
    let client = fake.client();
    let dir = StateDir::new();
    let ids = customers_on(&fake, "u", 6);
    let by_email: Vec<_> = (0..6)
        .map(|i| account(json!({"email": format!("u{i}@example.com")})))
        .collect();
    let by_id_and_email: Vec<_> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| account(json!({"customerId": id, "email": format!("u{i}@example.com")})))
        .collect();
    let by_id: Vec<_> = ids
        .iter()
        .map(|id| account(json!({"customerId": id})))
        .collect();
    let sync = |records| accounts_deleting_all_absent(&client, &dir, records);
    assert!(sync(by_email.clone()).await.unwrap().all_succeeded());
    // Named by both: the state learns each email's id, and keeps the customer under it.
    let report = sync(by_id_and_email).await.unwrap();
    assert_eq!((report.counts.new, report.counts.absent), (0, 0));
    let keys: Vec<String> = state_rows(&dir.path()).into_iter().map(|r| r.1).collect();
    assert_eq!(keys.len(), 6);
    assert!(keys.iter().all(|k| k.starts_with("id:")), "{keys:?}");
    // Then by id alone, and by email alone: the same six customers.
    for records in [by_id, by_email] {
        let report = sync(records).await.unwrap();
        assert!(report.all_succeeded(), "{:?}", report.deletion_refused);
        assert_eq!((report.counts.new, report.counts.absent), (0, 0));
        assert_eq!(state_rows(&dir.path()).len(), 6);
    }
    assert!(fake.requests().iter().all(|r| r.method != "DELETE"));
}
}

on_both_backends! {
    async fn one_input_naming_a_customer_by_id_and_again_by_its_email_is_refused() {
    let fake = fake(Duration::from_millis(20)).await;
    let client = fake.client();
    let dir = StateDir::new();
    let id = fake.state(|site| site.add_customer("v@example.com", "V"));
    let records = vec![
        account(json!({"customerId": id, "email": "v@example.com"})),
        account(json!({"email": "V@example.com"})),
    ];
    let refused = client
        .sync_customer_accounts(records)
        .state(dir.path())
        .await
        .unwrap_err();
    let text = refused.to_string();
    assert!(
        matches!(refused, Error::DuplicateKey { record: 1, first_record: 0, .. }),
        "{text}"
    );
    assert!(text.contains("email:v@example.com"), "{text}");
    assert!(fake.requests().is_empty());
}
}

#[tokio::test]
async fn a_state_of_the_previous_schema_is_planned_against_untouched_and_brought_up_by_a_run() {
    let fake = fake(Duration::from_millis(20)).await;
    let client = fake.client();
    let dir = StateDir::new();
    sync_profiles(&client, &dir.path(), profiles(5)).await;
    // The layout version 1 wrote: no second names, no site, no entities recorded.
    {
        let db = rusqlite::Connection::open(dir.path()).unwrap();
        db.execute_batch(
            "DROP INDEX records_by_alias;
             ALTER TABLE records DROP COLUMN alias;
             ALTER TABLE pending_records DROP COLUMN alias;
             ALTER TABLE pending_records DROP COLUMN replaces;
             DELETE FROM meta WHERE name != 'schema_version';
             UPDATE meta SET value = '1' WHERE name = 'schema_version';",
        )
        .unwrap();
    }
    let bytes = std::fs::read(dir.path()).unwrap();
    let names = listing(dir.dir.path());
    let plan = client
        .sync_customer_profiles(profiles(6))
        .state(dir.path())
        .plan()
        .await
        .unwrap();
    assert_eq!((plan.counts.new, plan.counts.unchanged), (1, 5));
    assert_eq!(std::fs::read(dir.path()).unwrap(), bytes, "the plan wrote");
    assert_eq!(listing(dir.dir.path()), names);

    let report = sync_profiles(&client, &dir.path(), profiles(6)).await;
    assert_eq!((report.counts.new, report.counts.unchanged), (1, 5));
    let db = rusqlite::Connection::open(dir.path()).unwrap();
    let meta = |name: &str| -> String {
        db.query_row("SELECT value FROM meta WHERE name = ?1", [name], |r| {
            r.get(0)
        })
        .unwrap()
    };
    assert_eq!(meta("schema_version"), "2");
    assert_eq!(meta("site"), fake.base_url().trim_end_matches('/'));
    assert!(meta("entity:customer_profiles").starts_with("id:"));
}
