//! The quantities exc reports, each defined once, as the Definitions table
//! (docs/definitions.md) says: when a record exists, how long a request waited
//! and whether that broke its SLA, how long its approval took, whether an
//! approved record is active, expired, due for review, overdue or past its
//! grace period, and how much of its lifetime has passed. `report`, `remind`,
//! `check`, `list` and the dashboard all ask here.
//!
//! "As of D" has one meaning: the instant 00:00 UTC of D ([`instant`]), at
//! which only the records created by then exist ([`exists`]) and only the
//! decisions made by then were made ([`as_stood`]). Every command that
//! evaluates an `--as-of` date reads the records through [`as_stood`] once,
//! where it loads them, so they all see the same record.
//!
//! Times are exact to the second. Thresholds are compared in whole seconds,
//! days, or exact fractions, never in floating point.

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc};

use super::policy::Policy;
use super::record::{Completion, Decision, Exception, Record, ReviewDecision, Status, Urgency};
use super::routing::{self, POLICY_APPROVER};
use super::{lifecycle, review};

/// What "as of a date" means: 00:00 UTC that day.
pub fn instant(as_of: NaiveDate) -> DateTime<Utc> {
    as_of.and_time(NaiveTime::MIN).and_utc()
}

/// Whether the record existed at `now`: it was created at or before it.
/// Records created later do not exist yet, for every command.
pub fn exists(e: &Exception, now: DateTime<Utc>) -> bool {
    e.created <= now
}

/// Whether a decision made at `made` was made by `now`: at or before it, as
/// a record created at `now` exists ([`exists`]).
pub fn made_by(made: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    made <= now
}

/// Whether any decision on `e` was made after `now`.
pub fn decided_after(e: &Exception, now: DateTime<Utc>) -> bool {
    e.approvals.iter().any(|a| !made_by(a.at, now))
        || e.reviews.iter().any(|v| !made_by(v.at, now))
        || e.closed.as_ref().is_some_and(|c| !made_by(c.at, now))
}

/// The decisions of `e` made after `now`, left out: the record's decisions
/// as they stood at `now`, or `None` when none was made later (then it is
/// as it is). What a decision changed goes back with it: a closure made
/// later reopens the record; an extension made later takes its expiry back
/// to the one the latest earlier decision stated. The status is left to
/// [`as_stood`], which works it out from the routing.
///
/// The decisions kept are the head of the signed chain (it is in time
/// order, and each statement hashes only the one before it), so their
/// signatures verify as they did. The request fields are the file's: an
/// edit is not a decision, and the file does not say what it replaced.
pub fn decisions_by(e: &Exception, now: DateTime<Utc>) -> Option<Exception> {
    if !decided_after(e, now) {
        return None;
    }
    let mut then = e.clone();
    then.approvals.retain(|a| made_by(a.at, now));
    then.reviews.retain(|v| made_by(v.at, now));
    if then.closed.as_ref().is_some_and(|c| !made_by(c.at, now)) {
        then.closed = None;
    }
    let extended_later =
        e.reviews.iter().any(|v| !made_by(v.at, now) && v.decision == ReviewDecision::Extend && v.expires.is_some());
    if extended_later {
        // The expiry the latest decision by then stated; with none, the one
        // the first decision saw (the request's).
        let stated = then
            .approvals
            .iter()
            .map(|a| (a.at, a.expires))
            .chain(
                then.reviews
                    .iter()
                    .filter(|v| v.decision == ReviewDecision::Extend)
                    .filter_map(|v| Some((v.at, v.expires?))),
            )
            .max_by_key(|(at, _)| *at)
            .or_else(|| e.approvals.iter().map(|a| (a.at, a.expires)).min_by_key(|(at, _)| *at));
        if let Some((_, expires)) = stated {
            then.expires = expires;
        }
    }
    Some(then)
}

/// A loaded record as it stood at `now` (see [`decisions_by`]): itself when
/// no decision was made after `now`; else without those decisions, routed
/// again (its remaining signatures checked), and approved only if its
/// routing was complete by then, unless a closure made by then closed it.
pub fn as_stood(r: Record, policy: &Policy, now: DateTime<Utc>) -> Record {
    let Some(mut then) = decisions_by(&r.exception, now) else { return r };
    let route = routing::route_of(&then, policy);
    if then.closed.is_none() {
        then.status =
            if route.awaiting.is_empty() && !then.approvals.is_empty() { Status::Approved } else { Status::Requested };
    }
    let approvals_dropped = then.approvals.len() != r.exception.approvals.len();
    let closure_dropped = then.closed.is_none() && r.exception.closed.is_some();
    let later = r.exception.approvals.len() - then.approvals.len() + r.exception.reviews.len() - then.reviews.len()
        // A closure by a rejection or a review is counted with that decision.
        + usize::from(closure_dropped && super::statement::closure_is_own_decision(&r.exception));
    Record {
        exception: then,
        // Approvals that do not stand now, all made by then, did not stand then either.
        unverified: r.unverified && !approvals_dropped,
        route: Some(route),
        later: r.later + later,
        ..r
    }
}

