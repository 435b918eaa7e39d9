//! `exc report` for people: the KPIs beside their targets as a terminal
//! report, markdown, or CSV (one KPI per row); and the quarterly trend table.
//! The HTML dashboard is `dashboard`.

use chrono::NaiveDate;
use serde::Serialize;

use super::{Cell, Paint, escape, paint};
use crate::error::Result;
use crate::model::kpi::{Kpi, Report};

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
    let mut o = format!(
        "Security exceptions as of {}{}: {} records, {} active\n{}\n",
        r.as_of,
        r.since.map(|s| format!(" (flow KPIs since {s})")).unwrap_or_default(),
        r.records,
        r.active,
        super::table(&["KPI", "Value", "Target", "Status"], rows)
    );
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
    if !r.needs_action.is_empty() {
        let rows = r
            .needs_action
            .iter()
            .map(|a| vec![a.id.clone(), a.title.clone(), a.owner.clone(), a.why.clone()])
            .collect();
        o.push_str(&format!("\nNeeds action:\n{}\n", super::table(&["ID", "Title", "Risk owner", "Why"], rows)));
    }
    o
}

pub fn markdown(r: &Report) -> String {
    let mut o =
        format!("## Security exceptions: KPIs as of {}\n\n{} records, {} active.\n\n", r.as_of, r.records, r.active);
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
    if !r.needs_action.is_empty() {
        o.push_str("\n### Needs action\n\n| ID | Title | Risk owner | Why |\n|---|---|---|---|\n");
        for a in &r.needs_action {
            o.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                escape::markdown_code(&a.id),
                escape::markdown_code(&a.title),
                escape::markdown_code(&a.owner),
                escape::markdown_message(&a.why)
            ));
        }
    }
    o
}

/// One KPI per row: `as_of,key,name,value,unit,target,status`.
pub fn kpi_csv(sets: &[(NaiveDate, &Vec<Kpi>)]) -> Result<String> {
    let rows: Vec<Vec<Cell>> = sets
        .iter()
        .flat_map(|(as_of, kpis)| {
            kpis.iter().map(move |k| {
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
            })
        })
        .collect();
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
