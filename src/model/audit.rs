//! The audit: checks every change ever made to the records, in commit order.
//!
//! Pure: the caller reads the history (`crate::git::History::replay`), parses
//! each version, works out the policy in force at each commit (a policy
//! change counts only once the previous policy's owners approved it), and
//! feeds the changes in order. Findings name the commit that did the wrong
//! thing; they stay reported when the record is closed later.
//!
//! What a change may do: add a request (filed by its requester), append
//! decisions (never edit or remove one), move the status along the lifecycle
//! (a closed record never reopens), and change request fields only if the
//! required roles approve the new content again. Every new decision must
//! stand under the policy of its commit: signed by its maker where signatures
//! are required (or committed by its maker where they are not), by someone
//! who may make it, dated between the content it decides and its commit.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};

use super::digest;
use super::finding::{Code, Finding};
use super::identity::{identity, same_person};
use super::lifecycle;
use super::policy::Policy;
use super::record::{Decision, Exception, Status};
use super::routing::{self, POLICY_APPROVER};
use super::signature::{self, Verdict};
use super::statement::{self, Entry};

/// Clock skew allowed between a decision's time and its commit's.
const SKEW: TimeDelta = super::time::SKEW;

/// The commit a change came in.
#[derive(Clone, Debug)]
pub struct CommitRef<'a> {
    pub id: &'a str,
    pub author: &'a str,
    /// The author date.
    pub time: DateTime<Utc>,
    /// When the commit reached the mainline: the committer date of the
    /// mainline commit that carries it (itself, or the merge that brought it
    /// in). A signing key must still be valid then: a key judged only by the
    /// date its signer wrote could sign anything, backdated, once retired.
    pub landed: DateTime<Utc>,
}

impl CommitRef<'_> {
    /// `commit 1a2b3c4d5e by Name <email> on 2026-01-05`.
    pub fn describe(&self) -> String {
        format!(
            "commit {} by {} on {}",
            self.id.get(..10).unwrap_or(self.id),
            self.author,
            self.time.format("%Y-%m-%d")
        )
    }
}

/// A version of a record file on one side of a change.
#[derive(Clone, Copy, Debug)]
pub enum Version<'a> {
    /// The file is not there.
    Absent,
    /// The file is there but does not read as a record.
    Unreadable,
    Record(&'a Exception),
}

impl<'a> Version<'a> {
    fn record(self) -> Option<&'a Exception> {
        match self {
            Version::Record(e) => Some(e),
            _ => None,
        }
    }
}

/// One change to one record file.
pub struct Step<'a> {
    pub commit: CommitRef<'a>,
    /// The record's path, relative to the registry root, after the change
    /// (before it, for a deletion).
    pub file: &'a str,
    /// The path before the change, when it was renamed.
    pub renamed_from: Option<&'a str>,
    pub before: Version<'a>,
    pub after: Version<'a>,
    /// When the version before was committed (its content existed from then).
    pub before_time: Option<DateTime<Utc>>,
    /// The policy in force at this commit.
    pub policy: &'a Policy,
    /// Set when the policy of this commit was changed without its owners'
    /// approval: decisions that need the change are said to rely on it.
    pub unapproved_policy: Option<&'a str>,
}

/// The policy in force as the history goes: the first one is trusted on
/// first use; each change takes effect only when the owners of the policy in
/// force approved it (`Policy::owners_missing`); an unapproved change leaves
/// the previous policy in force, and is reported.
#[derive(Default)]
pub struct PolicyChain {
    effective: Option<Policy>,
    /// The commit the policy in force was read from.
    from: Option<String>,
    /// When the policy in force came into force (its commit's date): no
    /// approval of its successor can be older.
    since: Option<DateTime<Utc>>,
    /// The commit of an unapproved change still waiting, if any.
    unapproved: Option<String>,
    /// Who committed each policy approval first (by its maker, role and
    /// time): where signatures are off, an approval counts only when its
    /// maker committed it, as an unsigned record decision does.
    introduced: HashMap<(String, String, DateTime<Utc>), String>,
}

impl PolicyChain {
    /// The policy in force (the built-in defaults before any).
    pub fn effective(&self) -> Option<&Policy> {
        self.effective.as_ref()
    }

    /// The commit of an unapproved policy change waiting for approval.
    pub fn unapproved(&self) -> Option<&str> {
        self.unapproved.as_deref()
    }

    /// The commit the policy in force was read from, if known.
    pub fn source(&self) -> Option<&str> {
        self.from.as_deref()
    }

    /// Trusts `p` (read from commit `from`) as the starting point (the
    /// first policy, or the one at the trusted start).
    pub fn trust(&mut self, p: Policy, from: Option<&str>) {
        self.effective = Some(p);
        self.from = from.map(str::to_string);
        self.unapproved = None;
    }

    /// Trusts `p` of `commit`, in force from its time.
    fn trust_from(&mut self, p: Policy, commit: &CommitRef) {
        self.trust(p, Some(commit.id));
        self.since = Some(commit.time);
    }

