//! Progress bars on stderr: only when stderr is a terminal and `--quiet` is off, so piped and
//! CI output stays clean. Results never go to stderr.
//!
//! Bars count bytes and move as the work inside a file goes ([`advance`] from the hashing
//! pieces of `hash`/`verify`, the read blocks of `profile`/`drift`), so the ETA moves on one
//! 60 GiB file too.
//!
//! Test seam: with `MLGUARD_PROGRESS_TEST=1` in the environment (and no `--quiet`), every
//! [`advance`] also prints `mlguard-progress: POS/LEN` on stderr as plain text, whatever
//! stderr is: indicatif draws nothing when stderr is a pipe, so this is how the integration
//! tests see that a bar moves inside one file. Not a user feature (undocumented in the help).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether the test log is on (set when a bar is made: the environment variable and no
/// `--quiet`). One command runs per process, so a process-wide flag is enough.
static TEST_LOG: AtomicBool = AtomicBool::new(false);

/// Whether progress may be drawn at all.
pub fn enabled(quiet: bool) -> bool {
    note_test_log(quiet);
    !quiet && std::io::stderr().is_terminal()
}

fn note_test_log(quiet: bool) {
    let on = !quiet && std::env::var_os("MLGUARD_PROGRESS_TEST").is_some_and(|v| v == "1");
    TEST_LOG.store(on, Ordering::Relaxed);
}

/// Advance `pb` by `n` units (from any thread).
pub fn advance(pb: &ProgressBar, n: u64) {
    if n == 0 {
        return;
    }
    pb.inc(n);
    if TEST_LOG.load(Ordering::Relaxed) {
        eprintln!(
            "mlguard-progress: {}/{}",
            pb.position(),
            pb.length().unwrap_or(0)
        );
    }
}

/// One input's part of a bar: counts the bytes read through it, never more than its
/// `share` (an input read twice, or re-read from the start, does not run the bar past its
/// end), and [`Share::done`] moves the bar to the end of the share when the input is done.
#[derive(Debug)]
pub struct Share {
    bar: ProgressBar,
    share: u64,
    counted: std::sync::atomic::AtomicU64,
}

impl Share {
    pub fn new(bar: &ProgressBar, share: u64) -> Share {
        Share {
            bar: bar.clone(),
            share,
            counted: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// The bytes this input counts for on its bar.
    pub fn share(&self) -> u64 {
        self.share
    }

    /// `n` more bytes were read.
    pub fn count(&self, n: u64) {
        let before = self.counted.fetch_add(n, Ordering::Relaxed);
        advance(&self.bar, n.min(self.share.saturating_sub(before)));
    }

    /// The input is done: the rest of its share.
    pub fn done(&self) {
        let before = self.counted.fetch_max(self.share, Ordering::Relaxed);
        advance(&self.bar, self.share.saturating_sub(before));
    }
}

/// A byte-counting bar (`hash`, `verify`, `profile`, `scan`): files, bytes, throughput, ETA.
pub fn bytes(total_bytes: u64, quiet: bool) -> ProgressBar {
    if !enabled(quiet) {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::with_draw_target(Some(total_bytes), ProgressDrawTarget::stderr());
    pb.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta} {msg}",
        )
        .expect("static template")
        .progress_chars("=> "),
    );
    pb
}

/// An item-counting bar (`scan`: files or events).
pub fn items(total: u64, what: &str, quiet: bool) -> ProgressBar {
    if !enabled(quiet) {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    pb.set_style(
        ProgressStyle::with_template(&format!(
            "{{spinner}} [{{elapsed_precise}}] {{wide_bar}} {{pos}}/{{len}} {what} ETA {{eta}} {{msg}}"
        ))
        .expect("static template"),
    );
    pb
}

/// A spinner with a message, for work whose size is not known up front (`scan`).
pub fn spinner(g: &crate::cli::Global, msg: &str) -> ProgressBar {
    if !enabled(g.quiet) {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    pb.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
            .expect("static template"),
    );
    pb.set_message(msg.to_string());
    pb.enable_steady_tick(std::time::Duration::from_millis(120));
    pb
}