/// The SLA a request is held to: the urgent or the standard hours.
pub fn sla(e: &Exception, policy: &Policy) -> TimeDelta {
    let hours = if e.urgency == Urgency::Urgent { policy.sla.urgent_hours } else { policy.sla.standard_hours };
    TimeDelta::hours(hours.into())
}

/// How a request's wait for a decision ended, if it has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitEnd {
    /// The approval that first completed its routing.
    Approved(DateTime<Utc>),
    /// A rejection.
    Rejected(DateTime<Utc>),
    /// Closed (withdrawn, revoked, expired) with no decision.
    Closed(DateTime<Utc>),
}

impl WaitEnd {
    pub fn at(self) -> DateTime<Utc> {
        match self {
            WaitEnd::Approved(t) | WaitEnd::Rejected(t) | WaitEnd::Closed(t) => t,
        }
    }
}

/// A request's wait for its first decision, as of an instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wait {
    /// From `created` to the end of the wait, or to the instant while pending.
    pub waited: TimeDelta,
    pub sla: TimeDelta,
    /// How it ended, when it ended by the instant.
    pub end: Option<WaitEnd>,
}

impl Wait {
    /// Still waiting at the instant.
    pub fn pending(&self) -> bool {
        self.end.is_none()
    }

    /// An SLA breach: the wait is strictly longer than the SLA.
    pub fn breached(&self) -> bool {
        self.waited > self.sla
    }
}

/// How the wait for `e`'s first decision ended (ignoring the time asked
/// about): the first of the approval that completed its routing and a
/// rejection; else its closure; else it has not ended.
pub fn wait_end(e: &Exception, completions: &[Completion]) -> Option<WaitEnd> {
    let approved = completions.first().map(|c| c.at);
    let rejected = e.approvals.iter().filter(|a| a.decision == Decision::Rejected).map(|a| a.at).min();
    match (approved, rejected) {
        (Some(a), Some(r)) if r < a => Some(WaitEnd::Rejected(r)),
        (Some(a), _) => Some(WaitEnd::Approved(a)),
        (None, Some(r)) => Some(WaitEnd::Rejected(r)),
        (None, None) => e.closed.as_ref().map(|c| WaitEnd::Closed(c.at)),
    }
}

/// The wait of `r` as of `now`; none if it did not exist yet.
pub fn wait(r: &Record, policy: &Policy, now: DateTime<Utc>) -> Option<Wait> {
    let e = &r.exception;
    if !exists(e, now) {
        return None;
    }
    let end = wait_end(e, &routing::completions_of(r, policy)).filter(|end| end.at() <= now);
    let until = end.map_or(now, WaitEnd::at);
    Some(Wait { waited: (until - e.created).max(TimeDelta::zero()), sla: sla(e, policy), end })
}

/// Approval time: from `created` to the approval that first completed the
/// routing. None for a request never approved (rejected, withdrawn,
/// pending), for one approved automatically by the policy, and for one
/// approved after `now`.
pub fn approval_time(r: &Record, policy: &Policy, now: DateTime<Utc>) -> Option<TimeDelta> {
    let e = &r.exception;
    let Some(WaitEnd::Approved(at)) = wait_end(e, &routing::completions_of(r, policy)) else { return None };
    let automatic = e.approvals.iter().any(|a| a.at == at && a.by == POLICY_APPROVER);
    (at <= now && !automatic).then(|| (at - e.created).max(TimeDelta::zero()))
}

/// Re-approvals: each later time the routing completed again for changed
/// content, by `now`.
pub fn reapprovals(r: &Record, policy: &Policy, now: DateTime<Utc>) -> Vec<Completion> {
    routing::completions_of(r, policy).into_iter().skip(1).filter(|c| c.at <= now).collect()
}

/// Hours, for showing a duration (exact to the second).
pub fn hours(d: TimeDelta) -> f64 {
    d.num_seconds() as f64 / 3600.0
}

