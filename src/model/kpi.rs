//! KPIs computed from the records on demand, each beside its policy target.
//! Every quantity is defined once, in `measure` (the README's Definitions
//! table); this module counts and aggregates them:
//! - *volume*: records created (since `--since`), that existed as of the date;
//! - *approval time*: mean, median (the usual one) and p90 (nearest rank) of
//!   the hours from `created` to the approval that first completed the
//!   routing; re-approvals after an edit are counted apart, with the hours
//!   from the edit (when the git history says when it was) to the re-approval;
//! - *SLA breaches*: requests whose wait for their first decision (or
//!   closure, or the date while pending) is strictly longer than their SLA;
//! - *overdue*: open (approved) records expired or with their review
//!   overdue, as a % of open;
//! - *compensating-controls coverage*, *assets excepted*, *open-ended* and
//!   *chronic*: over the active records.
//!
//! The active records are also counted per risk tier (the tier each is routed
//! by), every tier shown. The breakdowns (by type, control, risk owner, the top assets) count the
//! active records, like the KPIs beside them; only the status breakdown
//! counts every record, since status is what tells them apart.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use serde::Serialize;

use super::lifecycle;
use super::measure;
use super::policy::Policy;
use super::record::{Exception, Record, Risk, Status};
use super::routing;
use super::time;

/// One KPI and how it stands against its target.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Kpi {
    pub key: &'static str,
    pub name: &'static str,
    /// The number, when it can be computed (e.g. no inventory, no approvals: none).
    pub value: Option<f64>,
    pub unit: &'static str,
    /// The value as shown, e.g. `37.5 h` or `2.1 %`.
    pub display: String,
    /// The target as shown, e.g. `≤ 48 h`; none for informational KPIs.
    pub target: Option<String>,
    /// Whether the target is met; none when there is no target or no value.
    pub pass: Option<bool>,
}

/// Created records per month.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Month {
    pub month: String,
    pub created: usize,
}

/// A count per category.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Count {
    pub name: String,
    pub count: usize,
}

/// A record that needs someone to act.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Action {
    pub id: String,
    pub title: String,
    pub owner: String,
    pub why: String,
}

/// The whole report.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Report {
    pub as_of: NaiveDate,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<NaiveDate>,
    pub records: usize,
    pub active: usize,
    pub kpis: Vec<Kpi>,
    /// The last 12 months, oldest first.
    pub volume: Vec<Month>,
    /// Every approval time in hours, for the distribution.
    pub approval_hours: Vec<f64>,
    /// Every record by status (the one breakdown over all records).
    pub by_status: Vec<Count>,
    /// The active records by the risk tier they are routed by: every tier,
    /// low to critical, with 0 for a tier that has none.
    pub by_tier: Vec<Count>,
    /// The active records by type.
    pub by_type: Vec<Count>,
    /// The active records by control (a record counts once per control).
    pub by_control: Vec<Count>,
    /// The active records by risk owner.
    pub by_risk_owner: Vec<Count>,
    /// The ten assets in the most active records.
    pub top_assets: Vec<Count>,
    pub needs_action: Vec<Action>,
}

/// What the report needs besides the records.
pub struct Inputs<'a> {
    pub policy: &'a Policy,
    /// Assets in scope: `assets.total`, or the inventory file's line count.
    pub inventory: Option<u64>,
    pub as_of: NaiveDate,
    pub since: Option<NaiveDate>,
    /// The instant the report is as of (00:00 UTC of `as_of`, or now).
    pub now: DateTime<Utc>,
    /// When a record's content changed to a version that was re-approved:
    /// (record path, request digest) → the commit time of that change, from
    /// the git history (empty without one).
    pub edited: &'a HashMap<(String, String), DateTime<Utc>>,
    /// Scanner suppressions in the repository no active exception governs
    /// (`exc reconcile`), when they were counted.
    pub ungoverned: Option<usize>,
}

