//! `csm`: the command line for the Atlassian CSM REST API.
//!
//! Every operation of the API is a command (`csm get-products`, `csm create-customer-profile
//! --body profile.json`), generated from the same document as the client; `csm import` loads a
//! CSV or JSON Lines file through the bulk endpoints; `csm tasks wait` follows a task; `csm fields
//! apply` makes a site's detail fields match a file; `csm mock` serves a fake site to try it all.

mod body;
mod config;
mod document;
mod entity;
mod exit;
mod fields;
mod generated;
mod help;
mod import;
mod input;
mod interrupt;
mod jobs;
mod metrics_file;
mod mock;
mod output;
mod profile;
mod progress;
mod runs;
mod site_pace;
mod summary;
mod sync;
mod tasks;
mod terminal;
mod usage;

use crate::terminal::tell;
use clap::{FromArgMatches, Subcommand};
use generated::{Cli, CliCommand};
use std::process::ExitCode;

// The commands written by hand; the others are the API's operations.
#[derive(Subcommand, Debug)]
enum Command {
    /// Load a CSV or JSON Lines file into CSM through a bulk endpoint.
    Import(import::ImportArgs),
    /// Load a file as `import` does, sending only what changed since the last run (a state
    /// file keeps what was confirmed).
    Sync(sync::SyncArgs),
    /// The runs a sync state recorded: when, how long, what they sent, and the trend.
    Runs(runs::RunsArgs),
    /// Sync jobs of many sites from a job list, N at a time; workers given the same list and a
    /// PostgreSQL state split it between them.
    #[command(subcommand)]
    Jobs(jobs::JobsCommand),
    /// Follow bulk tasks.
    #[command(subcommand)]
    Tasks(tasks::TasksCommand),
    /// Detail-field definitions.
    #[command(subcommand)]
    Fields(fields::FieldsCommand),
    /// Serve a fake CSM site with demo data on 127.0.0.1, to try every command with no account.
    Mock(mock::MockArgs),
    /// Print the completion script for a shell: `csm completions bash >
    /// ~/.local/share/bash-completion/completions/csm`, `csm completions zsh > ~/.zfunc/_csm`,
    /// `csm completions fish > ~/.config/fish/completions/csm.fish`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff): `csm man > ~/.local/share/man/man1/csm.1`.
    Man,
}

fn command() -> clap::Command {
    let mut command = clap::Command::new("csm");
    command = <config::Connection as clap::Args>::augment_args(command);
    command = command
        .version(env!("CARGO_PKG_VERSION"))
        .about("The command line for the Atlassian CSM REST API")
        .long_about(
            "The command line for the Atlassian CSM REST API: every operation as a command, \
             imports from CSV or JSON Lines, detail fields from a file, and a fake site.\n\n\
             Configuration: CSM_CLOUD_ID (or --site / CSM_SITE), and CSM_EMAIL with \
             CSM_API_TOKEN (Basic) or CSM_ACCESS_TOKEN (bearer); or a profile \
             (--profile / CSM_PROFILE) of $XDG_CONFIG_HOME/csm/config.toml naming the site, the \
             email and a token_command whose output is the token. Credentials are never read \
             from flags nor kept in the file, and never printed. With no site configured, commands use the fake \
             `csm mock` serves, if it runs.",
        )
        .after_help(exit::HELP)
        .subcommand_required(true);
    command = Command::augment_subcommands(command);
    for operation in CliCommand::iter() {
        command = command.subcommand(operation_command(operation));
    }
    command
}

/// `get-products`: the operation's id as the API documents it.
fn command_name(operation: CliCommand) -> &'static str {
    document::command_name(operation.operation_id())
}

/// An operation's command: its summary in lists, its whole description in `--help`, as plain
/// text, every flag described (see [`help`]).
fn operation_command(operation: CliCommand) -> clap::Command {
    let command = Cli::<output::JsonOutput>::get_command(operation).name(command_name(operation));
    let text = command
        .get_about()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let summary = text.lines().next().unwrap_or_default().to_string();
    help::polish(
        command.about(summary).long_about(text),
        operation.operation_id(),
    )
}

