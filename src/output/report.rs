//! `exc report` for people: the KPIs beside their targets as a terminal
//! report, markdown, or CSV (one KPI per row); and the quarterly trend table.
//! The HTML dashboard is `dashboard`.

use chrono::NaiveDate;
use serde::Serialize;

use super::{Cell, Paint, escape, paint};
use crate::error::Result;
use crate::model::fleet::{partial_notice, qualified};
use crate::model::kpi::{Kpi, Report, Share};

/// The KPIs each registry of a fleet is shown with, beside its counts.
pub const REGISTRY_KPIS: &[&str] =
    &["approval_hours_avg", "sla_breaches", "overdue_pct", "compensating_controls_pct", "assets_excepted_pct"];

/// A fleet report's partial notice, if it is partial.
fn partial(r: &Report) -> Option<String> {
    partial_notice(&r.unreadable, r.registries.len() + r.unreadable.len())
}

/// "Security exceptions" or "Security exceptions across 3 registries (a, b, c)".
fn scope(r: &Report) -> String {
    if r.registries.is_empty() && r.unreadable.is_empty() {
        return "Security exceptions".into();
    }
    let n = r.registries.len() + r.unreadable.len();
    let unread: Vec<&str> = r.unreadable.iter().map(|u| u.registry.as_str()).collect();
    format!(
        "Security exceptions across {n} registries ({}{})",
        r.registries.join(", "),
        if unread.is_empty() { String::new() } else { format!("; not read: {}", unread.join(", ")) }
    )
}

/// A KPI as a registry's row shows it: its value, marked when it fails.
fn cell(r: &Report, key: &str) -> String {
    r.kpis
        .iter()
        .find(|k| k.key == key)
        .map(|k| format!("{}{}", k.display, if k.pass == Some(false) { " ✗" } else { "" }))
        .unwrap_or_default()
}

/// Each registry's row of a fleet report, then one per registry it could not read.
fn registry_rows(r: &Report) -> Vec<Vec<String>> {
    let mut rows: Vec<Vec<String>> = r
        .by_registry
        .iter()
        .map(|p| {
            let mut row = vec![p.registry.clone().unwrap_or_default(), p.records.to_string(), p.active.to_string()];
            row.extend(REGISTRY_KPIS.iter().map(|k| cell(p, k)));
            row
        })
        .collect();
    for u in &r.unreadable {
        let mut row = vec![u.registry.clone(), "could not be read".into(), String::new()];
        row.extend(REGISTRY_KPIS.iter().map(|_| String::new()));
        rows.push(row);
    }
    rows
}

/// The headers of [`registry_rows`].
fn registry_headers(r: &Report) -> Vec<String> {
    let mut h = vec!["Registry".to_string(), "Records".into(), "Active".into()];
    h.extend(REGISTRY_KPIS.iter().map(|key| {
        r.kpis.iter().find(|k| k.key == *key).map(|k| k.name.to_string()).unwrap_or_else(|| key.to_string())
    }));
    h
}

/// `Sales 2/40 (5.0 %)`.
fn share_text(s: &Share) -> String {
    format!("{} {}/{} ({:.1} %)", s.name, s.excepted, s.total, s.pct)
}

fn status_word(k: &Kpi) -> &'static str {
    match k.pass {
        Some(true) => "pass",
        Some(false) => "FAIL",
        None if k.target.is_some() => "n/a",
        None => "",
    }
}

