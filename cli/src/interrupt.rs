//! Ctrl-C (or SIGTERM, as a service manager or `timeout` sends it) during an import or a sync,
//! said plainly: the first stops sending (the requests under way are seen to their end, and the
//! journal or the state written); the second stops at once. Either way the command prints what
//! was done and the exact command that resumes.

use crate::terminal::tell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::Notify;

/// The exit code of a command stopped by Ctrl-C (128 + SIGINT, as shells report it).
pub const INTERRUPTED: u8 = 130;

/// Ctrl-C and SIGTERM, counted.
#[derive(Clone)]
pub struct Interrupts {
    count: Arc<AtomicUsize>,
    second: Arc<Notify>,
}

impl Interrupts {
    /// Listens for Ctrl-C and SIGTERM from now on: the first runs `first` (asks the import or
    /// sync to stop sending, says so), the second wakes [`second`](Self::second).
    pub fn listen(first: impl FnOnce() + Send + 'static) -> Self {
        let interrupts = Self {
            count: Arc::new(AtomicUsize::new(0)),
            second: Arc::new(Notify::new()),
        };
        let listening = interrupts.clone();
        tokio::spawn(async move {
            let mut first = Some(first);
            let mut terminate = terminate_signals();
            loop {
                tokio::select! {
                    pressed = tokio::signal::ctrl_c() => if pressed.is_err() { break },
                    () = next_terminate(&mut terminate) => {}
                }
                let count = listening.count.fetch_add(1, Ordering::SeqCst) + 1;
                if let Some(first) = first.take() {
                    first();
                } else {
                    tell!("csm: stopping now");
                    listening.second.notify_one();
                }
                if count >= 2 {
                    break;
                }
            }
        });
        interrupts
    }

    /// Whether Ctrl-C was pressed (or SIGTERM received).
    pub fn interrupted(&self) -> bool {
        self.count.load(Ordering::SeqCst) > 0
    }

    /// Resolves at the second Ctrl-C.
    pub async fn second(&self) {
        self.second.notified().await;
    }
}

#[cfg(unix)]
type Terminate = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Terminate = Option<()>;

/// SIGTERM, where there is one (and the handler could be installed).
fn terminate_signals() -> Terminate {
    #[cfg(unix)]
    return tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    #[cfg(not(unix))]
    None
}

/// The next SIGTERM; never, where none can come.
async fn next_terminate(terminate: &mut Terminate) {
    #[cfg(unix)]
    if let Some(signal) = terminate {
        if signal.recv().await.is_some() {
            return;
        }
    }
    let _ = terminate;
    std::future::pending::<()>().await
}

/// This run's command line, quoted for a POSIX shell, to be run again as it is.
pub fn command_line() -> String {
    let quote = |arg: String| {
        let plain = !arg.is_empty()
            && arg
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c));
        if plain {
            arg
        } else {
            format!("'{}'", arg.replace('\'', r"'\''"))
        }
    };
    let mut args = std::env::args();
    let program = args.next().map(|p| {
        std::path::Path::new(&p)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or(p)
    });
    program
        .into_iter()
        .chain(args.map(|arg| without_password(&arg)))
        .map(quote)
        .collect::<Vec<_>>()
        .join(" ")
}

/// `postgres://user:secret@host/db` said as `postgres://user:…@host/db`: a command line that is
/// printed never carries the password a URL held (`PGPASSWORD` gives it to the next run).
fn without_password(arg: &str) -> String {
    let Some((scheme, rest)) = arg.split_once("://") else {
        return arg.to_string();
    };
    let Some((user_info, host)) = rest.split_once('@') else {
        return arg.to_string();
    };
    match user_info.split_once(':') {
        Some((user, _)) if !user_info.contains('/') => format!("{scheme}://{user}:…@{host}"),
        _ => arg.to_string(),
    }
}

/// What a journal holds, said before an import resumes from it (the journal's lines are
/// documented JSON: `planned`, `submitted`, `ended` events per request).
pub fn journal_summary(path: &std::path::Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let (mut planned, mut submitted, mut ended) = (
        std::collections::BTreeMap::new(),
        std::collections::BTreeSet::new(),
        std::collections::BTreeSet::new(),
    );
    for line in text.lines() {
        let Ok(event) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let request = event["request"].as_u64();
        match (event["event"].as_str(), request) {
            (Some("planned"), Some(request)) => {
                let records = event["records"].as_array().map_or(0, Vec::len);
                planned.insert(request, records);
            }
            (Some("submitted"), Some(request)) => {
                submitted.insert(request);
            }
            (Some("ended"), Some(request)) => {
                ended.insert(request);
            }
            _ => {}
        }
    }
    if planned.is_empty() {
        return None;
    }
    let records_of = |requests: &dyn Fn(&u64) -> bool| -> usize {
        planned
            .iter()
            .filter(|(request, _)| requests(request))
            .map(|(_, records)| records)
            .sum()
    };
    let done = records_of(&|r| ended.contains(r));
    let running = records_of(&|r| submitted.contains(r) && !ended.contains(r));
    let unsent = records_of(&|r| !submitted.contains(r) && !ended.contains(r));
    Some(format!(
        "resuming from {}: {} requests ended ({done} records, not sent again), {} started and not \
         seen ended ({running} records, their tasks polled by id), {} planned and not sent \
         ({unsent} records, sent now under the same keys); the rest of the file is sent",
        path.display(),
        ended.len(),
        submitted.difference(&ended).count(),
        planned.len() - submitted.union(&ended).count(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_in_a_command_line_loses_its_password() {
        assert_eq!(
            without_password("postgres://csm:s3cret@db/csm"),
            "postgres://csm:…@db/csm"
        );
        assert_eq!(
            without_password("postgres://csm@db/csm"),
            "postgres://csm@db/csm"
        );
        assert_eq!(without_password("a@b.c"), "a@b.c");
    }

    #[test]
    fn a_journal_is_summed_up_by_what_its_requests_became() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        std::fs::write(
            &path,
            "{\"event\":\"start\",\"endpoint\":\"e\",\"namespace\":\"\"}\n\
             {\"event\":\"planned\",\"request\":0,\"key\":\"a\",\"records\":[0,1]}\n\
             {\"event\":\"planned\",\"request\":1,\"key\":\"b\",\"records\":[2,3,4]}\n\
             {\"event\":\"planned\",\"request\":2,\"key\":\"c\",\"records\":[5]}\n\
             {\"event\":\"submitted\",\"request\":0,\"task_id\":\"t0\"}\n\
             {\"event\":\"submitted\",\"request\":1,\"task_id\":\"t1\"}\n\
             {\"event\":\"ended\",\"request\":0,\"status\":\"FINISHED\",\"failures\":[]}\n",
        )
        .unwrap();
        let said = journal_summary(&path).unwrap();
        assert!(said.contains("1 requests ended (2 records"), "{said}");
        assert!(
            said.contains("1 started and not seen ended (3 records"),
            "{said}"
        );
        assert!(said.contains("1 planned and not sent (1 records"), "{said}");
        std::fs::remove_file(&path).unwrap();
        assert!(journal_summary(&path).is_none());
    }
}
