//! The lifecycle: approve, reject, recertify, retire, revoke, expire.
//!
//! One transition, [`apply`], takes a record, the policy, who acts and when,
//! and an [`Action`], and gives the changed record or a refusal saying why
//! not. It is pure: commands read and write the file around it.

use chrono::{DateTime, NaiveDate, Utc};

use super::digest;
use super::identity::same_person;
use super::policy::Policy;
use super::record::{Approval, Closure, Decision, Exception, Review, ReviewDecision, Risk, Status};
use super::routing::{self, POLICY_APPROVER, holders};
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
    /// The roles still needed when the record is still requested.
    pub awaiting: Vec<String>,
}

/// Applies `action` to `e` as `act.actor` at `act.at`.
pub fn apply(e: &Exception, policy: &Policy, act: &Act, action: Action) -> Result<Transition, Refusal> {
    let verb = action.verb();
    let (after, detail) = match action {
        Action::Approve { role, risk, note } => {
            let after = approve(e, policy, act, role.as_deref(), risk, note)?;
            let role = after.approvals.last().map(|a| a.role.clone());
            (after, role)
        }
        Action::Reject { role, reason } => {
            let after = reject(e, policy, act, role.as_deref(), &reason)?;
            let role = after.approvals.last().map(|a| a.role.clone());
            (after, role)
        }
        Action::Recertify { answers, decision, expires, note } => {
            let word = match decision {
                ReviewDecision::Extend => "extend",
                ReviewDecision::Retire => "retire",
                ReviewDecision::Revoke => "revoke",
            };
            (recertify(e, policy, act, answers, decision, expires, note)?, Some(word.to_string()))
        }
        Action::Retire { reason } => (retire(e, act, &reason)?, None),
        Action::Revoke { reason } => (revoke(e, policy, act, &reason)?, None),
        Action::Expire { reason } => (expire(e, act.at, &reason)?, None),
    };
    let awaiting = if after.status == Status::Requested { routing::missing_roles(&after, policy) } else { Vec::new() };
    Ok(Transition { after, action: verb, detail, awaiting })
}

/// Who is acting and when.
#[derive(Clone, Debug)]
pub struct Act<'a> {
    pub actor: &'a str,
    pub at: DateTime<Utc>,
}

/// Approves `e` as one role. With `role` unset, picks the first still-needed
/// role the actor holds. With `risk`, records the assessed tier first.
fn approve(
    e: &Exception,
    policy: &Policy,
    act: &Act,
    role: Option<&str>,
    risk: Option<Risk>,
    note: Option<String>,
) -> Result<Exception, Refusal> {
    let mut e = e.clone();
    // An approved record whose request fields changed needs approving again.
    let reapproval = e.status == Status::Approved && !routing::missing_roles(&e, policy).is_empty();
    if !reapproval {
        require_status(&e, Status::Requested, "approved")?;
    }
    if same_person(act.actor, &e.requester) {
        return Err(format!("{} requested {}; a requester never approves their own exception", act.actor, e.id));
    }
    if let Some(r) = risk {
        let floor = policy.types.get(&e.kind).and_then(|t| t.min_risk).unwrap_or(Risk::Low);
        if r < floor {
            return Err(format!("type `{}` is at least {floor} risk; it cannot be assessed as {r}", e.kind));
        }
        e.risk = Some(r);
    }
    let tier = policy.effective_risk(&e);
    let missing = routing::missing_roles(&e, policy);
    let role = match role {
        Some(r) => {
            if !policy.required_roles(tier).iter().any(|x| x == r) {
                return Err(format!(
                    "{tier} risk is approved by {}; `{r}` is not one of them",
                    policy.required_roles(tier).join(", ")
                ));
            }
            if !missing.iter().any(|x| x == r) {
                return Err(format!("role `{r}` has already approved {}", e.id));
            }
            if !policy.holds_role(act.actor, r, &e) {
                return Err(not_holder(act.actor, r, &e, policy));
            }
            r.to_string()
        }
        None => match missing.iter().find(|r| policy.holds_role(act.actor, r, &e)) {
            Some(r) => r.clone(),
            None if missing.is_empty() => return Err(format!("{} needs no more approvals", e.id)),
            None => {
                return Err(format!(
                    "{} holds none of the roles {} still needs: {}",
                    act.actor,
                    e.id,
                    missing.iter().map(|r| holders(r, &e, policy)).collect::<Vec<_>>().join("; ")
                ));
            }
        },
    };
    let current = digest::digest(&e);
    if let Some(prev) = e
        .approvals
        .iter()
        .find(|a| a.decision == Decision::Approved && a.digest == current && same_person(&a.by, act.actor))
    {
        return Err(format!(
            "{} already approved {} as `{}`; each role needs a different person",
            act.actor, e.id, prev.role
        ));
    }
    let lacking: Vec<&str> =
        policy.required_fields(&e.kind, tier).into_iter().filter(|f| !f.is_present(&e)).map(|f| f.as_str()).collect();
    if !lacking.is_empty() {
        return Err(format!("{tier} risk needs {} before approval; add it to the record first", lacking.join(", ")));
    }
    e.approvals.push(Approval {
        by: act.actor.to_string(),
        role,
        at: act.at,
        decision: Decision::Approved,
        note,
        digest: current,
    });
    if routing::missing_roles(&e, policy).is_empty() {
        e.status = Status::Approved;
        e.risk = Some(tier);
    }
    Ok(e)
}

