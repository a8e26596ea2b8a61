//! Ctrl-C during `csm import`, typed into a real pseudo-terminal (`script`, util-linux): the
//! import stops sending, sees its request under way to its end, says what was done and the
//! command that resumes, and the resumed run says what its journal held.

mod support;

use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};
use support::*;

/// `csm ARGS` in a pseudo-terminal, its keyboard on our end of a pipe.
fn in_terminal(dir: &std::path::Path, base_url: &str, args: &str) -> std::process::Child {
    let inner = format!("{} {args}", env!("CARGO_BIN_EXE_csm"));
    let template = csm_at(dir, base_url);
    let mut script = std::process::Command::new("script");
    script.args(["-qfec", &inner, "/dev/null"]);
    for (name, value) in template.get_envs() {
        match value {
            Some(value) => script.env(name, value),
            None => script.env_remove(name),
        };
    }
    script
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("`script` (util-linux) runs csm in a pseudo-terminal")
}

/// Waits (at most a minute) until `done` holds, looking again every few milliseconds.
async fn until(what: &str, done: impl Fn() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < Duration::from_secs(60), "{what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_stops_sending_finishes_what_is_under_way_and_says_how_to_resume() {
    // Tasks of 1.5 s, one at a time: the first is under way when Ctrl-C is typed.
    let fake = demo_fake(1500).await;
    let dir = scratch();
    customers_csv(&dir, 300, |_| "Pro");
    let args = "import customer-profiles customers.csv --max-in-flight 1 --journal import.journal";
    let mut child = in_terminal(&dir, fake.base_url(), args);
    until("the first request reached the site", || {
        !submits(&fake).is_empty()
    })
    .await;
    let mut keyboard = child.stdin.take().unwrap();
    keyboard.write_all(b"\x03").unwrap();
    keyboard.flush().unwrap();
    let output = tokio::task::spawn_blocking(move || {
        let output = child.wait_with_output().unwrap();
        drop(keyboard);
        output
    })
    .await
    .unwrap();
    let screen = stdout(&output);
    assert_eq!(output.status.code(), Some(130), "{screen}");
    assert!(
        screen.contains("interrupted: no new request is sent; the requests under way (at most 1) are seen to their end and written to import.journal"),
        "{screen}"
    );
    assert!(
        screen.contains("interrupted: 100 of 300 records succeeded, 0 failed, 0 in tasks not seen to their end, 200 not sent"),
        "{screen}"
    );
    let resume = format!(
        "to resume (the journal import.journal sends only what no task finished): csm {args}"
    );
    assert!(screen.contains(&resume), "{screen}");
    assert_eq!(submits(&fake).len(), 1, "nothing sent after Ctrl-C");

    // The command it printed, run again: it says what the journal held and sends the rest.
    let mut again = csm_at(&dir, fake.base_url());
    again.args(args.split(' '));
    let output = run(again).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("resuming from import.journal: 1 requests ended (100 records, not sent again), 0 started and not seen ended"),
        "{}",
        stderr(&output)
    );
    let sent: usize = submits(&fake)
        .iter()
        .map(|r| {
            r.json().unwrap()["customerProfiles"]
                .as_array()
                .unwrap()
                .len()
        })
        .sum();
    assert_eq!(sent, 300, "each record sent once");
}

/// What the terminal shows, read as it comes.
#[derive(Clone, Default)]
struct Screen(std::sync::Arc<std::sync::Mutex<String>>);

impl Screen {
    fn follow(child: &mut std::process::Child) -> Self {
        use std::io::Read;
        let screen = Self::default();
        let mut out = child.stdout.take().unwrap();
        let shown = screen.clone();
        std::thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(n) = out.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                shown
                    .0
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&chunk[..n]));
            }
        });
        screen
    }

    fn text(&self) -> String {
        self.0.lock().unwrap().clone()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_ctrl_c_stops_at_once_and_the_journal_keeps_the_task_under_way() {
    let fake = demo_fake(30_000).await;
    let dir = scratch();
    customers_csv(&dir, 200, |_| "Pro");
    let args = "import customer-profiles customers.csv --max-in-flight 1 --journal import.journal";
    let mut child = in_terminal(&dir, fake.base_url(), args);
    let screen = Screen::follow(&mut child);
    let journal = dir.join("import.journal");
    until("its task was journaled", || {
        std::fs::read_to_string(&journal).is_ok_and(|j| j.contains("\"submitted\""))
    })
    .await;
    let mut keyboard = child.stdin.take().unwrap();
    keyboard.write_all(b"\x03").unwrap();
    keyboard.flush().unwrap();
    until("the first Ctrl-C was taken", || {
        screen.text().contains("Ctrl-C again to stop now")
    })
    .await;
    let started = Instant::now();
    keyboard.write_all(b"\x03").unwrap();
    keyboard.flush().unwrap();
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    until("the summary was shown", || {
        screen.text().contains("to resume")
    })
    .await;
    let text = screen.text();
    assert_eq!(status.code(), Some(130), "{text}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "it did not wait for the task"
    );
    assert!(text.contains("stopping now"), "{text}");
    assert!(text.contains("(stopped at the second Ctrl-C)"), "{text}");
    assert!(text.contains("0 of 200 records succeeded"), "{text}");
    assert_eq!(submits(&fake).len(), 1);

    // A resumed run says the journal holds a task to poll (here against another site, which
    // does not know the task: what the run says of its journal comes first).
    let elsewhere = demo_fake(20).await;
    let mut command = csm_at(&dir, elsewhere.base_url());
    command.args(args.split(' '));
    let said = stderr(&run(command).await);
    assert!(
        said.contains("1 started and not seen ended (100 records, their tasks polled by id)"),
        "{said}"
    );
}