/// Computes every KPI over `records` (those that did not exist yet at
/// `now` are left out).
pub fn report(records: &[&Record], inp: &Inputs) -> Report {
    let policy = inp.policy;
    let (as_of, now) = (inp.as_of, inp.now);
    let all: Vec<&Record> = records.iter().copied().filter(|r| measure::exists(&r.exception, now)).collect();
    let flow: Vec<&Record> =
        all.iter().copied().filter(|r| inp.since.is_none_or(|s| r.exception.created_date() >= s)).collect();
    let open: Vec<&Exception> = all.iter().map(|r| &r.exception).filter(|e| e.status == Status::Approved).collect();
    let active_records: Vec<&Record> = all
        .iter()
        .copied()
        .filter(|r| r.exception.status == Status::Approved && measure::active(&r.exception, as_of))
        .collect();
    let active: Vec<&Exception> = active_records.iter().map(|r| &r.exception).collect();

    let mut hours: Vec<f64> =
        flow.iter().filter_map(|r| measure::approval_time(r, policy, now)).map(measure::hours).collect();
    hours.sort_by(|a, b| a.total_cmp(b));
    let breaches = flow.iter().filter(|r| measure::wait(r, policy, now).is_some_and(|w| w.breached())).count();
    let (reapproved, mut rehours) = reapprovals(&flow, policy, now, inp.edited);
    rehours.sort_by(|a, b| a.total_cmp(b));
    let overdue = open.iter().filter(|e| measure::overdue(e, policy, as_of)).count();
    let covered = active.iter().filter(|e| !e.compensating_controls.is_empty()).count();
    let assets: BTreeSet<&str> = active.iter().flat_map(|e| e.assets.iter().map(String::as_str)).collect();
    let open_ended = active.iter().filter(|e| measure::open_ended(e, policy)).count();
    let chronic = active.iter().filter(|e| lifecycle::is_chronic(e, policy)).count();
    let t = &policy.targets;

    let mean = (!hours.is_empty()).then(|| hours.iter().sum::<f64>() / hours.len() as f64);
    let kpis = vec![
        count_kpi("volume", "Exceptions created", flow.len(), None),
        Kpi {
            key: "approval_hours_avg",
            name: "Average approval time",
            value: mean,
            unit: "h",
            display: mean.map(|v| format!("{v:.1} h")).unwrap_or_else(|| "no approvals".into()),
            target: Some(format!("≤ {} h", t.approval_hours_max)),
            pass: mean.map(|v| v <= t.approval_hours_max),
        },
        hours_kpi("approval_hours_median", "Median approval time", measure::median(&hours), "no approvals"),
        hours_kpi(
            "approval_hours_p90",
            "90th percentile approval time",
            measure::percentile(&hours, 90),
            "no approvals",
        ),
        count_kpi("reapprovals", "Re-approved after an edit", reapproved, None),
        hours_kpi(
            "reapproval_hours_median",
            "Median re-approval time (from the edit)",
            measure::median(&rehours),
            if reapproved > 0 { "n/a: needs the git history" } else { "no re-approvals" },
        ),
        count_kpi("sla_breaches", "SLA breaches", breaches, Some(t.sla_breaches_max as usize)),
        pct_kpi(
            "overdue_pct",
            "Overdue (% of open)",
            ratio(overdue, open.len()),
            format!("≤ {} %", t.overdue_max_pct),
            |v| v <= t.overdue_max_pct,
        ),
        pct_kpi(
            "compensating_controls_pct",
            "Compensating-controls coverage (% of active)",
            ratio(covered, active.len()),
            format!("≥ {} %", t.compensating_controls_min_pct),
            |v| v >= t.compensating_controls_min_pct,
        ),
        pct_kpi(
            "assets_excepted_pct",
            "Assets excepted (% of inventory)",
            inp.inventory.filter(|n| *n > 0).map(|n| assets.len() as f64 * 100.0 / n as f64),
            format!("≤ {} %", t.assets_excepted_max_pct),
            |v| v <= t.assets_excepted_max_pct,
        ),
        active_count_kpi("open_ended", "Open-ended", open_ended, active.len(), t.open_ended_max),
        active_count_kpi("chronic", "Chronic (extended more than twice)", chronic, active.len(), t.chronic_max),
    ];
    let mut kpis = kpis;
    if let Some(n) = inp.ungoverned {
        kpis.push(count_kpi(
            "ungoverned_suppressions",
            "Ungoverned scanner suppressions",
            n,
            Some(t.ungoverned_suppressions_max as usize),
        ));
    }

    let month0 = NaiveDate::from_ymd_opt(as_of.year(), as_of.month(), 1).unwrap_or(as_of);
    let volume = (0..12)
        .rev()
        .filter_map(|back| month0.checked_sub_months(Months::new(back)))
        .map(|m| Month {
            month: m.format("%Y-%m").to_string(),
            created: all
                .iter()
                .filter(|r| r.exception.created.year() == m.year() && r.exception.created.month() == m.month())
                .count(),
        })
        .collect();

    Report {
        as_of,
        since: inp.since,
        records: all.len(),
        active: active.len(),
        kpis,
        volume,
        approval_hours: hours.clone(),
        by_status: tally(all.iter().map(|r| r.exception.status.to_string())),
        by_tier: by_tier(&active_records, policy),
        by_type: tally(active.iter().map(|e| e.kind.clone())),
        by_control: tally(active.iter().flat_map(|e| e.controls.iter().cloned())),
        by_risk_owner: tally(active.iter().map(|e| e.risk_owner.clone())),
        top_assets: tally(active.iter().flat_map(|e| e.assets.iter().cloned())).into_iter().take(10).collect(),
        needs_action: needs_action(&all, policy, as_of, now),
    }
}

