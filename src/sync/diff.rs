//! The local pass: the whole input read, keyed, fingerprinted and compared with the state, with
//! nothing sent; what left the source, and whether it may be deleted.

use super::entity::SyncEndpoint;
use super::entity::{Deletion, Item};
use super::job::{on_state, Job, Source};
use super::report::{StateKey, SyncCounts, SyncFailure, SyncProgress};
use super::state::{is_second_name, AbsentItem, Known, Tracked};
use super::store::State;
use crate::bulk::{RecordOutcome, RecordValidator};
use crate::error::Error;
use futures::stream::StreamExt;
use std::sync::Arc;
use std::time::Duration;

/// What the rules of a run say of items the state holds.
#[derive(Clone, Copy)]
pub(super) struct Rules {
    pub(super) full: bool,
    pub(super) max_age: Option<Duration>,
    pub(super) now: i64,
}

impl Rules {
    /// Whether an item confirmed at `confirmed_at` is due to be sent again: at a point between
    /// half of `max_age` and `max_age` after it, fixed by its key, so that items confirmed in
    /// one run fall due over several.
    fn due(&self, item: &Item, confirmed_at: i64) -> bool {
        let Some(max_age) = self.max_age else {
            return false;
        };
        let spread = key_fraction(&item.key, &item.field);
        let due_after = max_age.as_secs_f64() * (0.5 + 0.5 * spread);
        (self.now - confirmed_at) as f64 >= due_after
    }
}

/// A number in [0, 1) fixed by the key (FNV-1a: stable across versions and platforms).
pub(super) fn key_fraction(key: &str, field: &str) -> f64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in key.bytes().chain([0]).chain(field.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    (hash >> 11) as f64 / (1u64 << 53) as f64
}

/// What the local pass found.
#[derive(Default)]
pub(super) struct Diff {
    pub(super) counts: SyncCounts,
    /// Items of the state the input held.
    pub(super) found: u64,
    /// Items of the state before the run.
    pub(super) state_items: u64,
    /// Records to send.
    pub(super) to_send: usize,
    /// Invalid records, skipped.
    pub(super) failures: Vec<SyncFailure>,
    /// Invalid records whose key is not known: their items may be among the absent ones.
    pub(super) keyless_invalid: usize,
    /// New records named only by a second name (an email, an organization's name): each may be
    /// a record the state knows by its id alone.
    pub(super) new_by_second_name: usize,
    /// The sync was stopped before the input was read to its end.
    pub(super) stopped: bool,
}

