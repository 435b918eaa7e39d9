//! Events: what happened to a record, or fell due, that someone should hear
//! of. Each has a stable key (record, kind, and the date or decision it is
//! about), so `exc notify` delivers it once however often it runs.
//!
//! [`events`] works out, from a record and the policy alone, every event
//! that has fallen due by an instant: announcements (filed, decided,
//! closed, chronic) stay due for ever, and the delivery log says which went
//! out; calls to act (changed, SLA at risk or breached, expiry near, 75 % of
//! the lifetime, review due or overdue) are due only while the action they
//! ask for is still open. So a night the job did not run is caught up the
//! next night, and nothing asks for an action that is already done.
//!
//! The arithmetic is `measure`'s and `lifecycle`'s, as for `exc remind`.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use serde::Serialize;

use super::digest;
use super::identity::email_of;
use super::measure;
use super::policy::Policy;
use super::record::{Decision, Exception, Record, ReviewDecision, Risk, Status};
use super::review;
use super::routing;
use super::time;

pub use super::event_kind::Kind;

/// One event about one record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Event {
    /// The record's id.
    pub id: String,
    pub kind: Kind,
    /// The date, instant or decision the event is about (with `id` and
    /// `kind`, its stable key).
    pub about: String,
    /// When it fell due.
    pub at: DateTime<Utc>,
    /// For a decision, `approved`, `rejected` or `extended`; for a closure,
    /// `expired`, `revoked` or `retired`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// What it means, in words, as of the run.
    pub message: String,
}

impl Event {
    /// The stable key: `EXC-0001/expiry-near/2026-03-01`.
    pub fn key(&self) -> String {
        format!("{}/{}/{}", self.id, self.kind, self.about)
    }
}