/// How many records were re-approved after an edit (by `now`), and for each
/// re-approval whose edit the history dates, the hours from edit to re-approval.
fn reapprovals(
    flow: &[&Record],
    policy: &Policy,
    now: DateTime<Utc>,
    edited: &HashMap<(String, String), DateTime<Utc>>,
) -> (usize, Vec<f64>) {
    let mut count = 0;
    let mut hours = Vec::new();
    for r in flow {
        let again = measure::reapprovals(r, policy, now);
        count += usize::from(!again.is_empty());
        for c in again {
            if let Some(t) = edited.get(&(r.path.clone(), c.digest.clone())) {
                hours.push(measure::hours((c.at - *t).max(chrono::TimeDelta::zero())));
            }
        }
    }
    (count, hours)
}

fn count_kpi(key: &'static str, name: &'static str, n: usize, max: Option<usize>) -> Kpi {
    Kpi {
        key,
        name,
        value: Some(n as f64),
        unit: "count",
        display: n.to_string(),
        target: max.map(|m| format!("≤ {m}")),
        pass: max.map(|m| n <= m),
    }
}

/// A count of active records against its maximum; none (`n/a`) when nothing
/// is active, like the other KPIs over the active records, rather than a 0
/// that reads as on target.
fn active_count_kpi(key: &'static str, name: &'static str, n: usize, active: usize, max: u32) -> Kpi {
    let kpi = count_kpi(key, name, n, Some(max as usize));
    if active > 0 { kpi } else { Kpi { value: None, display: "n/a".into(), pass: None, ..kpi } }
}

fn hours_kpi(key: &'static str, name: &'static str, v: Option<f64>, none: &str) -> Kpi {
    Kpi {
        key,
        name,
        value: v,
        unit: "h",
        display: v.map(|v| format!("{v:.1} h")).unwrap_or_else(|| none.into()),
        target: None,
        pass: None,
    }
}

