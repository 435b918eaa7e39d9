//! KPIs computed from the records on demand, each beside its policy target.
//! Every quantity is defined once, in `measure` (the table in
//! docs/definitions.md); this module counts and aggregates them:
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
//! With an asset inventory, "assets excepted" counts the distinct inventory
//! assets under an active exception, overall and by business unit and
//! criticality; names the inventory does not hold are counted apart.
//!
//! A fleet (several registries, each with its own policy) is reported by the
//! same definitions over the union of its records: each record is judged by
//! its own registry's policy, the counts are added, and medians and p90 are
//! taken over all the values, never averaged; each registry's own report
//! comes with it.
//!
//! The active records are also counted per risk tier (the tier each is routed
//! by), every tier shown. The breakdowns (by type, control, risk owner, the top assets) count the
//! active records, like the KPIs beside them; only the status breakdown
//! counts every record, since status is what tells them apart.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use serde::Serialize;

use super::fleet::Unreadable;
use super::inventory::{self, AssetBase};
use super::measure;
use super::policy::{Policy, Targets};
use super::record::{Exception, Record, Risk, Status};
use super::review;
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

/// Inventory assets under an active exception, in one group (a business
/// unit, a criticality).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Share {
    pub name: String,
    /// Assets of the group under an active exception.
    pub excepted: usize,
    /// Assets of the group in the inventory.
    pub total: usize,
    /// `excepted` as a % of `total`.
    pub pct: f64,
}

/// A record that needs someone to act.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Action {
    /// The registry it is in, in a fleet report (shown as `registry:id`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registry: Option<String>,
    pub id: String,
    pub title: String,
    pub owner: String,
    pub why: String,
}

/// The whole report.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Report {
    /// The registry it covers, for each registry of a fleet report.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registry: Option<String>,
    /// A fleet report: the registries it reads, by name.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub registries: Vec<String>,
    /// A fleet report missing registries that could not be read: partial.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub partial: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unreadable: Vec<Unreadable>,
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
    /// With an inventory that gives them: inventory assets under an active
    /// exception per business unit, and per criticality.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub assets_by_business_unit: Vec<Share>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub assets_by_criticality: Vec<Share>,
    pub needs_action: Vec<Action>,
    /// A fleet report: each registry's own report, by its own policy.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub by_registry: Vec<Report>,
}

/// What the report needs besides the records.
pub struct Inputs<'a> {
    pub policy: &'a Policy,
    /// What "% of assets excepted" divides by: `assets.total`, or the inventory.
    pub assets: AssetBase<'a>,
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

/// One record, the policy it is judged by, and where it comes from.
#[derive(Clone, Copy)]
pub struct Member<'a> {
    pub record: &'a Record,
    pub policy: &'a Policy,
    /// Its registry, in a fleet (its id is shown as `registry:id`).
    pub registry: Option<&'a str>,
    /// When its registry's re-approved versions were made (see [`Inputs::edited`]).
    pub edited: &'a HashMap<(String, String), DateTime<Utc>>,
}

/// Computes every KPI over `records` (those that did not exist yet at
/// `now` are left out).
pub fn report(records: &[&Record], inp: &Inputs) -> Report {
    let members: Vec<Member> =
        records.iter().map(|r| Member { record: r, policy: inp.policy, registry: None, edited: inp.edited }).collect();
    compute(&members, &inp.policy.targets, inp)
}

/// One registry of a fleet: its name, its records and what its report needs.
pub struct Part<'a> {
    pub name: &'a str,
    pub records: Vec<&'a Record>,
    pub inputs: Inputs<'a>,
}

/// What a fleet's union is measured against and as of when.
pub struct Union<'a> {
    pub targets: &'a Targets,
    /// The union's asset base.
    pub assets: AssetBase<'a>,
    pub as_of: NaiveDate,
    pub since: Option<NaiveDate>,
    pub now: DateTime<Utc>,
}