    /// What the chain remembers, to carry over to a later audit (the policy
    /// in force is read again from its commit, [`PolicyChain::source`]).
    pub fn save(&self) -> ChainSaved {
        let mut introduced: Vec<(String, String, DateTime<Utc>, String)> =
            self.introduced.iter().map(|((by, role, at), who)| (by.clone(), role.clone(), *at, who.clone())).collect();
        introduced.sort();
        ChainSaved { from: self.from.clone(), since: self.since, unapproved: self.unapproved.clone(), introduced }
    }

    /// A chain as saved, with its policy in force read again.
    pub fn restore(saved: ChainSaved, effective: Option<Policy>) -> PolicyChain {
        PolicyChain {
            effective,
            from: saved.from,
            since: saved.since,
            unapproved: saved.unapproved,
            introduced: saved.introduced.into_iter().map(|(by, role, at, who)| ((by, role, at), who)).collect(),
        }
    }

    /// A new version of the policy at `commit`: takes effect if approved;
    /// otherwise returns the finding. `Err` holds why it could not be read.
    /// On a branch (`mainline` false) an unapproved version is not reported
    /// and not put in force: the owners approve it before the merge, which is
    /// where it would be reported if they had not.
    pub fn offer(
        &mut self,
        candidate: Result<Policy, String>,
        commit: &CommitRef,
        path: &str,
        mainline: bool,
    ) -> Option<Finding> {
        let f = |code: Code, message: String| {
            Some(Finding::new(code, path, "", format!("{message} ({})", commit.describe())).with_commit(commit.id))
        };
        let mut candidate = match candidate {
            Ok(c) => c,
            Err(_) if !mainline => return None,
            Err(why) => return f(Code::PolicyInvalid, format!("the policy does not read: {why}")),
        };
        for a in &candidate.approvals {
            self.introduced.entry((a.by.clone(), a.role.clone(), a.at)).or_insert_with(|| commit.author.to_string());
        }
        if let Some(current) = &self.effective
            && !current.signatures_required()
        {
            let introduced = &self.introduced;
            candidate.approvals.retain(|a| {
                introduced.get(&(a.by.clone(), a.role.clone(), a.at)).is_some_and(|who| same_person(who, &a.by))
            });
        }
        let Some(current) = &self.effective else {
            self.trust_from(candidate, commit);
            return None;
        };
        // Not before the policy in force came into force, not after this
        // commit, and by keys still valid when it reached the mainline.
        let bounds = super::policy_change::Bounds {
            not_before: self.since,
            not_after: Some(commit.time),
            landed: Some(commit.landed),
        };
        let change = current.judge_change(&candidate, &bounds);
        if change.approved() {
            self.trust_from(candidate, commit);
            return None;
        }
        if !mainline {
            return None;
        }
        self.unapproved = Some(commit.id.to_string());
        let why = if change.problems.is_empty() { String::new() } else { format!("; {}", change.problems.join("; ")) };
        f(
            Code::PolicyUnapproved,
            format!(
                "the policy changed without the approval of its owners (still needed: {}){why}; the previous policy stays in force",
                change.missing.join(", ")
            ),
        )
    }
}

/// A [`PolicyChain`]'s memory, as a checkpoint keeps it.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct ChainSaved {
    pub from: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub unapproved: Option<String>,
    pub introduced: Vec<(String, String, DateTime<Utc>, String)>,
}

/// An [`Audit`]'s memory, as a checkpoint keeps it (sorted, so the same
/// audit always saves the same bytes).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct AuditSaved {
    pub pending: Vec<(String, Finding)>,
    pub late: Vec<((String, String, String), Finding)>,
    pub findings: Vec<Finding>,
}

/// What the audit remembers between steps: request changes not yet re-approved.
#[derive(Default)]
pub struct Audit {
    pending: HashMap<String, Finding>,
    /// Approvals that reached the mainline after their key retired, by
    /// (file, maker, role): reported unless their maker makes them again
    /// with a key that counts (as a change needs approving again).
    late: HashMap<(String, String, String), Finding>,
    findings: Vec<Finding>,
}

