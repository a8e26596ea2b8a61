//! What only a PostgreSQL state does: many sites and entities in one database, a lock another
//! session holds, the syncs under way listed for an operator, a newer schema refused.

use crate::support::backend;
use crate::sync::{fake, profiles, sync_profiles, StateDir};
use atlassian_csm::Error;
use std::time::Duration;

/// A state on PostgreSQL, or `None` (the test ends) when there is no server.
fn postgres_state() -> Option<StateDir> {
    backend::use_postgres().then(StateDir::new)
}

fn rows_by_site(dir: &StateDir) -> Vec<(String, String, i64)> {
    let schema = backend::schema_of(&dir.path()).unwrap();
    backend::with_server(|client| {
        client
            .query(
                &format!(
                    "SELECT i.site, r.entity, count(*) FROM {schema}.csm_sync_records r \
                     JOIN {schema}.csm_sync_site_ids i ON i.id = r.site \
                     GROUP BY i.site, r.entity ORDER BY i.site, r.entity"
                ),
                &[],
            )
            .unwrap()
            .into_iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect()
    })
}

#[tokio::test]
async fn many_sites_and_entities_share_one_database_each_in_its_own_namespace() {
    let Some(dir) = postgres_state() else { return };
    let (one, two) = (
        fake(Duration::from_millis(20)).await,
        fake(Duration::from_millis(20)).await,
    );
    let (a, b) = (one.client(), two.client());
    let state = dir.path();
    let (first, second) = tokio::join!(
        sync_profiles(&a, &state, profiles(120)),
        sync_profiles(&b, &state, profiles(30)),
    );
    assert_eq!((first.counts.new, second.counts.new), (120, 30));
    // Another entity of a site: its own, beside the profiles (no `add_entity` needed: the
    // namespace is the site itself).
    let organizations = a
        .sync_organizations(
            (0..3)
                .map(|i| {
                    serde_json::from_value(serde_json::json!({
                        "operationType": "CREATE", "payload": {"name": format!("Org {i}")}
                    }))
                    .unwrap()
                })
                .collect::<Vec<atlassian_csm::types::BulkOrganizationOperationRequest>>(),
        )
        .state(dir.path())
        .await
        .unwrap();
    assert_eq!(organizations.counts.new, 3);
    let held = rows_by_site(&dir);
    let site = |fake: &atlassian_csm_mock::FakeCsm| fake.client().base_url().to_string();
    assert_eq!(held, {
        let mut expected = vec![
            (site(&one), "customer_profiles".to_string(), 120),
            (site(&one), "organizations".to_string(), 3),
            (site(&two), "customer_profiles".to_string(), 30),
        ];
        expected.sort();
        expected
    });
    // Each site's next run sees only its own records.
    let again = sync_profiles(&b, &dir.path(), profiles(30)).await;
    assert_eq!((again.counts.unchanged, again.counts.absent), (30, 0));
}

#[tokio::test]
async fn a_site_held_by_another_session_is_refused_within_a_second_naming_the_holder() {
    let Some(dir) = postgres_state() else { return };
    let fake = fake(Duration::from_millis(20)).await;
    let client = fake.client();
    sync_profiles(&client, &dir.path(), profiles(5)).await;
    let schema = backend::schema_of(&dir.path()).unwrap();
    let url = std::env::var("CSM_TEST_POSTGRES_URL").unwrap();
    // Another worker's session holds the site's lock (and appears in the holders view).
    let (hold, holding) = std::sync::mpsc::channel::<()>();
    let (release, released) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let mut other = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        other
            .batch_execute(&format!(
                "SELECT pg_advisory_lock(lock_key) FROM {schema}.csm_sync_sites; \
                 UPDATE {schema}.csm_sync_sites SET holder = 'worker-7 process 42', \
                 held_since = '2026-12-06T02:00:00Z'"
            ))
            .unwrap();
        let listed: i64 = other
            .query_one(
                &format!("SELECT count(*) FROM {schema}.csm_sync_holders"),
                &[],
            )
            .unwrap()
            .get(0);
        assert_eq!(listed, 1);
        hold.send(()).unwrap();
        released.recv().unwrap();
    });
    holding.recv().unwrap();
    let started = std::time::Instant::now();
    let refused = client
        .sync_customer_profiles(profiles(5))
        .state(dir.path())
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(matches!(refused, Error::StateLocked { .. }), "{refused}");
    assert!(
        refused
            .to_string()
            .contains("worker-7 process 42 since 2026-12-06T02:00:00Z"),
        "{refused}"
    );
    // Its connection gone (a worker killed), the site is free.
    release.send(()).unwrap();
    holder.join().unwrap();
    let report = sync_profiles(&client, &dir.path(), profiles(5)).await;
    assert_eq!(report.counts.unchanged, 5);
}

#[tokio::test]
async fn a_database_of_a_newer_schema_is_refused_and_left_as_it_was() {
    let Some(dir) = postgres_state() else { return };
    let fake = fake(Duration::from_millis(20)).await;
    let client = fake.client();
    sync_profiles(&client, &dir.path(), profiles(5)).await;
    let schema = backend::schema_of(&dir.path()).unwrap();
    backend::with_server(|c| {
        c.batch_execute(&format!(
            "UPDATE {schema}.csm_sync_meta SET value = '99' WHERE name = 'schema_version'"
        ))
        .unwrap()
    });
    let before = fake.requests().len();
    let refused = client
        .sync_customer_profiles(profiles(6))
        .state(dir.path())
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("newer version"), "{refused}");
    assert_eq!(fake.requests().len(), before, "nothing was sent");
    let version: String = backend::with_server(|c| {
        c.query_one(
            &format!("SELECT value FROM {schema}.csm_sync_meta WHERE name = 'schema_version'"),
            &[],
        )
        .unwrap()
        .get(0)
    });
    assert_eq!(version, "99");
}
