//! The planner of an import: it reads records as requests can be sent, checks each, chooses its
//! lane, and packs the bulk ones into requests; and the pipeline that runs what it plans.

use super::endpoints::BulkEndpoint;
use super::lanes::{Lane, Lanes, DIRECT_CALLS, PROBE_RECORDS};
use super::pipeline::RunningFirst;
use super::plan::{Chunk, Packer, Planned};
use super::report::BulkResult;
use super::run::{Run, Settings};
use super::validate::RecordValidator;
use crate::error::Error;
use crate::Client;
use futures::stream::{self, BoxStream, Stream, StreamExt};
use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Runs an import of `source`: the result of each request (or invalid record) as it is known.
/// The stream ends after its first error (a journal that does not match the input).
pub(crate) fn results<'a, E: BulkEndpoint>(
    client: &'a Client,
    source: BoxStream<'a, Result<E::Record, Error>>,
    settings: Settings<'a>,
) -> impl Stream<Item = Result<BulkResult, Error>> + Send + 'a {
    let (max_in_flight, lanes) = (settings.max_in_flight, settings.lanes);
    let run = Arc::new(Run::new(client, settings));
    let planner = Planner::<E> {
        source,
        validator: RecordValidator::for_client(client),
        packer: Packer::new(E::MAX_RECORDS, E::MAX_WEIGHT),
        ready: VecDeque::new(),
        next_index: 0,
        unplanned: 0,
        exhausted: false,
        run: run.clone(),
    };
    let finished = run.clone();
    // One request more than the tasks allowed in flight is under way: it is planned and keyed
    // while the others' tasks run, and waits for a slot, so a slot that frees is taken at once
    // (what runs is polled before the next request is planned).
    let requests = planner
        .into_stream()
        .map(move |planned| run.clone().handle::<E>(planned));
    // Room for the direct calls beside the requests, where the import may make them.
    let direct_room = if E::DIRECT && lanes != Lanes::Bulk {
        DIRECT_CALLS
    } else {
        0
    };
    let results = RunningFirst::new(Box::pin(requests), max_in_flight + 1 + direct_room).chain(
        stream::once(async move { finished.leftover_journal() })
            .filter_map(|leftover| async move { leftover.map(Err) }),
    );
    results.scan(false, |failed, result| {
        let item = (!*failed).then(|| {
            *failed = result.is_err();
            result
        });
        async move { item }
    })
}

/// Reads records as requests can be sent, checks each, and packs the valid ones into requests
/// (an invalid record is left out and the next valid one takes its place, so nothing of a request
/// waits on a record that will not go).
struct Planner<'a, E: BulkEndpoint> {
    source: BoxStream<'a, Result<E::Record, Error>>,
    validator: RecordValidator<E>,
    packer: Packer<E::Record>,
    ready: VecDeque<Planned<E::Record>>,
    next_index: usize,
    /// Records packed since the last request was planned.
    unplanned: usize,
    exhausted: bool,
    run: Arc<Run<'a>>,
}

impl<'a, E: BulkEndpoint> Planner<'a, E> {
    fn into_stream(self) -> impl Stream<Item = Planned<E::Record>> + Send + 'a {
        stream::unfold(self, |mut planner| async move {
            loop {
                if let Some(planned) = planner.ready.pop_front() {
                    return Some((planned, planner));
                }
                if planner.exhausted {
                    return None;
                }
                planner.read_one().await;
            }
        })
    }

    async fn read_one(&mut self) {
        // Stopped: no more records are read; those packed are planned, and left unsent.
        let next = match self.run.stop.is_stopped() {
            true => None,
            false => self.source.next().await,
        };
        let Some(record) = next else {
            self.exhausted = true;
            self.run.counts.input_read.store(true, Ordering::SeqCst);
            let packer = std::mem::replace(&mut self.packer, Packer::new(1, None));
            for chunk in packer.finish() {
                self.plan(chunk);
            }
            return;
        };
        let index = self.next_index;
        self.next_index += 1;
        self.run
            .counts
            .read_records
            .store(self.next_index, Ordering::SeqCst);
        let checked = record.and_then(|record| {
            if !self.run.records_checked {
                self.validator.check(index, &record)?;
            }
            Ok(record)
        });
        match checked {
            Ok(record) => {
                let unfinished = self.run.unfinished_requests();
                let room = match self.run.direct.lane_for::<E>(&record, unfinished) {
                    Lane::Bulk => None,
                    Lane::DirectIfRoom => self.run.direct.room().try_acquire_owned().ok(),
                    // Better off direct: the planner waits for room rather than put it in a task.
                    Lane::Direct => self.run.direct.room().acquire_owned().await.ok(),
                };
                match room {
                    Some(room) => self.ready.push_back(Planned::Direct {
                        index,
                        record,
                        room,
                    }),
                    None => self.pack(index, record),
                }
            }
            Err(error) => self.ready.push_back(Planned::Invalid { index, error }),
        }
    }

    fn pack(&mut self, index: usize, record: E::Record) {
        let weight = E::weight(&record);
        if let Some(chunk) = self.packer.add(index, record, weight) {
            self.unplanned = 0;
            self.plan(chunk);
            return;
        }
        self.unplanned += 1;
        // The first request of an import that may go direct is a small probe: the site's bulk
        // pace is learned from it before more records are committed to tasks.
        if self.run.direct.probing::<E>() && self.unplanned >= PROBE_RECORDS {
            self.unplanned = 0;
            let packer =
                std::mem::replace(&mut self.packer, Packer::new(E::MAX_RECORDS, E::MAX_WEIGHT));
            for chunk in packer.finish() {
                self.plan(chunk);
            }
        }
    }

    fn plan(&mut self, chunk: Chunk<E::Record>) {
        let number = self
            .run
            .counts
            .planned_requests
            .fetch_add(1, Ordering::SeqCst);
        self.ready.push_back(Planned::Request { number, chunk });
    }
}
