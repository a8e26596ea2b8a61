//! Deleting what left the source, where the API can: detail values cleared through the bulk
//! endpoint, accounts and organizations through their delete calls.

use super::entity::Deletion;
use super::entity::SyncEndpoint;
use super::job::{now, on_state, Job};
use super::report::{StateKey, SyncFailure, SyncReport};
use super::send::Sender;
use super::state::Tracked;
use crate::bulk::RecordOutcome;
use crate::error::Error;
use futures::stream::{self, StreamExt};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Delete calls under way at once.
pub(super) const DELETE_CALLS: usize = 4;

/// Deletes the absent items the API can delete (the run was asked to, and the share is within
/// what it allows).
pub(super) async fn delete_absent<E: SyncEndpoint>(
    job: &Job<'_, E>,
    sender: &Sender<'_, '_, E>,
    to_delete: &[StateKey],
    report: &mut SyncReport,
) -> Result<(), Error> {
    match E::DELETION {
        Deletion::Unsupported(_) => Ok(()),
        Deletion::DetailValues => {
            let mut owners: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for absent in to_delete {
                owners
                    .entry(absent.key.clone())
                    .or_default()
                    .push(absent.field.clone().unwrap_or_default());
            }
            let records: Vec<_> = owners
                .into_iter()
                .filter_map(|(owner, fields)| {
                    let record = E::clearing(&owner, &fields)?;
                    let items = fields
                        .into_iter()
                        .map(|field| Tracked {
                            key: owner.clone(),
                            field,
                            fingerprint: None,
                            alias: String::new(),
                            replaces: None,
                        })
                        .collect();
                    Some(Ok((None, record, items)))
                })
                .collect();
            let expected = records.len();
            sender
                .send(stream::iter(records), expected, report, false)
                .await
        }
        Deletion::Call => {
            let client = job.client;
            let keys: Vec<String> = to_delete.iter().map(|k| k.key.clone()).collect();
            let mut calls = stream::iter(keys)
                .map(|key| async move {
                    let call = E::delete_call(client, &key).expect("keys known by id");
                    (key, call.await)
                })
                .buffer_unordered(DELETE_CALLS);
            while let Some((key, result)) = calls.next().await {
                // A 404: already gone (deleted by hand, or by a run killed before it wrote so).
                let gone = match &result {
                    Ok(()) => true,
                    Err(Error::Api { status, .. }) => status.as_u16() == 404,
                    Err(_) => false,
                };
                if gone {
                    report.counts.deleted += 1;
                    let k = key.clone();
                    let removed = Tracked {
                        key: k,
                        field: String::new(),
                        fingerprint: None,
                        alias: String::new(),
                        replaces: None,
                    };
                    on_state(&job.state, &job.path, move |s| {
                        s.finished(E::ENTITY, None, false, &[removed], now())
                    })
                    .await?;
                } else if let Err(error) = result {
                    let outcome = if error.provably_not_processed() {
                        RecordOutcome::NotSubmitted(Arc::new(error))
                    } else {
                        RecordOutcome::Unconfirmed(Arc::new(error))
                    };
                    report.failures.push(SyncFailure {
                        row: None,
                        key: Some(StateKey::new(key, String::new())),
                        outcome,
                    });
                }
            }
            Ok(())
        }
    }
}