fn pct_kpi(key: &'static str, name: &'static str, v: Option<f64>, target: String, ok: impl Fn(f64) -> bool) -> Kpi {
    Kpi {
        key,
        name,
        value: v,
        unit: "%",
        display: v.map(|v| format!("{v:.1} %")).unwrap_or_else(|| "n/a".into()),
        target: Some(target),
        pass: v.map(ok),
    }
}

/// `part` as a % of `whole`; none for an empty whole (no division by zero).
fn ratio(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| part as f64 * 100.0 / whole as f64)
}

/// The active records per risk tier (`routing::tier_of`), low to critical.
fn by_tier(active: &[&Record], policy: &Policy) -> Vec<Count> {
    let tiers: Vec<Risk> = active.iter().map(|r| routing::tier_of(r, policy)).collect();
    Risk::ALL
        .iter()
        .map(|tier| Count { name: tier.to_string(), count: tiers.iter().filter(|t| *t == tier).count() })
        .collect()
}

/// Counts, most first, then by name.
fn tally(items: impl Iterator<Item = String>) -> Vec<Count> {
    let mut m: BTreeMap<String, usize> = BTreeMap::new();
    for i in items {
        *m.entry(i).or_default() += 1;
    }
    let mut v: Vec<Count> = m.into_iter().map(|(name, count)| Count { name, count }).collect();
    v.sort_by(|a, b| b.count.cmp(&a.count).then(a.name.cmp(&b.name)));
    v
}