impl Audit {
    /// Checks one change.
    pub fn step(&mut self, s: &Step) {
        let id = s.after.record().or(s.before.record()).map(|e| e.id.clone());
        let finding = |code: Code, pointer: &str, message: String| {
            let f = Finding::new(code, s.file, pointer, format!("{message} ({})", s.commit.describe()))
                .with_commit(s.commit.id);
            match &id {
                Some(id) => f.with_id(id),
                None => f,
            }
        };
        let mut out = Vec::new();
        let mut add = |code: Code, pointer: &str, message: String| out.push(finding(code, pointer, message));

        let after = match (s.before, s.after) {
            (_, Version::Absent) => {
                add(Code::RecordDeleted, "", format!("{} was deleted; records are closed, never deleted", s.file));
                self.findings.extend(out);
                return;
            }
            (_, Version::Unreadable) => {
                self.findings.extend(out);
                return;
            }
            (_, Version::Record(e)) => e,
        };
        let before = s.before.record();

        if let (Some(from), Some(b)) = (s.renamed_from, before)
            && b.id != after.id
        {
            add(
                Code::RecordRenamed,
                "/id",
                format!("{from} ({}) was renamed to {} ({}); ids never change once filed", b.id, s.file, after.id),
            );
        }
        if before.is_none()
            && matches!(s.before, Version::Absent)
            && !s.policy.same_person(&after.requester, s.commit.author)
            && routing::request_signed(after, s.policy) != Verdict::Valid
        {
            add(
                Code::RequesterMismatch,
                "/requester",
                format!(
                    "the request names {} as its requester, but was committed by {} and not signed by the requester",
                    after.requester, s.commit.author
                ),
            );
        }

        // A request filed or signed again in this change: by a key still valid
        // when it reached the mainline, whatever date it was written at.
        if before.is_none_or(|b| b.signature != after.signature)
            && after.signature.is_some()
            && s.policy.signatures_required()
        {
            let v = signature::verify_landed(
                &s.policy.trust.keyring,
                &after.requester,
                after.created,
                Some(s.commit.landed),
                &statement::request_statement(after, s.policy.trust.registry.as_deref()),
                after.signature.as_deref(),
            );
            if let v @ Verdict::Expired { .. } = v {
                add(
                    Code::SignatureUnknownKey,
                    "/signature",
                    format!(
                        "the request is {} before it reached the mainline (on {})",
                        v.describe(&after.requester),
                        s.commit.landed.format("%Y-%m-%d %H:%M UTC")
                    ),
                );
            }
        }

        // Decisions already made are never edited or removed.
        if let Some(b) = before {
            rewritten(b, after, &mut add);
        }

        // Every new decision stands under this commit's policy.
        let new = new_entries(before, after);
        let signed = signature_verdicts(after, s.policy, &new, s.commit.landed);
        for entry in &new {
            check_decision(s, after, *entry, signed.get(entry), &mut add);
        }
        // Request fields changed while approvals stood, with nothing re-approving them.
        let now = routing::standing(after, s.policy);
        if let Some(b) = before {
            let content = |e: &Exception| (digest::digest(e), e.expires);
            let had_approval = b.approvals.iter().any(|a| a.decision == Decision::Approved);
            if content(b) != content(after) && had_approval && !now.complete() && after.status != Status::Rejected {
                let fields = digest::changed_fields(&digest::request_fields(b), &digest::request_fields(after));
                self.pending.entry(s.file.to_string()).or_insert_with(|| {
                    finding(
                        Code::ChangedAfterApproval,
                        &format!("/{}", fields.first().map(String::as_str).unwrap_or("")),
                        format!("request fields changed after approval without a new approval: {}", fields.join(", ")),
                    )
                });
            }
        }
        // Approving again clears it; closing the record does not.
        if now.complete() && after.status == Status::Approved {
            self.pending.remove(s.file);
        }

        if let Some(msg) = skipped_transition(before, after, &new, &now) {
            add(Code::LifecycleSkipped, "/status", msg);
        }
        // A late approval (its key retired before it landed) waits to be made
        // again; one made again with a key that counts clears it.
        for entry in &new {
            let Entry::Approval(i) = entry else { continue };
            let a = &after.approvals[*i];
            let key = (s.file.to_string(), identity(&a.by), a.role.clone());
            match signed.get(entry) {
                Some(Verdict::Expired { .. }) => {
                    let pointer = entry.pointer();
                    if let Some(k) =
                        out.iter().rposition(|f| f.code == Code::SignatureUnknownKey && f.pointer == pointer)
                    {
                        self.late.insert(key, out.remove(k));
                    }
                }
                Some(Verdict::Valid) => {
                    self.late.remove(&key);
                }
                _ => {}
            }
        }

        if let Some(policy_commit) = s.unapproved_policy {
            for f in &mut out {
                if matches!(f.code, Code::UnauthorizedApprover | Code::SignatureUnknownKey | Code::RiskLowered) {
                    f.message.push_str(&format!(
                        "; the policy change in commit {} that would allow it was never approved by the policy's owners",
                        policy_commit.get(..10).unwrap_or(policy_commit)
                    ));
                }
            }
        }
        self.findings.extend(out);
    }

    /// What the audit remembers so far, to carry over to a later audit.
    pub fn save(&self) -> AuditSaved {
        let mut pending: Vec<(String, Finding)> = self.pending.iter().map(|(k, f)| (k.clone(), f.clone())).collect();
        pending.sort_by(|a, b| a.0.cmp(&b.0));
        let mut late: Vec<((String, String, String), Finding)> =
            self.late.iter().map(|(k, f)| (k.clone(), f.clone())).collect();
        late.sort_by(|a, b| a.0.cmp(&b.0));
        AuditSaved { pending, late, findings: self.findings.clone() }
    }

    /// An audit that goes on from what was saved.
    pub fn restore(saved: AuditSaved) -> Audit {
        Audit {
            pending: saved.pending.into_iter().collect(),
            late: saved.late.into_iter().collect(),
            findings: saved.findings,
        }
    }

    /// Adds a finding about the history that is not about one record (a policy change).
    pub fn note(&mut self, f: Finding) {
        self.findings.push(f);
    }

