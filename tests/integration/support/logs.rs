//! Running a test with every tracing event and span captured as text.
//!
//! One TRACE subscriber serves the whole test binary, installed as the global default the first
//! time a test asks for a log, and each test reads what its own thread printed. A subscriber per
//! test (`with_default`) would race with the tests running beside it: tracing caches whether a
//! call site is wanted the first time any thread reaches it, so a test without a subscriber could
//! switch a call site off for a test with one, and a line the client wrote would be missing.

use std::cell::RefCell;
use std::future::Future;
use std::sync::Once;
use tracing_subscriber::fmt::format::FmtSpan;

thread_local! {
    /// What this thread's events printed, while a test is capturing them.
    static CAPTURED: RefCell<Option<Vec<u8>>> = const { RefCell::new(None) };
}

/// Writes into the current thread's capture, or nowhere when it captures nothing.
struct ThreadCapture;

impl std::io::Write for ThreadCapture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        CAPTURED.with(|captured| {
            if let Some(buffer) = captured.borrow_mut().as_mut() {
                buffer.extend_from_slice(bytes);
            }
        });
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn install_subscriber() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(|| ThreadCapture)
            .with_span_events(FmtSpan::CLOSE)
            .with_ansi(false)
            .finish();
        tracing::subscriber::set_global_default(subscriber)
            .expect("no other subscriber is installed in the tests");
    });
}

/// Runs `future` on its own single-threaded runtime with every event and span captured, and
/// returns its output with the log (spans are printed when they close, with every field
/// recorded on them).
pub fn run_logged<F: Future>(future: F) -> (F::Output, String) {
    install_subscriber();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    CAPTURED.with(|captured| *captured.borrow_mut() = Some(Vec::new()));
    let output = runtime.block_on(future);
    let log = CAPTURED.with(|captured| captured.borrow_mut().take().unwrap_or_default());
    (output, String::from_utf8(log).unwrap())
}
