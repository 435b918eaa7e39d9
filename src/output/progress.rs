//! The progress bar on a terminal: one line on stderr per long read
//! (commits read out of the total, changes checked, records checked),
//! cleared when the read is done, so nothing is left between the output's
//! lines. Shown only when stderr is a terminal, outside CI (`CI` set) and
//! without `--quiet`; elsewhere no listener is set and nothing is drawn.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::progress::{self, Stage};

/// Whether to show progress: stderr is a terminal, not in CI, not quiet.
pub fn wanted(quiet: bool) -> bool {
    !quiet && std::io::stderr().is_terminal() && std::env::var_os("CI").is_none_or(|v| v.is_empty())
}

/// Shows progress on stderr from now on, if [`wanted`].
pub fn show(quiet: bool) {
    if !wanted(quiet) {
        return;
    }
    // Shown once a read has taken a second; `EXC_PROGRESS_AFTER_MS` changes
    // that (0: from the first report, every report drawn, as the tests see it).
    let after = std::env::var("EXC_PROGRESS_AFTER_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(Duration::from_secs(1), Duration::from_millis);
    let current: Mutex<Option<Shown>> = Mutex::new(None);
    progress::listen(Box::new(move |stage, done, total| {
        let Ok(mut current) = current.lock() else { return };
        if current.as_ref().is_none_or(|s| s.stage != stage || s.bar.length() != Some(total as u64)) {
            if let Some(old) = current.take() {
                old.bar.finish_and_clear();
            }
            // Hidden at first: nothing shows for a read that ends within a second.
            let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::hidden());
            let style = ProgressStyle::with_template("exc: {bar:30} {pos}/{len} {msg} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.set_message(stage.words());
            let now = Instant::now();
            *current = Some(Shown { stage, bar, started: now, drawn: now });
        }
        let Some(shown) = current.as_mut() else { return };
        if done >= total {
            shown.bar.finish_and_clear();
            *current = None;
            return;
        }
        // At most ten updates a second, whatever the pace of the reports.
        if !after.is_zero() && shown.drawn.elapsed() < Duration::from_millis(100) {
            return;
        }
        shown.drawn = Instant::now();
        if shown.bar.is_hidden() && shown.started.elapsed() >= after {
            shown.bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(10));
        }
        shown.bar.set_position(done as u64);
    }));
}

/// The bar of the read in progress.
struct Shown {
    stage: Stage,
    bar: ProgressBar,
    started: Instant,
    /// When it was last updated.
    drawn: Instant,
}
