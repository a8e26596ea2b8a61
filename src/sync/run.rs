//! How a sync runs: the local pass against the state, the requests an earlier run left in
//! flight, the import of what changed, and the deletions.

use super::entity::{Deletion, Item};
use super::report::{StateKey, SyncCounts, SyncFailure, SyncPlan, SyncProgress, SyncReport};
use super::state::{PendingItem, RunCounts, State};
use super::{Options, ProgressCallback, SyncEndpoint, SyncImport};
use crate::bulk::observer::RequestObserver;
use crate::bulk::{self, BulkEndpoint, BulkImport, BulkRequest, RecordOutcome, RecordValidator};
use crate::error::Error;
use crate::Client;
use futures::stream::{self, BoxStream, Stream, StreamExt};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::marker::PhantomData;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Rows compared with the state in one transaction.
const BATCH: usize = 500;
/// Records read back from the records to send at a time.
const PAGE: usize = 500;
/// Delete calls under way at once.
const DELETE_CALLS: usize = 4;

type Shared = Arc<Mutex<State>>;

/// An item a request carries: written with its fingerprint when the request succeeds, or
/// removed from the state (`None`: the request deletes it).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct Tracked {
    key: String,
    field: String,
    fingerprint: Option<String>,
}

impl From<Item> for Tracked {
    fn from(item: Item) -> Self {
        Self {
            key: item.key,
            field: item.field,
            fingerprint: Some(item.fingerprint),
        }
    }
}

impl Tracked {
    fn state_key(&self) -> StateKey {
        StateKey::new(self.key.clone(), self.field.clone())
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Runs `work` on the state, off the async threads.
async fn on_state<T: Send + 'static>(
    state: &Shared,
    path: &std::path::Path,
    work: impl FnOnce(&mut State) -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    let state = state.clone();
    tokio::task::spawn_blocking(move || work(&mut state.lock().unwrap_or_else(|e| e.into_inner())))
        .await
        .unwrap_or_else(|e| {
            Err(Error::State {
                path: path.to_path_buf(),
                message: format!("a read or write was interrupted: {e}"),
            })
        })
}

/// What the rules of a run say of items the state holds.
#[derive(Clone, Copy)]
struct Rules {
    full: bool,
    max_age: Option<Duration>,
    now: i64,
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
fn key_fraction(key: &str, field: &str) -> f64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in key.bytes().chain([0]).chain(field.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    (hash >> 11) as f64 / (1u64 << 53) as f64
}

/// What the local pass found.
#[derive(Default)]
struct Diff {
    counts: SyncCounts,
    /// Items of the state the input held.
    found: u64,
    /// Items of the state before the run.
    state_items: u64,
    /// Records to send.
    to_send: usize,
    /// Invalid records, skipped.
    failures: Vec<SyncFailure>,
    /// Invalid records whose key is not known: their items may be among the absent ones.
    keyless_invalid: usize,
}

/// A sync under way: its settings and its open state (the input is read apart).
struct Job<'a, E: SyncEndpoint> {
    client: &'a Client,
    options: Options,
    on_progress: Option<ProgressCallback<'a>>,
    path: PathBuf,
    state: Shared,
    started_at: i64,
    endpoint: PhantomData<E>,
}

type Source<'a, E> = BoxStream<'a, Result<<E as BulkEndpoint>::Record, Error>>;

async fn open<'a, E: SyncEndpoint>(
    settings: SyncImport<'a, E>,
) -> Result<(Job<'a, E>, Source<'a, E>), Error> {
    let SyncImport {
        client,
        source,
        state,
        options,
        on_progress,
    } = settings;
    let path = state.ok_or_else(|| {
        Error::Config("a sync needs its state file: call .state(path) on it".into())
    })?;
    let opened = {
        let path = path.clone();
        tokio::task::spawn_blocking(move || State::open(&path))
            .await
            .unwrap_or_else(|e| {
                Err(Error::State {
                    path: PathBuf::new(),
                    message: format!("opening was interrupted: {e}"),
                })
            })?
    };
    let job = Job {
        client,
        options,
        on_progress,
        path,
        state: Arc::new(Mutex::new(opened)),
        started_at: now(),
        endpoint: PhantomData,
    };
    Ok((job, source))
}

