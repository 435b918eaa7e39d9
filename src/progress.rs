//! How far a long read has got: commits read, record changes checked,
//! records loaded. The layers that do the work report here; whoever set a
//! listener (the command line, with a progress bar on a terminal) hears it.
//! With none set, as in CI and tests, a report costs one atomic load.

use std::sync::OnceLock;

/// What is being counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Commits of the history walked.
    Commits,
    /// Record changes of the history judged (audit, trend, evidence).
    Changes,
    /// Record files read, verified and checked.
    Records,
}

impl Stage {
    /// The words for the count, as the bar shows them.
    pub fn words(self) -> &'static str {
        match self {
            Stage::Commits => "commits read",
            Stage::Changes => "changes checked",
            Stage::Records => "records checked",
        }
    }
}

/// Hears every report: the stage, how many done, out of how many.
pub type Listener = Box<dyn Fn(Stage, usize, usize) + Send + Sync>;

static LISTENER: OnceLock<Listener> = OnceLock::new();

/// Sets the one listener for this process (a second call is ignored).
pub fn listen(listener: Listener) {
    let _ = LISTENER.set(listener);
}

/// Reports that `done` of `total` are done at `stage`.
pub fn report(stage: Stage, done: usize, total: usize) {
    if let Some(l) = LISTENER.get() {
        l(stage, done, total);
    }
}
