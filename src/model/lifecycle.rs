//! The lifecycle: approve, reject, recertify, retire, revoke, expire.
//!
//! Each transition is a pure function from a record (and the policy, the actor
//! and the time) to the changed record, or a refusal saying why not. Commands
//! do the I/O around them.

use chrono::{DateTime, NaiveDate, Utc};

use super::digest;
use super::policy::{Policy, RISK_OWNER};
use super::record::{Approval, Closure, Decision, Exception, Review, ReviewDecision, Risk, Status, same_person};
use super::rules::{self, POLICY_APPROVER};
use super::time;

/// Why a transition was refused, in words for the person who asked.
pub type Refusal = String;

/// Who is acting and when.
#[derive(Clone, Debug)]
pub struct Act<'a> {
    pub actor: &'a str,
    pub at: DateTime<Utc>,
}

/// Approves `e` as one role. With `role` unset, picks the first still-needed
/// role the actor holds. With `risk`, records the assessed tier first.
pub fn approve(
    e: &Exception,
    policy: &Policy,
    act: &Act,
    role: Option<&str>,
    risk: Option<Risk>,
    note: Option<String>,
) -> Result<Exception, Refusal> {
    let mut e = e.clone();
    // An approved record whose request fields changed needs approving again.
    let reapproval = e.status == Status::Approved && !rules::missing_roles(&e, policy).is_empty();
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
    let missing = rules::missing_roles(&e, policy);
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
    if rules::missing_roles(&e, policy).is_empty() {
        e.status = Status::Approved;
        e.risk = Some(tier);
    }
    Ok(e)
}

/// Rejects a request, closing it.
pub fn reject(
    e: &Exception,
    policy: &Policy,
    act: &Act,
    role: Option<&str>,
    reason: &str,
) -> Result<Exception, Refusal> {
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

/// Recertifies an approved record: logs the review and, for an extension, sets
/// the new expiry (within the type's cap from today). Retire and revoke close it.
pub fn recertify(
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
    if !can_review(act.actor, &e, policy) {
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
pub fn retire(e: &Exception, act: &Act, reason: &str) -> Result<Exception, Refusal> {
    close(e, act, reason, Status::Retired, &[Status::Approved, Status::Requested])
}

/// Withdraws an approved exception for cause.
pub fn revoke(e: &Exception, policy: &Policy, act: &Act, reason: &str) -> Result<Exception, Refusal> {
    let may = policy.holds_role(act.actor, "security", e)
        || policy.holds_role(act.actor, "ciso", e)
        || same_person(act.actor, &e.risk_owner);
    if !may {
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
pub fn expire(e: &Exception, at: DateTime<Utc>, reason: &str) -> Result<Exception, Refusal> {
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

/// Whether `actor` may recertify `e`: its risk owner, or a `security` role holder.
pub fn can_review(actor: &str, e: &Exception, policy: &Policy) -> bool {
    same_person(actor, &e.risk_owner) || policy.holds_role(actor, "security", e)
}

fn holders(role: &str, e: &Exception, policy: &Policy) -> String {
    if role == RISK_OWNER {
        return format!("risk_owner ({})", e.risk_owner);
    }
    match policy.roles.get(role) {
        Some(p) if !p.is_empty() => format!("{role} ({})", p.join(", ")),
        _ => format!("{role} (nobody holds it: add people to `roles` in exc.yaml)"),
    }
}

fn not_holder(actor: &str, role: &str, e: &Exception, policy: &Policy) -> String {
    format!("{actor} does not hold the role `{role}`; it is held by {}", holders(role, e, policy))
}
