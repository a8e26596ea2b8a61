//! What the imports of a client learned of its site's pace, kept by the client for its next
//! imports and given to the caller to hand to the next run ([`SitePace`]).

use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What imports learned of a site's pace: whether it runs bulk tasks one at a time or side by
/// side, the time a task or a record takes, and the burst window of its direct calls.
///
/// A [`Client`](crate::Client) keeps what its imports learn and starts each import from it; a
/// new run (another process, tomorrow night) starts from nothing unless it is handed the value
/// a previous run learned: [`Client::site_pace`](crate::Client::site_pace) reads it,
/// [`ClientBuilder::site_pace`](crate::ClientBuilder::site_pace) hands it on. On a site known to
/// run tasks one at a time, each task is then polled about when its records' time is up from
/// the first task on (about two polls a task instead of dozens for the first ones), and the
/// import's time left is estimated before its first task ends. A sync keeps it in its state.
///
/// It serializes (JSON or any serde format) to store it:
///
/// ```no_run
/// # async fn run(client: atlassian_csm::Client) -> Result<(), Box<dyn std::error::Error>> {
/// use atlassian_csm::{Client, SitePace};
/// // After tonight's import:
/// std::fs::write("pace.json", serde_json::to_string(&client.site_pace())?)?;
/// // Tomorrow:
/// let pace: SitePace = serde_json::from_str(&std::fs::read_to_string("pace.json")?)?;
/// let client = Client::builder().site("example.atlassian.net").site_pace(pace).build()?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SitePace {
    /// How the site ran bulk tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tasks: Option<TaskPace>,
    /// What one record of a bulk task took from the request's send to the task's end, divided
    /// by the task's records (what the direct lane is weighed against).
    #[serde(default, with = "seconds", skip_serializing_if = "Option::is_none")]
    record_seconds: Option<Duration>,
    /// The window of the direct calls' burst limit, and the calls it allows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    burst: Option<Burst>,
}

/// How a site runs bulk tasks.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "run", rename_all = "snake_case")]
pub(crate) enum TaskPace {
    /// One at a time, in arrival order, each for its records' time.
    OneAtATime {
        /// The running time of one record.
        #[serde(with = "seconds_required")]
        per_record_seconds: Duration,
    },
    /// Side by side, each for about this time from its send.
    SideBySide {
        #[serde(with = "seconds_required")]
        task_seconds: Duration,
    },
}

/// A burst limit of the direct calls: `calls` per `window`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Burst {
    #[serde(with = "seconds_required")]
    pub window_seconds: Duration,
    pub calls: u64,
}

impl SitePace {
    /// Whether the site was seen to run bulk tasks one at a time (`Some(false)`: side by side);
    /// `None` when no import has learned it.
    pub fn one_at_a_time(&self) -> Option<bool> {
        self.tasks
            .map(|tasks| matches!(tasks, TaskPace::OneAtATime { .. }))
    }

    /// On a site that runs bulk tasks one at a time, the running time of one record (a task of
    /// 100 records runs 100 times as long); `None` otherwise.
    pub fn time_per_record(&self) -> Option<Duration> {
        match self.tasks? {
            TaskPace::OneAtATime { per_record_seconds } => Some(per_record_seconds),
            TaskPace::SideBySide { .. } => None,
        }
    }

    /// Whether nothing was learned.
    pub fn is_unknown(&self) -> bool {
        *self == Self::default()
    }

    /// The time `records` will take at this pace, `at_once` tasks unfinished at a time: on a site
    /// that runs tasks one at a time, their time per record; on one that runs them side by
    /// side, a record's share of a task's time, spread over the tasks at once. `None` when
    /// nothing says.
    pub(crate) fn time_for(&self, records: usize, at_once: usize) -> Option<Duration> {
        match (self.tasks?, self.record_seconds) {
            (TaskPace::OneAtATime { per_record_seconds }, _) => {
                Some(per_record_seconds.mul_f64(records as f64))
            }
            (TaskPace::SideBySide { .. }, Some(record)) => {
                Some(record.mul_f64(records as f64 / at_once.max(1) as f64))
            }
            (TaskPace::SideBySide { .. }, None) => None,
        }
    }

    pub(crate) fn tasks(&self) -> Option<TaskPace> {
        self.tasks
    }

    pub(crate) fn record_time(&self) -> Option<Duration> {
        self.record_seconds
    }

    pub(crate) fn burst(&self) -> Option<Burst> {
        self.burst
    }

    /// `learned` over what was known: each part this one knows replaces the older one.
    pub(crate) fn updated(&self, learned: &SitePace) -> SitePace {
        SitePace {
            tasks: learned.tasks.or(self.tasks),
            record_seconds: learned.record_seconds.or(self.record_seconds),
            burst: learned.burst.or(self.burst),
        }
    }