/// [`SyncImport::plan`].
pub(super) async fn plan<E: SyncEndpoint>(settings: SyncImport<'_, E>) -> Result<SyncPlan, Error> {
    let (job, source) = open(settings).await?;
    let diff = local_pass(&job, source).await?;
    let absent = absent_items::<E>(&job, &diff).await?;
    let (deletions, deletion_refused) = deletion_decision::<E>(&job, &diff, &absent);
    let requests = on_state(&job.state, &job.path, |state| {
        let mut failed = None;
        let records = todo_records::<E>(state, &mut failed);
        let requests = bulk::requests_for::<E>(records);
        failed.map_or(Ok(requests), Err)
    })
    .await?;
    let (pending_requests, last_pace) = on_state(&job.state, &job.path, |state| {
        Ok((state.pending(E::ENTITY)?.len(), state.last_pace(E::ENTITY)?))
    })
    .await?;
    let mut counts = diff.counts;
    counts.absent = absent.len();
    Ok(SyncPlan {
        counts,
        requests,
        deletions,
        deletion_refused,
        absent,
        pending_requests,
        last_pace,
    })
}

/// Every record to send, read back page by page; a read error stops it and is left in `failed`.
fn todo_records<'s, E: SyncEndpoint>(
    state: &'s State,
    failed: &'s mut Option<Error>,
) -> impl Iterator<Item = E::Record> + 's {
    let mut from = 0;
    std::iter::from_fn(move || {
        if failed.is_some() {
            return None;
        }
        match state.todo(from, PAGE) {
            Ok(page) if page.is_empty() => None,
            Ok(page) => {
                from += page.len();
                Some(page)
            }
            Err(error) => {
                *failed = Some(error);
                None
            }
        }
    })
    .flatten()
    .filter_map(|(_, _, record, _)| serde_json::from_str::<E::Record>(&record).ok())
}

/// Reads the whole input, compares it with the state and keeps the records to send (on disk).
/// Sends nothing; an invalid record (unless skipped) or a key seen twice ends it with
/// [`Error::InvalidInput`].
///
/// Two stages run at once: this task reads, checks, keys and fingerprints a batch while a
/// blocking thread looks the previous one up in the state.
async fn local_pass<E: SyncEndpoint>(
    job: &Job<'_, E>,
    mut source: Source<'_, E>,
) -> Result<Diff, Error> {
    let state_items = on_state(&job.state, &job.path, |state| {
        state.start_input()?;
        state.count(E::ENTITY)
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
    let mut validator = Some(RecordValidator::<E>::for_client(job.client));
    let mut row = 0;
    let mut exhausted = false;
    type LookingUp<V> = tokio::task::JoinHandle<Result<(Diff, V), Error>>;
    let mut looking_up: Option<LookingUp<RecordValidator<E>>> = None;
    while !exhausted {
        let mut batch = Vec::with_capacity(BATCH);
        while batch.len() < BATCH {
            let Some(record) = source.next().await else {
                exhausted = true;
                break;
            };
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
            let found = classify::<E>(&mut state, &mut checker, batch, rules, skip_invalid)?;
            Ok((found, checker))
        }));
        diff.counts.rows = row;
        if let Some(callback) = &job.on_progress {
            callback(&SyncProgress {
                rows_read: row,
                input_read: false,
                to_send: diff.to_send,
                sent_finished: 0,
            });
        }
    }
    if let Some(last) = looking_up {
        diff.add(joined(last.await, &job.path)?.0);
    }
    if let Some(callback) = &job.on_progress {
        callback(&SyncProgress {
            rows_read: row,
            input_read: true,
            to_send: diff.to_send,
            sent_finished: 0,
        });
    }
    diff.counts.failed = diff.failures.len();
    Ok(diff)
}

fn joined<T>(
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
        self.failures.extend(batch.failures);
    }
}

/// A record of the input, keyed.
struct Keyed<R> {
    row: usize,
    record: R,
    items: Vec<Item>,
}

/// Takes a record's items. One with no key is an error unless `skip_invalid`, then a failure.
fn key<E: SyncEndpoint>(
    row: usize,
    record: E::Record,
    skip_invalid: bool,
) -> Result<Result<Keyed<E::Record>, SyncFailure>, Error> {
    match E::items(&record) {
        Ok(items) => Ok(Ok(Keyed { row, record, items })),
        Err(message) => {
            let error = Error::InvalidInput {
                field: format!("{}[{row}]", E::ARRAY_FIELD),
                message,
            };
            if !skip_invalid {
                return Err(error);
            }
            Ok(Err(invalid(row, None, error)))
        }
    }
}

