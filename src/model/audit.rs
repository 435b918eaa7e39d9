//! The audit: checks every change ever made to the records, in commit order.
//!
//! Pure: the caller reads the history (`crate::git::History::replay`), parses
//! each version and the policy as of each commit, and feeds the changes in
//! order. Findings name the commit that did the wrong thing.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::digest;
use super::finding::{Code, Finding};
use super::identity::same_person;
use super::policy::Policy;
use super::record::{Decision, Exception, ReviewDecision, Status};
use super::routing::{self, POLICY_APPROVER};

/// The commit a change came in.
#[derive(Clone, Debug)]
pub struct CommitRef<'a> {
    pub id: &'a str,
    pub author: &'a str,
    pub time: DateTime<Utc>,
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

/// One change to one record file.
pub struct Step<'a> {
    pub commit: CommitRef<'a>,
    /// The record's path, relative to the registry root, after the change
    /// (before it, for a deletion).
    pub file: &'a str,
    /// The record before the change: `None` when it was added, `Some(None)` when unreadable.
    pub before: Option<Option<&'a Exception>>,
    /// The record after the change: `None` when deleted, `Some(None)` when unreadable.
    pub after: Option<Option<&'a Exception>>,
    /// The policy as of this commit.
    pub policy: &'a Policy,
}

/// What the audit remembers between steps: request changes not yet re-approved.
#[derive(Default)]
pub struct Audit {
    pending: HashMap<String, Finding>,
    findings: Vec<Finding>,
}

impl Audit {
    /// Checks one change.
    pub fn step(&mut self, s: &Step) {
        let id = s.after.flatten().or(s.before.flatten()).map(|e| e.id.clone());
        let finding = |code: Code, pointer: &str, message: String| {
            let f = Finding::new(code, s.file, pointer, format!("{message} ({})", s.commit.describe()))
                .with_commit(s.commit.id);
            match &id {
                Some(id) => f.with_id(id),
                None => f,
            }
        };
        let mut add = |code: Code, pointer: &str, message: String| self.findings.push(finding(code, pointer, message));
        let after = match s.after {
            None => {
                add(Code::RecordDeleted, "", format!("{} was deleted; records are closed, never deleted", s.file));
                self.pending.remove(s.file);
                return;
            }
            Some(None) => return,
            Some(Some(e)) => e,
        };
        let before = s.before.flatten();
        let is_new = |a: &&super::record::Approval| {
            before.is_none_or(|b| !b.approvals.iter().any(|x| x.by == a.by && x.role == a.role && x.at == a.at))
        };
        let new_approvals: Vec<(usize, &super::record::Approval)> =
            after.approvals.iter().enumerate().filter(|(_, a)| is_new(a)).collect();
        let after_digest = digest::digest(after);

        for (i, a) in &new_approvals {
            let at = format!("/approvals/{i}");
            let what = format!("the `{}` {} by {}", a.role, decision_word(a.decision), a.by);
            if a.by == POLICY_APPROVER {
                if s.policy.effective_risk(after) != super::record::Risk::Low {
                    add(
                        Code::UnauthorizedApprover,
                        &at,
                        format!("{what}: only low-risk records are approved by policy"),
                    );
                }
                continue;
            }
            if !same_person(&a.by, s.commit.author) {
                add(Code::ApprovalCommittedByOther, &at, format!("{what} was committed by {}", s.commit.author));
            }
            if same_person(&a.by, &after.requester) {
                add(Code::SelfApproval, &at, format!("{what}: the requester approved their own exception"));
            }
            if !s.policy.holds_role(&a.by, &a.role, after) {
                add(
                    Code::UnauthorizedApprover,
                    &at,
                    format!("{what}: {} did not hold `{}` in exc.yaml as of this commit", a.by, a.role),
                );
            }
            if a.decision == Decision::Approved && a.digest != after_digest {
                add(
                    Code::ChangedAfterApproval,
                    &format!("{at}/digest"),
                    format!("{what} carries a digest that does not match the content it was committed with"),
                );
            }
        }
        let skip = before.map_or(0, |b| b.reviews.len());
        let new_reviews: Vec<_> = after.reviews.iter().skip(skip).collect();
        for (i, v) in new_reviews.iter().enumerate() {
            let at = format!("/reviews/{}", skip + i);
            if !same_person(&v.by, s.commit.author) {
                add(
                    Code::ApprovalCommittedByOther,
                    &at,
                    format!("the recertification by {} was committed by {}", v.by, s.commit.author),
                );
            }
            if same_person(&v.by, &after.requester) {
                add(Code::SelfApproval, &at, format!("{} recertified their own exception", v.by));
            } else if !routing::can_review(&v.by, after, s.policy) {
                add(
                    Code::UnauthorizedApprover,
                    &at,
                    format!("{} recertified it without being the risk owner or `security`", v.by),
                );
            }
        }

        // Request fields changed while approvals stood, with nothing re-approving them.
        let covered = new_approvals.iter().any(|(_, a)| a.decision == Decision::Approved && a.digest == after_digest)
            || new_reviews
                .iter()
                .any(|v| v.decision == ReviewDecision::Extend && v.digest.as_deref() == Some(&after_digest));
        if let Some(b) = before {
            let b_digest = digest::digest(b);
            let had_approval = b.approvals.iter().any(|a| a.decision == Decision::Approved);
            if b_digest != after_digest && had_approval && !covered && !after.status.is_closed() {
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
        if covered || after.status.is_closed() {
            self.pending.remove(s.file);
        }

        let new: Vec<&super::record::Approval> = new_approvals.iter().map(|(_, a)| *a).collect();
        if let Some(msg) = skipped_transition(before, after, &new, s.policy) {
            add(Code::LifecycleSkipped, "/status", msg);
        }
    }

    /// Ends the audit: request changes never re-approved become findings, in
    /// the order they happened.
    pub fn finish(mut self) -> Vec<Finding> {
        let mut pending: Vec<Finding> = self.pending.into_values().collect();
        pending.sort_by(|a, b| (&a.commit, &a.path).cmp(&(&b.commit, &b.path)));
        self.findings.extend(pending);
        self.findings
    }
}

fn decision_word(d: Decision) -> &'static str {
    match d {
        Decision::Approved => "approval",
        Decision::Rejected => "rejection",
    }
}

/// A status change the lifecycle does not allow, if this is one.
fn skipped_transition(
    before: Option<&Exception>,
    after: &Exception,
    new_approvals: &[&super::record::Approval],
    policy: &Policy,
) -> Option<String> {
    use Status::*;
    let from = before.map(|b| b.status);
    let to = after.status;
    if from == Some(to) {
        return None;
    }
    let complete = routing::missing_roles(after, policy).is_empty();
    let approved_now = new_approvals.iter().any(|a| a.decision == Decision::Approved);
    let rejected_now = new_approvals.iter().any(|a| a.decision == Decision::Rejected);
    let ok = match (from, to) {
        (None, Requested) => true,
        (None, Approved) => approved_now && complete,
        (Some(Requested), Approved) => approved_now && complete,
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
        (_, Approved) if !approved_now => "with no approval entry added".to_string(),
        (_, Approved) => format!("while {} still had to approve", routing::missing_roles(after, policy).join(", ")),
        (Some(f), _) if f.is_closed() => "but closed records never reopen".to_string(),
        (_, Rejected) => "with no rejection entry added".to_string(),
        _ => "which the lifecycle does not allow".to_string(),
    };
    Some(format!("status changed {from_word} → {to} {why}"))
}