    /// Ends the audit: request changes never re-approved become findings, in
    /// the order they happened.
    pub fn finish(mut self) -> Vec<Finding> {
        let mut pending: Vec<Finding> = self.pending.into_values().chain(self.late.into_values()).collect();
        pending.sort_by(|a, b| (&a.commit, &a.path, &a.message).cmp(&(&b.commit, &b.path, &b.message)));
        self.findings.extend(pending);
        self.findings
    }
}

/// What a branch may not do to a record its base holds, whatever its own
/// policy says (`exc check --base`, `exc diff`): delete it, reopen it once
/// closed, or edit or remove a decision already made.
pub fn compare_to_base(file: &str, before: &Exception, after: Version) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut add = |code: Code, pointer: &str, message: String| {
        out.push(Finding::new(code, file, pointer, message).with_id(&before.id))
    };
    let after = match after {
        Version::Absent => {
            add(
                Code::RecordDeleted,
                "",
                format!("{file} is deleted on this branch; records are closed, never deleted"),
            );
            return out;
        }
        Version::Unreadable => return out,
        Version::Record(e) => e,
    };
    if after.id != before.id {
        add(
            Code::RecordRenamed,
            "/id",
            format!("the id changed from {} to {}; ids never change once filed", before.id, after.id),
        );
    }
    if before.status.is_closed() && after.status != before.status {
        add(
            Code::LifecycleSkipped,
            "/status",
            format!(
                "status changed {} → {} on this branch, but closed records never reopen",
                before.status, after.status
            ),
        );
    }
    rewritten(before, after, &mut add);
    out
}

/// The decisions a branch adds to a record (all of a new record's, and its
/// request), judged strictly as of `now`: a key the policy does not list for
/// the maker, or that is past its `valid-before` now, is an error here, where
/// on the base's own decisions it would only mean a revoked key.
pub fn new_decisions(
    file: &str,
    before: Option<&Exception>,
    after: &Exception,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let new = new_entries(before, after);
    // Who decides: a role holder (as of the policy judging the branch), never the requester.
    for entry in &new {
        let Entry::Approval(i) = entry else { continue };
        let a = &after.approvals[*i];
        if a.by == POLICY_APPROVER {
            continue;
        }
        let word = if a.decision == Decision::Approved { "approval" } else { "rejection" };
        let problem = if policy.same_person(&a.by, &after.requester) {
            Some((
                Code::SelfApproval,
                format!("the `{}` {word} by {}, new on this branch, is by the requester", a.role, a.by),
            ))
        } else if !policy.holds_role(&a.by, &a.role, after) {
            Some((
                Code::UnauthorizedApprover,
                format!("the `{}` {word} by {}, new on this branch: {} does not hold `{}`", a.role, a.by, a.by, a.role),
            ))
        } else {
            None
        };
        if let Some((code, message)) = problem {
            out.push(Finding::new(code, file, &entry.pointer(), message).with_id(&after.id));
        }
    }
    let verdicts = signature_verdicts(after, policy, &new, now);
    let mut entries: Vec<(&Entry, &Verdict)> = verdicts.iter().collect();
    entries.sort_by_key(|(e, _)| **e);
    for (entry, verdict) in entries {
        let who = statement::maker(after, *entry).map(|(by, _)| by).unwrap_or("?");
        if verdict.is_key_problem() {
            out.push(
                Finding::new(
                    Code::SignatureUnknownKey,
                    file,
                    &format!("{}/signature", entry.pointer()),
                    format!(
                        "the decision by {who}, new on this branch, is {}: it does not count",
                        verdict.describe(who)
                    ),
                )
                .with_id(&after.id),
            );
        }
    }
    // A request new on the branch, or signed again there: by a key valid now.
    let signed_again = before.is_none_or(|b| b.signature != after.signature);
    if signed_again
        && routing::request_verdict(after, policy).is_some()
        && let Some(v) = Some(signature::verify_landed(
            &policy.trust.keyring,
            &after.requester,
            after.created,
            Some(now),
            &statement::request_statement(after, policy.trust.registry.as_deref()),
            after.signature.as_deref(),
        ))
        .filter(Verdict::is_key_problem)
    {
        out.push(
            Finding::new(
                Code::SignatureUnknownKey,
                file,
                "/signature",
                format!("the request, new on this branch, is {}", v.describe(&after.requester)),
            )
            .with_id(&after.id),
        );
    }
    out
}

/// The decisions `after` adds to `before`.
pub fn new_entries(before: Option<&Exception>, after: &Exception) -> Vec<Entry> {
    let (na, nr) = before.map_or((0, 0), |b| (b.approvals.len(), b.reviews.len()));
    let mut out: Vec<Entry> = (na.min(after.approvals.len())..after.approvals.len()).map(Entry::Approval).collect();
    out.extend((nr.min(after.reviews.len())..after.reviews.len()).map(Entry::Review));
    let closed_now = after.closed.is_some() && before.is_none_or(|b| b.closed.is_none());
    if closed_now && statement::closure_is_own_decision(after) {
        out.push(Entry::Closure);
    }
    out
}

