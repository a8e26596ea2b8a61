//! `csm tasks wait ID`: follows a bulk task until it ends, then prints it.

use crate::config::Connection;
use crate::exit;
use crate::terminal::{tell, Shown};
use atlassian_csm::{PollPolicy, TaskOutcome};
use indicatif::{ProgressBar, ProgressDrawTarget};
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

/// What `csm tasks` does.
#[derive(clap::Subcommand, Debug)]
pub enum TasksCommand {
    /// Wait for a task to end and print it as JSON (with its failures). Exit code 0: finished;
    /// 1: failed or cancelled.
    Wait {
        /// The task id a bulk call answered with.
        id: String,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 3600, value_name = "SECONDS")]
        timeout: u64,
    },
}

/// Runs a `csm tasks` command.
pub async fn run(connection: &Connection, command: TasksCommand) -> anyhow::Result<ExitCode> {
    let TasksCommand::Wait { id, timeout } = command;
    let client = connection.client().await?;
    let spinner = if std::io::stderr().is_terminal() {
        let spinner = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        spinner.enable_steady_tick(Duration::from_millis(120));
        spinner
    } else {
        ProgressBar::hidden()
    };
    spinner.set_message(format!("task {id}: waiting for its first status"));
    let mut last = String::new();
    let outcome = client
        .wait_for_task(&id)
        .policy(PollPolicy::default().deadline(Duration::from_secs(timeout)))
        .on_progress(|task| {
            let status = task.status.to_string();
            spinner.set_message(format!("task {id}: {}", Shown(&status)));
            if spinner.is_hidden() && status != last {
                tell!("task {id}: {}", Shown(&status));
            }
            last = status;
        })
        .await;
    spinner.finish_and_clear();
    let outcome = outcome?;
    let task = outcome.task();
    crate::summary::set("task_id", &id);
    crate::summary::set("status", task.status.to_string());
    crate::summary::set("failures", task.failures.len());
    if crate::summary::json() {
        crate::summary::set("task", task);
    } else {
        crate::output::JsonOutput::for_stdout().print(task);
    }
    Ok(ExitCode::from(match outcome {
        TaskOutcome::Finished(_) => exit::SUCCESS,
        _ => exit::INCOMPLETE,
    }))
}