/// Rejects a request, closing it.
fn reject(e: &Exception, policy: &Policy, act: &Act, role: Option<&str>, reason: &str) -> Result<Exception, Refusal> {
    let mut e = e.clone();
    require_status(&e, Status::Requested, "rejected")?;
    if same_person(act.actor, &e.requester) {
        return Err(format!(
            "{} requested {}; a requester cannot decide on their own exception (retire it to withdraw it)",
            act.actor, e.id
        ));
    }
    let tier = policy.effective_risk(&e);
    let roles = policy.required_roles(tier);
    let role = match role {
        Some(r) if policy.holds_role(act.actor, r, &e) && roles.iter().any(|x| x == r) => r.to_string(),
        Some(r) => return Err(not_holder(act.actor, r, &e, policy)),
        None => roles.iter().find(|r| policy.holds_role(act.actor, r, &e)).cloned().ok_or_else(|| {
            format!("{} holds none of the roles that decide {tier} risk: {}", act.actor, roles.join(", "))
        })?,
    };
    let digest = digest::digest(&e);
    e.approvals.push(Approval {
        by: act.actor.to_string(),
        role,
        at: act.at,
        decision: Decision::Rejected,
        note: Some(reason.to_string()),
        digest,
    });
    e.status = Status::Rejected;
    e.closed = Some(Closure { at: act.at, by: act.actor.to_string(), reason: reason.to_string() });
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
/// the new expiry (within the type's cap from today). Retire and revoke close it.
fn recertify(
    e: &Exception,
    policy: &Policy,
    act: &Act,
    answers: Checklist,
    decision: ReviewDecision,
    expires: Option<NaiveDate>,
    note: Option<String>,
) -> Result<Exception, Refusal> {
    let mut e = e.clone();
    require_status(&e, Status::Approved, "recertified")?;
    if same_person(act.actor, &e.requester) {
        return Err(format!("{} requested {}; someone else must recertify it", act.actor, e.id));
    }
    if !routing::can_review(act.actor, &e, policy) {
        return Err(format!(
            "{} may not recertify {}: reviews are done by the risk owner ({}) or a `security` role holder",
            act.actor, e.id, e.risk_owner
        ));
    }
    let today = act.at.date_naive();
    let max_days = policy.types.get(&e.kind).map(|t| t.max_days).unwrap_or(90);
    let cap = time::add_days(today, max_days.into());
    let mut review = Review {
        by: act.actor.to_string(),
        at: act.at,
        controls_effective: answers.controls_effective,
        justification_valid: answers.justification_valid,
        better_option: answers.better_option,
        decision,
        expires: None,
        note,
        digest: None,
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
                return Err(format!("type `{}` allows at most {max_days} days from today: until {cap}", e.kind));
            }
            if new <= today {
                return Err(format!("the new expiry {new} must be after today ({today})"));
            }
            e.expires = new;
            review.expires = Some(new);
            review.digest = Some(digest::digest(&e));
            e.reviews.push(review);
            Ok(e)
        }
        ReviewDecision::Retire | ReviewDecision::Revoke => {
            let reason = review.note.clone().unwrap_or_else(|| "closed at recertification".into());
            e.reviews.push(review);
            e.status = if decision == ReviewDecision::Retire { Status::Retired } else { Status::Revoked };
            e.closed = Some(Closure { at: act.at, by: act.actor.to_string(), reason });
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

/// Closes a record as expired (by the policy).
fn expire(e: &Exception, at: DateTime<Utc>, reason: &str) -> Result<Exception, Refusal> {
    close(e, &Act { actor: POLICY_APPROVER, at }, reason, Status::Expired, &[Status::Approved])
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

/// How many times the record was extended at recertification.
pub fn extensions(e: &Exception) -> usize {
    e.reviews.iter().filter(|r| r.decision == ReviewDecision::Extend).count()
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
    e.closed = Some(Closure { at: act.at, by: act.actor.to_string(), reason: reason.trim().to_string() });
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