/// An instant as a key part: RFC 3339 to the second.
fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Every event about `r` that has fallen due by `now`, in time order.
pub fn events(r: &Record, policy: &Policy, now: DateTime<Utc>) -> Vec<Event> {
    let e = &r.exception;
    if !measure::exists(e, now) {
        return Vec::new();
    }
    let as_of = now.date_naive();
    let lead = i64::from(policy.review.remind_before_days);
    let mut out = Vec::new();
    let mut push = |kind: Kind, about: String, at: DateTime<Utc>, outcome: Option<&str>, message: String| {
        out.push(Event { id: e.id.clone(), kind, about, at, outcome: outcome.map(str::to_string), message })
    };

    let awaiting = routing::awaiting_of(r, policy);
    let filed = if awaiting.is_empty() {
        format!("filed by {}", e.requester)
    } else {
        format!("filed by {}; awaiting approval by {}", e.requester, awaiting.join(", "))
    };
    push(Kind::Filed, stamp(e.created), e.created, None, filed);

    let completions = routing::completions_of(r, policy);
    for (i, c) in completions.iter().enumerate().filter(|(_, c)| c.at <= now) {
        let message = if i == 0 { "approved".to_string() } else { "approved again after a change".to_string() };
        push(Kind::Decided, format!("approved/{}", stamp(c.at)), c.at, Some("approved"), message);
    }
    for a in e.approvals.iter().filter(|a| a.decision == Decision::Rejected && a.at <= now) {
        let why = a.note.as_deref().map(|n| format!(": {n}")).unwrap_or_default();
        let message = format!("rejected by {} as {}{why}", a.by, a.role);
        push(Kind::Decided, format!("rejected/{}", stamp(a.at)), a.at, Some("rejected"), message);
    }
    for v in e.reviews.iter().filter(|v| v.decision == ReviewDecision::Extend && v.at <= now) {
        if let Some(until) = v.expires {
            let message = format!("recertified by {}: extended until {until}", v.by);
            push(Kind::Decided, format!("extended/{}", stamp(v.at)), v.at, Some("extended"), message);
        }
    }

    match e.status {
        Status::Requested => {
            if let Some(w) = measure::wait(r, policy, now) {
                let deadline = e.created + w.sla;
                if !w.pending() {
                    let last = e.approvals.iter().map(|a| a.at).max().unwrap_or(e.created);
                    let message = "changed after it was approved: it needs approving again".to_string();
                    push(Kind::Changed, short_digest(e), last, None, message);
                } else if w.breached() {
                    let message = format!(
                        "awaiting a decision for {}: {} over the {} SLA",
                        time::duration_text(w.waited),
                        time::duration_text(w.waited - w.sla),
                        time::sla_text(w.sla)
                    );
                    push(Kind::SlaBreached, stamp(deadline), deadline + TimeDelta::seconds(1), None, message);
                } else {
                    let at_risk = e.created + w.sla * 3 / 4;
                    if now >= at_risk {
                        let message = format!(
                            "awaiting a decision for {}: {} left of the {} SLA",
                            time::duration_text(w.waited),
                            time::duration_text(w.sla - w.waited),
                            time::sla_text(w.sla)
                        );
                        push(Kind::SlaAtRisk, stamp(deadline), at_risk, None, message);
                    }
                }
            }
        }
        Status::Approved if e.expires >= as_of => {
            let near = time::add_days(e.expires, -lead);
            if as_of >= near {
                let left = e.days_to_expiry(as_of);
                let message = format!(
                    "expires on {} (in {}): renew with `exc recertify {}` or let it close",
                    e.expires,
                    time::days(left),
                    e.id
                );
                push(Kind::ExpiryNear, e.expires.to_string(), measure::instant(near).max(e.created), None, message);
            }
            if let Some(day) = lifetime_day(e, policy).filter(|d| *d <= as_of && *d < near)
                && let Some(l) = measure::lifetime(e, as_of)
            {
                let pct = (policy.review.remind_at_lifetime * 100.0).round();
                let message = format!(
                    "{pct}% of its lifetime has passed (day {} of {}); plan the fix before {}",
                    l.elapsed, l.length, e.expires
                );
                push(Kind::Lifetime, day.to_string(), measure::instant(day), None, message);
            }
            if let Some(due) = review::review_due(e, policy).filter(|d| *d < e.expires) {
                if as_of > due {
                    let message = format!(
                        "review overdue since {due} ({}): run `exc recertify {}`",
                        time::days((as_of - due).num_days()),
                        e.id
                    );
                    push(Kind::ReviewOverdue, due.to_string(), measure::instant(time::add_days(due, 1)), None, message);
                } else if as_of >= time::add_days(due, -lead) {
                    let message = format!("review due on {due} (in {})", time::days((due - as_of).num_days()));
                    let at = measure::instant(time::add_days(due, -lead)).max(e.created);
                    push(Kind::ReviewDue, due.to_string(), at, None, message);
                }
            }
            if review::is_chronic(e, policy) {
                let n = review::extensions(e);
                let at = e.reviews.iter().filter(|v| v.decision == ReviewDecision::Extend).map(|v| v.at).max();
                let message = format!("extended {n} times: chronic; escalate to engineering for a permanent fix");
                push(Kind::Chronic, format!("extended-{n}"), at.unwrap_or(e.created), None, message);
            }
        }
        Status::Expired | Status::Revoked | Status::Retired => {
            if let Some(c) = e.closed.as_ref().filter(|c| c.at <= now) {
                let message = format!("closed as {}: {}", e.status, c.reason);
                let outcome = e.status.as_str();
                push(Kind::Closed, format!("{outcome}/{}", stamp(c.at)), c.at, Some(outcome), message);
            }
        }
        _ => {}
    }
    out.sort_by_key(|e| (e.at, e.kind));
    out
}

/// The first day on which `review.remind_at_lifetime` of the current
/// lifetime has passed (as `measure::lifetime_passed` counts it).
pub fn lifetime_day(e: &Exception, policy: &Policy) -> Option<NaiveDate> {
    let start = review::lifetime_start(e);
    let length = (e.expires - start).num_days();
    if length <= 0 {
        return None;
    }
    let share = policy.review.remind_at_lifetime;
    let passed = |elapsed: i64| measure::lifetime_passed(measure::Lifetime { elapsed, length }, share);
    // The exact threshold is share × length; step to the first whole day at or past it.
    let mut elapsed = ((share * length as f64).floor() as i64).clamp(0, length);
    while elapsed > 0 && passed(elapsed - 1) {
        elapsed -= 1;
    }
    while elapsed <= length && !passed(elapsed) {
        elapsed += 1;
    }
    (elapsed <= length).then(|| time::add_days(start, elapsed))
}

fn short_digest(e: &Exception) -> String {
    let d = digest::digest(e);
    let hex = d.strip_prefix("sha256:").unwrap_or(&d);
    format!("sha256-{}", &hex[..hex.len().min(16)])
}

/// What a message says about the record an event concerns, besides the event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Facts {
    pub id: String,
    pub title: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub status: Status,
    /// The risk tier it is routed by.
    pub risk: Risk,
    pub requester: String,
    pub risk_owner: String,
    pub expires: NaiveDate,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tickets: Vec<String>,
    /// The file, relative to the repository.
    pub path: String,
    /// The link to the record (from `notify.links.record`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