/// Reads the whole input, compares it with the state and keeps the records to send (on disk).
/// Sends nothing; an invalid record (unless skipped) or a key seen twice ends it with
/// [`Error::InvalidInput`].
///
/// Two stages run at once: this task reads, checks, keys and fingerprints a batch while a
/// blocking thread looks the previous one up in the state.
pub(super) async fn local_pass<E: SyncEndpoint>(
    job: &Job<'_, E>,
    mut source: Source<'_, E>,
) -> Result<Diff, Error> {
    let (state_items, batch_size) = on_state(&job.state, &job.path, |state| {
        state.start_input()?;
        Ok((state.count(E::ENTITY)?, state.batch_size()))
    })
    .await?;
    let mut diff = Diff {
        state_items,
        ..Diff::default()
    };
    let rules = Rules {
        full: job.options.full,
        max_age: job.options.max_age,
        now: job.started_at,
    };
    let skip_invalid = job.options.skip_invalid;
    let input_checked = job.options.input_checked;
    let mut validator = Some(RecordValidator::<E>::for_client(job.client));
    let mut row = 0;
    let mut exhausted = false;
    type LookingUp<V> = tokio::task::JoinHandle<Result<(Diff, V), Error>>;
    let mut looking_up: Option<LookingUp<RecordValidator<E>>> = None;
    while !exhausted {
        if job.stop.is_stopped() {
            diff.stopped = true;
            break;
        }
        let mut batch = Vec::with_capacity(batch_size);
        while batch.len() < batch_size {
            let Some(read) = source.next().await else {
                exhausted = true;
                break;
            };
            // An input not read to its end is no evidence of anything: no option skips it.
            let record = read?;
            match record.and_then(|record| key::<E>(row, record, skip_invalid)) {
                Ok(Ok(keyed)) => batch.push(keyed),
                Ok(Err(failure)) => {
                    diff.keyless_invalid += 1;
                    diff.failures.push(failure);
                }
                Err(error) if skip_invalid => {
                    diff.keyless_invalid += 1;
                    diff.failures.push(invalid(row, None, error));
                }
                Err(error) => return Err(error),
            }
            row += 1;
        }
        if let Some(previous) = looking_up.take() {
            let (found, checker) = joined(previous.await, &job.path)?;
            diff.add(found);
            validator = Some(checker);
        }
        let state = job.state.clone();
        let mut checker = validator.take().expect("handed back by the previous batch");
        looking_up = Some(tokio::task::spawn_blocking(move || {
            let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
            let checker_ref = (!input_checked).then_some(&mut checker);
            let found = classify::<E>(&mut **state, checker_ref, batch, rules, skip_invalid)?;
            Ok((found, checker))
        }));
        diff.counts.rows = row;
        if let Some(callback) = &job.on_progress {
            callback(&SyncProgress {
                rows_read: row,
                input_read: false,
                to_send: diff.to_send,
                sent_finished: 0,
                waiting_tasks: 0,
                estimated_time_left: None,
            });
        }
    }
    if let Some(last) = looking_up {
        diff.add(joined(last.await, &job.path)?.0);
    }
    if let Some(callback) = &job.on_progress {
        // Nothing sent yet: the time left is known only from what an earlier run learned.
        let known = job.client.site_pace();
        callback(&SyncProgress {
            rows_read: row,
            input_read: true,
            to_send: diff.to_send,
            sent_finished: 0,
            waiting_tasks: 0,
            estimated_time_left: known.time_for(diff.to_send, job.options.max_in_flight),
        });
    }
    diff.counts.failed = diff.failures.len();
    Ok(diff)
}

pub(super) fn joined<T>(
    joined: Result<Result<T, Error>, tokio::task::JoinError>,
    path: &std::path::Path,
) -> Result<T, Error> {
    joined.unwrap_or_else(|e| {
        Err(Error::State {
            path: path.to_path_buf(),
            message: format!("a read was interrupted: {e}"),
        })
    })
}

impl Diff {
    /// Adds a batch's findings.
    fn add(&mut self, batch: Diff) {
        self.counts.new += batch.counts.new;
        self.counts.changed += batch.counts.changed;
        self.counts.resent += batch.counts.resent;
        self.counts.unchanged += batch.counts.unchanged;
        self.found += batch.found;
        self.to_send += batch.to_send;
        self.new_by_second_name += batch.new_by_second_name;
        self.failures.extend(batch.failures);
    }
}

/// A record of the input, keyed.
pub(super) struct Keyed<R> {
    row: usize,
    record: R,
    items: Vec<Item>,
}

/// Takes a record's items. One with no key is an error unless `skip_invalid`, then a failure.
pub(super) fn key<E: SyncEndpoint>(
    row: usize,
    record: E::Record,
    skip_invalid: bool,
) -> Result<Result<Keyed<E::Record>, SyncFailure>, Error> {
    match E::items(&record) {
        Ok(items) => Ok(Ok(Keyed { row, record, items })),
        Err(message) => {
            let error = Error::InvalidInput {
                field: crate::FieldPath::record_of(E::ARRAY_FIELD, row),
                message,
            };
            if !skip_invalid {
                return Err(error);
            }
            Ok(Err(invalid(row, None, error)))
        }
    }
}

pub(super) fn invalid(row: usize, key: Option<StateKey>, error: Error) -> SyncFailure {
    SyncFailure {
        row: Some(row),
        key,
        outcome: RecordOutcome::NotSubmitted(Arc::new(error)),
    }
}

