//! Reminders: what needs someone's action now, grouped by the person (risk
//! owner) or role (approvers) who must act.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::identity::email_of;
use super::lifecycle;
use super::policy::{Policy, RISK_OWNER};
use super::record::{Exception, Record, ReviewDecision, Status, Urgency};
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
    pub id: String,
    pub title: String,
    pub reason: Reason,
    /// The date it concerns (expiry, review due, request filed).
    pub date: NaiveDate,
    /// Days until `date` (negative: days since).
    pub days: i64,
    pub message: String,
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
    pub items: Vec<Item>,
}

/// The reminders due on `as_of` with a lead time of `within` days.
pub fn reminders(records: &[Record], policy: &Policy, within: i64, as_of: NaiveDate, now: DateTime<Utc>) -> Vec<Group> {
    let mut groups: BTreeMap<(String, &'static str), Group> = BTreeMap::new();
    let mut to_owner = |e: &Exception, item: Item| {
        let email = email_of(&e.risk_owner).to_ascii_lowercase();
        groups
            .entry((email.clone(), "risk_owner"))
            .or_insert_with(|| Group {
                to: e.risk_owner.clone(),
                kind: "risk_owner",
                emails: vec![email],
                items: Vec::new(),
            })
            .items
            .push(item);
    };
    let mut role_items: Vec<(String, Item)> = Vec::new();
    for r in records {
        let e = &r.exception;
        let item = |reason, date: NaiveDate, message: String| Item {
            id: e.id.clone(),
            title: e.title.clone(),
            reason,
            date,
            days: (date - as_of).num_days(),
            message,
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
                if let Some(due) = lifecycle::review_due(e, policy).filter(|d| *d <= e.expires) {
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
                if !expiry_soon {
                    let start = lifetime_start(e);
                    let lifetime = (e.expires - start).num_days();
                    let elapsed = (as_of - start).num_days();
                    if lifetime > 0 && elapsed as f64 >= lifetime as f64 * policy.review.remind_at_lifetime {
                        let pct = (policy.review.remind_at_lifetime * 100.0).round();
                        to_owner(
                            e,
                            item(
                                Reason::Lifetime,
                                e.expires,
                                format!(
                                    "{pct}% of its lifetime has passed (day {elapsed} of {lifetime}); plan the fix before {}",
                                    e.expires
                                ),
                            ),
                        );
                    }
                }
                if lifecycle::is_chronic(e, policy) {
                    let n = lifecycle::extensions(e);
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
                let sla =
                    if e.urgency == Urgency::Urgent { policy.sla.urgent_hours } else { policy.sla.standard_hours };
                let waited = (now - e.created).num_hours().max(0);
                let state = if waited > i64::from(sla) {
                    format!("{} h over the {sla} h SLA", waited - i64::from(sla))
                } else {
                    format!("{} h left of the {sla} h SLA", i64::from(sla) - waited)
                };
                for role in routing::missing_roles(e, policy) {
                    let it = item(
                        Reason::PendingApproval,
                        e.created_date(),
                        format!("awaiting your approval as {role} for {waited} h ({state})"),
                    );
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
            .or_insert_with(|| Group { to: role.clone(), kind: "role", emails, items: Vec::new() })
            .items
            .push(it);
    }
    let mut out: Vec<Group> = groups.into_values().collect();
    for g in &mut out {
        g.items.sort_by(|a, b| (a.date, &a.id, a.reason).cmp(&(b.date, &b.id, b.reason)));
    }
    out
}

/// Where the current lifetime started: the latest extension, else creation.
fn lifetime_start(e: &Exception) -> NaiveDate {
    let extension = e.reviews.iter().filter(|v| v.decision == ReviewDecision::Extend).map(|v| v.at.date_naive()).max();
    extension.unwrap_or_else(|| e.created_date())
}
