//! What every command runs in (the registry's location, the evaluation date,
//! colour) and how a command that did its job ended.

use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, Timelike, Utc};

use crate::error::{Error, Result};
use crate::model::finding::Finding;
use crate::model::record::Record;
use crate::model::{measure, rules};
use crate::registry::{self, Loaded, Registry};

/// What every command needs besides its own arguments.
#[derive(Debug, Clone)]
pub struct Context {
    pub dir: Option<PathBuf>,
    /// The day dates are evaluated on (`--as-of`, else today in UTC).
    pub as_of: NaiveDate,
    /// Whether `--as-of` was given (then "now" is that day at 00:00 UTC).
    pub as_of_given: bool,
    pub color: bool,
    /// The instant time rules are evaluated at.
    now: DateTime<Utc>,
}

impl Context {
    /// The context for `--as-of` (if given): "as of a date" is 00:00 UTC that
    /// day; without it, now and today by the clock.
    pub fn new(dir: Option<PathBuf>, as_of: Option<NaiveDate>, color: bool) -> Result<Context> {
        let (now, day) = match as_of {
            Some(d) => (crate::model::measure::instant(d), d),
            None => {
                let clock = clock()?;
                (clock, clock.date_naive())
            }
        };
        Ok(Context { dir, as_of: day, as_of_given: as_of.is_some(), color, now })
    }

    /// The instant time rules are evaluated at: the start of `--as-of` when
    /// given, else now. Never used as the time of a decision.
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// The instant records are read as they stood at: the start of `--as-of`
    /// when given. None without it: the records are as they are (nothing
    /// counts that is dated after now; the rules flag what is).
    pub fn stood(&self) -> Option<DateTime<Utc>> {
        self.as_of_given.then_some(self.now)
    }

    /// Every record, for a command that evaluates them as of the date: as
    /// they stood at its instant ([`measure::as_stood`]). Commands that
    /// change records read them as they are (`Registry::load_all`), so no
    /// later decision is ever lost.
    pub fn load(&self, reg: &Registry) -> Result<Loaded> {
        Ok(self.as_stood(reg, reg.load_all()?))
    }

    /// Every record judged as it stood as of the date (see [`Context::load`]),
    /// keeping only those `keep` wants afterwards (given its file's
    /// findings); every finding is kept.
    pub fn load_keeping(&self, reg: &Registry, keep: &(dyn Fn(&Record, &[Finding]) -> bool + Sync)) -> Result<Loaded> {
        reg.load_files(&[], &registry::Visit { stood: self.stood(), judge: &|_| Vec::new(), keep })
    }

    /// [`Context::load`], each record keeping its text: for output that
    /// quotes the files as written (the structured exports, evidence).
    pub fn load_with_text(&self, reg: &Registry) -> Result<Loaded> {
        Ok(self.as_stood(reg, reg.load_with(&reg.record_files()?, None, true)?))
    }

    /// One record by id, as it stood as of the date (see [`Context::load`]),
    /// with the findings of its file as it is.
    pub fn find(&self, reg: &Registry, id: &str) -> Result<(Record, Vec<Finding>)> {
        let (r, findings) = reg.find(id)?;
        let r = match self.stood() {
            Some(now) => measure::as_stood(r, &reg.policy, now),
            None => r,
        };
        Ok((r, findings))
    }

    fn as_stood(&self, reg: &Registry, mut loaded: Loaded) -> Loaded {
        use rayon::prelude::*;
        if let Some(now) = self.stood() {
            loaded.records = std::mem::take(&mut loaded.records)
                .into_par_iter()
                .map(|r| measure::as_stood(r, &reg.policy, now))
                .collect();
        }
        loaded
    }

    /// Finds and opens the registry (policy and keys included).
    pub fn registry(&self) -> Result<Registry> {
        Registry::open(registry::discover(self.dir.as_deref())?, self.rules())
    }

