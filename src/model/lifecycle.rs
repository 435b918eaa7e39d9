//! The lifecycle: approve, reject, recertify, retire, revoke, expire.
//!
//! One transition, [`apply`], takes a record, the policy, who acts and when,
//! and an [`Action`], and gives the changed record or a refusal saying why
//! not. It is pure: commands read and write the file around it.

use chrono::{DateTime, NaiveDate, Utc};

use super::digest;
use super::policy::Policy;
use super::record::{Approval, Closure, Decision, Exception, Review, ReviewDecision, Risk, Status};
use super::review;
use super::routing::{self, holders};
use super::statement::{self, Entry};
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
    Recertify { answers: review::Checklist, decision: ReviewDecision, expires: Option<NaiveDate>, note: Option<String> },
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
    // The chain orders decisions by time: a new one comes after every
    // decision already made, even when its maker's clock runs behind or two
    // fall in the same second (it is then dated a second after the latest).
    let latest = latest_decision(e);
    let at = match latest {
        Some(l) if act.at <= l => l + chrono::TimeDelta::seconds(1),
        _ => act.at,
    };
    let act = &Act { actor: act.actor, at };
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
            let after = recertify(e, policy, act, answers, decision, expires, note)?;
            let i = after.reviews.len() - 1;
            let word = after.reviews[i].decision.as_str();
            (after, Some(word.to_string()), Entry::Review(i))
        }
        Action::Retire { reason } => (retire(e, policy, act, &reason)?, None, Entry::Closure),
        Action::Revoke { reason } => (revoke(e, policy, act, &reason)?, None, Entry::Closure),
        Action::Expire { reason } => (expire(e, policy, act, &reason)?, None, Entry::Closure),
    };
    let standing = routing::standing_trusting(&after, policy, Some(entry));
    if after.status == Status::Requested && standing.complete() {
        after.status = Status::Approved;
    }
    // An extension carries only the approvals of the roles its maker holds:
    // until the others approve the new date, the record is requested again.
    if verb == "recertify" && after.status == Status::Approved && !standing.complete() {
        after.status = Status::Requested;
    }
    let awaiting = if after.status == Status::Requested { standing.missing } else { Vec::new() };
    Ok(Transition { after, action: verb, detail, entry, awaiting })
}

