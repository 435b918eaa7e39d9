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
    pub fn new(root: PathBuf, settings: &LogSettings) -> DeliveryLog {
        DeliveryLog { root, git_ref: settings.git_ref.clone(), remote: settings.remote.clone() }
    }

    /// Reads the log as the remote and this clone hold it together. With
    /// `write`, the local ref catches up with the remote first (a
    /// fast-forward, or a join when the two went apart); without it, nothing
    /// moves and the two are read side by side.
    pub fn read(&self, write: bool, now: DateTime<Utc>) -> Result<Snapshot> {
        let mut local = log_ref::tip(&self.root, &self.git_ref)?;
        let theirs = match &self.remote {
            Some(remote) => log_ref::fetch(&self.root, remote, &self.git_ref)?,
            None => None,
        };
        let mut extra = None;
        if let Some(r) = theirs {
            match local {
                None if write => local = self.settle(log_ref::advance(&self.root, &self.git_ref, None, r)?)?,
                None => local = Some(r),
                Some(l) if log_ref::contains(&self.root, r, l)? => {}
                Some(l) if log_ref::contains(&self.root, l, r)? => {
                    if write {
                        local = self.settle(log_ref::advance(&self.root, &self.git_ref, Some(l), r)?)?;
                    } else {
                        local = Some(r);
                    }
                }
                Some(l) if write => local = self.settle(log_ref::join(&self.root, &self.git_ref, l, r, now)?)?,
                Some(_) => extra = Some(r),
            }
        }
        let mut snap = Snapshot { tip: local, ..Snapshot::default() };
        for commit in local.into_iter().chain(extra) {
            self.parse(commit, &mut snap)?;
        }
        Ok(snap)
    }

    /// A move of the local ref that lost a race is retried by the caller.
    fn settle(&self, moved: std::result::Result<Oid, Moved>) -> Result<Option<Oid>> {
        match moved {
            Ok(o) => Ok(Some(o)),
            Err(Moved) => {
                Err(Error::Conflict(format!("{} moved while this run read it; run exc notify again", self.git_ref)))
            }
        }
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
        for _ in 0..RETRIES {
            let snap = self.read(true, now)?;
            if let Ok(c) = self.publish(snap.tip, files, message, now)? {
                return Ok(c);
            }
        }
        Err(Error::Conflict(format!("{} kept moving; the results were not recorded", self.git_ref)))
    }
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
