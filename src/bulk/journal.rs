//! The journal of a resumable import: one JSON line per event, appended and flushed to disk as
//! it happens, so an import killed at any point can be resumed from it.
//!
//! ```text
//! {"event":"start","endpoint":"bulk_manage_multiple_customer_profiles","namespace":""}
//! {"event":"planned","request":0,"key":"7c0d…","records":[0,1,2,…]}
//! {"event":"submitted","request":0,"task_id":"3858a61a-…"}
//! {"event":"ended","request":0,"status":"FINISHED","failures":[…]}
//! ```
//!
//! It holds idempotency keys, task ids, record indexes and the failures tasks listed; never a
//! credential, never a record.

use super::observer::{PlannedRequest, RequestObserver};
use crate::error::Error;
use crate::types::TaskFailure;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// One line of the journal.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub(crate) enum Event {
    /// The import the journal is of.
    Start { endpoint: String, namespace: String },
    /// Request number `request` (in the order requests are planned) carries these records under
    /// this key.
    Planned {
        request: usize,
        key: String,
        records: Vec<usize>,
    },
    /// Its task was started.
    Submitted { request: usize, task_id: String },
    /// Its task ended.
    Ended {
        request: usize,
        status: String,
        failures: Vec<TaskFailure>,
    },
}

/// What the journal knows of one request.
#[derive(Clone, Debug, Default)]
pub(crate) struct Known {
    pub key: String,
    pub records: Vec<usize>,
    pub task_id: Option<String>,
    pub ended: Option<(String, Vec<TaskFailure>)>,
}

/// An open journal: what earlier runs recorded, and the file new events are appended to.
#[derive(Clone)]
pub(crate) struct Journal {
    path: PathBuf,
    file: Arc<Mutex<File>>,
    known: Arc<HashMap<usize, Known>>,
}

impl Journal {
    /// Opens (or creates) the journal of an import of `endpoint` under `namespace`. A last line
    /// cut short (the process died while writing it) is dropped with a warning; any other line
    /// that is not an event, or a journal of another endpoint or namespace, is an error.
    pub fn open(path: &Path, endpoint: &str, namespace: &str) -> Result<Self, Error> {
        let fail = |message: String| Error::Journal {
            path: path.to_path_buf(),
            message,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(|e| fail(format!("cannot open: {e}")))?;
        let mut text = String::new();
        file.read_to_string(&mut text)
            .map_err(|e| fail(format!("cannot read: {e}")))?;

        let mut events = Vec::new();
        let mut good_length = 0;
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        for (number, line) in lines.iter().enumerate() {
            let complete = line.ends_with('\n');
            match serde_json::from_str::<Event>(line.trim_end()) {
                Ok(event) if complete => {
                    events.push(event);
                    good_length += line.len();
                }
                result if number + 1 == lines.len() => {
                    tracing::warn!(
                        journal = %path.display(),
                        line = number + 1,
                        "ignoring the journal's last line, cut short: {}",
                        result.err().map_or("no line end".to_string(), |e| e.to_string())
                    );
                }
                Err(error) => {
                    return Err(fail(format!(
                        "line {} is not an event: {error}",
                        number + 1
                    )))
                }
                Ok(_) => unreachable!("only the last line can lack its end"),
            }
        }
        if good_length < text.len() {
            // New events start on a line of their own.
            file.set_len(good_length as u64)
                .and_then(|()| file.seek(std::io::SeekFrom::End(0)).map(|_| ()))
                .map_err(|e| fail(format!("cannot drop the cut line: {e}")))?;
        }

        let start = Event::Start {
            endpoint: endpoint.to_string(),
            namespace: namespace.to_string(),
        };
        let mut known: HashMap<usize, Known> = HashMap::new();
        match events.first() {
            None => {}
            Some(Event::Start {
                endpoint: theirs,
                namespace: their_namespace,
            }) if theirs == endpoint && their_namespace == namespace => {}
            Some(Event::Start {
                endpoint: theirs,
                namespace: their_namespace,
            }) => {
                return Err(fail(format!(
                    "it is the journal of an import through {theirs} (namespace {their_namespace:?}), not {endpoint} (namespace {namespace:?})"
                )))
            }
            Some(_) => return Err(fail("it does not start with a start event".into())),
        }
        for event in events.iter().skip(1) {
            match event {
                Event::Start { .. } => return Err(fail("it holds two start events".into())),
                Event::Planned {
                    request,
                    key,
                    records,
                } => {
                    let entry = known.entry(*request).or_default();
                    entry.key = key.clone();
                    entry.records = records.clone();
                }
                Event::Submitted { request, task_id } => {
                    known.entry(*request).or_default().task_id = Some(task_id.clone());
                }
                Event::Ended {
                    request,
                    status,
                    failures,
                } => {
                    known.entry(*request).or_default().ended =
                        Some((status.clone(), failures.clone()));
                }
            }
        }
        let journal = Self {
            path: path.to_path_buf(),
            file: Arc::new(Mutex::new(file)),
            known: Arc::new(known),
        };
        if events.is_empty() {
            journal.append_now(&start)?;
        }
        Ok(journal)
    }

    /// What earlier runs recorded of request `request`.
    pub fn known(&self, request: usize) -> Option<&Known> {
        self.known.get(&request)
    }

    /// How many requests earlier runs planned.
    pub fn planned_requests(&self) -> usize {
        self.known
            .keys()
            .map(|request| request + 1)
            .max()
            .unwrap_or(0)
    }

    /// The error for a journal that does not match the input.
    pub fn mismatch(&self, message: String) -> Error {
        Error::Journal {
            path: self.path.clone(),
            message: format!("{message}: it is the journal of another input"),
        }
    }

    /// Appends `event` and flushes it to disk before returning.
    fn append_now(&self, event: &Event) -> Result<(), Error> {
        let mut line = serde_json::to_vec(event).expect("events serialize");
        line.push(b'\n');
        let mut file = self.file.lock().unwrap();
        file.write_all(&line)
            .and_then(|()| file.flush())
            .and_then(|()| file.sync_data())
            .map_err(|e| Error::Journal {
                path: self.path.clone(),
                message: format!("cannot write: {e}"),
            })
    }
}

/// The journal keeps each request the first time it is planned (a request it knows from an
/// earlier run is not written again), the task it started and how the task ended.
impl RequestObserver for Journal {
    fn planned(&self, request: &PlannedRequest<'_>) -> Result<(), Error> {
        if self.known.contains_key(&request.number) {
            return Ok(());
        }
        self.append_now(&Event::Planned {
            request: request.number,
            key: request.key.to_string(),
            records: request.indexes.to_vec(),
        })
    }

    fn submitted(&self, number: usize, _key: &str, task_id: &str) -> Result<(), Error> {
        self.append_now(&Event::Submitted {
            request: number,
            task_id: task_id.to_string(),
        })
    }

    fn ended(&self, number: usize, status: &str, failures: &[TaskFailure]) -> Result<(), Error> {
        self.append_now(&Event::Ended {
            request: number,
            status: status.to_string(),
            failures: failures.to_vec(),
        })
    }
}