/// Decisions of `before` that `after` edits or drops.
fn rewritten(b: &Exception, after: &Exception, add: &mut impl FnMut(Code, &str, String)) {
    let as_json = |v: &dyn erased::Json| v.json();
    for (i, old) in b.approvals.iter().enumerate() {
        match after.approvals.get(i) {
            Some(new) if new == old => {}
            Some(new) => add(
                Code::DecisionRewritten,
                &format!("/approvals/{i}"),
                format!(
                    "the `{}` decision by {} was edited: {}",
                    old.role,
                    old.by,
                    changed(&as_json(old), &as_json(new))
                ),
            ),
            None => add(
                Code::DecisionRewritten,
                "/approvals",
                format!("the `{}` decision by {} of {} was removed", old.role, old.by, old.at.date_naive()),
            ),
        }
    }
    for (i, old) in b.reviews.iter().enumerate() {
        match after.reviews.get(i) {
            Some(new) if new == old => {}
            Some(new) => add(
                Code::DecisionRewritten,
                &format!("/reviews/{i}"),
                format!("the review by {} was edited: {}", old.by, changed(&as_json(old), &as_json(new))),
            ),
            None => add(
                Code::DecisionRewritten,
                "/reviews",
                format!("the review by {} of {} was removed", old.by, old.at.date_naive()),
            ),
        }
    }
    if let Some(old) = &b.closed
        && after.closed.as_ref() != Some(old)
    {
        let what = match &after.closed {
            Some(new) => format!("edited: {}", changed(&as_json(old), &as_json(new))),
            None => "removed".to_string(),
        };
        add(Code::DecisionRewritten, "/closed", format!("the closure by {} was {what}", old.by));
    }
}

/// Serialising any record part to JSON, for naming the fields that changed.
mod erased {
    pub trait Json {
        fn json(&self) -> serde_json::Value;
    }
    impl<T: serde::Serialize> Json for T {
        fn json(&self) -> serde_json::Value {
            serde_json::to_value(self).unwrap_or_default()
        }
    }
}

/// `at: 2026-01-05 → 2026-01-03, note` for two versions of an entry.
fn changed(old: &serde_json::Value, new: &serde_json::Value) -> String {
    super::diff::diff(Some(old), Some(new)).iter().map(|c| c.to_string()).collect::<Vec<_>>().join("; ")
}

/// Signature verdicts for the new decisions, where the policy requires them:
/// by a key valid when the decision was made and when it reached the mainline.
pub fn signature_verdicts(
    after: &Exception,
    policy: &Policy,
    new: &[Entry],
    landed: DateTime<Utc>,
) -> HashMap<Entry, Verdict> {
    if !policy.signatures_required() {
        return HashMap::new();
    }
    statement::statements(after, policy.trust.registry.as_deref())
        .into_iter()
        .filter(|(entry, _)| new.contains(entry))
        .filter_map(|(entry, bytes)| {
            let (by, at) = statement::maker(after, entry)?;
            (by != POLICY_APPROVER).then(|| {
                let v = signature::verify_landed(
                    &policy.trust.keyring,
                    by,
                    at,
                    Some(landed),
                    &bytes,
                    statement::signature_of(after, entry),
                );
                (entry, v)
            })
        })
        .collect()
}