/// One batch of the local pass: what the state holds of each record's items, and the records
/// (or, for detail values, the operations) to send. Only those are checked: an unchanged record
/// is one that was sent and succeeded. An invalid one is an error unless `skip_invalid`, then a
/// failure whose items still count as seen (it is not taken for an absent one).
pub(super) fn classify<E: SyncEndpoint>(
    state: &mut State,
    // None when the records come checked.
    mut validator: Option<&mut RecordValidator<E>>,
    batch: Vec<Keyed<E::Record>>,
    rules: Rules,
    skip_invalid: bool,
) -> Result<Diff, Error> {
    let mut diff = Diff::default();
    let mut keyed = Vec::with_capacity(batch.len());
    let mut records = Vec::with_capacity(batch.len());
    for Keyed { row, record, items } in batch {
        keyed.push((row, items));
        records.push(record);
    }
    let known = match state.look_up(E::ENTITY, &keyed)? {
        Ok(known) => known,
        Err(duplicate) => {
            return Err(Error::DuplicateKey {
                field: crate::FieldPath::record_of(E::ARRAY_FIELD, duplicate.row),
                key: duplicate.key.to_string(),
                record: duplicate.row,
                first_record: duplicate.first_row,
            })
        }
    };
    let mut todo = Vec::new();
    for ((row, items), (record, known)) in keyed.into_iter().zip(records.into_iter().zip(known)) {
        let whole = items.len();
        let mut to_send: Vec<Tracked> = Vec::new();
        for (item, known) in items.into_iter().zip(known) {
            diff.found += u64::from(known.is_some());
            let send = match &known {
                None => {
                    diff.counts.new += 1;
                    diff.new_by_second_name += usize::from(is_second_name(&item.key));
                    true
                }
                Some(_) if rules.full => {
                    diff.counts.resent += 1;
                    true
                }
                Some(known) if !known.same_content => {
                    diff.counts.changed += 1;
                    true
                }
                Some(known) if rules.due(&item, known.confirmed_at) => {
                    diff.counts.resent += 1;
                    true
                }
                Some(_) => {
                    diff.counts.unchanged += 1;
                    false
                }
            };
            if send {
                to_send.push(tracked(item, known));
            }
        }
        if to_send.is_empty() {
            continue;
        }
        let checked = match validator.as_deref_mut() {
            Some(validator) => validator.check(row, &record),
            None => Ok(()),
        };
        match checked {
            Ok(_) => {}
            Err(error) if skip_invalid => {
                diff.failures
                    .push(invalid(row, Some(to_send[0].state_key()), error));
                continue;
            }
            Err(error) => return Err(error),
        }
        let record = if to_send.len() == whole {
            record
        } else {
            let fields: Vec<&str> = to_send.iter().map(|t| t.field.as_str()).collect();
            E::only(record, &fields)
        };
        let record = serde_json::to_string(&record).expect("records serialize");
        let items = serde_json::to_string(&to_send).expect("items serialize");
        todo.push((row, record, items));
    }
    diff.to_send = todo.len();
    state.push_todo(&todo)?;
    Ok(diff)
}

/// How an item is kept once sent: under the key of the row it matched when the input names a
/// record known by its id by its second name alone; under its id when the state knew it by its
/// second name (that row replaced); with the second name it gives, or the one the state knew.
fn tracked(item: super::entity::Item, known: Option<Known>) -> Tracked {
    let Some(known) = known else {
        return Tracked {
            key: item.key,
            field: item.field,
            fingerprint: Some(item.fingerprint),
            alias: item.alias,
            replaces: None,
        };
    };
    let matched = known.other_key.unwrap_or_else(|| item.key.clone());
    let key = if is_second_name(&item.key) {
        matched.clone()
    } else {
        item.key
    };
    let alias = if !item.alias.is_empty() {
        item.alias
    } else if matched == key {
        known.alias
    } else {
        String::new()
    };
    Tracked {
        replaces: (matched != key).then_some(matched),
        key,
        field: item.field,
        fingerprint: Some(item.fingerprint),
        alias,
    }
}