fn invalid(row: usize, key: Option<StateKey>, error: Error) -> SyncFailure {
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
fn classify<E: SyncEndpoint>(
    state: &mut State,
    validator: &mut RecordValidator<E>,
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
        Err(duplicate) if duplicate.row == duplicate.first_row => {
            return Err(Error::InvalidInput {
                field: format!("{}[{}]", E::ARRAY_FIELD, duplicate.row),
                message: format!("it names {} twice", duplicate.key),
            })
        }
        Err(duplicate) => {
            return Err(Error::InvalidInput {
                field: format!("{}[{}]", E::ARRAY_FIELD, duplicate.row),
                message: format!(
                    "its key {} is record {}'s too: a key may appear once in a sync's input",
                    duplicate.key, duplicate.first_row
                ),
            })
        }
    };
    let mut todo = Vec::new();
    for ((row, items), (record, known)) in keyed.into_iter().zip(records.into_iter().zip(known)) {
        let whole = items.len();
        let mut to_send: Vec<Tracked> = Vec::new();
        for (item, known) in items.into_iter().zip(known) {
            diff.found += u64::from(known.is_some());
            let send = match known {
                None => {
                    diff.counts.new += 1;
                    true
                }
                Some(_) if rules.full => {
                    diff.counts.resent += 1;
                    true
                }
                Some(known) if known.fingerprint != item.fingerprint => {
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
                to_send.push(item.into());
            }
        }
        if to_send.is_empty() {
            continue;
        }
        match validator.check(row, &record) {
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

/// The state's items the input did not hold.
async fn absent_items<E: SyncEndpoint>(
    job: &Job<'_, E>,
    diff: &Diff,
) -> Result<Vec<StateKey>, Error> {
    if diff.found >= diff.state_items {
        return Ok(Vec::new());
    }
    let absent = on_state(&job.state, &job.path, |state| state.absent(E::ENTITY)).await?;
    Ok(absent
        .into_iter()
        .map(|(key, field)| StateKey::new(key, field))
        .collect())
}

/// How many absent items a run deletes, and why not all when it does not.
fn deletion_decision<E: SyncEndpoint>(
    job: &Job<'_, E>,
    diff: &Diff,
    absent: &[StateKey],
) -> (usize, Option<String>) {
    if !job.options.delete_absent || absent.is_empty() {
        return (0, None);
    }
    if diff.keyless_invalid > 0 {
        return (
            0,
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
            0,
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
            0,
            Some(format!(
                "{} absent items were not deleted: {reason}",
                absent.len()
            )),
        ),
        Deletion::DetailValues => (absent.len(), None),
        Deletion::Call => {
            let by_id = absent.iter().filter(|k| k.key.starts_with("id:")).count();
            let refused = (by_id < absent.len()).then(|| {
                format!(
                    "{} absent records are known by email or name, and the API deletes by id only: they were not deleted",
                    absent.len() - by_id
                )
            });
            (by_id, refused)
        }
    }
}

/// [`SyncImport`]'s run.
pub(super) async fn sync<E: SyncEndpoint>(
    settings: SyncImport<'_, E>,
) -> Result<SyncReport, Error> {
    let (job, source) = open(settings).await?;
    let diff = local_pass(&job, source).await?;
    let absent = absent_items::<E>(&job, &diff).await?;
    let (deletions, deletion_refused) = deletion_decision::<E>(&job, &diff, &absent);
    let mut report = SyncReport {
        counts: diff.counts,
        failures: diff.failures,
        absent,
        deletion_refused,
    };
    report.counts.absent = report.absent.len();

    // What an interrupted run left in flight ends first; its items are not sent again now.
    let carried = recover::<E>(&job, &mut report).await?;

    let sender = Sender::<E>::new(&job, diff.to_send);
    let todo = todo_stream::<E>(&job, carried);
    sender.send(todo, &mut report).await?;

    if deletions > 0 {
        delete_absent::<E>(&job, &sender, &mut report).await?;
    }

    report.counts.failed = report.failures.len();
    let counts = RunCounts {
        new: report.counts.new as u64,
        changed: report.counts.changed as u64,
        resent: report.counts.resent as u64,
        unchanged: report.counts.unchanged as u64,
        absent: report.counts.absent as u64,
        deleted: report.counts.deleted as u64,
        failed: report.counts.failed as u64,
    };
    let started_at = job.started_at;
    on_state(&job.state, &job.path, move |state| {
        state.record_run(E::ENTITY, started_at, now(), &counts)
    })
    .await?;
    Ok(report)
}

/// The records to send, read back from the state as the import asks for them, less the items
/// an earlier run's request carried with the same content (they were just seen to their end).
fn todo_stream<'j, E: SyncEndpoint>(
    job: &'j Job<'_, E>,
    carried: HashSet<(String, String, String)>,
) -> impl Stream<Item = ToSend<E::Record>> + Send + 'j {
    let state = job.state.clone();
    let path = job.path.clone();
    let carried = Arc::new(carried);
    stream::unfold(Some(0usize), move |from| {
        let (state, path) = (state.clone(), path.clone());
        async move {
            let from = from?;
            let page = {
                let path = path.clone();
                on_state(&state, &path, move |s| s.todo(from, PAGE)).await
            };
            match page {
                Ok(page) if page.is_empty() => None,
                Ok(page) => {
                    let next = from + page.len();
                    Some((Ok(page), Some(next)))
                }
                Err(error) => Some((Err(error), None)),
            }
        }
    })
    .flat_map(move |page| {
        let carried = carried.clone();
        let path = job.path.clone();
        let records: Vec<_> = match page {
            Err(error) => vec![Err(error)],
            Ok(page) => page
                .into_iter()
                .filter_map(|(_, row, record, items)| {
                    let decoded = serde_json::from_str::<E::Record>(&record)
                        .and_then(|r| Ok((r, serde_json::from_str::<Vec<Tracked>>(&items)?)));
                    let (record, items) = match decoded {
                        Ok(decoded) => decoded,
                        Err(e) => {
                            return Some(Err(Error::State {
                                path: path.clone(),
                                message: format!("a record to send could not be read back: {e}"),
                            }))
                        }
                    };
                    let items: Vec<Tracked> = items
                        .into_iter()
                        .filter(|t| {
                            let fingerprint = t.fingerprint.clone().unwrap_or_default();
                            !carried.contains(&(t.key.clone(), t.field.clone(), fingerprint))
                        })
                        .collect();
                    let fields: Vec<&str> = items.iter().map(|t| t.field.as_str()).collect();
                    (!items.is_empty()).then(|| {
                        let record = E::only(record, &fields);
                        Ok((Some(row), record, items.clone()))
                    })
                })
                .collect(),
        };
        stream::iter(records)
    })
}

/// Sees the requests an earlier run left in flight to their end: polled by task id, or sent
/// again under their key with their body. Returns the items they carried.
async fn recover<E: SyncEndpoint>(
    job: &Job<'_, E>,
    report: &mut SyncReport,
) -> Result<HashSet<(String, String, String)>, Error> {
    let pending = on_state(&job.state, &job.path, |state| state.pending(E::ENTITY)).await?;
    let mut carried = HashSet::new();
    let client = job.client;
    let deadline = job.options.task_deadline;
    for request in pending {
        let records: Vec<E::Record> =
            serde_json::from_str(&request.body).map_err(|e| Error::State {
                path: job.path.clone(),
                message: format!(
                    "the body of pending request {} cannot be read: {e}",
                    request.idempotency_key
                ),
            })?;
        for item in &request.items {
            carried.insert((
                item.key.clone(),
                item.field.clone(),
                item.fingerprint.clone().unwrap_or_default(),
            ));
        }
        let key = request.idempotency_key.clone();
        let task_id = match request.task_id.clone() {
            Some(task_id) => task_id,
            None => match submit_again::<E>(client, &records, &key, deadline).await {
                Ok(task_id) => {
                    let (k, t) = (key.clone(), task_id.clone());
                    on_state(&job.state, &job.path, move |s| s.submitted(&k, &t)).await?;
                    task_id
                }
                // Refused: nothing was done under this key, and its items are sent again below
                // (or by the next run) like any other.
                Err(error) if error.provably_not_processed() => {
                    carried.retain(|(k, f, _)| {
                        !request.items.iter().any(|i| &i.key == k && &i.field == f)
                    });
                    forget(job, &key).await?;
                    continue;
                }
                Err(error) => return Err(error),
            },
        };
        report.counts.recovered_requests += 1;
        let ended = client
            .wait_for_task(task_id.clone())
            .deadline(deadline)
            .await;
        let task = match ended {
            Ok(outcome) => outcome.task().clone(),
            // Its result expired (kept 3 days): what it did is not known, and its items are
            // compared again by the next run.
            Err(Error::TaskNotFound { .. }) => {
                forget(job, &key).await?;
                continue;
            }
            Err(error) => return Err(error),
        };
        let positions = (0..records.len()).collect();
        let request_of = BulkRequest {
            records: positions,
            idempotency_key: key.clone(),
            task_id: Some(task_id.clone()),
            status: Some(task.status.clone()),
            polls: 0,
            refusals: 0,
        };
        let result =
            bulk::outcomes::<E>(request_of, &records, &task_id, &task.status, &task.failures);
        let mut by_position: BTreeMap<usize, Vec<Tracked>> = BTreeMap::new();
        for item in request.items {
            by_position.entry(item.position).or_default().push(Tracked {
                key: item.key,
                field: item.field,
                fingerprint: item.fingerprint,
            });
        }
        let mut confirmed = Vec::new();
        for (position, outcome) in result.records {
            let items = by_position.remove(&position).unwrap_or_default();
            match outcome {
                RecordOutcome::Succeeded => confirmed.extend(items),
                outcome => report.failures.push(SyncFailure {
                    row: None,
                    key: items.first().map(Tracked::state_key),
                    outcome,
                }),
            }
        }
        count_deleted(report, &confirmed);
        let k = key.clone();
        on_state(&job.state, &job.path, move |s| {
            s.finished(
                E::ENTITY,
                Some(&k),
                false,
                &confirmed_items(&confirmed),
                &removed(&confirmed),
                now(),
            )
        })
        .await?;
    }
    Ok(carried)
}

async fn forget<E: SyncEndpoint>(job: &Job<'_, E>, key: &str) -> Result<(), Error> {
    let key = key.to_string();
    on_state(&job.state, &job.path, move |s| {
        s.finished(E::ENTITY, Some(&key), false, &[], &[], now())
    })
    .await
}

fn count_deleted(report: &mut SyncReport, confirmed: &[Tracked]) {
    report.counts.deleted += confirmed.iter().filter(|t| t.fingerprint.is_none()).count();
}

fn confirmed_items(tracked: &[Tracked]) -> Vec<Item> {
    tracked
        .iter()
        .filter_map(|t| {
            Some(Item {
                key: t.key.clone(),
                field: t.field.clone(),
                fingerprint: t.fingerprint.clone()?,
            })
        })
        .collect()
}

fn removed(tracked: &[Tracked]) -> Vec<(String, String)> {
    tracked
        .iter()
        .filter(|t| t.fingerprint.is_none())
        .map(|t| (t.key.clone(), t.field.clone()))
        .collect()
}

/// Sends a request again under its key, waiting out "Maximum number of tasks reached" up to
/// `deadline`.
async fn submit_again<E: SyncEndpoint>(
    client: &Client,
    records: &[E::Record],
    key: &str,
    deadline: Duration,
) -> Result<String, Error> {
    let started = Instant::now();
    let mut pause = Duration::from_millis(500);
    loop {
        match E::submit(client, records.to_vec(), key.to_string()).await {
            Ok(task) => return Ok(task.id),
            Err(error) if bulk::is_task_limit(&error) && started.elapsed() + pause < deadline => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(5));
            }
            Err(error) => return Err(error),
        }
    }
}