/// Checks one new decision.
fn check_decision(
    s: &Step,
    after: &Exception,
    entry: Entry,
    verdict: Option<&Verdict>,
    add: &mut impl FnMut(Code, &str, String),
) {
    let Some((by, at)) = statement::maker(after, entry) else { return };
    let pointer = entry.pointer();
    let what = match entry {
        Entry::Approval(i) => {
            let a = &after.approvals[i];
            let word = if a.decision == Decision::Approved { "approval" } else { "rejection" };
            format!("the `{}` {word} by {by}", a.role)
        }
        Entry::Review(_) => format!("the recertification by {by}"),
        Entry::Closure => format!("the closure by {by}"),
        Entry::Request => format!("the request by {by}"),
    };
    match verdict {
        Some(Verdict::Valid) => {}
        Some(Verdict::Missing) => add(Code::SignatureMissing, &pointer, format!("{what} is not signed")),
        Some(Verdict::UnknownKey(print)) => add(
            Code::SignatureUnknownKey,
            &pointer,
            format!("{what} is signed with key {print}, which the policy of this commit does not list for {by}"),
        ),
        Some(v @ Verdict::Expired { .. }) => add(
            Code::SignatureUnknownKey,
            &pointer,
            format!(
                "{what} is {} before it reached the mainline (on {}); a retired key signs nothing new, whatever date it writes",
                v.describe(by),
                s.commit.landed.format("%Y-%m-%d %H:%M UTC")
            ),
        ),
        Some(Verdict::Invalid(why)) => add(Code::SignatureInvalid, &pointer, format!("{what}: {why}")),
        None if by != POLICY_APPROVER && !same_person(by, s.commit.author) => add(
            Code::ApprovalCommittedByOther,
            &pointer,
            format!("{what} is unsigned and was committed by {}", s.commit.author),
        ),
        None => {}
    }
    if at > s.commit.time + SKEW {
        add(
            Code::DecisionTime,
            &format!("{pointer}/at"),
            format!("{what} is dated {at}, after the commit that carried it"),
        );
    } else if s.before_time.is_some_and(|t| at + SKEW < t) {
        add(
            Code::DecisionTime,
            &format!("{pointer}/at"),
            format!("{what} is dated {at}, before the content it decides on was committed"),
        );
    }
    if let Entry::Approval(i) = entry {
        let a = &after.approvals[i];
        if a.by == POLICY_APPROVER {
            if !(s.policy.base_tier(&after.kind) == super::record::Risk::Low
                && s.policy.required_roles(super::record::Risk::Low).is_empty())
            {
                add(
                    Code::UnauthorizedApprover,
                    &pointer,
                    format!("{what}: only low-risk types are approved by policy"),
                );
            }
            return;
        }
        if s.policy.same_person(&a.by, &after.requester) {
            add(Code::SelfApproval, &pointer, format!("{what}: the requester approved their own exception"));
        }
        if !s.policy.holds_role(&a.by, &a.role, after) {
            add(
                Code::UnauthorizedApprover,
                &pointer,
                format!("{what}: {} did not hold `{}` in exc.yaml as of this commit", a.by, a.role),
            );
        }
        if a.decision == Decision::Approved && (a.digest != digest::digest(after) || a.expires != after.expires) {
            add(
                Code::ChangedAfterApproval,
                &format!("{pointer}/digest"),
                format!("{what} does not cover the content it was committed with"),
            );
        }
    }
    if entry == Entry::Closure
        && let Some(why) = lifecycle::closure_problem(after, s.policy)
    {
        add(Code::UnauthorizedApprover, "/closed", format!("the record was {why}"));
    }
    if let Entry::Review(i) = entry {
        let v = &after.reviews[i];
        if s.policy.same_person(&v.by, &after.requester) {
            add(Code::SelfApproval, &pointer, format!("{} recertified their own exception", v.by));
        } else if !routing::can_review(&v.by, after, s.policy) {
            add(
                Code::UnauthorizedApprover,
                &pointer,
                format!("{} recertified it without being the risk owner or `security`", v.by),
            );
        }
    }
}