/// The state's items the input did not hold by any of their names. An input that holds no
/// record, or was not read to its end, is no evidence that anything left it: none is absent.
pub(super) async fn absent_items<E: SyncEndpoint>(
    job: &Job<'_, E>,
    diff: &Diff,
) -> Result<Vec<AbsentItem>, Error> {
    if diff.found >= diff.state_items || diff.counts.rows == 0 || diff.stopped {
        return Ok(Vec::new());
    }
    on_state(&job.state, &job.path, |state| state.absent(E::ENTITY)).await
}

/// The keys of absent items, as reported.
pub(super) fn absent_keys(absent: &[AbsentItem]) -> Vec<StateKey> {
    absent
        .iter()
        .map(|a| StateKey::new(a.key.clone(), a.field.clone()))
        .collect()
}

/// Which absent items a run deletes, and why not all when it does not.
pub(super) fn deletion_decision<E: SyncEndpoint>(
    job: &Job<'_, E>,
    diff: &Diff,
    absent: &[AbsentItem],
) -> (Vec<StateKey>, Option<String>) {
    if !job.options.delete_absent {
        return (Vec::new(), None);
    }
    if diff.counts.rows == 0 && diff.state_items > 0 {
        return (
            Vec::new(),
            Some(format!(
                "the input holds no records: an empty export is no evidence that the state's {} items left it; none was taken as absent or deleted",
                diff.state_items
            )),
        );
    }
    if absent.is_empty() {
        return (Vec::new(), None);
    }
    if diff.keyless_invalid > 0 {
        return (
            Vec::new(),
            Some(format!(
                "{} invalid records have no key, so theirs may be among the {} absent ones; none was deleted",
                diff.keyless_invalid,
                absent.len()
            )),
        );
    }
    let share = absent.len() as f64 / diff.state_items.max(1) as f64;
    let allowed = job.options.max_delete_fraction;
    if share > allowed {
        return (
            Vec::new(),
            Some(format!(
                "{} of the state's {} items are absent ({:.1} %), more than the {:.1} % one run may delete; none was deleted (raise the share allowed to delete them)",
                absent.len(),
                diff.state_items,
                share * 100.0,
                allowed * 100.0
            )),
        );
    }
    match E::DELETION {
        Deletion::Unsupported(reason) => (
            Vec::new(),
            Some(format!(
                "{} absent items were not deleted: {reason}",
                absent.len()
            )),
        ),
        Deletion::DetailValues => (absent_keys(absent), None),
        Deletion::Call => {
            // Known by id, and not possibly in the input under a second name the state never
            // saw beside that id.
            let (by_id, by_second_name): (Vec<&AbsentItem>, Vec<&AbsentItem>) =
                absent.iter().partition(|a| a.key.starts_with("id:"));
            let (deletable, unsure): (Vec<&AbsentItem>, Vec<&AbsentItem>) = by_id
                .into_iter()
                .partition(|a| a.alias_known || diff.new_by_second_name == 0);
            let mut refused = Vec::new();
            if !by_second_name.is_empty() {
                refused.push(format!(
                    "{} absent records are known by email or name, and the API deletes by id only: they were not deleted",
                    by_second_name.len()
                ));
            }
            if !unsure.is_empty() {
                refused.push(format!(
                    "{} absent records are known by id alone, and the input names {} new records by email or name only, which may be any of them: they were not deleted",
                    unsure.len(),
                    diff.new_by_second_name
                ));
            }
            let deletable = deletable
                .into_iter()
                .map(|a| StateKey::new(a.key.clone(), a.field.clone()))
                .collect();
            (deletable, (!refused.is_empty()).then(|| refused.join("; ")))
        }
    }
}
