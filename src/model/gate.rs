//! The CI gate's rules over time: expired, review overdue, expiring or due
//! soon, and requests past their SLA. Each is a warning unless the gate is told
//! to fail on it.

use chrono::{DateTime, NaiveDate, Utc};

use super::finding::{Code, Finding, Severity};
use super::measure;
use super::policy::Policy;
use super::record::{Record, Status, Urgency};
use super::review;
use super::routing;
use super::time;

/// Which time rules fail the gate, and how far ahead to warn.
#[derive(Clone, Copy, Debug, Default)]
pub struct Gate {
    pub fail_on_expired: bool,
    pub fail_on_review_overdue: bool,
    pub fail_on_sla: bool,
    /// Warn about expiries and reviews due within this many days.
    pub warn_within: Option<u32>,
}

/// The time findings for one record on `as_of` (`now` for SLA hours).
pub fn check(r: &Record, policy: &Policy, gate: Gate, as_of: NaiveDate, now: DateTime<Utc>) -> Vec<Finding> {
    let e = &r.exception;
    let mut out = Vec::new();
    let owner = format!("risk owner {}", e.risk_owner);
    // The policy may raise or lower a time rule; a --fail-on-* flag makes it an error.
    let mut add = |code: Code, pointer: &str, fail: bool, msg: String| {
        let base = policy.severity.severity(code, code.default_severity());
        let severity = if fail { Severity::Error } else { base };
        out.push(Finding::new(code, &r.path, pointer, msg).with_id(&e.id).with_severity(severity));
    };
    if !measure::exists(e, now) {
        return out; // not created yet as of then
    }
    if e.status == Status::Approved {
        let left = e.days_to_expiry(as_of);
        if measure::expired(e, as_of) {
            add(
                Code::Expired,
                "/expires",
                gate.fail_on_expired,
                format!(
                    "{} expired on {}, {} over, and is still approved; {owner}",
                    e.id,
                    e.expires,
                    time::days(-left)
                ),
            );
        } else if gate.warn_within.is_some_and(|w| left <= i64::from(w)) {
            add(
                Code::ExpiringSoon,
                "/expires",
                false,
                format!("{} expires on {} (in {}); {owner}", e.id, e.expires, time::days(left)),
            );
        }
        if let Some(due) = review::review_due(e, policy) {
            let until = (due - as_of).num_days();
            if until < 0 && left >= 0 {
                add(
                    Code::ReviewOverdue,
                    "/status",
                    gate.fail_on_review_overdue,
                    format!("{} review was due on {due}, {} over; {owner}", e.id, time::days(-until)),
                );
            } else if until >= 0 && left >= until && gate.warn_within.is_some_and(|w| until <= i64::from(w)) {
                add(
                    Code::ReviewDueSoon,
                    "/status",
                    false,
                    format!("{} review is due on {due} (in {}); {owner}", e.id, time::days(until)),
                );
            }
        }
    }
    if e.status == Status::Requested
        && let Some(w) = measure::wait(r, policy, now)
        && w.pending()
        && w.breached()
    {
        let awaiting = routing::awaiting_of(r, policy);
        add(
            Code::SlaBreach,
            "/created",
            gate.fail_on_sla,
            format!(
                "{} has waited {} for a decision; the {} SLA is {} ({} over); awaiting {}",
                e.id,
                time::waited(w.waited),
                if e.urgency == Urgency::Urgent { "urgent" } else { "standard" },
                time::hours_text(w.sla),
                time::hours_text(w.waited - w.sla),
                if awaiting.is_empty() { "nobody".to_string() } else { awaiting.join(", ") }
            ),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::record::Exception;
    use crate::model::testkit::*;

    fn record(e: Exception) -> Record {
        Record::new("exceptions/EXC-0001.yaml".into(), e.id.clone(), e, "".into())
    }

    fn codes(e: &Exception, gate: Gate, as_of: &str, now: &str) -> Vec<(Code, Severity)> {
        check(&record(e.clone()), &policy(), gate, day(as_of), at(now))
            .into_iter()
            .map(|f| (f.code, f.severity))
            .collect()
    }

    const WARN: Gate =
        Gate { fail_on_expired: false, fail_on_review_overdue: false, fail_on_sla: false, warn_within: Some(7) };

    /// The last valid day is valid; the day after is not.
    #[test]
    fn expiry_boundaries() {
        let e = approved(); // expires 2026-03-01; review due 2026-04-02
        let quiet = Gate::default();
        assert_eq!(codes(&e, quiet, "2026-03-01", "2026-03-01"), vec![]);
        assert_eq!(codes(&e, quiet, "2026-03-02", "2026-03-02"), vec![(Code::Expired, Severity::Warning)]);
        let strict = Gate { fail_on_expired: true, ..quiet };
        assert_eq!(codes(&e, strict, "2026-03-02", "2026-03-02"), vec![(Code::Expired, Severity::Error)]);
        assert_eq!(codes(&e, WARN, "2026-02-21", "2026-02-21"), vec![]);
        assert_eq!(codes(&e, WARN, "2026-02-22", "2026-02-22"), vec![(Code::ExpiringSoon, Severity::Warning)]);
    }

    #[test]
    fn review_boundaries() {
        let mut e = approved(); // approved 2026-01-02: review due 2026-04-02
        e.expires = day("2026-12-01");
        let strict = Gate { fail_on_review_overdue: true, ..Gate::default() };
        assert_eq!(codes(&e, strict, "2026-04-02", "2026-04-02"), vec![]);
        assert_eq!(codes(&e, strict, "2026-04-03", "2026-04-03"), vec![(Code::ReviewOverdue, Severity::Error)]);
        assert_eq!(codes(&e, WARN, "2026-03-25", "2026-03-25"), vec![]);
        assert_eq!(codes(&e, WARN, "2026-03-26", "2026-03-26"), vec![(Code::ReviewDueSoon, Severity::Warning)]);
        // Once expired, the expiry is what matters, not the review.
        e.expires = day("2026-04-01");
        assert_eq!(codes(&e, strict, "2026-04-03", "2026-04-03"), vec![(Code::Expired, Severity::Warning)]);
    }

    /// The SLA counts to the second from the request: exactly at the SLA is on
    /// time, one second later is a breach.
    #[test]
    fn sla_boundaries() {
        let mut e = requested("other", "2026-01-01", "2026-03-01");
        let strict = Gate { fail_on_sla: true, ..Gate::default() };
        assert_eq!(codes(&e, strict, "2026-01-06", "2026-01-06T00:00:00Z"), vec![]);
        assert_eq!(codes(&e, strict, "2026-01-06", "2026-01-06T00:00:01Z"), vec![(Code::SlaBreach, Severity::Error)]);
        let f = check(&record(e.clone()), &policy(), strict, day("2026-01-06"), at("2026-01-06T01:00:00Z"));
        assert!(f[0].message.contains("waited 5 days (121 h)"), "{}", f[0].message);
        assert!(f[0].message.contains("the standard SLA is 120 h (1 h over); awaiting security"), "{}", f[0].message);
        e.urgency = Urgency::Urgent;
        assert_eq!(codes(&e, strict, "2026-01-02", "2026-01-02T00:00:00Z"), vec![]);
        let f = check(&record(e.clone()), &policy(), strict, day("2026-01-02"), at("2026-01-02T00:30:00Z"));
        assert!(
            f[0].message.contains("waited 24.5 h for a decision; the urgent SLA is 24 h (0.5 h over)"),
            "{}",
            f[0].message
        );
        // Not yet created as of then: nothing.
        assert_eq!(codes(&e, strict, "2025-12-31", "2025-12-31T00:00:00Z"), vec![]);
        // Approved records have no SLA.
        assert_eq!(codes(&approved(), strict, "2026-02-01", "2026-02-01"), vec![]);
    }
}