/// A record to send: its row in the input (none for a deletion), and the items it carries.
type ToSend<R> = Result<(Option<usize>, R, Vec<Tracked>), Error>;

/// What the import knows of a record in flight, by its index in the import.
type InFlight = Arc<Mutex<HashMap<usize, (Option<usize>, Vec<Tracked>)>>>;

/// Keeps each request in the state before it is sent, and the task it started.
struct StateObserver {
    state: Shared,
    entity: &'static str,
    in_flight: InFlight,
}

impl RequestObserver for StateObserver {
    fn planned(&self, key: &str, indexes: &[usize], body: &str) -> Result<(), Error> {
        let items: Vec<PendingItem> = {
            let in_flight = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
            indexes
                .iter()
                .enumerate()
                .flat_map(|(position, index)| {
                    in_flight
                        .get(index)
                        .map(|(_, items)| items.clone())
                        .unwrap_or_default()
                        .into_iter()
                        .map(move |t| PendingItem {
                            position,
                            key: t.key,
                            field: t.field,
                            fingerprint: t.fingerprint,
                        })
                })
                .collect()
        };
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.planned(self.entity, key, body, &items, now())
    }

    fn submitted(&self, key: &str, task_id: &str) -> Result<(), Error> {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.submitted(key, task_id)
    }
}

