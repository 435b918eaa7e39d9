//! The audit of the whole history, in one replay: the policy chain (each
//! change approved by the previous policy's owners), symbolic links, and
//! every step of every record judged by `model::audit`. `exc audit` prints
//! it; `exc evidence` files it.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};

use super::{POLICY_FILE, RECORDS_DIR, Registry, load_keys, parse_policy, parse_version};
use crate::error::{Error, Result};
use crate::git::{History, TrustChange};
use crate::model::audit::{Audit, AuditSaved, ChainSaved, CommitRef, PolicyChain, Step, Version};
use crate::model::finding::{Code, Finding};
use crate::model::policy::Policy;
use crate::model::record::Exception;
use crate::model::trust_root::TrustRoot;

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
    /// What the audit trusted to start with, and why.
    pub root: String,
}

/// What an audit carries over to the next, which goes on from where it
/// stopped (a checkpoint's state): the policy chain, findings so far and
/// request changes awaiting approval, and each record file's last version.
/// Maps are sorted, so the same audit always carries the same bytes.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Carried {
    pub chain: ChainSaved,
    pub audit: AuditSaved,
    pub last_time: BTreeMap<String, DateTime<Utc>>,
    /// The last version of each file that read as a record: (blob, time).
    pub last_readable: BTreeMap<String, (String, DateTime<Utc>)>,
    pub files: BTreeSet<String>,
    pub commits: usize,
    pub changes: usize,
}

/// Where an audit starts: the history read, what it trusts, and findings
/// about that choice.
pub struct Start {
    pub history: History,
    pub findings: Vec<Finding>,
    /// In words: the policy trusted and why (pinned, or on first use).
    pub root: String,
}

impl Audited {
    /// What the JSON report adds to the findings: how much history was read.
    pub fn extra(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut extra = serde_json::Map::new();
        extra.insert("commits".into(), self.commits.into());
        extra.insert("changes".into(), self.changes.into());
        extra.insert("trust".into(), self.root.clone().into());
        extra
    }