/// A status change the lifecycle does not allow, if this is one.
fn skipped_transition(
    before: Option<&Exception>,
    after: &Exception,
    new: &[Entry],
    now: &routing::Standing,
) -> Option<String> {
    use Status::*;
    let from = before.map(|b| b.status);
    let to = after.status;
    if from == Some(to) {
        return None;
    }
    let approved_now =
        new.iter().any(|e| matches!(e, Entry::Approval(i) if after.approvals[*i].decision == Decision::Approved))
            || new.iter().any(|e| matches!(e, Entry::Review(_)));
    let rejected_now =
        new.iter().any(|e| matches!(e, Entry::Approval(i) if after.approvals[*i].decision == Decision::Rejected));
    let ok = match (from, to) {
        (None, Requested) => true,
        (None | Some(Requested), Approved) => approved_now && now.complete(),
        (Some(Approved), Approved) => true,
        (Some(Requested), Rejected) => rejected_now,
        (Some(Requested), Retired) => true,
        (Some(Approved), Retired | Revoked | Expired | Requested) => true,
        _ => false,
    };
    if ok {
        return None;
    }
    let from_word = from.map(|s| s.to_string()).unwrap_or_else(|| "(new)".into());
    let why = match (from, to) {
        (Some(f), _) if f.is_closed() => "but closed records never reopen".to_string(),
        (_, Approved) if !approved_now => "with no approval entry added".to_string(),
        (_, Approved) => format!("while {} still had to approve", now.missing.join(", ")),
        (_, Rejected) => "with no rejection entry added".to_string(),
        _ => "which the lifecycle does not allow".to_string(),
    };
    Some(format!("status changed {from_word} → {to} {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::lifecycle::Action;
    use crate::model::policy::PolicyApproval;
    use crate::model::testkit::*;

    const FILE: &str = "exceptions/EXC-0001.yaml";

    /// A named change (before, after), its author and time, and the codes it should get.
    type Case<'a> = (&'a str, Option<&'a Exception>, Option<&'a Exception>, &'a str, &'a str, Vec<Code>);

    /// The codes the audit reports for one change committed by `author` at `when`.
    fn audit(before: Option<&Exception>, after: Option<&Exception>, author: &str, when: &str) -> Vec<Code> {
        let p = policy();
        let mut a = Audit::default();
        a.step(&Step {
            commit: CommitRef { id: "c0ffee", author, time: at(when), landed: at(when) },
            file: FILE,
            renamed_from: None,
            before: before.map_or(Version::Absent, Version::Record),
            after: after.map_or(Version::Absent, Version::Record),
            before_time: before.map(|b| b.created),
            policy: &p,
            unapproved_policy: None,
        });
        a.finish().into_iter().map(|f| f.code).collect()
    }

    #[test]
    fn honest_changes_pass() {
        let p = policy();
        let req = requested("other", "2026-01-01", "2026-03-01");
        let ok = approved();
        let retired = act(&ok, &p, DANA, "2026-01-05", Action::Retire { reason: "done".into() });
        assert_eq!(audit(None, Some(&req), ANN, "2026-01-01T00:05:00Z"), vec![]);
        assert_eq!(audit(Some(&req), Some(&ok), SAM, "2026-01-02T00:05:00Z"), vec![]);
        assert_eq!(audit(Some(&ok), Some(&retired), DANA, "2026-01-05T00:05:00Z"), vec![]);
    }

    /// Each way of changing a record by hand, and the finding it gets.
    #[test]
    fn each_forbidden_change_is_found() {
        let p = policy();
        let req = requested("other", "2026-01-01", "2026-03-01");
        let ok = approved();
        let closed = act(&ok, &p, DANA, "2026-01-05", Action::Retire { reason: "done".into() });

        let mut flipped = req.clone();
        flipped.status = Status::Approved;
        let mut reopened = closed.clone();
        reopened.status = Status::Approved;
        reopened.closed = None;
        let mut backdated = ok.clone();
        backdated.approvals[0].at = at("2025-12-01");
        let mut postdated = ok.clone();
        postdated.approvals[0].at = at("2026-02-01");
        let mut self_approved = ok.clone();
        self_approved.approvals[0].by = ANN.into();
        let mut outsider = ok.clone();
        outsider.approvals[0].by = EVE.into();
        let mut by_policy = ok.clone();
        by_policy.approvals[0].by = POLICY_APPROVER.into();
        let mut stale = ok.clone();
        stale.approvals[0].digest = "sha256:0".into();
        let mut edited = ok.clone();
        edited.approvals[0].note = Some("later".into());
        let mut outsider_retired = closed.clone();
        outsider_retired.closed.as_mut().unwrap().by = EVE.into();
        let mut dropped = ok.clone();
        dropped.approvals.clear();
        dropped.status = Status::Requested;

        let t = "2026-01-02T00:05:00Z";
        let cases: Vec<Case> = vec![
            ("filed for someone else", None, Some(&req), EVE, "2026-01-01T00:05:00Z", vec![Code::RequesterMismatch]),
            ("approved with no approval", Some(&req), Some(&flipped), EVE, t, vec![Code::LifecycleSkipped]),
            ("approval committed by another", Some(&req), Some(&ok), EVE, t, vec![Code::ApprovalCommittedByOther]),
            (
                "reopened",
                Some(&closed),
                Some(&reopened),
                DANA,
                "2026-01-06",
                vec![Code::DecisionRewritten, Code::LifecycleSkipped],
            ),
            ("deleted", Some(&ok), None, DANA, "2026-01-06", vec![Code::RecordDeleted]),
            (
                "retired by an outsider",
                Some(&ok),
                Some(&outsider_retired),
                EVE,
                "2026-01-06",
                vec![Code::UnauthorizedApprover],
            ),
            ("dated before the request", Some(&req), Some(&backdated), SAM, t, vec![Code::DecisionTime]),
            ("dated after its commit", Some(&req), Some(&postdated), SAM, t, vec![Code::DecisionTime]),
            (
                "own approval",
                Some(&req),
                Some(&self_approved),
                ANN,
                t,
                vec![Code::SelfApproval, Code::UnauthorizedApprover, Code::LifecycleSkipped],
            ),
            (
                "an outsider",
                Some(&req),
                Some(&outsider),
                EVE,
                t,
                vec![Code::UnauthorizedApprover, Code::LifecycleSkipped],
            ),
            (
                "the policy approving medium risk",
                Some(&req),
                Some(&by_policy),
                EVE,
                t,
                vec![Code::UnauthorizedApprover, Code::LifecycleSkipped],
            ),
            (
                "approval of other content",
                Some(&req),
                Some(&stale),
                SAM,
                t,
                vec![Code::ChangedAfterApproval, Code::LifecycleSkipped],
            ),
            ("decision edited", Some(&ok), Some(&edited), SAM, "2026-01-06", vec![Code::DecisionRewritten]),
            ("decision removed", Some(&ok), Some(&dropped), SAM, "2026-01-06", vec![Code::DecisionRewritten]),
        ];
        for (name, before, after, author, when, want) in cases {
            assert_eq!(audit(before, after, author, when), want, "{name}");
        }
    }

    #[test]
    fn the_policy_closes_a_record_only_by_expiry_once_due() {
        let p = policy();
        let ok = approved(); // expires 2026-03-01
        let expired = act(&ok, &p, POLICY_APPROVER, "2026-03-02", Action::Expire { reason: "lapsed".into() });
        assert_eq!(audit(Some(&ok), Some(&expired), EVE, "2026-03-02T00:05:00Z"), vec![]);
        let mut early = expired.clone();
        early.closed.as_mut().unwrap().at = at("2026-02-01");
        assert_eq!(audit(Some(&ok), Some(&early), EVE, "2026-02-01T00:05:00Z"), vec![Code::UnauthorizedApprover]);
        let mut revoked = expired.clone();
        revoked.status = Status::Revoked;
        assert_eq!(audit(Some(&ok), Some(&revoked), EVE, "2026-03-02T00:05:00Z"), vec![Code::UnauthorizedApprover]);
    }

    #[test]
    fn a_request_change_after_approval_is_reported_unless_approved_again() {
        let p = policy();
        let ok = approved();
        let mut widened = ok.clone();
        widened.assets.push("prod-db".into());
        widened.status = Status::Requested;
        let again = act(&widened, &p, PRIYA, "2026-01-04", approving(None));
        let run = |steps: &[(&Exception, &Exception, &str)]| {
            let mut a = Audit::default();
            for (b, after, who) in steps {
                a.step(&Step {
                    commit: CommitRef {
                        id: "c0ffee",
                        author: who,
                        time: at("2026-01-04T00:05:00Z"),
                        landed: at("2026-01-04T00:05:00Z"),
                    },
                    file: FILE,
                    renamed_from: None,
                    before: Version::Record(b),
                    after: Version::Record(after),
                    before_time: Some(at("2026-01-02")),
                    policy: &p,
                    unapproved_policy: None,
                });
            }
            a.finish().into_iter().map(|f| (f.code, f.pointer)).collect::<Vec<_>>()
        };
        assert_eq!(run(&[(&ok, &widened, ANN)]), vec![(Code::ChangedAfterApproval, "/assets".to_string())]);
        assert_eq!(run(&[(&ok, &widened, ANN), (&widened, &again, PRIYA)]), vec![]);
    }

    #[test]
    fn a_branch_may_not_delete_reopen_rename_or_rewrite_what_its_base_holds() {
        let p = policy();
        let ok = approved();
        let closed = act(&ok, &p, DANA, "2026-01-05", Action::Retire { reason: "done".into() });
        let mut reopened = closed.clone();
        reopened.status = Status::Approved;
        let mut renamed = ok.clone();
        renamed.id = "EXC-0099".into();
        let codes =
            |after: Version| compare_to_base(FILE, &closed, after).into_iter().map(|f| f.code).collect::<Vec<_>>();
        assert_eq!(codes(Version::Absent), vec![Code::RecordDeleted]);
        assert_eq!(codes(Version::Record(&reopened)), vec![Code::LifecycleSkipped]);
        assert_eq!(codes(Version::Record(&closed)), vec![]);
        let renamed = compare_to_base(FILE, &ok, Version::Record(&renamed));
        assert_eq!(renamed.iter().map(|f| f.code).collect::<Vec<_>>(), vec![Code::RecordRenamed]);
        // Later decisions on the branch are fine.
        let later = act(&ok, &p, DANA, "2026-02-01", Action::Revoke { reason: "x".into() });
        assert_eq!(compare_to_base(FILE, &ok, Version::Record(&later)), vec![]);
    }

    #[test]
    fn a_policy_change_takes_effect_only_with_its_owners_approval() {
        let commit = CommitRef { id: "beef", author: EVE, time: at("2026-01-03"), landed: at("2026-01-03") };
        let first = policy();
        let mut grab = first.clone();
        grab.roles.insert("security".into(), vec!["eve@example.com".into()]);
        grab.version = 1;
        let mut chain = PolicyChain::default();
        assert_eq!(chain.offer(Ok(first.clone()), &commit, "exc.yaml", true), None, "the first is trusted");
        // On a branch: neither reported nor in force.
        assert_eq!(chain.offer(Ok(grab.clone()), &commit, "exc.yaml", false), None);
        assert_eq!(chain.effective(), Some(&first));
        // On the mainline: reported, and the previous one stays in force.
        let f = chain.offer(Ok(grab.clone()), &commit, "exc.yaml", true).unwrap();
        assert_eq!(f.code, Code::PolicyUnapproved);
        assert!(f.message.contains("still needed: ciso"), "{}", f.message);
        assert_eq!((chain.effective(), chain.unapproved()), (Some(&first), Some("beef")));
        // Approved by the CISO of the policy in force: it takes effect.
        grab.approvals.push(PolicyApproval {
            by: CAROL.into(),
            role: "ciso".into(),
            at: at("2026-01-03"),
            policy: grab.digest(),
            version: 1,
            previous: Some(first.digest()),
            signature: None,
        });
        // Unsigned (signatures are off), it counts only as committed by its maker.
        assert!(chain.offer(Ok(grab.clone()), &commit, "exc.yaml", true).is_some(), "committed by Eve");
        let mut by_carol = PolicyChain::default();
        assert_eq!(by_carol.offer(Ok(first.clone()), &commit, "exc.yaml", true), None);
        let carols = CommitRef { id: "cafe", author: CAROL, time: at("2026-01-03"), landed: at("2026-01-03") };
        assert_eq!(by_carol.offer(Ok(grab.clone()), &carols, "exc.yaml", true), None);
        assert_eq!((by_carol.effective(), by_carol.unapproved()), (Some(&grab), None));
        // A policy that does not read is reported on the mainline only.
        assert_eq!(chain.offer(Err("bad".into()), &commit, "exc.yaml", false), None);
        assert_eq!(chain.offer(Err("bad".into()), &commit, "exc.yaml", true).unwrap().code, Code::PolicyInvalid);
    }
}