#[tokio::main]
async fn main() -> ExitCode {
    let matches = command()
        .try_get_matches()
        .unwrap_or_else(|error| usage::exit_with(error));
    let connection = match config::Connection::from_arg_matches(&matches) {
        Ok(connection) => connection,
        Err(error) => error.exit(),
    };
    verbose(connection.verbose);
    summary::report_as(connection.output);
    let reporting = summary::reports(&matches);
    if let (Some(path), Some(command)) = (&connection.metrics_file, reporting) {
        metrics_file::write_to(path, command);
    }
    let started = std::time::Instant::now();
    let (code, error) = match run(&connection, &matches).await {
        Ok(code) => (code, None),
        Err(error) => {
            let line = terminal::error_line(&error);
            tell!("csm: {line}");
            (exit::code_of(&error), Some(line))
        }
    };
    let metrics = metrics_file::path();
    if let Some(command) = reporting.filter(|_| summary::json() || metrics.is_some()) {
        let number = (0..=u8::MAX)
            .find(|n| ExitCode::from(*n) == code)
            .unwrap_or(exit::API_FAILED);
        let object = summary::object(command, started, number, error.as_deref());
        if summary::json() {
            output::JsonOutput { pretty: false }.print(&object);
        }
        if let (Err(error), Some(path)) = (metrics_file::ended(&object), metrics) {
            tell!(
                "csm: cannot write the metrics file {}: {error}",
                path.display()
            );
        }
    }
    code
}

async fn run(
    connection: &config::Connection,
    matches: &clap::ArgMatches,
) -> anyhow::Result<ExitCode> {
    let Some((name, sub_matches)) = matches.subcommand() else {
        return Ok(ExitCode::from(exit::USAGE));
    };
    if let Some(operation) = CliCommand::iter().find(|op| command_name(*op) == name) {
        let client = connection.client().await?;
        let cli = Cli::new(client, output::JsonOutput::for_stdout());
        cli.execute(operation, sub_matches).await?;
        return Ok(ExitCode::SUCCESS);
    }
    let command = Command::from_arg_matches(matches).unwrap_or_else(|e| e.exit());
    match command {
        Command::Mock(args) => mock::serve(args).await.map(|()| ExitCode::SUCCESS),
        Command::Import(args) => import::run(connection, args).await,
        Command::Sync(args) => sync::run(connection, args).await,
        Command::Runs(args) => runs::run(args),
        Command::Jobs(command) => jobs::run(connection, command).await,
        Command::Tasks(command) => tasks::run(connection, command).await,
        Command::Fields(command) => fields::run(connection, command).await,
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut self::command(), "csm", &mut script);
            print_all(&script);
            Ok(ExitCode::SUCCESS)
        }
        Command::Man => {
            let mut page = Vec::new();
            clap_mangen::Man::new(self::command()).render(&mut page)?;
            print_all(&page);
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Writes `bytes` to standard output; a closed pipe (`csm man | head`) is not an error.
fn print_all(bytes: &[u8]) {
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(bytes);
}

/// `-v`: one line per attempt and the client's notices ([`terminal::Lines`]); `-vv`: everything
/// the client and the transport say.
fn verbose(level: u8) {
    use std::io::IsTerminal;
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    match level {
        0 => {}
        1 => {
            let targets = Targets::new()
                .with_target("atlassian_csm::attempt", LevelFilter::DEBUG)
                .with_target("atlassian_csm", LevelFilter::INFO);
            tracing_subscriber::registry()
                .with(terminal::Lines)
                .with(targets)
                .init();
        }
        _ => {
            let targets = Targets::new()
                .with_target("atlassian_csm", LevelFilter::DEBUG)
                .with_target("reqwest", LevelFilter::DEBUG)
                .with_target("hyper_util", LevelFilter::DEBUG);
            let lines = tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(std::io::stderr().is_terminal())
                .without_time()
                .compact();
            tracing_subscriber::registry()
                .with(lines)
                .with(targets)
                .init();
        }
    }
}
