//! The lifecycle: approve, reject, recertify, retire, revoke, expire.
//!
//! One transition, [`apply`], takes a record, the policy, who acts and when,
//! and an [`Action`], and gives the changed record or a refusal saying why
//! not. It is pure: commands read and write the file around it.

use chrono::{DateTime, NaiveDate, Utc};

use super::digest;
use super::policy::Policy;
use super::record::{Approval, Closure, Decision, Exception, Review, ReviewDecision, Risk, Status};
use super::routing::{self, holders};
use super::statement::Entry;
use super::time;

/// Why a transition was refused, in words for the person who asked.
pub type Refusal = String;

/// What someone does to a record.
#[derive(Clone, Debug)]
pub enum Action {
    /// Approve as one role (default: the first still-needed role the actor
    /// holds), optionally assessing the risk tier first.
    Approve { role: Option<String>, risk: Option<Risk>, note: Option<String> },
    /// Turn a request down; it closes.
    Reject { role: Option<String>, reason: String },
    /// The periodic review: extend (within the cap), retire or revoke.
    Recertify { answers: Checklist, decision: ReviewDecision, expires: Option<NaiveDate>, note: Option<String> },
    /// Close: no longer needed, or a request withdrawn.
    Retire { reason: String },
    /// Close: withdrawn for cause.
    Revoke { reason: String },
    /// Close: past expiry or a missed review (by the policy).
    Expire { reason: String },
}

impl Action {
    /// The verb, as in commit trailers (`Exc-Action: approve`).
    pub fn verb(&self) -> &'static str {
        match self {
            Action::Approve { .. } => "approve",
            Action::Reject { .. } => "reject",
            Action::Recertify { .. } => "recertify",
            Action::Retire { .. } => "retire",
            Action::Revoke { .. } => "revoke",
            Action::Expire { .. } => "expire",
        }
    }
}

/// What a transition did.
#[derive(Clone, Debug)]
pub struct Transition {
    pub after: Exception,
    /// The verb (`approve`, …).
    pub action: &'static str,
    /// The role that decided, or the review's decision, for messages and commit subjects.
    pub detail: Option<String>,
    /// The decision entry the actor must sign.
    pub entry: Entry,
    /// The roles still needed when the record is still requested.
    pub awaiting: Vec<String>,
}

/// Applies `action` to `e` as `act.actor` at `act.at`. The new decision is
/// unsigned: the caller signs `Transition::entry` before saving.
pub fn apply(e: &Exception, policy: &Policy, act: &Act, action: Action) -> Result<Transition, Refusal> {
    let verb = action.verb();
    let (mut after, detail, entry) = match action {
        Action::Approve { role, risk, note } => {
            let after = approve(e, policy, act, role.as_deref(), risk, note)?;
            let i = after.approvals.len() - 1;
            (after.clone(), Some(after.approvals[i].role.clone()), Entry::Approval(i))
        }
        Action::Reject { role, reason } => {
            let after = reject(e, policy, act, role.as_deref(), &reason)?;
            let i = after.approvals.len() - 1;
            (after.clone(), Some(after.approvals[i].role.clone()), Entry::Approval(i))
        }
        Action::Recertify { answers, decision, expires, note } => {
            let word = match decision {
                ReviewDecision::Extend => "extend",
                ReviewDecision::Retire => "retire",
                ReviewDecision::Revoke => "revoke",
            };
            let after = recertify(e, policy, act, answers, decision, expires, note)?;
            let i = after.reviews.len() - 1;
            (after, Some(word.to_string()), Entry::Review(i))
        }
        Action::Retire { reason } => (retire(e, act, &reason)?, None, Entry::Closure),
        Action::Revoke { reason } => (revoke(e, policy, act, &reason)?, None, Entry::Closure),
        Action::Expire { reason } => (expire(e, policy, act, &reason)?, None, Entry::Closure),
    };
    let standing = routing::standing_trusting(&after, policy, Some(entry));
    if after.status == Status::Requested && standing.complete() {
        after.status = Status::Approved;
    }
    let awaiting = if after.status == Status::Requested { standing.missing } else { Vec::new() };
    Ok(Transition { after, action: verb, detail, entry, awaiting })
}

/// Who is acting and when.
#[derive(Clone, Debug)]
pub struct Act<'a> {
    pub actor: &'a str,
    pub at: DateTime<Utc>,
}

