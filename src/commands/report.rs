//! `exc report`: the KPIs with their targets, as a terminal report, JSON, CSV
//! (one KPI per row), markdown, or a self-contained HTML dashboard; and with
//! `--trend quarterly`, the main KPIs as of each quarter end, from git.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use crate::cli::{Context, Outcome};
use crate::error::{Error, Result};
use crate::git::{History, Oid};
use crate::model::kpi::{self, Inputs, Kpi, Report};
use crate::model::record::Exception;
use crate::model::time;
use crate::output::{self, Format, Paint, markdown as md, paint, terminal_safe};
use crate::registry::{self, Registry};

/// KPIs against their targets.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  exc report
  exc report --format html --out kpis.html       the dashboard for leadership
  exc report --format csv > kpis.csv             one KPI per row
  exc report --since 2026-07-01 --format markdown
  exc report --trend quarterly                   main KPIs at each quarter end, from git")]
pub struct Args {
    /// Flow KPIs (volume, approval time, SLA) count only records created on or after this day.
    #[arg(long, value_name = "DATE", value_parser = time::parse_date)]
    pub since: Option<NaiveDate>,
    /// Recompute the main KPIs as of each quarter end, from the git history.
    #[arg(long, value_enum)]
    pub trend: Option<Trend>,
    /// Write to this file (atomically) instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<std::path::PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Trend {
    Quarterly,
}

pub fn run(ctx: &Context, args: Args) -> Result<Outcome> {
    let reg = ctx.registry()?;
    let inventory = inventory(&reg)?;
    let text = if args.trend.is_some() {
        let format = Format::pick(ctx.format, &[Format::Text, Format::Json, Format::Csv, Format::Markdown])?;
        trend(ctx, &reg, inventory, format)?
    } else {
        let format =
            Format::pick(ctx.format, &[Format::Text, Format::Json, Format::Csv, Format::Markdown, Format::Html])?;
        let loaded = reg.load_all()?;
        if !loaded.findings.is_empty() {
            eprintln!("exc: warning: {} problem(s) in the records; `exc validate` lists them", loaded.findings.len());
        }
        let records: Vec<&Exception> = loaded.records.iter().map(|r| &r.exception).collect();
        let report = kpi::report(
            &records,
            &Inputs { policy: &reg.policy, inventory, as_of: ctx.as_of, since: args.since, now: ctx.now() },
        );
        match format {
            Format::Json => output::json(&report)?,
            Format::Csv => kpi_csv(&[(report.as_of, &report.kpis)])?,
            Format::Markdown => markdown(&report),
            Format::Html => output::dashboard::render(&report),
            _ => text(&report, ctx.color),
        }
    };
    match &args.out {
        Some(path) => {
            registry::write_atomic(path, text.as_bytes(), false)?;
            eprintln!("Wrote {}", path.display());
        }
        None => output::emit(&text)?,
    }
    Ok(Outcome::Clean)
}

/// The inventory size: `assets.total`, or the line count of `assets.inventory`.
fn inventory(reg: &Registry) -> Result<Option<u64>> {
    if let Some(n) = reg.policy.assets.total {
        return Ok(Some(n));
    }
    let Some(file) = &reg.policy.assets.inventory else { return Ok(None) };
    let path = reg.root.join(file);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Error::Usage(format!("assets.inventory: {}: {e}", path.display())))?;
    Ok(Some(text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).count() as u64))
}

fn status_word(k: &Kpi) -> &'static str {
    match k.pass {
        Some(true) => "pass",
        Some(false) => "FAIL",
        None if k.target.is_some() => "n/a",
        None => "",
    }
}

