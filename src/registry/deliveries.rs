//! The delivery log of `exc notify`, kept in a git ref (`notify.log.ref`,
//! default `refs/exc/notify`) and shared through a remote (`notify.log.remote`),
//! so it outlives the CI runner that wrote it.
//!
//! Each run adds files of its own, never changing another's:
//! `<run>.run.json` (the run), `<run>.claims.jsonl` (what it is about to
//! send) and `<run>.results-<n>.jsonl` (what each channel accepted or
//! refused). A claim is published (committed, and pushed to the remote)
//! before anything is sent; when another run published first, this one reads
//! the log again and claims only what is left, so two runs at once send
//! each delivery once. Results are published after each channel.

use std::path::PathBuf;

use chrono::{DateTime, Utc};

use crate::error::{Error, Result};
use crate::git::Oid;
use crate::git::log_ref::{self, Moved};
use crate::model::delivery::{Entry, Run};
use crate::model::notify::LogSettings;

/// How many times a write is tried again after another writer moved the log.
const RETRIES: usize = 8;

/// The log of one registry.
#[derive(Debug, Clone)]
pub struct DeliveryLog {
    root: PathBuf,
    pub git_ref: String,
    pub remote: Option<String>,
}

/// The log as read at one commit.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub tip: Option<Oid>,
    pub entries: Vec<Entry>,
    pub runs: Vec<Run>,
}

impl DeliveryLog {
    /// The log as the policy places it. Without `log.remote`, the log is
    /// shared through `origin` when the repository has one (a CI runner's
    /// clone always does), so a lost runner loses nothing; `remote: ""`
    /// keeps it in this clone.
    pub fn new(root: PathBuf, settings: &LogSettings) -> DeliveryLog {
        let remote = match settings.remote.as_deref() {
            Some("") => None,
            Some(r) => Some(r.to_string()),
            None => log_ref::has_remote(&root, "origin").then(|| "origin".to_string()),
        };
        DeliveryLog { root, git_ref: settings.git_ref.clone(), remote }
    }

    /// Reads the log as the remote and this clone hold it together. With
    /// `write`, the local ref catches up with the remote first (a
    /// fast-forward, or a join when the two went apart); without it, nothing
    /// moves and the two are read side by side.
    pub fn read(&self, write: bool, now: DateTime<Utc>) -> Result<Snapshot> {
        let theirs = match &self.remote {
            Some(remote) => self.fetch(remote)?,
            None => None,
        };
        for attempt in 0..RETRIES {
            if attempt > 0 {
                pause(attempt);
            }
            let local = log_ref::tip(&self.root, &self.git_ref)?;
            if let Some(snap) = self.catch_up(local, theirs, write, now)? {
                return Ok(snap);
            }
        }
        Err(Error::Conflict(format!("{} kept moving while this run read it; run exc notify again", self.git_ref)))
    }

    /// Fetches the remote's log, trying again when another process was fetching it too.
    fn fetch(&self, remote: &str) -> Result<Option<Oid>> {
        let mut last = None;
        for _ in 0..3 {
            match log_ref::fetch(&self.root, remote, &self.git_ref) {
                Ok(t) => return Ok(t),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| Error::Git("fetch failed".into())))
    }

    /// The snapshot once the local ref holds the remote's log too; `None`
    /// when another process moved the local ref meanwhile.
    fn catch_up(
        &self,
        local: Option<Oid>,
        theirs: Option<Oid>,
        write: bool,
        now: DateTime<Utc>,
    ) -> Result<Option<Snapshot>> {
        let (root, name) = (&self.root, &self.git_ref);
        let mut tips = vec![];
        match (local, theirs) {
            (l, None) => tips.extend(l),
            (None, Some(r)) if write => match log_ref::advance(root, name, None, r)? {
                Ok(t) => tips.push(t),
                Err(Moved) => return Ok(None),
            },
            (None, Some(r)) => tips.push(r),
            (Some(l), Some(r)) if log_ref::contains(root, r, l)? => tips.push(l),
            (Some(l), Some(r)) if log_ref::contains(root, l, r)? && write => {
                match log_ref::advance(root, name, Some(l), r)? {
                    Ok(t) => tips.push(t),
                    Err(Moved) => return Ok(None),
                }
            }
            (Some(l), Some(r)) if log_ref::contains(root, l, r)? => tips.push(r),
            (Some(l), Some(r)) if write => match log_ref::join(root, name, l, r, now)? {
                Ok(t) => tips.push(t),
                Err(Moved) => return Ok(None),
            },
            (Some(l), Some(r)) => tips.extend([l, r]),
        }
        let mut snap = Snapshot { tip: tips.first().copied(), ..Snapshot::default() };
        for commit in tips {
            self.parse(commit, &mut snap)?;
        }
        Ok(Some(snap))
    }