/// When the record's latest decision was made.
pub fn latest_decision(e: &Exception) -> Option<DateTime<Utc>> {
    let approvals = e.approvals.iter().map(|a| a.at);
    let reviews = e.reviews.iter().map(|v| v.at);
    approvals.chain(reviews).chain(e.closed.as_ref().map(|c| c.at)).max()
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
    // The actor's own approvals of this content made with a key that is no
    // longer valid now (it retired after they were made, perhaps before they
    // landed): they may be made again with a key that is.
    let current_digest = digest::digest(e);
    let renewable: Vec<&Approval> = e
        .approvals
        .iter()
        .filter(|a| {
            a.decision == Decision::Approved
                && a.digest == current_digest
                && a.expires == e.expires
                && policy.same_person(&a.by, act.actor)
        })
        .filter(|a| {
            a.signature.as_deref().and_then(super::signature::key_blob).is_some_and(|blob| {
                policy.trust.keyring.keys_of(act.actor).iter().any(|k| k.blob() == blob && !k.valid_at(act.at))
            })
        })
        .collect();
    // An approved record whose approvals no longer stand needs approving again.
    if !(e.status == Status::Requested
        || (e.status == Status::Approved && (!standing.complete() || !renewable.is_empty())))
    {
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
    let base = routing::base_tier(e, policy);
    if assessed < base {
        for r in policy.required_roles(base) {
            if !open.contains(r) {
                open.push(r.clone());
            }
        }
    }
    let current = digest::digest(e);
    // An approval whose key was revoked or retired no longer counts: its
    // maker approves again, with a key that does.
    let mine = |(i, a): &(usize, &Approval)| {
        a.decision == Decision::Approved
            && a.digest == current
            && a.expires == e.expires
            && policy.same_person(&a.by, act.actor)
            && !standing.revoked.contains(i)
            && !renewable.iter().any(|r| std::ptr::eq(*r, *a))
    };
    // Making a retired key's approval again: in the same role, by default.
    let role = role.or_else(|| renewable.first().map(|a| a.role.as_str()));
    let renewing = |r: &str| renewable.iter().any(|a| a.role == r);
    if let Some((_, prev)) = e.approvals.iter().enumerate().rev().find(mine)
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
            if !open.iter().any(|x| x == r) && assessed <= standing.tier && !renewing(r) {
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

/// Whether `actor` may recertify `e`, and if not, why: only an approved
/// record, never by its requester, and by its risk owner or `security`.
/// Asked before the checklist, so nobody answers it in vain.
pub fn may_recertify(e: &Exception, policy: &Policy, actor: &str) -> Result<(), Refusal> {
    require_status(e, Status::Approved, "recertified")?;
    if policy.same_person(actor, &e.requester) {
        return Err(format!("{actor} requested {}; someone else must recertify it", e.id));
    }
    if !routing::can_review(actor, e, policy) {
        return Err(format!(
            "{actor} may not recertify {}: reviews are done by the risk owner ({}) or a `security` role holder",
            e.id, e.risk_owner
        ));
    }
    Ok(())
}

/// Recertifies an approved record: logs the review and, for an extension, sets
/// the new expiry (within the type's cap from today). The review may move the
/// expiry and nothing else. Retire and revoke close it.
fn recertify(
    e: &Exception,
    policy: &Policy,
    act: &Act,
    answers: review::Checklist,
    decision: ReviewDecision,
    expires: Option<NaiveDate>,
    note: Option<String>,
) -> Result<Exception, Refusal> {
    may_recertify(e, policy, act.actor)?;
    review::check_decision(&answers, decision)?;
    let today = act.at.date_naive();
    let cap = review::extension_cap(e, policy, today);
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
        // Reviewed, the date kept (also an "extension" to the date it has).
        ReviewDecision::Keep => {
            if expires.is_some_and(|d| d != e.expires) {
                return Err(format!("a review that keeps the date keeps {}; to move it, extend", e.expires));
            }
            e.reviews.push(review);
            Ok(e)
        }
        ReviewDecision::Extend if expires == Some(e.expires) => {
            review.decision = ReviewDecision::Keep;
            e.reviews.push(review);
            Ok(e)
        }
        ReviewDecision::Extend => {
            let new = expires.unwrap_or(cap);
            review::check_extension(&e, policy, today, new)?;
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
fn retire(e: &Exception, policy: &Policy, act: &Act, reason: &str) -> Result<Exception, Refusal> {
    if !routing::can_retire(act.actor, e, policy) {
        return Err(format!(
            "{} may not retire {}: its requester, its risk owner, security or the CISO can",
            act.actor, e.id
        ));
    }
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
    let due = review::review_due(e, policy)?;
    let limit = time::add_days(due, policy.review.grace_days.into());
    (limit < as_of)
        .then(|| format!("review was due {due}; the {}-day grace period ended {limit}", policy.review.grace_days))
}

/// Why a record's closure does not stand, if it does not: the policy closes
/// a record only as expired, on or after the day it fell due; a person
/// retires or revokes only where they may. (A closure by a rejection or a
/// review is checked with that decision.)
pub fn closure_problem(e: &Exception, policy: &Policy) -> Option<String> {
    let c = e.closed.as_ref()?;
    let day = c.at.date_naive();
    if c.by == routing::POLICY_APPROVER {
        let mut open = e.clone();
        open.status = Status::Approved;
        open.closed = None;
        // Only what was approved expires: a request nobody approved is
        // retired or rejected by a person. (A key revoked since does not
        // undo that it was approved when it expired.)
        let verdicts = routing::verdicts_of(&open, policy)
            .into_iter()
            .map(|(entry, v)| if v.is_key_problem() { (entry, super::signature::Verdict::Valid) } else { (entry, v) })
            .collect();
        if !routing::standing_with(&open, policy, &verdicts).complete() {
            return Some(format!("closed as {} by the policy on {day}, but it was never approved", e.status));
        }
        if e.status == Status::Expired && expiry_due(&open, policy, day).is_some() {
            return None;
        }
        return Some(format!(
            "closed as {} by the policy on {day}, but the policy only closes what is due to expire",
            e.status
        ));
    }
    if !statement::closure_is_own_decision(e) {
        return None;
    }
    let (allowed, who) = match e.status {
        Status::Retired => {
            (routing::can_retire(&c.by, e, policy), "its requester, its risk owner, security or the CISO")
        }
        Status::Revoked => (routing::can_revoke(&c.by, e, policy), "its risk owner, security or the CISO"),
        _ => (true, ""),
    };
    (!allowed).then(|| format!("{} by {} on {day}, who may not: {who} can", e.status, c.by))
}

/// Closes a record that is due to expire, in the policy's name.
fn expire(e: &Exception, policy: &Policy, act: &Act, reason: &str) -> Result<Exception, Refusal> {
    if expiry_due(e, policy, act.at.date_naive()).is_none() {
        return Err(format!("{} is not due to expire on {}", e.id, act.at.date_naive()));
    }
    close(e, act, reason, Status::Expired, &[Status::Approved])
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::testkit::*;

    fn checklist(ok: bool) -> review::Checklist {
        review::Checklist { controls_effective: ok, justification_valid: ok, better_option: false }
    }

    fn extend(expires: Option<&str>) -> Action {
        Action::Recertify {
            answers: checklist(true),
            decision: ReviewDecision::Extend,
            expires: expires.map(day),
            note: None,
        }
    }

    fn reason(r: &str) -> String {
        r.to_string()
    }

    /// Every refusal, with the words that tell the person why.
    #[test]
    fn each_refusal_says_why() {
        let p = policy();
        let medium = requested("other", "2026-01-01", "2026-03-01");
        let mut high = requested("mfa-bypass", "2026-01-01", "2026-03-01");
        let ok = approved();
        let mut floored = p.clone();
        floored.types.get_mut("other").unwrap().min_risk = Some(Risk::Medium);
        let after_sam = act(&high, &p, SAM, "2026-01-02", approving(None));
        let retired = act(&ok, &p, DANA, "2026-01-03", Action::Retire { reason: reason("done") });
        let cases: Vec<(&str, &Exception, &Policy, &str, &str, Action, &str)> = vec![
            ("own request", &medium, &p, ANN, "2026-01-02", approving(None), "a requester never approves"),
            ("no role", &medium, &p, EVE, "2026-01-02", approving(None), "holds none of the roles"),
            (
                "below the floor",
                &medium,
                &floored,
                SAM,
                "2026-01-02",
                approving(Some(Risk::Low)),
                "cannot be assessed as low",
            ),
            (
                "one person, two roles",
                &after_sam,
                &p,
                SAM,
                "2026-01-03",
                approving(None),
                "each role needs a different person",
            ),
            (
                "already approved",
                &ok,
                &p,
                PRIYA,
                "2026-01-03",
                approving(None),
                "only requested exceptions can be approved",
            ),
            (
                "a role the tier does not use",
                &medium,
                &p,
                CAROL,
                "2026-01-02",
                Action::Approve { role: Some("ciso".into()), risk: None, note: None },
                "`ciso` is not one of them",
            ),
            (
                "a role not held",
                &medium,
                &p,
                EVE,
                "2026-01-02",
                Action::Approve { role: Some("security".into()), risk: None, note: None },
                "does not hold the role `security`",
            ),
            (
                "reject own",
                &medium,
                &p,
                ANN,
                "2026-01-02",
                Action::Reject { role: None, reason: reason("no") },
                "retire it to withdraw it",
            ),
            (
                "reject without reason",
                &medium,
                &p,
                SAM,
                "2026-01-02",
                Action::Reject { role: None, reason: reason(" ") },
                "give a reason",
            ),
            (
                "reject approved",
                &ok,
                &p,
                SAM,
                "2026-01-03",
                Action::Reject { role: None, reason: reason("no") },
                "only requested exceptions can be rejected",
            ),
            (
                "reject without role",
                &medium,
                &p,
                EVE,
                "2026-01-02",
                Action::Reject { role: None, reason: reason("no") },
                "holds none of the roles that decide medium",
            ),
            (
                "recertify requested",
                &medium,
                &p,
                SAM,
                "2026-01-02",
                extend(None),
                "only approved exceptions can be recertified",
            ),
            ("recertify own", &ok, &p, ANN, "2026-02-01", extend(None), "someone else must recertify"),
            (
                "recertify without standing",
                &ok,
                &p,
                EVE,
                "2026-02-01",
                extend(None),
                "reviews are done by the risk owner",
            ),
            (
                "extend failed controls",
                &ok,
                &p,
                DANA,
                "2026-02-01",
                Action::Recertify {
                    answers: review::Checklist {
                        controls_effective: false,
                        justification_valid: true,
                        better_option: false,
                    },
                    decision: ReviewDecision::Extend,
                    expires: None,
                    note: None,
                },
                "revoke it instead",
            ),
            (
                "extend a stale justification",
                &ok,
                &p,
                DANA,
                "2026-02-01",
                Action::Recertify {
                    answers: review::Checklist {
                        controls_effective: true,
                        justification_valid: false,
                        better_option: false,
                    },
                    decision: ReviewDecision::Extend,
                    expires: None,
                    note: None,
                },
                "retire it instead",
            ),
            (
                "extend past the cap",
                &ok,
                &p,
                DANA,
                "2026-02-01",
                extend(Some("2026-05-03")),
                "allows at most 90 days from today: until 2026-05-02",
            ),
            ("extend to today", &ok, &p, DANA, "2026-02-01", extend(Some("2026-02-01")), "must be after today"),
            (
                "revoke without standing",
                &ok,
                &p,
                EVE,
                "2026-02-01",
                Action::Revoke { reason: reason("x") },
                "may not revoke",
            ),
            (
                "revoke a request",
                &medium,
                &p,
                SAM,
                "2026-01-02",
                Action::Revoke { reason: reason("x") },
                "only approved exceptions can become revoked",
            ),
            (
                "expire early",
                &ok,
                &p,
                EVE,
                "2026-03-01",
                Action::Expire { reason: reason("x") },
                "not due to expire on 2026-03-01",
            ),
            (
                "retire without standing",
                &ok,
                &p,
                EVE,
                "2026-01-04",
                Action::Retire { reason: reason("x") },
                "may not retire",
            ),
            (
                "retire twice",
                &retired,
                &p,
                DANA,
                "2026-01-04",
                Action::Retire { reason: reason("x") },
                "only approved or requested",
            ),
            (
                "retire without reason",
                &ok,
                &p,
                DANA,
                "2026-01-04",
                Action::Retire { reason: reason("") },
                "give a reason",
            ),
        ];
        for (name, e, p, who, when, action, words) in cases {
            let why = refused(e, p, who, when, action);
            assert!(why.contains(words), "{name}: {why:?} should say {words:?}");
        }
        // The tier's required fields are checked at approval.
        high.attachments.clear();
        let why = refused(&high, &p, SAM, "2026-01-02", approving(None));
        assert!(why.contains("high risk needs attachments before approval"), "{why}");
    }

    #[test]
    fn approval_completes_when_every_role_of_the_tier_approved() {
        let p = policy();
        let high = requested("mfa-bypass", "2026-01-01", "2026-03-01");
        let t = apply(&high, &p, &Act { actor: SAM, at: at("2026-01-02") }, approving(None)).unwrap();
        assert_eq!((t.after.status, t.awaiting.clone()), (Status::Requested, vec!["risk_owner".to_string()]));
        assert_eq!(t.detail.as_deref(), Some("security"));
        let t = apply(&t.after, &p, &Act { actor: DANA, at: at("2026-01-03") }, approving(None)).unwrap();
        assert_eq!((t.after.status, t.awaiting), (Status::Approved, vec![]));
        assert_eq!(t.detail.as_deref(), Some("risk_owner"));
        assert_eq!(t.entry, Entry::Approval(1));
    }

    #[test]
    fn raising_the_tier_adds_roles_and_lowering_it_needs_the_higher_tiers_consent() {
        let p = policy();
        // Raised: medium assessed critical needs the risk owner and the CISO too.
        let raised = act(
            &requested("other", "2026-01-01", "2026-03-01"),
            &p,
            SAM,
            "2026-01-02",
            approving(Some(Risk::Critical)),
        );
        assert_eq!(raised.status, Status::Requested);
        assert_eq!(routing::standing(&raised, &p).missing, vec!["risk_owner".to_string(), "ciso".to_string()]);
        // Lowered: a high type assessed medium by security alone does not stand ...
        let lowered = act(
            &requested("mfa-bypass", "2026-01-01", "2026-03-01"),
            &p,
            SAM,
            "2026-01-02",
            approving(Some(Risk::Medium)),
        );
        assert_eq!(lowered.status, Status::Requested);
        // ... until the risk owner agrees with the lower tier.
        let agreed = act(&lowered, &p, DANA, "2026-01-03", approving(Some(Risk::Medium)));
        assert_eq!(agreed.status, Status::Approved);
        assert_eq!(routing::standing(&agreed, &p).tier, Risk::Medium);
    }

    #[test]
    fn a_rejection_closes_the_request_and_records_who_and_why() {
        let p = policy();
        let e = act(
            &requested("other", "2026-01-01", "2026-03-01"),
            &p,
            SAM,
            "2026-01-02",
            Action::Reject { role: None, reason: reason(" too broad ") },
        );
        assert_eq!(e.status, Status::Rejected);
        let closed = e.closed.unwrap();
        assert_eq!((closed.by.as_str(), closed.reason.as_str()), (SAM, "too broad"));
        assert_eq!(e.approvals[0].decision, Decision::Rejected);
    }

    #[test]
    fn an_extension_defaults_to_the_cap_and_moves_only_the_expiry() {
        let p = policy();
        let ok = approved();
        // The risk owner alone extends only the risk owner's approval: the
        // record is requested again until security approves the new date.
        let alone = act(&ok, &p, DANA, "2026-02-01", extend(None));
        assert_eq!(alone.status, Status::Requested);
        assert_eq!(routing::standing(&alone, &p).missing, vec!["security".to_string()]);
        // Security's extension carries security's approval.
        let e = act(&ok, &p, SAM, "2026-02-01", extend(None));
        assert_eq!(e.expires, day("2026-05-02"));
        assert_eq!(e.reviews[0].expires, Some(day("2026-05-02")));
        assert_eq!(e.status, Status::Approved);
        assert_eq!(
            digest::digest(&e),
            digest::digest(&ok),
            "the review moves the expiry and nothing the approval covers"
        );
        assert_eq!(
            routing::standing(&e, &p).missing,
            Vec::<String>::new(),
            "the approval still stands after the extension"
        );
        assert_eq!(review::extensions(&e), 1);
        assert_eq!(review::lifetime_start(&e), day("2026-02-01"));
        // A review that keeps the date is a review, not an extension.
        let kept = act(&e, &p, DANA, "2026-02-02", extend(Some("2026-05-02")));
        assert_eq!(review::extensions(&kept), 1);
        assert_eq!(kept.reviews[1].decision, ReviewDecision::Keep);
        assert_eq!(kept.status, Status::Approved, "the risk owner alone keeps the date");
    }

    #[test]
    fn recertifying_to_retire_or_revoke_closes_it() {
        let p = policy();
        for (decision, status) in [(ReviewDecision::Retire, Status::Retired), (ReviewDecision::Revoke, Status::Revoked)]
        {
            let e = act(
                &approved(),
                &p,
                DANA,
                "2026-02-01",
                Action::Recertify { answers: checklist(false), decision, expires: None, note: None },
            );
            assert_eq!(e.status, status);
            assert_eq!(e.closed.unwrap().reason, "closed at recertification");
        }
    }

    /// Extend is open only while the controls work and the justification holds.
    #[test]
    fn the_checklist_leaves_open_what_it_allows() {
        use ReviewDecision::{Extend, Keep, Retire, Revoke};
        assert_eq!(review::open_decisions(&checklist(true)), vec![Keep, Extend, Retire, Revoke]);
        for (controls_effective, justification_valid) in [(false, true), (true, false), (false, false)] {
            let answers = review::Checklist { controls_effective, justification_valid, better_option: false };
            assert_eq!(review::open_decisions(&answers), vec![Retire, Revoke], "{answers:?}");
            assert!(review::check_decision(&answers, Extend).unwrap_err().contains("cannot be extended"));
            assert!(review::check_decision(&answers, Keep).unwrap_err().contains("cannot be kept"));
        }
    }

    /// An extension may end on the cap's day and no later, and not today.
    #[test]
    fn extension_boundaries() {
        let p = policy();
        let ok = approved();
        let today = day("2026-02-01");
        let cap = review::extension_cap(&ok, &p, today);
        assert_eq!(review::check_extension(&ok, &p, today, cap), Ok(()));
        let why = review::check_extension(&ok, &p, today, cap.succ_opt().unwrap()).unwrap_err();
        assert!(why.contains(&format!("until {cap}")), "{why}");
        let why = review::check_extension(&ok, &p, today, today).unwrap_err();
        assert!(why.contains("must be after today"), "{why}");
    }

    /// The boundaries of expiry and the review: the last valid day is valid.
    #[test]
    fn expiry_and_review_boundaries() {
        let p = policy();
        let ok = approved(); // approved 2026-01-02, expires 2026-03-01
        assert_eq!(expiry_due(&ok, &p, day("2026-03-01")), None, "valid through its expiry day");
        assert!(expiry_due(&ok, &p, day("2026-03-02")).unwrap().starts_with("expired on 2026-03-01 (1 day ago)"));
        let mut long = ok.clone();
        long.expires = day("2027-01-01");
        // Review due 90 days after approval; the 14-day grace is inclusive.
        assert_eq!(review::review_due(&long, &p), Some(day("2026-04-02")));
        assert_eq!(expiry_due(&long, &p, day("2026-04-16")), None);
        let why = expiry_due(&long, &p, day("2026-04-17")).unwrap();
        assert_eq!(why, "review was due 2026-04-02; the 14-day grace period ended 2026-04-16");
        // A closed record is never due.
        let closed = act(&ok, &p, DANA, "2026-01-03", Action::Retire { reason: reason("done") });
        assert_eq!((expiry_due(&closed, &p, day("2030-01-01")), review::review_due(&closed, &p)), (None, None));
        // Expire works from the first due day, and records who closed it.
        let e = act(&ok, &p, "policy", "2026-03-02", Action::Expire { reason: reason("lapsed") });
        assert_eq!(e.status, Status::Expired);
    }

    #[test]
    fn the_checklist_suggests_a_decision() {
        let c = |controls_effective, justification_valid| review::Checklist {
            controls_effective,
            justification_valid,
            better_option: false,
        };
        assert_eq!(review::suggested_decision(&c(true, true)), ReviewDecision::Keep);
        assert_eq!(review::suggested_decision(&c(false, true)), ReviewDecision::Revoke);
        assert_eq!(review::suggested_decision(&c(true, false)), ReviewDecision::Retire);
        assert_eq!(review::suggested_decision(&c(false, false)), ReviewDecision::Retire);
    }
}