fn text(r: &Report, color: bool) -> String {
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
        output::table(&["KPI", "Value", "Target", "Status"], rows)
    );
    let months: Vec<String> = r.volume.iter().map(|m| format!("{} {}", m.month, m.created)).collect();
    o.push_str(&format!("\nCreated per month: {}\n", months.join(" · ")));
    for (title, counts) in [
        ("By status", &r.by_status),
        ("By type", &r.by_type),
        ("By control (active)", &r.by_control),
        ("By risk owner (active)", &r.by_risk_owner),
        ("Top assets (active)", &r.top_assets),
    ] {
        let items: Vec<String> = counts.iter().map(|c| format!("{} {}", terminal_safe(&c.name), c.count)).collect();
        o.push_str(&format!("{title}: {}\n", if items.is_empty() { "none".into() } else { items.join(" · ") }));
    }
    if !r.needs_action.is_empty() {
        let rows = r
            .needs_action
            .iter()
            .map(|a| vec![a.id.clone(), a.title.clone(), a.owner.clone(), a.why.clone()])
            .collect();
        o.push_str(&format!("\nNeeds action:\n{}\n", output::table(&["ID", "Title", "Risk owner", "Why"], rows)));
    }
    o
}

fn markdown(r: &Report) -> String {
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
            md(k.name),
            md(&k.display),
            md(k.target.as_deref().unwrap_or("–"))
        ));
    }
    o.push_str("\n| Month | Created |\n|---|---|\n");
    for m in &r.volume {
        o.push_str(&format!("| {} | {} |\n", m.month, m.created));
    }
    for (title, counts) in [
        ("By type", &r.by_type),
        ("By control (active)", &r.by_control),
        ("By risk owner (active)", &r.by_risk_owner),
        ("Top assets (active)", &r.top_assets),
    ] {
        o.push_str(&format!("\n**{title}:** "));
        let items: Vec<String> = counts.iter().map(|c| format!("{} ({})", md(&c.name), c.count)).collect();
        o.push_str(&if items.is_empty() { "none".to_string() } else { items.join(", ") });
        o.push('\n');
    }
    if !r.needs_action.is_empty() {
        o.push_str("\n### Needs action\n\n| ID | Title | Risk owner | Why |\n|---|---|---|---|\n");
        for a in &r.needs_action {
            o.push_str(&format!("| {} | {} | {} | {} |\n", md(&a.id), md(&a.title), md(&a.owner), md(&a.why)));
        }
    }
    o
}

/// One KPI per row: `as_of,key,name,value,unit,target,status`.
fn kpi_csv(sets: &[(NaiveDate, &Vec<Kpi>)]) -> Result<String> {
    let rows: Vec<Vec<String>> = sets
        .iter()
        .flat_map(|(as_of, kpis)| {
            kpis.iter().map(move |k| {
                vec![
                    as_of.to_string(),
                    k.key.to_string(),
                    k.name.to_string(),
                    k.value.map(|v| format!("{v:.2}")).unwrap_or_default(),
                    k.unit.to_string(),
                    k.target.clone().unwrap_or_default(),
                    match k.pass {
                        Some(true) => "pass".into(),
                        Some(false) => "fail".into(),
                        None => String::new(),
                    },
                ]
            })
        })
        .collect();
    output::csv(&["as_of", "key", "name", "value", "unit", "target", "status"], &rows)
}

/// The main KPIs at one quarter end.
#[derive(Debug, Serialize)]
struct Quarter {
    quarter: String,
    as_of: NaiveDate,
    records: usize,
    active: usize,
    kpis: Vec<Kpi>,
}

const TREND_KPIS: &[&str] = &[
    "volume",
    "approval_hours_avg",
    "overdue_pct",
    "compensating_controls_pct",
    "assets_excepted_pct",
    "open_ended",
    "chronic",
];