    pub(crate) fn learned(
        tasks: Option<TaskPace>,
        record_time: Option<Duration>,
        burst: Option<Burst>,
    ) -> Self {
        SitePace {
            tasks,
            record_seconds: record_time,
            burst,
        }
    }
}

/// What a client's imports learned of its site, shared by all of them.
#[derive(Clone, Debug, Default)]
pub(crate) struct PaceMemory(Arc<Mutex<SitePace>>);

impl PaceMemory {
    pub fn new(pace: SitePace) -> Self {
        Self(Arc::new(Mutex::new(pace)))
    }

    pub fn get(&self) -> SitePace {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Keeps what an import learned.
    pub fn learned(&self, learned: &SitePace) {
        let mut known = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *known = known.updated(learned);
    }

    /// Starts from `pace` where nothing is known yet (a sync's state, read when it starts).
    #[cfg(any(feature = "sync", test))]
    pub fn start_from(&self, pace: &SitePace) {
        let mut known = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *known = pace.updated(&known);
    }
}

impl crate::Client {
    /// What this client's imports learned of the site's pace (with what it was built with,
    /// [`ClientBuilder::site_pace`](crate::ClientBuilder::site_pace)), to hand to the next run:
    /// see [`SitePace`].
    pub fn site_pace(&self) -> SitePace {
        self.config().site_pace.get()
    }
}

/// A duration as seconds (a float), the way a person reads the stored value.
mod seconds {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(value: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(duration) => s.serialize_f64(duration.as_secs_f64()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Option::<f64>::deserialize(d)?
            .map(|seconds| super::seconds_required::checked::<D>(seconds))
            .transpose()
    }
}

mod seconds_required {
    use serde::{de::Error, Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(value: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(value.as_secs_f64())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        checked::<D>(f64::deserialize(d)?)
    }

    /// A stored value is read back, not trusted: a negative, infinite or absurd time (over a
    /// day) is refused.
    pub fn checked<'de, D: Deserializer<'de>>(seconds: f64) -> Result<Duration, D::Error> {
        if seconds.is_finite() && (0.0..=86_400.0).contains(&seconds) {
            Ok(Duration::from_secs_f64(seconds))
        } else {
            Err(D::Error::custom(format!(
                "{seconds} s is not a time a site takes"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pace_is_stored_and_read_back_and_absurd_times_are_refused() {
        let pace = SitePace::learned(
            Some(TaskPace::OneAtATime {
                per_record_seconds: Duration::from_millis(4_800),
            }),
            Some(Duration::from_secs(5)),
            Some(Burst {
                window_seconds: Duration::from_secs(1),
                calls: 10,
            }),
        );
        let json = serde_json::to_string(&pace).unwrap();
        assert_eq!(
            json,
            r#"{"tasks":{"run":"one_at_a_time","per_record_seconds":4.8},"record_seconds":5.0,"burst":{"window_seconds":1.0,"calls":10}}"#
        );
        assert_eq!(serde_json::from_str::<SitePace>(&json).unwrap(), pace);
        assert_eq!(pace.one_at_a_time(), Some(true));
        assert_eq!(pace.time_per_record(), Some(Duration::from_millis(4_800)));
        assert!(serde_json::from_str::<SitePace>("{}").unwrap().is_unknown());
        for bad in ["-1", "1e9", "null"] {
            let json =
                format!(r#"{{"tasks":{{"run":"one_at_a_time","per_record_seconds":{bad}}}}}"#);
            assert!(serde_json::from_str::<SitePace>(&json).is_err(), "{bad}");
        }
    }

    #[test]
    fn what_an_import_learned_replaces_only_what_it_knows() {
        let memory = PaceMemory::new(SitePace::learned(
            Some(TaskPace::SideBySide {
                task_seconds: Duration::from_secs(2),
            }),
            Some(Duration::from_millis(20)),
            None,
        ));
        memory.learned(&SitePace::learned(
            Some(TaskPace::OneAtATime {
                per_record_seconds: Duration::from_secs(1),
            }),
            None,
            None,
        ));
        let known = memory.get();
        assert_eq!(known.one_at_a_time(), Some(true));
        assert_eq!(known.record_time(), Some(Duration::from_millis(20)));
        // A sync's stored pace fills only what the client does not know.
        memory.start_from(&SitePace::learned(
            Some(TaskPace::SideBySide {
                task_seconds: Duration::from_secs(2),
            }),
            None,
            Some(Burst {
                window_seconds: Duration::from_secs(1),
                calls: 10,
            }),
        ));
        let known = memory.get();
        assert_eq!(known.one_at_a_time(), Some(true));
        assert!(known.burst().is_some());
    }
}