    /// One line: how much was checked, and the verdict.
    pub fn summary(&self) -> String {
        let since = if self.from_audit_start { " since its trusted start" } else { "" };
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
    /// The policy of a commit of `history` (the audit's start with `None`),
    /// with that commit's keys; `None` where it had no exc.yaml.
    fn policy_in(history: &History, commit: Option<usize>) -> std::result::Result<Option<Policy>, String> {
        Self::policy_read(|path: &str| match commit {
            Some(c) => history.file_at(c, path),
            None => history.file_at_start(path),
        })
    }

    /// The policy `read` finds (a file of one commit, by path), with its keys.
    fn policy_read(read: impl Fn(&str) -> Result<Option<String>>) -> std::result::Result<Option<Policy>, String> {
        let Some(text) = read(POLICY_FILE).map_err(|e| e.to_string())? else { return Ok(None) };
        let mut p = parse_policy(text.as_bytes(), POLICY_FILE).map_err(|e| describe(&e))?;
        load_keys(&mut p, |rel| read(rel).map_err(|e| e.to_string())?.ok_or_else(|| "not in this commit".into()))
            .map_err(|e| describe(&e))?;
        Ok(Some(p))
    }

    /// The commits (indices into `history.commits`) where exc.yaml or its
    /// keys changed on the mainline, with the policy each left.
    fn policy_versions(history: &History) -> Vec<(usize, Option<Policy>)> {
        history
            .trust
            .iter()
            .filter(|(c, ev)| matches!(ev, TrustChange::Policy { .. }) && history.commits[*c].mainline)
            .map(|(c, _)| (*c, Self::policy_in(history, Some(*c)).ok().flatten()))
            .collect()
    }

    /// Reads the history and chooses where the audit starts: after the
    /// commit that brought the pinned policy (a `sha256:` root); with owner
    /// keys pinned, at `trust.audit_from` (whose policy must be theirs) or
    /// the first commit; without a pin, at the first commit, trusting the
    /// first policy on first use (`trust.audit_from` is never taken from the
    /// repository alone), and the note says so.
    pub fn audit_start(&self, root: Option<&TrustRoot>) -> Result<Start> {
        let mut findings = Vec::new();
        let short = |id: &str| id.get(..10).unwrap_or(id).to_string();
        if let Some(TrustRoot::Policy(digest)) = root {
            let mut history = self.history_from(None)?;
            let found = Self::policy_versions(&history)
                .into_iter()
                .find(|(_, p)| p.as_ref().is_some_and(|p| p.digest() == *digest));
            if let Some((c, _)) = found {
                let id = short(&history.commits[c].id);
                history.start_after(c)?;
                return Ok(Start {
                    history,
                    findings,
                    root: format!("trust root: the pinned policy {digest} (commit {id})"),
                });
            }
            findings.push(Finding::new(
                Code::TrustRootMismatch,
                POLICY_FILE,
                "",
                format!("no commit on the mainline has the pinned policy {digest}: this history does not descend from the trust root"),
            ));
            return Ok(Start { history, findings, root: "trust root: pinned, and not found".into() });
        }
        // `trust.audit_from` skips the history before it, so it is trusted
        // only against a pinned root: taken from HEAD's own policy, a push
        // that replaced the policy could point it at itself.
        let ignored = root.is_none() && self.policy.trust.audit_from.is_some();
        let history = if root.is_some() { self.history()? } else { self.history_from(None)? };
        if let Some(off) = &history.refused_start {
            findings.push(
                Finding::new(
                    Code::PolicyUnapproved,
                    POLICY_FILE,
                    "/trust/audit_from",
                    format!(
                        "trust.audit_from names commit {}, which is not on the mainline (the first-parent line of HEAD): a side commit merged in later could skip what the mainline did before it, so the audit reads the whole history",
                        short(off)
                    ),
                )
                .with_commit(off),
            );
        }
        // The policy trusted at the start: the one at audit_from, else the first.
        let (start_policy, start_commit) = if let Some(start) = history.start {
            (Self::policy_in(&history, None).ok().flatten(), history.commits[start].id.clone())
        } else {
            match Self::policy_versions(&history).into_iter().next() {
                Some((c, p)) => (p, history.commits[c].id.clone()),
                None => (None, String::new()),
            }
        };
        let note = match (root, &start_policy) {
            (Some(r @ TrustRoot::Keys(_)), Some(p)) if r.roots(p) => {
                format!("trust root: the pinned owner keys, which own the policy at commit {}", short(&start_commit))
            }
            (Some(TrustRoot::Keys(_)), _) => {
                findings.push(
                    Finding::new(
                        Code::TrustRootMismatch,
                        POLICY_FILE,
                        "",
                        format!(
                            "the policy the audit starts from (commit {}) is not owned or approved by the pinned owner keys",
                            short(&start_commit)
                        ),
                    )
                    .with_commit(&start_commit),
                );
                "trust root: pinned, and the start does not match".into()
            }
            (_, Some(p)) => format!(
                "trust: the policy at commit {} is trusted on first use (no trust root pinned; pin it with --trust-root {} or its owners' keys){}",
                short(&start_commit),
                p.digest(),
                if ignored {
                    "; trust.audit_from is honoured only with a pinned root, so the audit reads the whole history"
                } else {
                    ""
                }
            ),
            (_, None) => "trust: no policy in the history (the built-in defaults)".into(),
        };
        Ok(Start { history, findings, root: note })
    }

    /// Whether `policy` (the one in force: the work tree's, or the base's on
    /// a pull request, with `at` its commit) descends from the pinned root:
    /// the approved changes on the mainline lead to it from the first policy
    /// the root names (the pinned policy, or the first one the pinned keys own
    /// or approved). Without history (a shallow clone), only the file can be
    /// judged: the pinned policy itself, or one the pinned keys own or
    /// approved; the audit follows the chain. Findings when it does not.
    pub fn check_root(&self, root: &TrustRoot, policy: &Policy, at: Option<crate::git::Oid>) -> Vec<Finding> {
        self.rooted(root, policy, at).0
    }

    /// [`Registry::check_root`], with a note to show when the file alone was judged.
    pub fn rooted(
        &self,
        root: &TrustRoot,
        policy: &Policy,
        at: Option<crate::git::Oid>,
    ) -> (Vec<Finding>, Option<String>) {
        let done = |f: Vec<Finding>| (f, None);
        let mismatch = |why: String| vec![Finding::new(Code::TrustRootMismatch, POLICY_FILE, "", why)];
        let now = policy.digest();
        if let TrustRoot::Policy(d) = root
            && *d == now
        {
            return done(Vec::new());
        }
        let history = match self.history_of(None, at) {
            Ok(h) => h,
            Err(e) if root.roots(policy) => {
                let note = format!(
                    "trust: the policy is rooted in the pinned trust root by the file alone ({e}); `exc audit` follows every change from it"
                );
                return (Vec::new(), Some(note));
            }
            Err(e) => {
                return done(mismatch(format!(
                    "exc.yaml is not rooted in the pinned trust root ({root}) by the file alone, and following the approved changes needs the history ({e})"
                )));
            }
        };
        let mut chain = crate::model::audit::PolicyChain::default();
        let mut started = false;
        for (c, p) in Self::policy_versions(&history) {
            let Some(p) = p else { continue };
            if !started {
                if !root.roots(&p) {
                    continue;
                }
                started = true;
                chain.trust(p, Some(&history.commits[c].id));
                continue;
            }
            let info = &history.commits[c];
            let commit = CommitRef { id: &info.id, author: &info.author, time: info.time, landed: info.landed };
            let _ = chain.offer(Ok(p), &commit, POLICY_FILE, true);
        }
        if !started {
            return done(mismatch(format!(
                "no policy on the mainline is the pinned trust root ({root}) or owned or approved by its keys: this history does not descend from it"
            )));
        }
        done(match chain.effective() {
            Some(e) if e.digest() == now => Vec::new(),
            _ => mismatch(format!(
                "exc.yaml ({now}) is not reached from the pinned trust root ({root}) by changes its owners approved: a policy replaced or replayed without them (e.g. by a direct push)"
            )),
        })
    }

    /// Chooses the start (see [`Registry::audit_start`]) and audits from there.
    pub fn audit_from_root(&self, root: Option<&TrustRoot>) -> Result<Audited> {
        let start = self.audit_start(root)?;
        self.audit_started(start).map(|(a, _)| a)
    }

    /// Audits from a chosen start; gives back the history too.
    pub fn audit_started(&self, start: Start) -> Result<(Audited, History)> {
        let mut audited = self.audit(&start.history)?;
        self.with_start(&mut audited, start.findings);
        audited.root = start.root;
        Ok((audited, start.history))
    }

    /// Puts what the start found (with the policy's severities) before what
    /// the audit found.
    pub(super) fn with_start(&self, audited: &mut Audited, mut starting: Vec<Finding>) {
        self.policy.severity.apply(&mut starting);
        starting.extend(std::mem::take(&mut audited.findings));
        audited.findings = starting;
    }

    /// Audits the history (read once by the caller), with the policy's severities applied.
    pub fn audit(&self, history: &History) -> Result<Audited> {
        self.audit_carrying(history, None).map(|(a, _)| a)
    }

    /// Audits `history`, going on from what an earlier audit carried (its
    /// history must be the part just before this one: see
    /// [`Registry::history_after`]); gives back what this one carries on.
    pub fn audit_carrying(&self, history: &History, carried: Option<Carried>) -> Result<(Audited, Carried)> {
        let commit_ref = |i: usize| {
            let c = &history.commits[i];
            CommitRef { id: &c.id, author: &c.author, time: c.time, landed: c.landed }
        };
        let policy_at = |commit: Option<usize>| Self::policy_in(history, commit);

        let mut chain = PolicyChain::default();
        let mut audit = Audit::default();
        let mut last_time: HashMap<String, chrono::DateTime<chrono::Utc>> = HashMap::new();
        // The last version of each file that read as a record: a version
        // that does not read breaks nothing, and the next one that does is
        // judged against this one (never as a new record).
        let mut last_readable: HashMap<String, (crate::git::Oid, chrono::DateTime<chrono::Utc>)> = HashMap::new();
        let mut files = BTreeSet::new();
        let (mut commits, mut changed) = (0, 0);
        if let Some(c) = carried {
            // The policy in force, read again from the commit it came from.
            let effective = match c.chain.from.as_deref().map(crate::git::Oid::from_str) {
                Some(Ok(id)) => Self::policy_read(|path| history.file_at_id(id, path)).map_err(Error::Usage)?,
                Some(Err(_)) => return Err(Error::Usage("the checkpoint names no commit".into())),
                None => None,
            };
            chain = PolicyChain::restore(c.chain, effective);
            audit = Audit::restore(c.audit);
            last_time = c.last_time.into_iter().collect();
            for (path, (blob, time)) in c.last_readable {
                let blob = crate::git::Oid::from_str(&blob)
                    .map_err(|_| Error::Usage(format!("the checkpoint names no blob for {path}")))?;
                last_readable.insert(path, (blob, time));
            }
            files = c.files;
            (commits, changed) = (c.commits, c.changes);
        } else if history.start.is_some()
            && let Some(p) = policy_at(None).map_err(Error::Usage)?
        {
            chain.trust(p, history.start.map(|s| history.commits[s].id.as_str()));
        }
        let mut events = history.trust.iter().filter(|(c, _)| history.audited(*c)).peekable();
        let changes = history.changes.iter().filter(|c| history.audited(c.commit));
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
        let registry = self.policy.trust.registry.clone();
        // Every signature of a chunk's versions, checked at once in batches on
        // every core: the steps then find them verified.
        let warm = |versions: &[&Option<Exception>]| {
            use crate::model::{signature, statement};
            let mut pairs: Vec<(Vec<u8>, &str)> = Vec::new();
            for e in versions.iter().copied().flatten() {
                for (entry, bytes) in statement::statements(e, registry.as_deref()) {
                    if let Some(sig) = statement::signature_of(e, entry) {
                        pairs.push((bytes, sig));
                    }
                }
                if let Some(sig) = e.signature.as_deref() {
                    pairs.push((statement::request_statement(e, registry.as_deref()), sig));
                }
            }
            signature::warm(&pairs);
        };
        history.replay_chunks(
            changes,
            |text| parse_version(text).and_then(|v| v.1),
            warm,
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
                let mut before_version = version(change.old_blob, before);
                let mut before_time = old_path.as_ref().and_then(|o| last_time.get(o).copied());
                let remembered = old_path.as_ref().and_then(|o| last_readable.get(o)).copied();
                let recovered: Option<Exception> = match (before_version, remembered) {
                    (Version::Unreadable, Some((blob, time))) => {
                        before_time = Some(time);
                        history.text(blob).ok().and_then(|t| parse_version(&t)).and_then(|v| v.1)
                    }
                    _ => None,
                };
                match (&recovered, before_version) {
                    (Some(e), _) => before_version = Version::Record(e),
                    // Nothing before it ever read: the first readable version is the request.
                    (None, Version::Unreadable) if remembered.is_none() => before_version = Version::Absent,
                    _ => {}
                }
                let after_version = version(change.new_blob, after);
                audit.step(&Step {
                    commit: commit_ref(change.commit),
                    file: &path,
                    renamed_from: old_path.as_deref().filter(|o| *o != path),
                    before: before_version,
                    after: after_version,
                    before_time,
                    policy,
                    unapproved_policy: chain.unapproved(),
                });
                let carried = old_path.as_ref().and_then(|o| last_readable.remove(o));
                match (after_version, change.new_blob) {
                    (Version::Record(_), Some(blob)) => {
                        last_readable.insert(path.clone(), (blob, commit.time));
                        last_time.insert(path.clone(), commit.time);
                    }
                    (Version::Unreadable, _) => {
                        if let Some(c) = carried {
                            last_readable.insert(path.clone(), c);
                            last_time.insert(path.clone(), c.1);
                        }
                    }
                    _ => {}
                }
                if let Some(o) = &old_path
                    && *o != path
                {
                    last_time.remove(o);
                }
                files.insert(path);
                Ok(())
            },
        )?;
        apply_events(usize::MAX, &mut chain, &mut audit);
        commits += history.commits.iter().filter(|c| c.audited).count();
        changed += history.changes.iter().filter(|c| history.audited(c.commit)).count();
        let carried = Carried {
            chain: chain.save(),
            audit: audit.save(),
            last_time: last_time.into_iter().collect(),
            last_readable: last_readable.into_iter().map(|(p, (b, t))| (p, (b.to_string(), t))).collect(),
            files: files.clone(),
            commits,
            changes: changed,
        };
        let mut findings = audit.finish();
        self.policy.severity.apply(&mut findings);
        let audited = Audited {
            findings,
            commits,
            changes: changed,
            files: files.into_iter().collect(),
            from_audit_start: history.start.is_some(),
            root: String::new(),
        };
        Ok((audited, carried))
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