fn needs_action(all: &[&Record], policy: &Policy, as_of: NaiveDate, now: DateTime<Utc>) -> Vec<Action> {
    let mut out = Vec::new();
    for r in all {
        let e = &r.exception;
        let why = match e.status {
            Status::Approved if measure::expired(e, as_of) => {
                Some(format!("expired {} ago, still approved", time::days((as_of - e.expires).num_days())))
            }
            Status::Approved if measure::review_overdue(e, policy, as_of) => Some("review overdue".into()),
            Status::Approved if e.days_to_expiry(as_of) <= i64::from(policy.review.remind_before_days) => {
                Some(format!("expires in {}", time::days(e.days_to_expiry(as_of))))
            }
            Status::Approved if lifecycle::is_chronic(e, policy) => Some("chronic: escalate".into()),
            Status::Requested if measure::wait(r, policy, now).is_some_and(|w| w.pending() && w.breached()) => {
                Some("decision overdue (SLA)".into())
            }
            Status::Requested => Some("awaiting approval".into()),
            _ => None,
        };
        if let Some(why) = why {
            out.push(Action { id: e.id.clone(), title: e.title.clone(), owner: e.risk_owner.clone(), why });
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

/// The last day of `d`'s quarter.
pub fn quarter_end(d: NaiveDate) -> NaiveDate {
    let q_last_month = ((d.month() - 1) / 3 + 1) * 3;
    let first_next = if q_last_month == 12 {
        NaiveDate::from_ymd_opt(d.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(d.year(), q_last_month + 1, 1)
    };
    first_next.and_then(|n| n.pred_opt()).unwrap_or(d)
}

/// The first day of `d`'s quarter.
pub fn quarter_start(d: NaiveDate) -> NaiveDate {
    NaiveDate::from_ymd_opt(d.year(), (d.month() - 1) / 3 * 3 + 1, 1).unwrap_or(d)
}

/// `2026-Q3`.
pub fn quarter_name(d: NaiveDate) -> String {
    format!("{}-Q{}", d.year(), (d.month() - 1) / 3 + 1)
}

/// The quarter ends from `first`'s quarter up to `as_of` (which ends the
/// last, partial one), at most the last `keep`.
pub fn quarter_ends(first: NaiveDate, as_of: NaiveDate, keep: usize) -> Vec<NaiveDate> {
    let mut ends = Vec::new();
    let mut q = quarter_end(first);
    while q < as_of {
        ends.push(q);
        q = quarter_end(time::add_days(q, 1));
    }
    ends.push(as_of);
    ends.split_off(ends.len().saturating_sub(keep))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::testkit;

    /// The report over `exceptions` as of `as_of`, with the test policy.
    fn report_of(exceptions: Vec<Exception>, as_of: &str) -> Report {
        let policy = testkit::policy();
        let records: Vec<Record> = exceptions
            .into_iter()
            .map(|e| Record::new(format!("exceptions/{}.yaml", e.id), e.id.clone(), e, "".into()))
            .collect();
        let refs: Vec<&Record> = records.iter().collect();
        let as_of = testkit::day(as_of);
        let inputs = Inputs {
            policy: &policy,
            inventory: None,
            as_of,
            since: None,
            now: testkit::at(&as_of.to_string()),
            edited: &HashMap::new(),
            ungoverned: None,
        };
        report(&refs, &inputs)
    }

    fn kpi<'a>(r: &'a Report, key: &str) -> &'a Kpi {
        r.kpis.iter().find(|k| k.key == key).unwrap()
    }

    #[test]
    fn active_records_are_counted_per_risk_tier() {
        let policy = testkit::policy();
        let medium = testkit::approved();
        let high = testkit::requested("mfa-bypass", "2026-01-01", "2026-03-01");
        let high = testkit::act(&high, &policy, testkit::SAM, "2026-01-02", testkit::approving(None));
        let high = testkit::act(&high, &policy, testkit::DANA, "2026-01-02", testkit::approving(None));
        let pending = testkit::requested("mfa-bypass", "2026-01-01", "2026-03-01");
        let lapsed = testkit::act(
            &testkit::requested("other", "2025-12-01", "2026-01-05"),
            &policy,
            testkit::SAM,
            "2025-12-02",
            testkit::approving(None),
        );
        let r = report_of(vec![medium, high, pending, lapsed], "2026-01-10");
        let tiers: Vec<(&str, usize)> = r.by_tier.iter().map(|c| (c.name.as_str(), c.count)).collect();
        assert_eq!(tiers, [("low", 0), ("medium", 1), ("high", 1), ("critical", 0)], "pending and lapsed left out");
        assert_eq!(r.by_tier.iter().map(|c| c.count).sum::<usize>(), r.active);
    }

    #[test]
    fn counts_over_active_records_are_na_when_nothing_is_active() {
        let pending = testkit::requested("other", "2026-01-01", "2026-03-01");
        let r = report_of(vec![pending], "2026-01-10");
        assert_eq!((r.records, r.active), (1, 0));
        for key in ["open_ended", "chronic", "compensating_controls_pct"] {
            let k = kpi(&r, key);
            assert_eq!((k.value, k.pass, k.display.as_str()), (None, None, "n/a"), "{key}");
        }
        let r = report_of(vec![testkit::approved()], "2026-01-10");
        assert_eq!(r.active, 1);
        for key in ["open_ended", "chronic"] {
            let k = kpi(&r, key);
            assert_eq!((k.value, k.pass, k.display.as_str()), (Some(0.0), Some(true), "0"), "{key}");
        }
    }

    #[test]
    fn empty_registry_has_no_division_by_zero() {
        let policy = Policy::default();
        let as_of = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        let r = report(
            &[],
            &Inputs {
                policy: &policy,
                inventory: None,
                as_of,
                since: None,
                now: as_of.and_hms_opt(0, 0, 0).unwrap().and_utc(),
                edited: &HashMap::new(),
                ungoverned: None,
            },
        );
        assert_eq!(r.records, 0);
        assert_eq!(r.volume.len(), 12);
        assert_eq!(r.volume[11].month, "2026-11");
        for key in ["overdue_pct", "compensating_controls_pct", "open_ended", "chronic"] {
            let k = r.kpis.iter().find(|k| k.key == key).unwrap();
            assert_eq!((k.value, k.pass, k.display.as_str()), (None, None, "n/a"), "{key}");
            assert!(k.target.is_some(), "{key}: the target is still shown");
        }
    }
}