/// The facts of `r`, with its file at `path` (relative to the repository).
pub fn facts(r: &Record, policy: &Policy, path: &str) -> Facts {
    let e = &r.exception;
    let link = policy.notify.as_ref().and_then(|n| n.links.record(&e.id, path));
    Facts {
        id: e.id.clone(),
        title: e.title.clone(),
        kind: e.kind.clone(),
        status: e.status,
        risk: routing::tier_of(r, policy),
        requester: e.requester.clone(),
        risk_owner: e.risk_owner.clone(),
        expires: e.expires,
        tickets: e.tickets.clone(),
        path: path.to_string(),
        link,
    }
}

/// A person who hears of an event: their address, and the name to greet them by.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Person {
    /// The address, lower-cased.
    pub email: String,
    /// `Name <email>` as written, or the address.
    pub name: String,
}

impl Person {
    pub fn new(written: &str) -> Person {
        Person { email: email_of(written).to_ascii_lowercase(), name: written.trim().to_string() }
    }
}

/// The people `to` (recipient words, roles, addresses) names for an event
/// about `r`, without repeats, in order.
pub fn people(to: &[String], r: &Record, policy: &Policy, escalation: &[String]) -> Vec<Person> {
    let e = &r.exception;
    let mut out: Vec<Person> = Vec::new();
    let mut add = |written: &str| {
        let p = Person::new(written);
        if p.email.contains('@') && !out.iter().any(|o| o.email == p.email) {
            out.push(p);
        }
    };
    let role = |name: &str, add: &mut dyn FnMut(&str)| {
        if name == super::policy::RISK_OWNER {
            add(&e.risk_owner);
        } else {
            for p in policy.roles.get(name).into_iter().flatten() {
                add(p);
            }
        }
    };
    for word in to {
        match word.as_str() {
            super::notify::REQUESTER => add(&e.requester),
            super::notify::RISK_OWNER_TO => add(&e.risk_owner),
            super::notify::APPROVERS => {
                for r in routing::awaiting_of(r, policy) {
                    role(&r, &mut add);
                }
            }
            super::notify::ESCALATION => {
                for x in escalation {
                    if x.contains('@') { add(x) } else { role(x, &mut add) }
                }
            }
            x if x.contains('@') => add(x),
            x => role(x, &mut add),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::lifecycle::Action;
    use crate::model::testkit::*;
    use review::Checklist;

    fn record(e: Exception) -> Record {
        Record::new("exceptions/x.yaml".into(), e.id.clone(), e, "".into())
    }

    fn kinds(e: &Exception, now: &str) -> Vec<(Kind, String)> {
        events(&record(e.clone()), &policy(), at(now)).into_iter().map(|v| (v.kind, v.about)).collect()
    }

    #[test]
    fn an_approved_record_announces_its_filing_and_approval_once_each() {
        let e = approved(); // created 2026-01-01, approved 2026-01-02, expires 2026-03-01
        assert_eq!(
            kinds(&e, "2026-01-10"),
            [
                (Kind::Filed, "2026-01-01T00:00:00Z".to_string()),
                (Kind::Decided, "approved/2026-01-02T00:00:00Z".to_string())
            ]
        );
        assert_eq!(kinds(&e, "2025-12-31"), []);
    }

    #[test]
    fn expiry_near_has_one_key_for_the_whole_lead_time() {
        let e = approved();
        let near = |d: &str| kinds(&e, d).into_iter().filter(|(k, _)| *k == Kind::ExpiryNear).collect::<Vec<_>>();
        assert_eq!(near("2026-02-14"), []);
        assert_eq!(near("2026-02-15"), [(Kind::ExpiryNear, "2026-03-01".to_string())]);
        assert_eq!(near("2026-03-01"), [(Kind::ExpiryNear, "2026-03-01".to_string())]);
        assert_eq!(near("2026-03-02"), [], "expired: for `exc expire`, and then a closure");
    }

    /// A 60-day record: 75 % falls on day 45, the expiry lead time starts on
    /// day 46. The 75 % event stays due on day 46, so a missed night loses nothing.
    #[test]
    fn the_lifetime_event_outlives_its_day() {
        let mut e = approved();
        e.expires = day("2026-03-02"); // created 2026-01-01: 60 days
        assert_eq!(lifetime_day(&e, &policy()), Some(day("2026-02-15")));
        let life = |d: &str| kinds(&e, d).into_iter().filter(|(k, _)| *k == Kind::Lifetime).count();
        assert_eq!((life("2026-02-14"), life("2026-02-15"), life("2026-02-16"), life("2026-03-02")), (0, 1, 1, 1));
        // A 30-day record reaches 75 % inside the expiry lead time: the expiry reminder covers it.
        e.expires = day("2026-01-31");
        assert_eq!(kinds(&e, "2026-01-25").iter().filter(|(k, _)| *k == Kind::Lifetime).count(), 0);
    }

    #[test]
    fn sla_events_while_pending_and_the_breach_supersedes_the_warning() {
        let e = requested("other", "2026-01-01", "2026-03-01"); // 120 h SLA
        let sla = |now: &str| {
            kinds(&e, now)
                .into_iter()
                .filter(|(k, _)| matches!(k, Kind::SlaAtRisk | Kind::SlaBreached))
                .collect::<Vec<_>>()
        };
        // Three quarters of 120 h: 90 h after filing.
        assert_eq!(sla("2026-01-04T17:59:59Z"), []);
        assert_eq!(sla("2026-01-04T18:00:00Z"), [(Kind::SlaAtRisk, "2026-01-06T00:00:00Z".to_string())]);
        assert_eq!(sla("2026-01-06T00:00:00Z"), [(Kind::SlaAtRisk, "2026-01-06T00:00:00Z".to_string())]);
        assert_eq!(sla("2026-01-07"), [(Kind::SlaBreached, "2026-01-06T00:00:00Z".to_string())]);
        let p = policy();
        let decided = act(&e, &p, SAM, "2026-01-08", approving(None));
        let after = events(&record(decided), &p, at("2026-01-09"));
        assert!(after.iter().all(|v| !matches!(v.kind, Kind::SlaAtRisk | Kind::SlaBreached)), "{after:?}");
    }

    #[test]
    fn decisions_closures_and_chronic_records() {
        let p = policy();
        let req = requested("other", "2026-01-01", "2026-03-01");
        let rejected = act(&req, &p, SAM, "2026-01-03", Action::Reject { role: None, reason: "too broad".into() });
        let ev = events(&record(rejected), &p, at("2026-01-04"));
        assert_eq!(ev.last().unwrap().key(), "EXC-0001/decided/rejected/2026-01-03T00:00:00Z");
        assert_eq!(ev.last().unwrap().message, "rejected by Sam Okafor <sam@example.com> as security: too broad");
        let revoked = act(&approved(), &p, SAM, "2026-01-20", Action::Revoke { reason: "abused".into() });
        let ev = events(&record(revoked), &p, at("2026-01-21"));
        assert_eq!(ev.last().unwrap().key(), "EXC-0001/closed/revoked/2026-01-20T00:00:00Z");
        let extend = |e: &Exception, when: &str, until: &str| {
            let answers = Checklist { controls_effective: true, justification_valid: true, better_option: false };
            let decision = ReviewDecision::Extend;
            act(e, &p, SAM, when, Action::Recertify { answers, decision, expires: Some(day(until)), note: None })
        };
        let once = extend(&approved(), "2026-02-01", "2026-04-01");
        let thrice = extend(&extend(&once, "2026-03-01", "2026-05-01"), "2026-04-01", "2026-06-01");
        let keys: Vec<String> = events(&record(thrice), &p, at("2026-04-02")).iter().map(Event::key).collect();
        assert!(keys.contains(&"EXC-0001/chronic/extended-3".to_string()), "{keys:?}");
        assert!(keys.contains(&"EXC-0001/decided/extended/2026-04-01T00:00:00Z".to_string()), "{keys:?}");
    }

    #[test]
    fn people_resolve_words_roles_and_addresses_once_each() {
        let p = policy();
        let r = record(requested("other", "2026-01-01", "2026-03-01"));
        let to: Vec<String> =
            ["approvers", "requester", "risk_owner", "sam@example.com", "ciso"].map(String::from).into();
        let got: Vec<String> = people(&to, &r, &p, &[]).into_iter().map(|x| x.email).collect();
        assert_eq!(
            got,
            ["sam@example.com", "priya@example.com", "ann@example.com", "dana@example.com", "carol@example.com"]
        );
        let esc = people(&["escalation".into()], &r, &p, &["security".into(), "Eng <eng@example.com>".into()]);
        assert_eq!(esc.len(), 3);
    }
}