/// Adds one role's approval. With `role` unset, picks the first still-needed
/// role the actor holds. `risk` is the tier the approver assesses (default:
/// the tier the record is routed by now).
fn approve(
    e: &Exception,
    policy: &Policy,
    act: &Act,
    role: Option<&str>,
    risk: Option<Risk>,
    note: Option<String>,
) -> Result<Exception, Refusal> {
    let standing = routing::standing(e, policy);
    // An approved record whose approvals no longer stand needs approving again.
    if !(e.status == Status::Requested || (e.status == Status::Approved && !standing.complete())) {
        return Err(format!("{} is {}; only requested exceptions can be approved", e.id, e.status));
    }
    if policy.same_person(act.actor, &e.requester) {
        return Err(format!("{} requested {}; a requester never approves their own exception", act.actor, e.id));
    }
    let assessed = risk.unwrap_or(standing.tier);
    let floor = policy.floor(&e.kind);
    if assessed < floor {
        return Err(format!("type `{}` is at least {floor} risk; it cannot be assessed as {assessed}", e.kind));
    }
    // The roles that may still approve: those the tier needs, and, when the
    // approver assesses a lower tier, those of the higher tier whose consent
    // the lowering needs.
    let mut open = standing.missing.clone();
    let base = policy.base_tier(&e.kind);
    if assessed < base {
        for r in policy.required_roles(base) {
            if !open.contains(r) {
                open.push(r.clone());
            }
        }
    }
    let current = digest::digest(e);
    let mine = |a: &&Approval| {
        a.decision == Decision::Approved
            && a.digest == current
            && a.expires == e.expires
            && policy.same_person(&a.by, act.actor)
    };
    if let Some(prev) = e.approvals.iter().rev().find(mine)
        && role.is_none_or(|r| r != prev.role)
    {
        return Err(format!(
            "{} already approved {} as `{}`; each role needs a different person",
            act.actor, e.id, prev.role
        ));
    }
    let role = match role {
        Some(r) => {
            let tier_roles = policy.required_roles(standing.tier.max(assessed));
            if !tier_roles.iter().any(|x| x == r) && !open.iter().any(|x| x == r) {
                return Err(format!(
                    "{} risk is approved by {}; `{r}` is not one of them",
                    standing.tier,
                    tier_roles.join(", ")
                ));
            }
            if !open.iter().any(|x| x == r) && assessed <= standing.tier {
                return Err(format!("role `{r}` has already approved {}", e.id));
            }
            if !policy.holds_role(act.actor, r, e) {
                return Err(not_holder(act.actor, r, e, policy));
            }
            r.to_string()
        }
        None => match open.iter().find(|r| policy.holds_role(act.actor, r, e)) {
            Some(r) => r.clone(),
            None if open.is_empty() => return Err(format!("{} needs no more approvals", e.id)),
            None => {
                return Err(format!(
                    "{} holds none of the roles {} still needs: {}",
                    act.actor,
                    e.id,
                    open.iter().map(|r| holders(r, e, policy)).collect::<Vec<_>>().join("; ")
                ));
            }
        },
    };
    let tier = standing.tier.max(assessed);
    let lacking: Vec<&str> =
        policy.required_fields(&e.kind, tier).into_iter().filter(|f| !f.is_present(e)).map(|f| f.as_str()).collect();
    if !lacking.is_empty() {
        return Err(format!("{tier} risk needs {} before approval; add it to the record first", lacking.join(", ")));
    }
    let mut e = e.clone();
    e.approvals.push(Approval {
        by: act.actor.to_string(),
        role,
        at: act.at,
        decision: Decision::Approved,
        risk: assessed,
        digest: current,
        expires: e.expires,
        note,
        signature: None,
    });
    Ok(e)
}

