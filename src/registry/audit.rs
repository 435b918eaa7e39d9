//! The audit of the whole history, in one replay: the policy chain (each
//! change approved by the previous policy's owners), symbolic links, and
//! every step of every record judged by `model::audit`. `exc audit` prints
//! it; `exc evidence` files it.

use std::collections::{BTreeSet, HashMap};

use super::{POLICY_FILE, RECORDS_DIR, Registry, load_keys, parse_policy, parse_version};
use crate::error::{Error, Result};
use crate::git::{History, TrustChange};
use crate::model::audit::{Audit, CommitRef, PolicyChain, Step, Version};
use crate::model::finding::{Code, Finding};
use crate::model::policy::Policy;
use crate::model::record::Exception;

/// What the audit found, and how much history it read.
#[derive(Debug)]
pub struct Audited {
    pub findings: Vec<Finding>,
    /// Commits touching records or the policy that were audited.
    pub commits: usize,
    /// Record changes checked.
    pub changes: usize,
    /// Every record file the history holds, sorted.
    pub files: Vec<String>,
    /// The audit started at `trust.audit_from`, not at the first commit.
    pub from_audit_start: bool,
}

impl Audited {
    /// What the JSON report adds to the findings: how much history was read.
    pub fn extra(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut extra = serde_json::Map::new();
        extra.insert("commits".into(), self.commits.into());
        extra.insert("changes".into(), self.changes.into());
        extra
    }

    /// One line: how much was checked, and the verdict.
    pub fn summary(&self) -> String {
        let since = if self.from_audit_start { " since trust.audit_from" } else { "" };
        let verdict = if self.findings.is_empty() {
            "the history is clean".to_string()
        } else {
            format!("{} finding(s)", self.findings.len())
        };
        format!(
            "{} commit(s) touching records or the policy{since}, {} change(s) checked: {verdict}",
            self.commits, self.changes
        )
    }
}

impl Registry {
    /// Audits the history (read once by the caller), with the policy's severities applied.
    pub fn audit(&self, history: &History) -> Result<Audited> {
        let commit_ref = |i: usize| {
            let c = &history.commits[i];
            CommitRef { id: &c.id, author: &c.author, time: c.time, landed: c.landed }
        };
        let policy_at = |commit: Option<usize>| -> std::result::Result<Option<Policy>, String> {
            let read = |path: &str| match commit {
                Some(c) => history.file_at(c, path),
                None => history.file_at_start(path),
            };
            let Some(text) = read(POLICY_FILE).map_err(|e| e.to_string())? else { return Ok(None) };
            let mut p = parse_policy(text.as_bytes(), POLICY_FILE).map_err(|e| describe(&e))?;
            load_keys(&mut p, |rel| read(rel).map_err(|e| e.to_string())?.ok_or_else(|| "not in this commit".into()))
                .map_err(|e| describe(&e))?;
            Ok(Some(p))
        };

        let mut chain = PolicyChain::default();
        let mut audit = Audit::default();
        if history.start > 0
            && let Some(p) = policy_at(None).map_err(Error::Usage)?
        {
            chain.trust(p);
        }
        let mut events = history.trust.iter().filter(|(c, _)| *c >= history.start).peekable();
        let mut last_time: HashMap<String, chrono::DateTime<chrono::Utc>> = HashMap::new();
        let mut files = BTreeSet::new();
        let changes = history.changes.iter().filter(|c| c.commit >= history.start);
        let symlink = |path: &str, c: usize| {
            Finding::new(
                Code::Symlink,
                path,
                "",
                format!("{path} was committed as a symbolic link ({})", commit_ref(c).describe()),
            )
            .with_commit(&history.commits[c].id)
        };
        let mut apply_events = |upto: usize, chain: &mut PolicyChain, audit: &mut Audit| {
            while let Some((c, ev)) = events.next_if(|(c, _)| *c <= upto) {
                match ev {
                    TrustChange::Policy { .. } => {
                        let candidate = policy_at(Some(*c)).map(|p| p.unwrap_or_default());
                        if let Some(f) =
                            chain.offer(candidate, &commit_ref(*c), POLICY_FILE, history.commits[*c].mainline)
                        {
                            audit.note(f);
                        }
                    }
                    TrustChange::Symlink { path } => audit.note(symlink(path, *c)),
                }
            }
        };
        history.replay(
            changes,
            |text| parse_version(text).and_then(|v| v.1),
            |commit, change, before, after| {
                apply_events(change.commit, &mut chain, &mut audit);
                let name = change.new_name.as_deref().or(change.old_name.as_deref()).unwrap_or("");
                let path = format!("{RECORDS_DIR}/{name}");
                let old_path = change.old_name.as_deref().map(|n| format!("{RECORDS_DIR}/{n}"));
                fn version<'v>(blob: Option<crate::git::Oid>, parsed: Option<&'v Option<Exception>>) -> Version<'v> {
                    match (blob, parsed) {
                        (None, _) => Version::Absent,
                        (Some(_), Some(Some(e))) => Version::Record(e),
                        (Some(_), _) => Version::Unreadable,
                    }
                }
                let default = Policy::default();
                let policy = chain.effective().unwrap_or(&default);
                if change.link {
                    audit.note(symlink(&path, change.commit));
                }
                audit.step(&Step {
                    commit: commit_ref(change.commit),
                    file: &path,
                    renamed_from: old_path.as_deref().filter(|o| *o != path),
                    before: version(change.old_blob, before),
                    after: version(change.new_blob, after),
                    before_time: old_path.as_ref().and_then(|o| last_time.get(o).copied()),
                    policy,
                    unapproved_policy: chain.unapproved(),
                });
                if let Some(o) = &old_path {
                    last_time.remove(o);
                }
                last_time.insert(path.clone(), commit.time);
                files.insert(path);
                Ok(())
            },
        )?;
        apply_events(usize::MAX, &mut chain, &mut audit);
        let mut findings = audit.finish();
        self.policy.severity.apply(&mut findings);
        Ok(Audited {
            findings,
            commits: history.commits.len() - history.start.min(history.commits.len()),
            changes: history.changes.iter().filter(|c| c.commit >= history.start).count(),
            files: files.into_iter().collect(),
            from_audit_start: history.start > 0,
        })
    }
}

/// An error's message with its findings, on one line.
fn describe(e: &Error) -> String {
    let mut s = e.to_string();
    for f in e.findings() {
        s.push_str(&format!("; {}", f.message));
    }
    s
}