/// A fleet's report: the KPIs over the union of the parts' records by the
/// same definitions (each record judged by its own registry's policy),
/// against the union's targets and asset base, with `ungoverned` summed; and
/// each part's own report, by its own policy. `unreadable` names the
/// registries left out.
pub fn fleet(parts: &[Part], union: &Union, unreadable: Vec<Unreadable>) -> Report {
    let mut members = Vec::new();
    for p in parts {
        members.extend(p.records.iter().map(|r| Member {
            record: r,
            policy: p.inputs.policy,
            registry: Some(p.name),
            edited: p.inputs.edited,
        }));
    }
    let by_registry: Vec<Report> = parts
        .iter()
        .map(|p| {
            let mut r = report(&p.records, &p.inputs);
            r.registry = Some(p.name.to_string());
            for a in &mut r.needs_action {
                a.registry = Some(p.name.to_string());
            }
            r
        })
        .collect();
    let ungoverned = parts.iter().map(|p| p.inputs.ungoverned).sum::<Option<usize>>();
    let default = Policy::default();
    let never = HashMap::new();
    let inp = Inputs {
        policy: parts.first().map_or(&default, |p| p.inputs.policy),
        assets: union.assets,
        as_of: union.as_of,
        since: union.since,
        now: union.now,
        edited: &never,
        ungoverned: if parts.is_empty() { None } else { ungoverned },
    };
    let mut whole = compute(&members, union.targets, &inp);
    whole.registries = parts.iter().map(|p| p.name.to_string()).collect();
    whole.partial = !unreadable.is_empty();
    whole.unreadable = unreadable;
    whole.by_registry = by_registry;
    whole
}

/// The KPIs over `members`, each judged by its own policy, against `targets`.
fn compute(members: &[Member], targets: &Targets, inp: &Inputs) -> Report {
    let (as_of, now) = (inp.as_of, inp.now);
    let all: Vec<&Member> = members.iter().filter(|m| measure::exists(&m.record.exception, now)).collect();
    let flow: Vec<&Member> =
        all.iter().copied().filter(|m| inp.since.is_none_or(|s| m.record.exception.created_date() >= s)).collect();
    let open: Vec<&Member> = all.iter().copied().filter(|m| m.record.exception.status == Status::Approved).collect();
    let active_members: Vec<&Member> = all
        .iter()
        .copied()
        .filter(|m| m.record.exception.status == Status::Approved && measure::active(&m.record.exception, as_of))
        .collect();
    let active: Vec<&Exception> = active_members.iter().map(|m| &m.record.exception).collect();

    let mut hours: Vec<f64> =
        flow.iter().filter_map(|m| measure::approval_time(m.record, m.policy, now)).map(measure::hours).collect();
    hours.sort_by(|a, b| a.total_cmp(b));
    let breaches = flow.iter().filter(|m| measure::wait(m.record, m.policy, now).is_some_and(|w| w.breached())).count();
    let (reapproved, mut rehours) = reapprovals(&flow, now);
    rehours.sort_by(|a, b| a.total_cmp(b));
    let overdue = open.iter().filter(|m| measure::overdue(&m.record.exception, m.policy, as_of)).count();
    let covered = active.iter().filter(|e| !e.compensating_controls.is_empty()).count();
    let open_ended = active_members.iter().filter(|m| measure::open_ended(&m.record.exception, m.policy)).count();
    let chronic = active_members.iter().filter(|m| review::is_chronic(&m.record.exception, m.policy)).count();
    let excepted = excepted_assets(&active, inp.assets);
    let t = targets;

    let mean = (!hours.is_empty()).then(|| hours.iter().sum::<f64>() / hours.len() as f64);
    let mut kpis = vec![
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
            inp.assets.size().filter(|n| *n > 0).map(|n| excepted.counted as f64 * 100.0 / n as f64),
            format!("≤ {} %", t.assets_excepted_max_pct),
            |v| v <= t.assets_excepted_max_pct,
        ),
        active_count_kpi("open_ended", "Open-ended", open_ended, active.len(), t.open_ended_max),
        active_count_kpi("chronic", "Chronic (extended more than twice)", chronic, active.len(), t.chronic_max),
    ];
    if let AssetBase::Inventory(_) = inp.assets {
        kpis.push(count_kpi("assets_unknown", "Assets of active records not in the inventory", excepted.unknown, None));
    }
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
                .filter(|m2| {
                    let c = m2.record.exception.created;
                    c.year() == m.year() && c.month() == m.month()
                })
                .count(),
        })
        .collect();

    Report {
        registry: None,
        registries: Vec::new(),
        partial: false,
        unreadable: Vec::new(),
        as_of,
        since: inp.since,
        records: all.len(),
        active: active.len(),
        kpis,
        volume,
        approval_hours: hours.clone(),
        by_status: tally(all.iter().map(|m| m.record.exception.status.to_string())),
        by_tier: by_tier(&active_members),
        by_type: tally(active.iter().map(|e| e.kind.clone())),
        by_control: tally(active.iter().flat_map(|e| e.controls.iter().cloned())),
        by_risk_owner: tally(active.iter().map(|e| e.risk_owner.clone())),
        top_assets: tally(active.iter().flat_map(|e| e.assets.iter().cloned())).into_iter().take(10).collect(),
        assets_by_business_unit: excepted.by_business_unit,
        assets_by_criticality: excepted.by_criticality,
        needs_action: needs_action(&all, as_of, now),
        by_registry: Vec::new(),
    }
}