/// Rejects a request, closing it.
fn reject(e: &Exception, policy: &Policy, act: &Act, role: Option<&str>, reason: &str) -> Result<Exception, Refusal> {
    require_status(e, Status::Requested, "rejected")?;
    if policy.same_person(act.actor, &e.requester) {
        return Err(format!(
            "{} requested {}; a requester cannot decide on their own exception (retire it to withdraw it)",
            act.actor, e.id
        ));
    }
    if reason.trim().is_empty() {
        return Err("give a reason".into());
    }
    let standing = routing::standing(e, policy);
    let tier = standing.tier;
    let roles = policy.required_roles(tier);
    let role = match role {
        Some(r) if policy.holds_role(act.actor, r, e) && roles.iter().any(|x| x == r) => r.to_string(),
        Some(r) => return Err(not_holder(act.actor, r, e, policy)),
        None => roles.iter().find(|r| policy.holds_role(act.actor, r, e)).cloned().ok_or_else(|| {
            format!("{} holds none of the roles that decide {tier} risk: {}", act.actor, roles.join(", "))
        })?,
    };
    let mut e = e.clone();
    e.approvals.push(Approval {
        by: act.actor.to_string(),
        role,
        at: act.at,
        decision: Decision::Rejected,
        risk: tier,
        digest: digest::digest(&e),
        expires: e.expires,
        note: Some(reason.trim().to_string()),
        signature: None,
    });
    e.status = Status::Rejected;
    e.closed =
        Some(Closure { at: act.at, by: act.actor.to_string(), reason: reason.trim().to_string(), signature: None });
    Ok(e)
}

/// The recertification checklist's answers.
#[derive(Clone, Debug)]
pub struct Checklist {
    pub controls_effective: bool,
    pub justification_valid: bool,
    pub better_option: bool,
}

/// The decision the checklist's answers point to: retire when the
/// justification no longer holds, revoke when the controls failed, else extend.
pub fn suggested_decision(answers: &Checklist) -> ReviewDecision {
    if !answers.justification_valid {
        ReviewDecision::Retire
    } else if !answers.controls_effective {
        ReviewDecision::Revoke
    } else {
        ReviewDecision::Extend
    }
}

/// The latest expiry an extension made on `today` may set: the type's cap from today.
pub fn extension_cap(e: &Exception, policy: &Policy, today: NaiveDate) -> NaiveDate {
    let max_days = policy.types.get(&e.kind).map(|t| t.max_days).unwrap_or(90);
    time::add_days(today, max_days.into())
}

/// Recertifies an approved record: logs the review and, for an extension, sets
/// the new expiry (within the type's cap from today). The review may move the
/// expiry and nothing else. Retire and revoke close it.
fn recertify(
    e: &Exception,
    policy: &Policy,
    act: &Act,
    answers: Checklist,
    decision: ReviewDecision,
    expires: Option<NaiveDate>,
    note: Option<String>,
) -> Result<Exception, Refusal> {
    require_status(e, Status::Approved, "recertified")?;
    if policy.same_person(act.actor, &e.requester) {
        return Err(format!("{} requested {}; someone else must recertify it", act.actor, e.id));
    }
    if !routing::can_review(act.actor, e, policy) {
        return Err(format!(
            "{} may not recertify {}: reviews are done by the risk owner ({}) or a `security` role holder",
            act.actor, e.id, e.risk_owner
        ));
    }
    let today = act.at.date_naive();
    let cap = extension_cap(e, policy, today);
    let mut e = e.clone();
    let mut review = Review {
        by: act.actor.to_string(),
        at: act.at,
        controls_effective: answers.controls_effective,
        justification_valid: answers.justification_valid,
        better_option: answers.better_option,
        decision,
        expires: None,
        note,
        digest: digest::digest(&e),
        signature: None,
    };
    match decision {
        ReviewDecision::Extend => {
            if !answers.controls_effective {
                return Err(
                    "the compensating controls are not effective, so it cannot be extended; revoke it instead".into()
                );
            }
            if !answers.justification_valid {
                return Err("the justification no longer holds, so it cannot be extended; retire it instead".into());
            }
            let new = expires.unwrap_or(cap);
            if new > cap {
                return Err(format!(
                    "type `{}` allows at most {} days from today: until {cap}",
                    e.kind,
                    (cap - today).num_days()
                ));
            }
            if new <= today {
                return Err(format!("the new expiry {new} must be after today ({today})"));
            }
            e.expires = new;
            review.expires = Some(new);
            e.reviews.push(review);
            Ok(e)
        }
        ReviewDecision::Retire | ReviewDecision::Revoke => {
            let reason = review.note.clone().unwrap_or_else(|| "closed at recertification".into());
            e.reviews.push(review);
            e.status = if decision == ReviewDecision::Retire { Status::Retired } else { Status::Revoked };
            e.closed = Some(Closure { at: act.at, by: act.actor.to_string(), reason, signature: None });
            Ok(e)
        }
    }
}

/// Closes an approved (or still requested) exception early because it is no longer needed.
fn retire(e: &Exception, act: &Act, reason: &str) -> Result<Exception, Refusal> {
    close(e, act, reason, Status::Retired, &[Status::Approved, Status::Requested])
}

