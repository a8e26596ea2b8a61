//! `csm mock`: the fake CSM API with demo data, so every command can be tried with no account.
//!
//! While it serves, a marker file of its own (`csm-mock-<user>-<pid>.url`, in
//! `$XDG_RUNTIME_DIR` or else the temporary directory) holds its address; other `csm` commands
//! given no site use the fake of the newest marker that still answers, and say which (and how
//! many run). Each fake removes only its own marker when it stops (Ctrl-C or SIGTERM), so
//! several fakes never clobber each other's. A marker is ignored if its fake no longer answers,
//! if it is not on this machine's loopback, or (where the owner can be read) if another user
//! wrote it. The fake is never sent the user's credentials.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

/// The fake's options.
#[derive(clap::Args, Debug)]
pub struct MockArgs {
    /// The port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 8790)]
    port: u16,
    /// Milliseconds a bulk task takes, from its request to its end.
    #[arg(long, default_value_t = 200, value_name = "MS")]
    task_ms: u64,
    /// How fast bulk tasks run: `fast` (each takes --task-ms, side by side) or `live` (one at a
    /// time, 4.8 s a record, as a live site has been seen to work).
    #[arg(long, value_enum, default_value_t = PaceArg::Fast)]
    pace: PaceArg,
    /// With `--pace live`: divide its times by this, to try it in minutes.
    #[arg(long, default_value_t = 1, value_name = "FACTOR")]
    pace_scale: u32,
    /// Start empty instead of with the demo site (products, organizations, customers, detail
    /// fields Plan, Region, Tier and Seats).
    #[arg(long)]
    empty: bool,
}

/// `--pace`.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum PaceArg {
    /// Tasks side by side, each taking --task-ms.
    Fast,
    /// One task at a time, 4.8 s a record (divided by --pace-scale).
    Live,
}

/// Serves until interrupted.
pub async fn serve(args: MockArgs) -> anyhow::Result<()> {
    let fake = atlassian_csm_mock::FakeCsm::builder()
        .port(args.port)
        .seed_demo(!args.empty)
        .task_timing(Duration::ZERO, Duration::from_millis(args.task_ms))
        .pace(match args.pace {
            PaceArg::Fast => atlassian_csm_mock::Pace::Fast,
            PaceArg::Live => atlassian_csm_mock::Pace::live_scaled(args.pace_scale),
        })
        .start()
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on 127.0.0.1:{}: {e}", args.port))?;
    let marker = markers_directory().join(format!("{}{}.url", marker_prefix(), std::process::id()));
    std::fs::write(&marker, fake.base_url())?;
    // Whoever started it may stop reading (a script that read the address): not an error.
    let mut stdout = std::io::stdout();
    let _ = writeln!(
        stdout,
        "fake CSM API at {}\ncsm commands run without a site configured use it; Ctrl-C stops it",
        fake.base_url()
    );
    let _ = stdout.flush();
    stopped().await;
    let _ = std::fs::remove_file(&marker);
    Ok(())
}

/// A fake a `csm mock` of this user is serving.
pub struct RunningFake {
    /// Its address.
    pub base_url: String,
    /// How many such fakes answer (this one is the newest).
    pub running: usize,
}

impl RunningFake {
    /// Which fake, for the line that says it is used.
    pub fn describe(&self) -> String {
        match self.running {
            1 => format!("the fake `csm mock` serves at {}", self.base_url),
            n => format!(
                "the newest of the {n} fakes `csm mock` serves, at {} (name another with --base-url)",
                self.base_url
            ),
        }
    }
}

/// The newest fake a `csm mock` of this user is serving, if a marker names one that is on this
/// machine's loopback and accepts connections.
pub fn running_fake() -> Option<RunningFake> {
    let prefix = marker_prefix();
    let mut markers: Vec<(std::time::SystemTime, String)> = std::fs::read_dir(markers_directory())
        .ok()?
        .filter_map(Result::ok)
        .filter(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            name.starts_with(&prefix) && name.ends_with(".url")
        })
        .filter(|entry| written_by_this_user(&entry.path()))
        .filter_map(|entry| {
            let modified = entry.metadata().ok()?.modified().ok()?;
            let base_url = answering(&std::fs::read_to_string(entry.path()).ok()?)?;
            Some((modified, base_url))
        })
        .collect();
    markers.sort();
    let running = markers.len();
    let (_, base_url) = markers.pop()?;
    Some(RunningFake { base_url, running })
}

/// The address a marker holds, if it is on loopback and accepts connections.
fn answering(marker: &str) -> Option<String> {
    let base_url = marker.trim();
    let address: std::net::SocketAddr = base_url.strip_prefix("http://")?.parse().ok()?;
    if !address.ip().is_loopback() {
        return None;
    }
    std::net::TcpStream::connect_timeout(&address, Duration::from_millis(500)).ok()?;
    Some(base_url.to_string())
}

/// `csm-mock-<user>-`: the start of this user's markers.
fn marker_prefix() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "user".into());
    let user: String = user.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    format!("csm-mock-{user}-")
}

/// The per-user runtime directory, where there is one (no other user can write there), else the
/// temporary directory.
fn markers_directory() -> PathBuf {
    std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|dir| dir.is_dir())
        .unwrap_or_else(std::env::temp_dir)
}

/// Whether `path` belongs to the user running this process (on Linux, read from `/proc/self`;
/// elsewhere the runtime directory is trusted).
fn written_by_this_user(path: &std::path::Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (std::fs::metadata(path), std::fs::metadata("/proc/self")) {
            (Ok(marker), Ok(me)) => marker.uid() == me.uid(),
            (Ok(_), Err(_)) => true,
            (Err(_), _) => false,
        }
    }
    #[cfg(not(unix))]
    {
        path.exists()
    }
}

async fn stopped() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut terminate) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
