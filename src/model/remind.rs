//! Reminders: what needs someone's action now, grouped by the person (risk
//! owner) or role (approvers) who must act.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::identity::email_of;
use super::measure;
use super::policy::{Policy, RISK_OWNER};
use super::record::{Exception, Record, Status};
use super::review;
use super::routing;
use super::time;

/// Why a reminder goes out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    Expiry,
    Review,
    Lifetime,
    PendingApproval,
    Chronic,
}

/// One thing to act on.
#[derive(Clone, Debug, Serialize)]
pub struct Item {
    /// Its registry, in a fleet (the record is shown as `registry:id`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registry: Option<String>,
    pub id: String,
    pub title: String,
    pub reason: Reason,
    /// The date it concerns (expiry, review due, request filed).
    pub date: NaiveDate,
    /// Days until `date` (negative: days since).
    pub days: i64,
    pub message: String,
    /// The risk tier the record is routed by.
    pub risk: super::record::Risk,
    pub requester: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tickets: Vec<String>,
    /// The link to the record (`notify.links.record` in exc.yaml).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

/// Everything one person or role must act on.
#[derive(Clone, Debug, Serialize)]
pub struct Group {
    /// `Name <email>` for a risk owner, the role name for approvers.
    pub to: String,
    /// `risk_owner` or `role`.
    #[serde(rename = "as")]
    pub kind: &'static str,
    /// Where to send it.
    pub emails: Vec<String>,
    /// In a fleet, the registry whose policy names a role's holders.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registry: Option<String>,
    pub items: Vec<Item>,
}

/// The reminders due on `as_of` with a lead time of `within` days.
pub fn reminders(records: &[Record], policy: &Policy, within: i64, as_of: NaiveDate, now: DateTime<Utc>) -> Vec<Group> {
    reminders_in(records, policy, within, as_of, now, "")
}

/// [`reminders`] for a registry at `prefix` in its repository (`security/`),
/// which the links to records need.
pub fn reminders_in(
    records: &[Record],
    policy: &Policy,
    within: i64,
    as_of: NaiveDate,
    now: DateTime<Utc>,
    prefix: &str,
) -> Vec<Group> {
    let mut groups: BTreeMap<(String, &'static str), Group> = BTreeMap::new();
    let mut to_owner = |e: &Exception, item: Item| {
        let email = email_of(&e.risk_owner).to_ascii_lowercase();
        groups
            .entry((email.clone(), "risk_owner"))
            .or_insert_with(|| Group {
                to: e.risk_owner.clone(),
                kind: "risk_owner",
                emails: vec![email],
                registry: None,
                items: Vec::new(),
            })
            .items
            .push(item);
    };
    let mut role_items: Vec<(String, Item)> = Vec::new();
    for r in records {
        let e = &r.exception;
        if !measure::exists(e, now) {
            continue; // not created yet as of then
        }
        let link = policy.notify.as_ref().and_then(|n| n.links.record(&e.id, &format!("{prefix}{}", r.path)));
        let risk = routing::tier_of(r, policy);
        let item = |reason, date: NaiveDate, message: String| Item {
            registry: None,
            id: e.id.clone(),
            title: e.title.clone(),
            reason,
            date,
            days: (date - as_of).num_days(),
            message,
            risk,
            requester: e.requester.clone(),
            tickets: e.tickets.clone(),
            link: link.clone(),
        };
        match e.status {
            Status::Approved if e.expires >= as_of => {
                let left = e.days_to_expiry(as_of);
                let mut expiry_soon = false;
                if left <= within {
                    expiry_soon = true;
                    to_owner(
                        e,
                        item(
                            Reason::Expiry,
                            e.expires,
                            format!(
                                "expires on {} (in {}): renew with `exc recertify {}` or let it close",
                                e.expires,
                                time::days(left),
                                e.id
                            ),
                        ),
                    );
                }
                // A review due the day it expires is the same recertification: one reminder.
                let review =
                    review::review_due(e, policy).filter(|d| *d < e.expires || (*d == e.expires && !expiry_soon));
                if let Some(due) = review {
                    let until = (due - as_of).num_days();
                    if until < 0 {
                        to_owner(
                            e,
                            item(
                                Reason::Review,
                                due,
                                format!(
                                    "review overdue since {due} ({}): run `exc recertify {}`",
                                    time::days(-until),
                                    e.id
                                ),
                            ),
                        );
                    } else if until <= within {
                        to_owner(
                            e,
                            item(Reason::Review, due, format!("review due on {due} (in {})", time::days(until))),
                        );
                    }
                }
                if !expiry_soon
                    && let Some(l) = measure::lifetime(e, as_of)
                    && measure::lifetime_passed(l, policy.review.remind_at_lifetime)
                {
                    let pct = (policy.review.remind_at_lifetime * 100.0).round();
                    to_owner(
                        e,
                        item(
                            Reason::Lifetime,
                            e.expires,
                            format!(
                                "{pct}% of its lifetime has passed (day {} of {}); plan the fix before {}",
                                l.elapsed, l.length, e.expires
                            ),
                        ),
                    );
                }
                if review::is_chronic(e, policy) {
                    let n = review::extensions(e);
                    to_owner(
                        e,
                        item(
                            Reason::Chronic,
                            e.expires,
                            format!("extended {n} times: chronic; escalate to engineering for a permanent fix"),
                        ),
                    );
                }
            }
            Status::Requested => {
                let Some(w) = measure::wait(r, policy, now) else { continue };
                // The SLA is for the first decision; a re-approval after an edit has none.
                let state = if w.breached() {
                    format!("{} over the {} SLA", time::duration_text(w.waited - w.sla), time::sla_text(w.sla))
                } else {
                    format!("{} left of the {} SLA", time::duration_text(w.sla - w.waited), time::sla_text(w.sla))
                };
                for role in routing::awaiting_of(r, policy) {
                    let message = if w.pending() {
                        format!("awaiting your approval as {role} for {} ({state})", time::duration_text(w.waited))
                    } else {
                        format!("awaiting your approval again as {role}: the request changed after it was approved")
                    };
                    let it = item(Reason::PendingApproval, e.created_date(), message);
                    if role == RISK_OWNER {
                        to_owner(e, it);
                    } else {
                        role_items.push((role, it));
                    }
                }
            }
            _ => {}
        }
    }
    for (role, it) in role_items {
        let emails: Vec<String> =
            policy.roles.get(&role).map(|p| p.iter().map(|x| email_of(x).to_string()).collect()).unwrap_or_default();
        groups
            .entry((role.clone(), "role"))
            .or_insert_with(|| Group { to: role.clone(), kind: "role", emails, registry: None, items: Vec::new() })
            .items
            .push(it);
    }
    let mut out: Vec<Group> = groups.into_values().collect();
    for g in &mut out {
        g.items.sort_by(|a, b| (a.date, &a.id, a.reason).cmp(&(b.date, &b.id, b.reason)));
    }
    out
}

/// A fleet's reminders from each registry's own (`parts`: its name and its
/// groups, by its own policy): every item names its registry; a risk owner
/// gets one group across registries (a person is one person); a role stays
/// one group per registry, since each registry's policy says who holds it.
pub fn fleet(parts: Vec<(String, Vec<Group>)>) -> Vec<Group> {
    let mut groups: BTreeMap<(String, &'static str, Option<String>), Group> = BTreeMap::new();
    for (name, part) in parts {
        for mut g in part {
            for i in &mut g.items {
                i.registry = Some(name.clone());
            }
            let key = if g.kind == "role" {
                g.registry = Some(name.clone());
                (g.to.clone(), g.kind, Some(name.clone()))
            } else {
                (g.emails.first().cloned().unwrap_or_else(|| g.to.to_ascii_lowercase()), g.kind, None)
            };
            match groups.get_mut(&key) {
                Some(have) => have.items.extend(g.items),
                None => {
                    groups.insert(key, g);
                }
            }
        }
    }
    let mut out: Vec<Group> = groups.into_values().collect();
    for g in &mut out {
        g.items.sort_by(|a, b| (a.date, &a.registry, &a.id, a.reason).cmp(&(b.date, &b.registry, &b.id, b.reason)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::lifecycle::Action;
    use crate::model::record::ReviewDecision;
    use crate::model::testkit::*;
    use review::Checklist;

    fn due(e: &Exception, within: i64, as_of: &str) -> Vec<(String, Reason)> {
        let r = Record::new("p".into(), e.id.clone(), e.clone(), "".into());
        reminders(&[r], &policy(), within, day(as_of), at(as_of))
            .into_iter()
            .flat_map(|g| g.items.into_iter().map(move |i| (g.to.clone(), i.reason)))
            .collect()
    }

    fn owner(reasons: &[Reason]) -> Vec<(String, Reason)> {
        reasons.iter().map(|r| (DANA.to_string(), *r)).collect()
    }

    #[test]
    fn expiry_reminders_start_the_lead_time_before_and_stop_once_expired() {
        let e = approved(); // expires 2026-03-01
        assert_eq!(due(&e, 14, "2026-02-14"), vec![]);
        assert_eq!(due(&e, 14, "2026-02-15"), owner(&[Reason::Expiry]));
        assert_eq!(due(&e, 14, "2026-03-01"), owner(&[Reason::Expiry]));
        assert_eq!(due(&e, 14, "2026-03-02"), vec![], "an expired record is for `exc expire`, not a reminder");
    }

    #[test]
    fn lifetime_and_review_reminders() {
        let mut e = approved();
        e.expires = day("2026-05-01"); // a 120-day lifetime from 2026-01-01: 75% on 2026-04-01
        assert_eq!(due(&e, 0, "2026-03-31"), vec![]);
        assert_eq!(due(&e, 0, "2026-04-01"), owner(&[Reason::Lifetime]));
        // The review falls due 90 days after the approval (2026-04-02), then is overdue.
        assert_eq!(due(&e, 0, "2026-04-02"), owner(&[Reason::Review, Reason::Lifetime]));
        assert_eq!(due(&e, 0, "2026-04-03"), owner(&[Reason::Review, Reason::Lifetime]));
    }

    #[test]
    fn pending_requests_go_to_the_roles_that_must_decide() {
        let e = requested("other", "2026-01-01", "2026-03-01");
        let r = Record::new("p".into(), e.id.clone(), e, "".into());
        let groups = reminders(&[r], &policy(), 14, day("2026-01-03"), at("2026-01-03"));
        assert_eq!(groups.len(), 1);
        assert_eq!((groups[0].to.as_str(), groups[0].kind), ("security", "role"));
        assert_eq!(groups[0].emails, vec!["sam@example.com", "priya@example.com"]);
        assert_eq!(
            groups[0].items[0].message,
            // Exactly 48 h is still given in hours; past it, in days.
            "awaiting your approval as security for 48 h (3 days left of the 5-day SLA)"
        );
        let groups = reminders(
            &[Record::new("p".into(), "x".into(), requested("other", "2026-01-01", "2026-03-01"), "".into())],
            &policy(),
            14,
            day("2026-01-02"),
            at("2026-01-02T23:00:00Z"),
        );
        assert_eq!(
            groups[0].items[0].message,
            "awaiting your approval as security for 47 h (3 days left of the 5-day SLA)"
        );
    }

    #[test]
    fn a_review_due_the_day_it_expires_is_one_reminder() {
        let mut e = approved();
        // Approved 2026-01-02: the review falls due on 2026-04-02, the day it expires.
        e.expires = day("2026-04-02");
        let items = due(&e, 14, "2026-03-25");
        assert_eq!(items.iter().filter(|(_, r)| *r == Reason::Expiry).count(), 1, "{items:?}");
        assert!(!items.iter().any(|(_, r)| *r == Reason::Review), "{items:?}");
        // A review due earlier is its own reminder.
        e.expires = day("2026-04-10");
        let items = due(&e, 14, "2026-03-30");
        assert!(
            items.iter().any(|(_, r)| *r == Reason::Review) && items.iter().any(|(_, r)| *r == Reason::Expiry),
            "{items:?}"
        );
    }

    #[test]
    fn a_record_extended_too_often_is_chronic() {
        let p = policy();
        let extend = |e: &Exception, when: &str, until: &str| {
            let answers = Checklist { controls_effective: true, justification_valid: true, better_option: false };
            let decision = ReviewDecision::Extend;
            act(e, &p, SAM, when, Action::Recertify { answers, decision, expires: Some(day(until)), note: None })
        };
        let twice = extend(&extend(&approved(), "2026-02-01", "2026-04-01"), "2026-03-01", "2026-05-01");
        assert!(!due(&twice, 0, "2026-03-02").iter().any(|(_, r)| *r == Reason::Chronic));
        let thrice = extend(&twice, "2026-04-01", "2026-06-01");
        assert!(due(&thrice, 0, "2026-04-02").iter().any(|(_, r)| *r == Reason::Chronic));
    }
}