pub fn text(r: &Report, color: bool) -> String {
    let rows = r
        .kpis
        .iter()
        .map(|k| {
            let s = status_word(k);
            let s = match k.pass {
                Some(true) => paint(s, Paint::Green, color),
                Some(false) => paint(s, Paint::Red, color),
                None => s.to_string(),
            };
            vec![k.name.to_string(), k.display.clone(), k.target.clone().unwrap_or_else(|| "-".into()), s]
        })
        .collect();
    let mut o = partial(r).map(|p| format!("{}\n", paint(&escape::text(&p), Paint::Red, color))).unwrap_or_default();
    o.push_str(&format!(
        "{} as of {}{}: {} records, {} active\n{}\n",
        scope(r),
        r.as_of,
        r.since.map(|s| format!(" (flow KPIs since {s})")).unwrap_or_default(),
        r.records,
        r.active,
        super::table(&["KPI", "Value", "Target", "Status"], rows)
    ));
    let months: Vec<String> = r.volume.iter().map(|m| format!("{} {}", m.month, m.created)).collect();
    o.push_str(&format!("\nCreated per month: {}\n", months.join(" · ")));
    for (title, counts) in [
        ("By status (all records)", &r.by_status),
        ("By risk tier (active)", &r.by_tier),
        ("By type (active)", &r.by_type),
        ("By control (active)", &r.by_control),
        ("By risk owner (active)", &r.by_risk_owner),
        ("Top assets (active)", &r.top_assets),
    ] {
        let items: Vec<String> = counts.iter().map(|c| format!("{} {}", escape::text(&c.name), c.count)).collect();
        o.push_str(&format!("{title}: {}\n", if items.is_empty() { "none".into() } else { items.join(" · ") }));
    }
    for (title, shares) in [
        ("Assets excepted by business unit", &r.assets_by_business_unit),
        ("Assets excepted by criticality", &r.assets_by_criticality),
    ] {
        if !shares.is_empty() {
            let items: Vec<String> = shares.iter().map(|s| escape::text(&share_text(s)).into_owned()).collect();
            o.push_str(&format!("{title}: {}\n", items.join(" · ")));
        }
    }
    if !r.by_registry.is_empty() || !r.unreadable.is_empty() {
        let headers = registry_headers(r);
        let h: Vec<&str> = headers.iter().map(String::as_str).collect();
        o.push_str(&format!("\nBy registry:\n{}\n", super::table(&h, registry_rows(r))));
    }
    if !r.needs_action.is_empty() {
        let rows = r
            .needs_action
            .iter()
            .map(|a| vec![qualified(a.registry.as_deref(), &a.id), a.title.clone(), a.owner.clone(), a.why.clone()])
            .collect();
        o.push_str(&format!("\nNeeds action:\n{}\n", super::table(&["ID", "Title", "Risk owner", "Why"], rows)));
    }
    if let Some(p) = partial(r) {
        o.push_str(&format!("\n{}\n", paint(&escape::text(&p), Paint::Red, color)));
    }
    o
}

pub fn markdown(r: &Report) -> String {
    let mut o = partial(r).map(|p| format!("> **{}**\n\n", escape::markdown_text(&p))).unwrap_or_default();
    o.push_str(&format!(
        "## {}: KPIs as of {}\n\n{} records, {} active.\n\n",
        escape::markdown_text(&scope(r)),
        r.as_of,
        r.records,
        r.active
    ));
    o.push_str("| KPI | Value | Target | Status |\n|---|---|---|---|\n");
    for k in &r.kpis {
        let mark = match k.pass {
            Some(true) => "✅ pass",
            Some(false) => "❌ fail",
            None => "–",
        };
        o.push_str(&format!(
            "| {} | {} | {} | {mark} |\n",
            escape::markdown_text(k.name),
            escape::markdown_text(&k.display),
            escape::markdown_text(k.target.as_deref().unwrap_or("–"))
        ));
    }
    o.push_str("\n| Month | Created |\n|---|---|\n");
    for m in &r.volume {
        o.push_str(&format!("| {} | {} |\n", m.month, m.created));
    }
    for (title, counts) in [
        ("By risk tier (active)", &r.by_tier),
        ("By type (active)", &r.by_type),
        ("By control (active)", &r.by_control),
        ("By risk owner (active)", &r.by_risk_owner),
        ("Top assets (active)", &r.top_assets),
    ] {
        o.push_str(&format!("\n**{title}:** "));
        let items: Vec<String> =
            counts.iter().map(|c| format!("{} ({})", escape::markdown_code(&c.name), c.count)).collect();
        o.push_str(&if items.is_empty() { "none".to_string() } else { items.join(", ") });
        o.push('\n');
    }
    for (title, shares) in [
        ("Assets excepted by business unit", &r.assets_by_business_unit),
        ("Assets excepted by criticality", &r.assets_by_criticality),
    ] {
        if !shares.is_empty() {
            let items: Vec<String> = shares.iter().map(|s| escape::markdown_text(&share_text(s))).collect();
            o.push_str(&format!("\n**{title}:** {}\n", items.join(", ")));
        }
    }
    if !r.by_registry.is_empty() || !r.unreadable.is_empty() {
        let headers = registry_headers(r);
        o.push_str(&format!(
            "\n### By registry\n\n| {} |\n|{}\n",
            headers.iter().map(|h| escape::markdown_text(h)).collect::<Vec<_>>().join(" | "),
            "---|".repeat(headers.len())
        ));
        for row in registry_rows(r) {
            o.push_str(&format!(
                "| {} |\n",
                row.iter().map(|c| escape::markdown_text(c)).collect::<Vec<_>>().join(" | ")
            ));
        }
    }
    if !r.needs_action.is_empty() {
        o.push_str("\n### Needs action\n\n| ID | Title | Risk owner | Why |\n|---|---|---|---|\n");
        for a in &r.needs_action {
            o.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                escape::markdown_code(&qualified(a.registry.as_deref(), &a.id)),
                escape::markdown_code(&a.title),
                escape::markdown_code(&a.owner),
                escape::markdown_message(&a.why)
            ));
        }
    }
    o
}