fn quarter_end(d: NaiveDate) -> NaiveDate {
    let q_last_month = ((d.month() - 1) / 3 + 1) * 3;
    let first_next = if q_last_month == 12 {
        NaiveDate::from_ymd_opt(d.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(d.year(), q_last_month + 1, 1)
    };
    first_next.and_then(|n| n.pred_opt()).unwrap_or(d)
}

fn quarter_name(d: NaiveDate) -> String {
    format!("{}-Q{}", d.year(), (d.month() - 1) / 3 + 1)
}

/// Replays the history once, taking the registry's state at each quarter end.
fn trend(ctx: &Context, reg: &Registry, inventory: Option<u64>, format: Format) -> Result<String> {
    let mut quarters = Vec::new();
    match History::read(&reg.root) {
        Ok(history) if !history.commits.is_empty() => {
            let first = history.commits.iter().map(|c| c.time.date_naive()).min().unwrap_or(ctx.as_of);
            let mut ends = Vec::new();
            let mut q = quarter_end(first);
            while q < ctx.as_of {
                ends.push(q);
                q = quarter_end(time::add_days(q, 1));
            }
            ends.push(ctx.as_of);
            let ends: Vec<NaiveDate> = ends.split_off(ends.len().saturating_sub(8));
            let mut state: HashMap<String, Oid> = HashMap::new();
            let mut parsed: HashMap<Oid, Option<Exception>> = HashMap::new();
            let mut changes = history.changes.iter().peekable();
            for end in ends {
                while let Some(c) = changes.next_if(|c| history.commits[c.commit].time.date_naive() <= end) {
                    if let Some(old) = &c.old_name {
                        state.remove(old);
                    }
                    if let (Some(name), Some(blob)) = (&c.new_name, c.new_blob) {
                        state.insert(name.clone(), blob);
                    }
                }
                for blob in state.values() {
                    if !parsed.contains_key(blob) {
                        let text = history.text(*blob).map_err(|e| Error::Git(e.to_string()))?;
                        parsed.insert(*blob, registry::parse_version(&text).and_then(|v| v.1));
                    }
                }
                let records: Vec<&Exception> =
                    state.values().filter_map(|b| parsed.get(b).and_then(|e| e.as_ref())).collect();
                quarters.push(snapshot(reg, inventory, end, &records));
            }
        }
        Ok(_) => eprintln!("exc: warning: no commits touch the records yet; the trend shows only {}", ctx.as_of),
        Err(e) => eprintln!("exc: warning: {e}; the trend shows only {} (from the files on disk)", ctx.as_of),
    }
    if quarters.is_empty() {
        let loaded = reg.load_all()?;
        let records: Vec<&Exception> = loaded.records.iter().map(|r| &r.exception).collect();
        quarters.push(snapshot(reg, inventory, ctx.as_of, &records));
    }
    Ok(match format {
        Format::Json => output::json(&quarters)?,
        Format::Csv => kpi_csv(&quarters.iter().map(|q| (q.as_of, &q.kpis)).collect::<Vec<_>>())?,
        Format::Markdown => trend_table(&quarters, true),
        _ => trend_table(&quarters, false),
    })
}

/// The KPIs as of a quarter end; flow KPIs (volume, approval time) count that quarter only.
fn snapshot(reg: &Registry, inventory: Option<u64>, as_of: NaiveDate, records: &[&Exception]) -> Quarter {
    let now = as_of.and_hms_opt(23, 59, 59).unwrap_or_default().and_utc();
    let since = NaiveDate::from_ymd_opt(as_of.year(), (as_of.month() - 1) / 3 * 3 + 1, 1);
    let r = kpi::report(records, &Inputs { policy: &reg.policy, inventory, as_of, since, now });
    Quarter {
        quarter: quarter_name(as_of),
        as_of,
        records: r.records,
        active: r.active,
        kpis: r.kpis.into_iter().filter(|k| TREND_KPIS.contains(&k.key)).collect(),
    }
}

fn trend_table(quarters: &[Quarter], markdown: bool) -> String {
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
            o.push_str(&format!("| {} |\n", r.iter().map(|c| md(c)).collect::<Vec<_>>().join(" | ")));
        }
        o
    } else {
        let h: Vec<&str> = headers.iter().map(String::as_str).collect();
        format!("{}\n", output::table(&h, rows))
    }
}