/// Sends records through the bulk endpoint and writes to the state what each finished request
/// confirmed.
struct Sender<'j, 'a, E: SyncEndpoint> {
    job: &'j Job<'a, E>,
    /// Mixed into every idempotency key: a run's requests never share a key with an earlier
    /// run's (content that changed and changed back is sent again, not taken for the old task).
    namespace: String,
    to_send: usize,
}

impl<'j, 'a, E: SyncEndpoint> Sender<'j, 'a, E> {
    fn new(job: &'j Job<'a, E>, to_send: usize) -> Self {
        Self {
            job,
            namespace: format!("sync {}", uuid::Uuid::new_v4()),
            to_send,
        }
    }

    async fn send(
        &self,
        records: impl Stream<Item = ToSend<E::Record>> + Send + 'j,
        report: &mut SyncReport,
    ) -> Result<(), Error> {
        let job = self.job;
        let in_flight: InFlight = Arc::default();
        let source_failure: Arc<Mutex<Option<Error>>> = Arc::default();
        let registered = in_flight.clone();
        let failure = source_failure.clone();
        let mut index = 0;
        // A record that cannot be read back ends the input; its error ends the sync.
        let source = records
            .map(move |item| match item {
                Ok(item) => Some(item),
                Err(error) => {
                    *failure.lock().unwrap_or_else(|e| e.into_inner()) = Some(error);
                    None
                }
            })
            .take_while(|item| std::future::ready(item.is_some()))
            .filter_map(move |item| {
                let (row, record, items) = item.expect("taken while some");
                registered
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(index, (row, items));
                index += 1;
                std::future::ready(Some(record))
            });
        let observer = Arc::new(StateObserver {
            state: job.state.clone(),
            entity: E::ENTITY,
            in_flight: in_flight.clone(),
        });
        let (rows, to_send) = (report.counts.rows, self.to_send);
        let progress = job.on_progress.clone();
        let mut import = BulkImport::<E>::new(job.client, source)
            .max_in_flight(job.options.max_in_flight)
            .task_deadline(job.options.task_deadline)
            .idempotency_namespace(self.namespace.clone())
            .observer(observer);
        if let Some(progress) = progress {
            import = import.on_progress(move |p| {
                progress(&SyncProgress {
                    rows_read: rows,
                    input_read: true,
                    to_send,
                    sent_finished: p.finished_records,
                })
            });
        }
        let mut results = std::pin::pin!(import.stream());
        while let Some(result) = results.next().await {
            let result = result?;
            let mut confirmed = Vec::new();
            let mut unconfirmed = false;
            {
                let mut in_flight = in_flight.lock().unwrap_or_else(|e| e.into_inner());
                for (index, outcome) in result.records {
                    let (row, items) = in_flight.remove(&index).unwrap_or_default();
                    match outcome {
                        RecordOutcome::Succeeded => confirmed.extend(items),
                        outcome => {
                            unconfirmed |= matches!(outcome, RecordOutcome::Unconfirmed(_));
                            report.failures.push(SyncFailure {
                                row,
                                key: items.first().map(Tracked::state_key),
                                outcome,
                            });
                        }
                    }
                }
            }
            count_deleted(report, &confirmed);
            let key = result.request.map(|request| request.idempotency_key);
            on_state(&job.state, &job.path, move |s| {
                s.finished(
                    E::ENTITY,
                    key.as_deref(),
                    unconfirmed,
                    &confirmed_items(&confirmed),
                    &removed(&confirmed),
                    now(),
                )
            })
            .await?;
        }
        let failed = source_failure
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        failed.map_or(Ok(()), Err)
    }
}

/// Deletes the absent items the API can delete (the run was asked to, and the share is within
/// what it allows).
async fn delete_absent<E: SyncEndpoint>(
    job: &Job<'_, E>,
    sender: &Sender<'_, '_, E>,
    report: &mut SyncReport,
) -> Result<(), Error> {
    match E::DELETION {
        Deletion::Unsupported(_) => Ok(()),
        Deletion::DetailValues => {
            let mut owners: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for absent in &report.absent {
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
                        })
                        .collect();
                    Some(Ok((None, record, items)))
                })
                .collect();
            sender.send(stream::iter(records), report).await
        }
        Deletion::Call => {
            let client = job.client;
            let keys: Vec<String> = report
                .absent
                .iter()
                .filter(|k| k.key.starts_with("id:"))
                .map(|k| k.key.clone())
                .collect();
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
                    on_state(&job.state, &job.path, move |s| {
                        s.finished(E::ENTITY, None, false, &[], &[(k, String::new())], now())
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