/// The median of sorted values: the middle one, or the mean of the two middle ones.
pub fn median(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// The p-th percentile of sorted values by the nearest-rank method: the
/// smallest value with at least p % of the values at or below it.
pub fn percentile(sorted: &[f64], p: u32) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    // rank = ceil(p × n / 100), in integers.
    let rank = (p as usize * sorted.len()).div_ceil(100);
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// Active on `as_of`: approved, and `as_of` is on or before the expiry day.
pub fn active(e: &Exception, as_of: NaiveDate) -> bool {
    e.is_active(as_of)
}

/// Expired but not closed: approved, and `as_of` is after the expiry day.
pub fn expired(e: &Exception, as_of: NaiveDate) -> bool {
    e.status == Status::Approved && e.expires < as_of
}

/// Review overdue: approved, and `as_of` is after the review's due day
/// (`review.interval_days` after the latest review or approval).
pub fn review_overdue(e: &Exception, policy: &Policy, as_of: NaiveDate) -> bool {
    review::review_due(e, policy).is_some_and(|due| due < as_of)
}

/// Overdue: expired, or its review overdue.
pub fn overdue(e: &Exception, policy: &Policy, as_of: NaiveDate) -> bool {
    expired(e, as_of) || review_overdue(e, policy, as_of)
}

/// Past grace: due to be closed by `exc expire` (expired, or its review
/// more than `review.grace_days` overdue).
pub fn past_grace(e: &Exception, policy: &Policy, as_of: NaiveDate) -> bool {
    lifecycle::expiry_due(e, policy, as_of).is_some()
}

/// Open-ended: lasting longer than its type allows from the start of its
/// lifetime (creation, or the latest extension), or of a type with no cap.
pub fn open_ended(e: &Exception, policy: &Policy) -> bool {
    let Some(rule) = policy.types.get(&e.kind) else { return true };
    (e.expires - review::lifetime_start(e)).num_days() > i64::from(rule.max_days)
}

/// Where an approved record stands in its lifetime on `as_of`: days elapsed
/// since its lifetime started, of how many.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lifetime {
    pub elapsed: i64,
    pub length: i64,
}

/// The lifetime of an approved record on `as_of`: from its start (creation,
/// or the latest extension) to its expiry day.
pub fn lifetime(e: &Exception, as_of: NaiveDate) -> Option<Lifetime> {
    if e.status != Status::Approved {
        return None;
    }
    let start = review::lifetime_start(e);
    Some(Lifetime { elapsed: (as_of - start).num_days(), length: (e.expires - start).num_days() })
}

