//! The audit: checks every change ever made to the records, in commit order.
//!
//! Pure: the caller reads the history (`crate::git::History`), parses each
//! version and the policy as of each commit, and feeds the changes in order.
//! Findings name the commit that did the wrong thing.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::digest;
use super::finding::Code;
use super::lifecycle;
use super::policy::Policy;
use super::record::{Decision, Exception, ReviewDecision, Status, same_person};
use super::rules::{self, POLICY_APPROVER};

/// The commit a change came in.
#[derive(Clone, Debug)]
pub struct CommitRef<'a> {
    pub id: &'a str,
    pub author: &'a str,
    pub time: DateTime<Utc>,
}

/// One change to one record file.
pub struct Step<'a> {
    pub commit: CommitRef<'a>,
    /// The record's file name after the change (before it, for a deletion).
    pub file: &'a str,
    /// The record before the change: `None` when it was added, `Some(None)` when unreadable.
    pub before: Option<Option<&'a Exception>>,
    /// The record after the change: `None` when deleted, `Some(None)` when unreadable.
    pub after: Option<Option<&'a Exception>>,
    /// The policy as of this commit.
    pub policy: &'a Policy,
}

/// Something in the history that breaks the process.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AuditFinding {
    pub code: Code,
    pub commit: String,
    pub time: DateTime<Utc>,
    pub author: String,
    pub file: String,
    pub message: String,
}

/// What the audit remembers between steps: request changes not yet re-approved.
#[derive(Default)]
pub struct Audit {
    pending: HashMap<String, AuditFinding>,
    pub findings: Vec<AuditFinding>,
}

impl Audit {
    /// Checks one change.
    pub fn step(&mut self, s: &Step) {
        let mut add = |code: Code, message: String| {
            self.findings.push(AuditFinding {
                code,
                commit: s.commit.id.to_string(),
                time: s.commit.time,
                author: s.commit.author.to_string(),
                file: s.file.to_string(),
                message,
            })
        };
        let after = match s.after {
            None => {
                add(Code::RecordDeleted, format!("{} was deleted; records are closed, never deleted", s.file));
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
        let new_approvals: Vec<_> = after.approvals.iter().filter(is_new).collect();
        let after_digest = digest::digest(after);

        for a in &new_approvals {
            let what = format!("the `{}` {} by {}", a.role, decision_word(a.decision), a.by);
            if a.by == POLICY_APPROVER {
                if s.policy.effective_risk(after) != super::record::Risk::Low {
                    add(Code::UnauthorizedApprover, format!("{what}: only low-risk records are approved by policy"));
                }
                continue;
            }
            if !same_person(&a.by, s.commit.author) {
                add(Code::ApprovalCommittedByOther, format!("{what} was committed by {}", s.commit.author));
            }
            if same_person(&a.by, &after.requester) {
                add(Code::SelfApproval, format!("{what}: the requester approved their own exception"));
            }
            if !s.policy.holds_role(&a.by, &a.role, after) {
                add(
                    Code::UnauthorizedApprover,
                    format!("{what}: {} did not hold `{}` in exc.yaml as of this commit", a.by, a.role),
                );
            }
            if a.decision == Decision::Approved && a.digest != after_digest {
                add(
                    Code::ChangedAfterApproval,
                    format!("{what} carries a digest that does not match the content it was committed with"),
                );
            }
        }
        let new_reviews: Vec<_> = after.reviews.iter().skip(before.map_or(0, |b| b.reviews.len())).collect();
        for v in &new_reviews {
            if !same_person(&v.by, s.commit.author) {
                add(
                    Code::ApprovalCommittedByOther,
                    format!("the recertification by {} was committed by {}", v.by, s.commit.author),
                );
            }
            if same_person(&v.by, &after.requester) {
                add(Code::SelfApproval, format!("{} recertified their own exception", v.by));
            } else if !lifecycle::can_review(&v.by, after, s.policy) {
                add(
                    Code::UnauthorizedApprover,
                    format!("{} recertified it without being the risk owner or `security`", v.by),
                );
            }
        }

        // Request fields changed while approvals stood, with nothing re-approving them.
        let covered = new_approvals.iter().any(|a| a.decision == Decision::Approved && a.digest == after_digest)
            || new_reviews
                .iter()
                .any(|v| v.decision == ReviewDecision::Extend && v.digest.as_deref() == Some(&after_digest));
        if let Some(b) = before {
            let b_digest = digest::digest(b);
            let had_approval = b.approvals.iter().any(|a| a.decision == Decision::Approved);
            if b_digest != after_digest && had_approval && !covered && !after.status.is_closed() {
                let fields = digest::changed_fields(&digest::request_fields(b), &digest::request_fields(after));
                self.pending.entry(s.file.to_string()).or_insert_with(|| AuditFinding {
                    code: Code::ChangedAfterApproval,
                    commit: s.commit.id.to_string(),
                    time: s.commit.time,
                    author: s.commit.author.to_string(),
                    file: s.file.to_string(),
                    message: format!(
                        "request fields changed after approval without a new approval: {}",
                        fields.join(", ")
                    ),
                });
            }
        }
        if covered || after.status.is_closed() {
            self.pending.remove(s.file);
        }

        if let Some(msg) = skipped_transition(before, after, &new_approvals, s.policy) {
            add(Code::LifecycleSkipped, msg);
        }
    }

    /// Ends the audit: request changes never re-approved become findings.
    pub fn finish(mut self) -> Vec<AuditFinding> {
        self.findings.extend(self.pending.into_values());
        self.findings.sort_by(|a, b| (a.time, &a.commit, &a.file).cmp(&(b.time, &b.commit, &b.file)));
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
    let complete = rules::missing_roles(after, policy).is_empty();
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
        (_, Approved) => format!("while {} still had to approve", rules::missing_roles(after, policy).join(", ")),
        (Some(f), _) if f.is_closed() => "but closed records never reopen".to_string(),
        (_, Rejected) => "with no rejection entry added".to_string(),
        _ => "which the lifecycle does not allow".to_string(),
    };
    Some(format!("status changed {from_word} → {to} {why}"))
}