/// A report as CSV, one KPI per row: [`kpi_csv`]; a fleet's rows start with
/// the registry (`all` for the union).
pub fn report_csv(r: &Report) -> Result<String> {
    if r.registries.is_empty() && r.unreadable.is_empty() {
        return kpi_csv(&[(r.as_of, &r.kpis)]);
    }
    let mut sets: Vec<(&str, &Vec<Kpi>)> = vec![("all", &r.kpis)];
    sets.extend(r.by_registry.iter().map(|p| (p.registry.as_deref().unwrap_or(""), &p.kpis)));
    let rows: Vec<Vec<Cell>> = sets
        .iter()
        .flat_map(|(name, kpis)| {
            kpis.iter().map(move |k| {
                let mut row: Vec<Cell> = vec![(*name).into()];
                row.extend(kpi_cells(r.as_of, k));
                row
            })
        })
        .collect();
    super::csv(&["registry", "as_of", "key", "name", "value", "unit", "target", "status"], &rows)
}

/// One KPI's cells: `as_of,key,name,value,unit,target,status`.
fn kpi_cells(as_of: NaiveDate, k: &Kpi) -> Vec<Cell> {
    vec![
        as_of.to_string().into(),
        k.key.into(),
        k.name.into(),
        Cell::Number(k.value.map(|v| format!("{v:.2}")).unwrap_or_default()),
        k.unit.into(),
        k.target.clone().unwrap_or_default().into(),
        match k.pass {
            Some(true) => "pass".into(),
            Some(false) => "fail".into(),
            None => "".into(),
        },
    ]
}

/// One KPI per row: `as_of,key,name,value,unit,target,status`.
pub fn kpi_csv(sets: &[(NaiveDate, &Vec<Kpi>)]) -> Result<String> {
    let rows: Vec<Vec<Cell>> =
        sets.iter().flat_map(|(as_of, kpis)| kpis.iter().map(move |k| kpi_cells(*as_of, k))).collect();
    super::csv(&["as_of", "key", "name", "value", "unit", "target", "status"], &rows)
}

/// The main KPIs at one quarter end.
#[derive(Debug, Serialize)]
pub struct Quarter {
    pub quarter: String,
    pub as_of: NaiveDate,
    pub records: usize,
    pub active: usize,
    pub kpis: Vec<Kpi>,
}

pub const TREND_KPIS: &[&str] = &[
    "volume",
    "approval_hours_avg",
    "overdue_pct",
    "compensating_controls_pct",
    "assets_excepted_pct",
    "open_ended",
    "chronic",
];

pub fn trend_table(quarters: &[Quarter], markdown: bool) -> String {
    let mut headers: Vec<String> = vec!["KPI".into(), "Target".into()];
    headers.extend(quarters.iter().map(|q| format!("{} ({})", q.quarter, q.as_of)));
    let mut rows: Vec<Vec<String>> = Vec::new();
    rows.push(
        [vec!["Records".to_string(), "-".into()], quarters.iter().map(|q| q.records.to_string()).collect()].concat(),
    );
    rows.push(
        [vec!["Active".to_string(), "-".into()], quarters.iter().map(|q| q.active.to_string()).collect()].concat(),
    );
    for key in TREND_KPIS {
        let Some(first) = quarters.first().and_then(|q| q.kpis.iter().find(|k| k.key == *key)) else { continue };
        let mut row = vec![first.name.to_string(), first.target.clone().unwrap_or_else(|| "-".into())];
        for q in quarters {
            let k = q.kpis.iter().find(|k| k.key == *key);
            row.push(
                k.map(|k| format!("{}{}", k.display, if k.pass == Some(false) { " ✗" } else { "" }))
                    .unwrap_or_default(),
            );
        }
        rows.push(row);
    }
    if markdown {
        let mut o = format!("| {} |\n|{}\n", headers.join(" | "), "---|".repeat(headers.len()));
        for r in rows {
            o.push_str(&format!(
                "| {} |\n",
                r.iter().map(|c| escape::markdown_text(c)).collect::<Vec<_>>().join(" | ")
            ));
        }
        o
    } else {
        let h: Vec<&str> = headers.iter().map(String::as_str).collect();
        format!("{}\n", super::table(&h, rows))
    }
}