    fn parse(&self, commit: Oid, snap: &mut Snapshot) -> Result<()> {
        for (name, bytes) in log_ref::files(&self.root, commit)? {
            let bad = |e: serde_json::Error| {
                Error::Git(format!("{}:{name} is not a delivery log file exc wrote: {e}", self.git_ref))
            };
            if name.ends_with(".run.json") {
                let run: Run = serde_json::from_slice(&bytes).map_err(bad)?;
                if !snap.runs.iter().any(|r| r.run == run.run) {
                    snap.runs.push(run);
                }
            } else if name.ends_with(".jsonl") {
                for line in bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                    snap.entries.push(serde_json::from_slice(line).map_err(bad)?);
                }
            }
        }
        Ok(())
    }

    /// Publishes `files` on top of `base` (the tip that was read): commits
    /// them to the local ref and pushes it. `Moved` when another run
    /// published first (then nothing of this call stays published).
    pub fn publish(
        &self,
        base: Option<Oid>,
        files: &[(String, Vec<u8>)],
        message: &str,
        now: DateTime<Utc>,
    ) -> Result<std::result::Result<Oid, Moved>> {
        let commit = match log_ref::append(&self.root, &self.git_ref, base, files, message, now)? {
            Ok(c) => c,
            Err(Moved) => return Ok(Err(Moved)),
        };
        if let Some(remote) = &self.remote {
            match log_ref::push(&self.root, remote, &self.git_ref, commit) {
                Ok(Ok(())) => {}
                Ok(Err(Moved)) => {
                    // Take the commit back, so a retry starts from what the remote holds.
                    let _ = log_ref::set_back(&self.root, &self.git_ref, commit, base);
                    return Ok(Err(Moved));
                }
                Err(e) => {
                    let _ = log_ref::set_back(&self.root, &self.git_ref, commit, base);
                    return Err(e);
                }
            }
        }
        Ok(Ok(commit))
    }

    /// Adds `files` to the log, reading it again and retrying as often as
    /// other runs move it (results never conflict: they only add).
    pub fn add(&self, files: &[(String, Vec<u8>)], message: &str, now: DateTime<Utc>) -> Result<Oid> {
        for attempt in 0..RETRIES {
            if attempt > 0 {
                pause(attempt);
            }
            let snap = self.read(true, now)?;
            if let Ok(c) = self.publish(snap.tip, files, message, now)? {
                return Ok(c);
            }
        }
        Err(Error::Conflict(format!("{} kept moving; the results were not recorded", self.git_ref)))
    }
}

/// A pause before trying again: longer with each attempt (10 ms, 20 ms, …
/// up to 320 ms) and jittered, so two runs that keep moving the log under
/// each other fall out of step instead of meeting every time.
fn pause(attempt: usize) {
    let mut random = [0u8; 1];
    let _ = getrandom::fill(&mut random);
    let base = 5u64 << attempt.min(6);
    std::thread::sleep(std::time::Duration::from_millis(base + u64::from(random[0]) % base.max(1)));
}

/// A file of log lines.
pub fn lines(entries: &[Entry]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for e in entries {
        serde_json::to_writer(&mut out, e).map_err(|e| Error::Output(e.to_string()))?;
        out.push(b'\n');
    }
    Ok(out)
}

/// A new run's id: its start, to the second, and a random suffix.
pub fn run_id(started: DateTime<Utc>) -> String {
    let mut random = [0u8; 4];
    let _ = getrandom::fill(&mut random);
    let hex: String = random.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{hex}", started.format("%Y%m%dT%H%M%SZ"))
}