/// The assets of the active records, as the asset base counts them.
struct Excepted {
    /// What "% excepted" counts: distinct inventory assets, or (without an
    /// inventory) distinct names.
    counted: usize,
    /// Distinct names the inventory does not hold.
    unknown: usize,
    by_business_unit: Vec<Share>,
    by_criticality: Vec<Share>,
}

fn excepted_assets(active: &[&Exception], base: AssetBase) -> Excepted {
    let names: BTreeSet<String> = active.iter().flat_map(|e| e.assets.iter().map(|a| inventory::key(a))).collect();
    let AssetBase::Inventory(inv) = base else {
        let exact: BTreeSet<&str> = active.iter().flat_map(|e| e.assets.iter().map(String::as_str)).collect();
        return Excepted { counted: exact.len(), unknown: 0, by_business_unit: Vec::new(), by_criticality: Vec::new() };
    };
    let held: Vec<&inventory::Asset> = names.iter().filter_map(|n| inv.get(n)).collect();
    let share = |field: fn(&inventory::Asset) -> Option<&str>| -> Vec<Share> {
        if inv.assets().iter().all(|a| field(a).is_none()) {
            return Vec::new();
        }
        let mut groups: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
        for a in inv.assets() {
            groups.entry(field(a).unwrap_or("unassigned")).or_default().1 += 1;
        }
        for a in &held {
            groups.entry(field(a).unwrap_or("unassigned")).or_default().0 += 1;
        }
        let mut v: Vec<Share> = groups
            .into_iter()
            .map(|(name, (excepted, total))| Share {
                name: name.to_string(),
                excepted,
                total,
                pct: excepted as f64 * 100.0 / total.max(1) as f64,
            })
            .collect();
        v.sort_by(|a, b| b.pct.total_cmp(&a.pct).then(a.name.cmp(&b.name)));
        v
    };
    Excepted {
        counted: held.len(),
        unknown: names.len() - held.len(),
        by_business_unit: share(|a| a.business_unit.as_deref()),
        by_criticality: share(|a| a.criticality.as_deref()),
    }
}

