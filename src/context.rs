//! What every command runs in (the registry's location, the evaluation date,
//! colour) and how a command that did its job ended.

use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, NaiveTime, Timelike, Utc};

use crate::error::Result;
use crate::registry::{self, Registry};

/// What every command needs besides its own arguments.
#[derive(Debug, Clone)]
pub struct Context {
    pub dir: Option<PathBuf>,
    /// The day dates are evaluated on (`--as-of`, else today in UTC).
    pub as_of: NaiveDate,
    /// Whether `--as-of` was given (then "now" is that day at 00:00 UTC).
    pub as_of_given: bool,
    pub color: bool,
}

impl Context {
    /// The instant time rules are evaluated at: the start of `--as-of` when
    /// given, else now. Never used as the time of a decision.
    pub fn now(&self) -> DateTime<Utc> {
        if self.as_of_given { self.as_of.and_time(NaiveTime::MIN).and_utc() } else { wall_clock() }
    }

    /// Finds and opens the registry (policy included).
    pub fn registry(&self) -> Result<Registry> {
        Registry::open(registry::discover(self.dir.as_deref())?)
    }
}

/// The current instant, to the second.
pub fn wall_clock() -> DateTime<Utc> {
    let now = Utc::now();
    now.with_nanosecond(0).unwrap_or(now)
}

/// How a command ended when it could do its job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing to report (exit 0).
    Clean,
    /// Findings were reported (exit 1).
    Findings,
}

impl Outcome {
    /// `Findings` when any finding is an error.
    pub fn from_findings(findings: &[crate::model::finding::Finding]) -> Outcome {
        if findings.iter().any(|f| f.is_error()) { Outcome::Findings } else { Outcome::Clean }
    }
}