/// Whether `share` (e.g. `review.remind_at_lifetime`, 0.75) of the lifetime
/// has passed: elapsed ≥ share × length, compared exactly (the share is
/// taken to a millionth).
pub fn lifetime_passed(l: Lifetime, share: f64) -> bool {
    let millionths = (share * 1_000_000.0).round() as i64;
    l.length > 0 && i128::from(l.elapsed) * 1_000_000 >= i128::from(l.length) * i128::from(millionths)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::lifecycle::Action;
    use crate::model::testkit::*;

    fn record(e: Exception) -> Record {
        Record::new("exceptions/EXC-0001.yaml".into(), e.id.clone(), e, "".into())
    }

    /// The wait, at each boundary instant of the standard (120 h) and urgent (24 h) SLAs.
    #[test]
    fn the_sla_is_broken_only_strictly_after_it() {
        let p = policy();
        let pending = record(requested("other", "2026-01-01", "2026-03-01"));
        for (now, waited, breached) in [
            ("2026-01-05T23:59:59Z", 119 * 3600 + 3599, false),
            ("2026-01-06T00:00:00Z", 120 * 3600, false),
            ("2026-01-06T00:00:01Z", 120 * 3600 + 1, true),
        ] {
            let w = wait(&pending, &p, at(now)).unwrap();
            assert_eq!((w.waited.num_seconds(), w.breached(), w.pending()), (waited, breached, true), "{now}");
        }
        let mut urgent = requested("other", "2026-01-01T00:00:30Z", "2026-03-01");
        urgent.urgency = Urgency::Urgent;
        let urgent = record(urgent);
        assert!(!wait(&urgent, &p, at("2026-01-02T00:00:30Z")).unwrap().breached());
        assert!(wait(&urgent, &p, at("2026-01-02T00:00:31Z")).unwrap().breached());
        // Before it was created, it does not exist.
        assert_eq!(wait(&urgent, &p, at("2026-01-01T00:00:29Z")), None);
    }

    #[test]
    fn the_wait_ends_at_the_first_decision_or_the_closure() {
        let p = policy();
        let approved = record(approved()); // created 01-01, approved 01-02
        let w = wait(&approved, &p, at("2026-02-01")).unwrap();
        assert_eq!((w.waited, w.end), (TimeDelta::days(1), Some(WaitEnd::Approved(at("2026-01-02")))));
        // Asked about before the approval, it was still pending.
        let w = wait(&approved, &p, at("2026-01-01T12:00:00Z")).unwrap();
        assert_eq!((w.waited, w.pending()), (TimeDelta::hours(12), true));
        // A rejection is a decision.
        let req = requested("other", "2026-01-01", "2026-03-01");
        let rejected =
            record(act(&req, &p, SAM, "2026-01-09", Action::Reject { role: None, reason: "too broad".into() }));
        assert_eq!(wait(&rejected, &p, at("2026-02-01")).unwrap().end, Some(WaitEnd::Rejected(at("2026-01-09"))));
        // Withdrawn after a partial approval: it waited until it was withdrawn, and has no approval time.
        let high = requested("mfa-bypass", "2026-02-01", "2026-04-01");
        let partial = act(&high, &p, SAM, "2026-02-09", approving(None));
        let withdrawn = record(act(&partial, &p, ANN, "2026-02-10", Action::Retire { reason: "not needed".into() }));
        let w = wait(&withdrawn, &p, at("2026-03-01")).unwrap();
        assert_eq!((w.waited, w.end), (TimeDelta::days(9), Some(WaitEnd::Closed(at("2026-02-10")))));
        assert_eq!(approval_time(&withdrawn, &p, at("2026-03-01")), None);
    }

    #[test]
    fn approval_time_is_the_first_completion_and_reapprovals_are_counted_apart() {
        let p = policy();
        let first = approved(); // created 01-01, approved by Sam 01-02
        let mut edited = first.clone();
        edited.justification = "a better one".into();
        edited.status = crate::model::record::Status::Requested;
        let again = record(act(&edited, &p, PRIYA, "2026-01-20", approving(None)));
        assert_eq!(approval_time(&again, &p, at("2026-02-01")), Some(TimeDelta::days(1)));
        let times = |now: &str| reapprovals(&again, &p, at(now)).into_iter().map(|c| c.at).collect::<Vec<_>>();
        assert_eq!(times("2026-02-01"), vec![at("2026-01-20")]);
        assert!(times("2026-01-19").is_empty());
        // Exact to the second.
        let mut e = approved();
        e.created = at("2026-01-01T23:00:30Z");
        e.approvals[0].at = at("2026-01-02T00:00:00Z");
        let secs = approval_time(&record(e), &p, at("2026-02-01")).unwrap().num_seconds();
        assert_eq!(secs, 3570);
        assert!((hours(TimeDelta::seconds(secs)) - 0.991_666).abs() < 1e-5);
        // An automatic approval is not a decision anyone took.
        let mut auto = approved();
        auto.approvals[0].by = POLICY_APPROVER.into();
        assert_eq!(approval_time(&record(auto), &p, at("2026-02-01")), None);
    }

    #[test]
    fn medians_and_percentiles() {
        assert_eq!(median(&[24.0, 48.0]), Some(36.0));
        assert_eq!(median(&[1.0, 2.0, 9.0]), Some(2.0));
        assert_eq!(median(&[]), None);
        let ten: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile(&ten, 90), Some(9.0));
        assert_eq!(percentile(&ten, 91), Some(10.0));
        assert_eq!(percentile(&[4.0], 90), Some(4.0));
        assert_eq!(percentile(&[], 90), None);
    }

    /// The expiry day is active; a review is due on day 90 and overdue on day
    /// 91; the grace period runs 14 days after the due day, inclusive.
    #[test]
    fn expiry_review_and_grace_boundaries() {
        let p = policy();
        let mut e = approved(); // approved 2026-01-02
        e.expires = day("2026-12-31");
        let due = day("2026-04-02"); // 2026-01-02 + 90 days
        assert!(!review_overdue(&e, &p, due) && review_overdue(&e, &p, day("2026-04-03")));
        assert!(!past_grace(&e, &p, day("2026-04-16")) && past_grace(&e, &p, day("2026-04-17")));
        e.expires = day("2026-03-01");
        assert!(active(&e, day("2026-03-01")) && !expired(&e, day("2026-03-01")));
        assert!(!active(&e, day("2026-03-02")) && expired(&e, day("2026-03-02")));
        assert!(overdue(&e, &p, day("2026-03-02")));
    }

    fn extend(expires: &str) -> Action {
        let answers = review::Checklist { controls_effective: true, justification_valid: true, better_option: false };
        Action::Recertify { answers, decision: ReviewDecision::Extend, expires: Some(day(expires)), note: None }
    }

    /// As of an instant, the decisions made after it are left out, and what
    /// they changed goes back: the status, the closure, an extended expiry.
    #[test]
    fn a_record_as_it_stood_has_only_the_decisions_made_by_then() {
        let p = policy();
        let e = approved(); // created 01-01, approved by Sam 01-02, expires 03-01
        let extended = act(&e, &p, PRIYA, "2026-02-20", extend("2026-05-01"));
        let retired = act(&extended, &p, DANA, "2026-04-01", Action::Retire { reason: "fixed".into() });
        let stood = |when: &str| as_stood(record(retired.clone()), &p, at(when));

        // Before the approval: requested, nothing decided, the request's expiry.
        let before = stood("2026-01-01T12:00:00Z");
        assert_eq!(before.exception.status, Status::Requested);
        assert!(before.exception.approvals.is_empty() && before.exception.reviews.is_empty());
        assert_eq!((before.exception.expires, before.exception.closed.as_ref()), (day("2026-03-01"), None));
        assert_eq!(before.route.as_ref().unwrap().awaiting, ["security"]);
        assert_eq!(approval_time(&before, &p, at("2026-01-01T12:00:00Z")), None);
        assert!(wait(&before, &p, at("2026-01-01T12:00:00Z")).unwrap().pending());

        // Approved, not yet extended: active until the first expiry.
        let approved_then = stood("2026-02-01");
        assert_eq!(approved_then.exception.status, Status::Approved);
        assert_eq!((approved_then.exception.approvals.len(), approved_then.exception.reviews.len()), (1, 0));
        assert_eq!(approved_then.exception.expires, day("2026-03-01"));
        assert!(active(&approved_then.exception, day("2026-02-01")));

        // Extended, not yet retired.
        let extended_then = stood("2026-03-15");
        assert_eq!(
            (extended_then.exception.status, extended_then.exception.expires),
            (Status::Approved, day("2026-05-01"))
        );
        assert_eq!(extended_then.exception, extended);

        // A decision made at the instant itself was made by then (as a record created then exists).
        assert_eq!(stood("2026-01-02").exception.status, Status::Approved);
        // After the last decision, the record is itself.
        assert_eq!(stood("2026-06-01").exception, retired);
        assert!(decisions_by(&retired, at("2026-04-01")).is_none());
    }

    /// A rejection made later leaves the request pending; approvals by some
    /// roles only leave it awaiting the others.
    #[test]
    fn a_later_rejection_or_a_missing_role_leaves_it_requested() {
        let p = policy();
        let req = requested("other", "2026-01-01", "2026-03-01");
        let rejected = act(&req, &p, SAM, "2026-01-09", Action::Reject { role: None, reason: "no".into() });
        let then = as_stood(record(rejected), &p, at("2026-01-05"));
        assert_eq!((then.exception.status, then.exception.closed.as_ref()), (Status::Requested, None));
        let high = requested("mfa-bypass", "2026-01-01", "2026-03-01");
        let one = act(&high, &p, SAM, "2026-01-02", approving(None));
        let both = act(&one, &p, DANA, "2026-01-05", approving(None));
        assert_eq!(both.status, Status::Approved);
        let then = as_stood(record(both), &p, at("2026-01-03"));
        assert_eq!(then.exception.status, Status::Requested);
        assert_eq!(then.route.unwrap().awaiting, ["risk_owner"]);
    }

    /// The share is compared exactly: 0.55 × 100 days is day 55, not 56.
    #[test]
    fn lifetime_share_at_exactly_the_threshold() {
        for (share, length, on) in [(0.55, 100, 55), (0.75, 100, 75), (0.9, 100, 90), (0.75, 59, 45), (0.9, 30, 27)] {
            let before = Lifetime { elapsed: on - 1, length };
            let at_it = Lifetime { elapsed: on, length };
            assert!(!lifetime_passed(before, share), "{share} of {length}: not on day {}", on - 1);
            assert!(lifetime_passed(at_it, share), "{share} of {length}: on day {on}");
        }
        assert!(!lifetime_passed(Lifetime { elapsed: 5, length: 0 }, 0.75));
    }
}