/// Withdraws an approved exception for cause.
fn revoke(e: &Exception, policy: &Policy, act: &Act, reason: &str) -> Result<Exception, Refusal> {
    if !routing::can_revoke(act.actor, e, policy) {
        return Err(format!("{} may not revoke {}: security, the CISO or the risk owner can", act.actor, e.id));
    }
    close(e, act, reason, Status::Revoked, &[Status::Approved])
}

/// Why an approved record should be closed on `as_of`, if it should.
pub fn expiry_due(e: &Exception, policy: &Policy, as_of: NaiveDate) -> Option<String> {
    if e.status != Status::Approved {
        return None;
    }
    if e.expires < as_of {
        return Some(format!("expired on {} ({} ago)", e.expires, time::days((as_of - e.expires).num_days())));
    }
    let due = review_due(e, policy)?;
    let limit = time::add_days(due, policy.review.grace_days.into());
    (limit < as_of)
        .then(|| format!("review was due {due}; the {}-day grace period ended {limit}", policy.review.grace_days))
}

/// Closes a record that is due to expire, as whoever runs the nightly job.
fn expire(e: &Exception, policy: &Policy, act: &Act, reason: &str) -> Result<Exception, Refusal> {
    if expiry_due(e, policy, act.at.date_naive()).is_none() {
        return Err(format!("{} is not due to expire on {}", e.id, act.at.date_naive()));
    }
    close(e, act, reason, Status::Expired, &[Status::Approved])
}

/// When the next recertification is due: `interval_days` after the latest review,
/// or after the approval.
pub fn review_due(e: &Exception, policy: &Policy) -> Option<NaiveDate> {
    if e.status != Status::Approved {
        return None;
    }
    let last = e
        .reviews
        .iter()
        .map(|r| r.at)
        .chain(e.approvals.iter().filter(|a| a.decision == Decision::Approved).map(|a| a.at))
        .max()
        .unwrap_or(e.created);
    Some(time::add_days(last.date_naive(), policy.review.interval_days.into()))
}

/// The reviews that extended the record: those that moved the expiry later.
/// A review that keeps or shortens the date is a review, not an extension.
fn extending_reviews(e: &Exception) -> impl Iterator<Item = &Review> {
    let first = e.approvals.iter().map(|a| a.expires).min();
    let mut latest = first;
    e.reviews.iter().filter(move |v| {
        let moved = match (v.decision, v.expires) {
            (ReviewDecision::Extend, Some(new)) => latest.is_none_or(|l| new > l),
            _ => false,
        };
        if let Some(new) = v.expires.filter(|_| v.decision == ReviewDecision::Extend) {
            latest = Some(new);
        }
        moved
    })
}

/// How many times the record was extended at recertification.
pub fn extensions(e: &Exception) -> usize {
    extending_reviews(e).count()
}

/// Where the current lifetime started: the latest extension, else creation.
pub fn lifetime_start(e: &Exception) -> NaiveDate {
    let created = e.created_date();
    e.reviews
        .iter()
        .filter(|v| v.decision == ReviewDecision::Extend && v.expires.is_some())
        .map(|v| v.at.date_naive())
        .max()
        .unwrap_or(created)
        .max(created)
}

/// Chronic: extended more often than the policy allows before escalation.
pub fn is_chronic(e: &Exception, policy: &Policy) -> bool {
    extensions(e) > policy.review.chronic_after_extensions as usize
}

fn close(e: &Exception, act: &Act, reason: &str, to: Status, from: &[Status]) -> Result<Exception, Refusal> {
    if !from.contains(&e.status) {
        return Err(format!(
            "{} is {}; only {} exceptions can become {to}",
            e.id,
            e.status,
            from.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" or ")
        ));
    }
    if reason.trim().is_empty() {
        return Err("give a reason".into());
    }
    let mut e = e.clone();
    e.status = to;
    e.closed =
        Some(Closure { at: act.at, by: act.actor.to_string(), reason: reason.trim().to_string(), signature: None });
    Ok(e)
}

fn require_status(e: &Exception, want: Status, verb: &str) -> Result<(), Refusal> {
    if e.status == want {
        Ok(())
    } else {
        Err(format!("{} is {}; only {want} exceptions can be {verb}", e.id, e.status))
    }
}

fn not_holder(actor: &str, role: &str, e: &Exception, policy: &Policy) -> String {
    format!("{actor} does not hold the role `{role}`; it is held by {}", holders(role, e, policy))
}