    /// The repository the current directory is in, and the registry that
    /// governs it: `registry` (a path or a git URL, at `rev`) when given,
    /// else the registry found as usual (`--dir`, or the nearest `exc.yaml`).
    /// When that registry lives in another repository than the current
    /// directory, the current directory's repository is the one governed (an
    /// application repository under a central registry). Its name is
    /// `repository`, else the `origin` remote's, else its folder's.
    pub fn governed(&self, registry: Option<&str>, rev: Option<&str>, repository: Option<&str>) -> Result<Governed> {
        let cwd = std::env::current_dir().map_err(|e| Error::io(".", e))?;
        let canon = |p: &std::path::Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        let here = crate::git::workdir(&cwd).map(|p| canon(&p));
        let (reg, source, fetched) = match registry {
            Some(text) => {
                let source = registry::Source::parse(text, rev, None, &cwd)?;
                let fetched = matches!(source, registry::Source::Git { .. });
                (source.open(self.rules())?, source.describe(), fetched)
            }
            None if rev.is_some() => return Err(Error::Usage("--ref needs --registry (a git URL or path)".into())),
            None => {
                let reg = self.registry()?;
                let shown = reg.root.display().to_string();
                (reg, shown, false)
            }
        };
        let home = canon(&crate::git::workdir(&reg.root).unwrap_or_else(|| reg.root.clone()));
        let scanned = here.clone().unwrap_or_else(|| canon(&cwd));
        let central = match registry {
            Some(_) => scanned != home,
            None => here.is_some_and(|h| h != home),
        };
        let root = if central { scanned } else { home };
        let name = match repository {
            Some(n) if n.trim().is_empty() || n.chars().any(|c| c.is_whitespace() || c.is_control()) => {
                return Err(Error::Usage(format!("--repository {n:?}: a repository name has no spaces")));
            }
            Some(n) => Some(n.to_string()),
            None => crate::git::repository_name(&root),
        };
        Ok(Governed { registry: reg, root, name, central, source, fetched })
    }

    /// What the rules need: nothing may be dated after the later of now and the
    /// end of the evaluation day, give or take five minutes of clock skew.
    pub fn rules(&self) -> rules::Context {
        let end_of_day = self.as_of.and_hms_opt(23, 59, 59).unwrap_or_default().and_utc();
        let clock = self.decision_time().unwrap_or_else(|_| wall_clock());
        rules::Context { horizon: wall_clock().max(clock).max(end_of_day) + chrono::TimeDelta::minutes(5) }
    }

    /// What to tell someone who gave a changing command `--as-of` another
    /// day, as if to rehearse it: the change is made now, and dated now.
    pub fn acts_now(&self) -> Result<Option<String>> {
        let today = self.decision_time()?.date_naive();
        Ok((self.as_of_given && self.as_of != today).then(|| {
            format!(
                "--as-of {} does not date a change: this one is made now, on {today}; to look ahead, use remind, report, check, list or expire (without --apply) with --as-of",
                self.as_of
            )
        }))
    }

    /// The time a decision made now is recorded with: the clock. Never
    /// `--as-of`.
    pub fn decision_time(&self) -> Result<DateTime<Utc>> {
        clock()
    }
}

/// The clock: the wall clock, to the second. Tests and the sample script may
/// pin it with the environment variable `EXC_TEST_CLOCK` (RFC 3339 or a
/// date), and nothing else does.
fn clock() -> Result<DateTime<Utc>> {
    match std::env::var("EXC_TEST_CLOCK") {
        Ok(v) if !v.is_empty() => test_clock(&v),
        _ => Ok(wall_clock()),
    }
}

/// `EXC_TEST_CLOCK`: an RFC 3339 instant, or a date (taken as 00:00 UTC).
fn test_clock(v: &str) -> Result<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        return Ok(t.with_timezone(&Utc));
    }
    crate::model::time::parse_date(v)
        .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
        .map_err(|_| Error::Usage(format!("EXC_TEST_CLOCK={v:?} is not an RFC 3339 time or a date")))
}

/// The current instant, to the second.
pub fn wall_clock() -> DateTime<Utc> {
    let now = Utc::now();
    now.with_nanosecond(0).unwrap_or(now)
}

/// A repository and the registry that governs it (see [`Context::governed`]).
#[derive(Debug)]
pub struct Governed {
    pub registry: Registry,
    /// The work tree whose suppressions are read (its folder outside git).
    pub root: PathBuf,
    /// The repository's name, as records' findings name it (`repository:`).
    pub name: Option<String>,
    /// The registry lives in another repository: a central registry
    /// governing this application repository.
    pub central: bool,
    /// How the registry was given: its folder, or `URL@ref`.
    pub source: String,
    /// The registry was fetched into the cache: a copy nobody should write to.
    pub fetched: bool,
}

/// How a command ended when it could do its job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing to report (exit 0).
    Clean,
    /// Findings were reported (exit 1).
    Findings,
    /// Only part of the job could be done: a fleet's registry could not be
    /// read. What could be read was shown, marked partial, with what failed
    /// named (exit 2, as when the tool cannot do its job).
    Partial,
}

impl Outcome {
    /// `Findings` when any finding is an error.
    pub fn from_findings(findings: &[crate::model::finding::Finding]) -> Outcome {
        if findings.iter().any(|f| f.is_error()) { Outcome::Findings } else { Outcome::Clean }
    }
}
