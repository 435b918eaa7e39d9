//! The registry in git: its history (read once, as of a commit or after
//! one), the policy and records of any commit, and a branch judged against
//! its base.

use super::{POLICY_FILE, RECORDS_DIR, Registry, load_keys, parse_policy, parse_version, read_version};
use std::fs;

use crate::error::Result;
use crate::model::finding::{Code, Finding};
use crate::model::policy::Policy;

impl Registry {
    /// The history of the records and the policy, read in one walk.
    pub fn history(&self) -> Result<crate::git::History> {
        self.history_from(self.policy.trust.audit_from.as_deref())
    }

    /// The history, its audited part starting after `from` (a commit), or
    /// from the first commit.
    pub fn history_from(&self, from: Option<&str>) -> Result<crate::git::History> {
        self.history_of(from, None)
    }

    /// The history as of commit `at` (HEAD without one), its audited part
    /// starting after `from`.
    pub fn history_of(&self, from: Option<&str>, at: Option<crate::git::Oid>) -> Result<crate::git::History> {
        crate::git::History::read_at(
            &self.root,
            RECORDS_DIR,
            POLICY_FILE,
            self.policy.trust.allowed_signers.as_deref(),
            from,
            at,
            None,
        )
    }

    /// The history after `commit` (a mainline commit already audited): what
    /// an audit resuming from a checkpoint reads.
    pub fn history_after(&self, commit: crate::git::Oid) -> Result<crate::git::History> {
        crate::git::History::read_at(
            &self.root,
            RECORDS_DIR,
            POLICY_FILE,
            self.policy.trust.allowed_signers.as_deref(),
            None,
            None,
            Some(commit),
        )
    }

    /// The policy at a commit, with the keys of that commit's allowed_signers
    /// file; the built-in defaults where there was no `exc.yaml`.
    pub fn policy_at(&self, commit: crate::git::Oid) -> Result<Policy> {
        let read = |rel: &str| crate::git::file_at(&self.root, commit, rel);
        let mut p = match read(POLICY_FILE)? {
            Some(text) => parse_policy(text.as_bytes(), POLICY_FILE)?,
            None => Policy::default(),
        };
        load_keys(&mut p, |rel| read(rel).map_err(|e| e.to_string())?.ok_or_else(|| "not in that commit".into()))?;
        Ok(p)
    }

    /// Judges this branch against the base: a policy change counts only when
    /// the base policy's owners approved it (otherwise the base policy is put
    /// in force here, and a `policy-unapproved` finding says so); and no record
    /// the base holds may be deleted, reopened, renamed, or have its decisions
    /// rewritten. Every decision the branch adds is judged strictly: signed
    /// by a key the policy lists for its maker that is valid now (a key that
    /// retired signs nothing new, whatever date it writes). Returns the
    /// findings; `self.policy` is then the policy to judge by.
    pub fn against_base(
        &mut self,
        commit: crate::git::Oid,
        name: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<Finding>> {
        let mut out = Vec::new();
        let base = self.policy_at(commit)?;
        let bounds = crate::model::policy_change::Bounds { not_before: None, not_after: Some(now), landed: Some(now) };
        let change = base.judge_change(&self.policy, &bounds);
        if !change.approved() {
            let why =
                if change.problems.is_empty() { String::new() } else { format!("; {}", change.problems.join("; ")) };
            out.push(Finding::new(
                Code::PolicyUnapproved,
                POLICY_FILE,
                "",
                format!(
                    "exc.yaml changes the policy at {name} without the approval of its owners (still needed: {}){why}; records are judged by the policy at {name}",
                    change.missing.join(", ")
                ),
            ));
            self.policy = base;
        }
        let at_base: std::collections::HashMap<String, String> = self.records_at(commit)?.into_iter().collect();
        for path in self.record_files()? {
            let Some(file) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else { continue };
            let Some((_, Some(after))) = read_version(&path) else { continue };
            let before = at_base.get(&file).and_then(|t| parse_version(t)).and_then(|v| v.1);
            let shown = format!("{RECORDS_DIR}/{file}");
            out.extend(crate::model::audit::new_decisions(&shown, before.as_ref(), &after, &self.policy, now));
        }
        for (file, text) in at_base {
            let Some(before) = parse_version(&text).and_then(|v| v.1) else { continue };
            let path = self.records_dir().join(&file);
            let shown = format!("{RECORDS_DIR}/{file}");
            let now = if fs::symlink_metadata(&path).is_err() { None } else { Some(read_version(&path)) };
            let after = match &now {
                None => crate::model::audit::Version::Absent,
                Some(Some((_, Some(e)))) => crate::model::audit::Version::Record(e),
                Some(_) => crate::model::audit::Version::Unreadable,
            };
            out.extend(crate::model::audit::compare_to_base(&shown, &before, after));
        }
        Ok(out)
    }

    /// The records (file name, text) as of a commit.
    pub fn records_at(&self, commit: crate::git::Oid) -> Result<Vec<(String, String)>> {
        crate::git::records_at(&self.root, RECORDS_DIR, commit)
    }
}