/// How many records were re-approved after an edit (by `now`), and for each
/// re-approval whose edit the history dates, the hours from edit to re-approval.
fn reapprovals(flow: &[&Member], now: DateTime<Utc>) -> (usize, Vec<f64>) {
    let mut count = 0;
    let mut hours = Vec::new();
    for m in flow {
        let again = measure::reapprovals(m.record, m.policy, now);
        count += usize::from(!again.is_empty());
        for c in again {
            if let Some(t) = m.edited.get(&(m.record.path.clone(), c.digest.clone())) {
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
fn by_tier(active: &[&Member]) -> Vec<Count> {
    let tiers: Vec<Risk> = active.iter().map(|m| routing::tier_of(m.record, m.policy)).collect();
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

fn needs_action(all: &[&Member], as_of: NaiveDate, now: DateTime<Utc>) -> Vec<Action> {
    let mut out = Vec::new();
    for m in all {
        let (r, policy) = (m.record, m.policy);
        let e = &r.exception;
        let why = match e.status {
            Status::Approved if measure::expired(e, as_of) => {
                Some(format!("expired {} ago, still approved", time::days((as_of - e.expires).num_days())))
            }
            Status::Approved if measure::review_overdue(e, policy, as_of) => Some("review overdue".into()),
            Status::Approved if e.days_to_expiry(as_of) <= i64::from(policy.review.remind_before_days) => {
                Some(format!("expires in {}", time::days(e.days_to_expiry(as_of))))
            }
            Status::Approved if review::is_chronic(e, policy) => Some("chronic: escalate".into()),
            Status::Requested if measure::wait(r, policy, now).is_some_and(|w| w.pending() && w.breached()) => {
                Some("decision overdue (SLA)".into())
            }
            Status::Requested => Some("awaiting approval".into()),
            _ => None,
        };
        if let Some(why) = why {
            out.push(Action {
                registry: m.registry.map(str::to_string),
                id: e.id.clone(),
                title: e.title.clone(),
                owner: e.risk_owner.clone(),
                why,
            });
        }
    }
    out.sort_by(|a, b| (&a.registry, &a.id).cmp(&(&b.registry, &b.id)));
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
            assets: AssetBase::Unknown,
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
    fn a_fleet_judges_each_record_by_its_own_registrys_policy() {
        // The same pending request, 72 h old: a breach where the SLA is 48 h, not where it is 120 h.
        let strict =
            Policy { sla: crate::model::policy::Sla { standard_hours: 48, ..Default::default() }, ..testkit::policy() };
        let lenient = testkit::policy();
        let pending = testkit::requested("other", "2026-01-01", "2026-03-01");
        let a = Record::new("exceptions/EXC-0001.yaml".into(), "EXC-0001".into(), pending.clone(), "".into());
        let b = Record::new("exceptions/EXC-0001.yaml".into(), "EXC-0001".into(), pending, "".into());
        let as_of = testkit::day("2026-01-04");
        let never = HashMap::new();
        let inputs = |policy| Inputs {
            policy,
            assets: AssetBase::Total(10),
            as_of,
            since: None,
            now: testkit::at("2026-01-04"),
            edited: &never,
            ungoverned: None,
        };
        let parts = [
            Part { name: "strict", records: vec![&a], inputs: inputs(&strict) },
            Part { name: "lenient", records: vec![&b], inputs: inputs(&lenient) },
        ];
        let targets = Targets::default();
        let union = Union {
            targets: &targets,
            assets: AssetBase::Total(20),
            as_of,
            since: None,
            now: testkit::at("2026-01-04"),
        };
        let r = fleet(&parts, &union, Vec::new());
        let breaches = |r: &Report| kpi(r, "sla_breaches").value;
        assert_eq!(
            (breaches(&r), breaches(&r.by_registry[0]), breaches(&r.by_registry[1])),
            (Some(1.0), Some(1.0), Some(0.0))
        );
        assert_eq!(r.records, 2);
        let ids: Vec<(Option<&str>, &str)> =
            r.needs_action.iter().map(|a| (a.registry.as_deref(), a.id.as_str())).collect();
        assert_eq!(ids, [(Some("lenient"), "EXC-0001"), (Some("strict"), "EXC-0001")], "the same id, told apart");
        assert!(!r.partial);
    }

    #[test]
    fn empty_registry_has_no_division_by_zero() {
        let policy = Policy::default();
        let as_of = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        let r = report(
            &[],
            &Inputs {
                policy: &policy,
                assets: AssetBase::Unknown,
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
