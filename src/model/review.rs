//! Recertification's rules: the checklist and the decisions its answers
//! leave open, how far an extension may move the expiry, when the next
//! review is due, and when an exception extended again and again is
//! chronic. Pure; `lifecycle` applies a review to a record.

use chrono::NaiveDate;

use super::policy::Policy;
use super::record::{Decision, Exception, Review, ReviewDecision, Status};
use super::time;

/// The recertification checklist's answers.
#[derive(Clone, Debug)]
pub struct Checklist {
    pub controls_effective: bool,
    pub justification_valid: bool,
    pub better_option: bool,
}

/// The decision the checklist's answers point to: retire when the
/// justification no longer holds, revoke when the controls failed, else keep
/// the date (a review; moving the date is a decision of its own).
pub fn suggested_decision(answers: &Checklist) -> ReviewDecision {
    if !answers.justification_valid {
        ReviewDecision::Retire
    } else if !answers.controls_effective {
        ReviewDecision::Revoke
    } else {
        ReviewDecision::Keep
    }
}

/// The decisions the checklist's answers leave open: keeping the date or
/// extending only while the controls are effective and the justification
/// holds; retiring and revoking always.
pub fn open_decisions(answers: &Checklist) -> Vec<ReviewDecision> {
    [ReviewDecision::Keep, ReviewDecision::Extend, ReviewDecision::Retire, ReviewDecision::Revoke]
        .into_iter()
        .filter(|d| check_decision(answers, *d).is_ok())
        .collect()
}

/// Whether the checklist's answers allow `decision`, and if not, why.
pub fn check_decision(answers: &Checklist, decision: ReviewDecision) -> Result<(), String> {
    let word = match decision {
        ReviewDecision::Extend => "extended",
        ReviewDecision::Keep => "kept",
        _ => return Ok(()),
    };
    if !answers.controls_effective {
        return Err(format!("the compensating controls are not effective, so it cannot be {word}; revoke it instead"));
    }
    if !answers.justification_valid {
        return Err(format!("the justification no longer holds, so it cannot be {word}; retire it instead"));
    }
    Ok(())
}

/// The latest expiry an extension made on `today` may set: the type's cap from today.
pub fn extension_cap(e: &Exception, policy: &Policy, today: NaiveDate) -> NaiveDate {
    let max_days = policy.types.get(&e.kind).map(|t| t.max_days).unwrap_or(90);
    time::add_days(today, max_days.into())
}

/// Whether an extension made on `today` may set the expiry to `new`, and if
/// not, why: after today, and within the type's cap from today.
pub fn check_extension(e: &Exception, policy: &Policy, today: NaiveDate, new: NaiveDate) -> Result<(), String> {
    let cap = extension_cap(e, policy, today);
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
    Ok(())
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
