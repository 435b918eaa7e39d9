//! `exc report`: the KPIs with their targets, as a terminal report, JSON, CSV
//! (one KPI per row), markdown, or a self-contained HTML dashboard; and with
//! `--trend quarterly`, the main KPIs as of each quarter end, from git.
//! With `--fleet FILE`, the KPIs over several registries (read in parallel),
//! with each registry's own beside them.

use std::collections::HashMap;

use chrono::NaiveDate;
use clap::ValueEnum;

use crate::context::{Context, Outcome};
use crate::error::Result;
use crate::model::inventory::AssetBase;
use crate::model::kpi::{self, Inputs};
use crate::model::measure;
use crate::model::record::{Record, Status};
use crate::model::routing;
use crate::model::time;
use crate::output::report::{self as view, Quarter, TREND_KPIS};
use crate::output::{self, dashboard};
use crate::registry::{self, Registry};

/// KPIs against their targets.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  exc report
  exc report --format html --out kpis.html       the dashboard for leadership
  exc report --format csv > kpis.csv             one KPI per row
  exc report --since 2026-07-01 --format markdown
  exc report --trend quarterly                   main KPIs at each quarter end, from git
  exc report --trend quarterly --format html    the dashboard, with the trend as charts
  exc report --fleet fleet.yaml --format html --out org.html   one dashboard over several registries

With --fleet, the KPIs are computed over the union of the registries' records by the same
definitions (each record judged by its own registry's policy), against the fleet file's
targets, with a breakdown per registry; records are shown as registry:id. A registry that
cannot be read is named and the report says it is partial: exit 2.")]
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
    /// Report over the registries this fleet file lists, instead of one.
    #[arg(long, value_name = "FILE", conflicts_with = "trend")]
    pub fleet: Option<std::path::PathBuf>,
    /// Output format (html: the dashboard; with --trend, with the trend as charts).
    #[arg(long, value_enum, default_value_t)]
    pub format: ReportFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Trend {
    Quarterly,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    #[default]
    Text,
    Json,
    /// One KPI per row.
    Csv,
    Markdown,
    /// A self-contained dashboard page.
    Html,
}

pub fn run(ctx: &Context, args: Args) -> Result<Outcome> {
    if let Some(file) = &args.fleet {
        let report = fleet(ctx, file, args.since)?;
        let text = render(&report, args.format, ctx.color)?;
        for u in &report.unreadable {
            output::warn(&format!("registry {} ({}) could not be read: {}", u.registry, u.source, u.error));
        }
        emit(&args, &text)?;
        return Ok(if report.partial { Outcome::Partial } else { Outcome::Clean });
    }
    let reg = ctx.registry()?;
    let text = if args.trend.is_some() {
        let quarters = trend(ctx, &reg, reg.asset_base()?)?;
        match args.format {
            ReportFormat::Json => output::json(&quarters)?,
            ReportFormat::Csv => view::kpi_csv(&quarters.iter().map(|q| (q.as_of, &q.kpis)).collect::<Vec<_>>())?,
            ReportFormat::Markdown => view::trend_table(&quarters, true),
            ReportFormat::Text => view::trend_table(&quarters, false),
            ReportFormat::Html => {
                // The dashboard as of the date, with the trend after its key indicators.
                let loaded = ctx.load(&reg)?;
                let report = super::kpi_report(ctx, &reg, &loaded, args.since, None)?;
                dashboard::render_with_trend(&report, &quarters)
            }
        }
    } else {
        let loaded = ctx.load(&reg)?;
        if !loaded.findings.is_empty() {
            output::warn(&format!("{} problem(s) in the records; `exc validate` lists them", loaded.findings.len()));
        }
        let report = super::kpi_report(ctx, &reg, &loaded, args.since, None)?;
        render(&report, args.format, ctx.color)?
    };
    emit(&args, &text)?;
    Ok(Outcome::Clean)
}

/// A report in `format` (not the trend).
fn render(report: &kpi::Report, format: ReportFormat, color: bool) -> Result<String> {
    Ok(match format {
        ReportFormat::Json => output::json(report)?,
        ReportFormat::Csv => view::report_csv(report)?,
        ReportFormat::Markdown => view::markdown(report),
        ReportFormat::Html => dashboard::render(report),
        ReportFormat::Text => view::text(report, color),
    })
}

/// Writes the report to `--out` (atomically) or standard output.
fn emit(args: &Args, text: &str) -> Result<()> {
    match &args.out {
        Some(path) => {
            registry::write_atomic(path, text.as_bytes(), false)?;
            eprintln!("Wrote {}", output::escape::text(&path.display().to_string()));
        }
        None if matches!(args.format, ReportFormat::Text | ReportFormat::Markdown) => output::emit_text(text)?,
        None => output::emit(text)?,
    }
    Ok(())
}

/// The KPIs over the registries `file` lists: each read in parallel, each
/// record judged by its own registry's policy, the union against the fleet
/// file's targets. The union's asset base is the fleet file's inventory or
/// total; else, when every registry has an inventory, their union; else,
/// when each gives a size, the sum (which assumes they share no asset);
/// else none.
fn fleet(ctx: &Context, file: &std::path::Path, since: Option<NaiveDate>) -> Result<kpi::Report> {
    use rayon::prelude::*;
    let fleet = registry::fleet::Fleet::read(file)?;
    let (opened, unreadable) = registry::fleet::split(fleet.read_all(ctx.rules(), ctx.stood()));
    for o in &opened {
        if !o.loaded.findings.is_empty() {
            output::warn(&format!(
                "{}: {} problem(s) in the records; `exc validate` in that registry lists them",
                o.name,
                o.loaded.findings.len()
            ));
        }
    }
    let contexts: Vec<crate::registry::KpiContext> = opened
        .par_iter()
        .map(|o| o.registry.kpi_context(&o.loaded, ctx.as_of, ctx.now(), None))
        .collect::<Result<_>>()?;
    for w in contexts.iter().flat_map(|k| &k.warnings) {
        output::warn(w);
    }
    let parts: Vec<kpi::Part> = opened
        .iter()
        .zip(&contexts)
        .map(|(o, k)| kpi::Part {
            name: &o.name,
            records: o.loaded.records.iter().collect(),
            inputs: k.inputs(&o.registry, ctx.as_of, ctx.now(), since),
        })
        .collect();
    let own = fleet.inventory()?;
    let inventories: Vec<&crate::model::inventory::Inventory> = contexts
        .iter()
        .filter_map(|k| match k.assets {
            AssetBase::Inventory(inv) => Some(inv),
            _ => None,
        })
        .collect();
    let joined = (!inventories.is_empty() && inventories.len() == contexts.len())
        .then(|| crate::model::inventory::Inventory::union(inventories.iter().copied()));
    let base = match (&own, fleet.total, &joined) {
        (Some(inv), _, _) => AssetBase::Inventory(inv),
        (None, Some(n), _) => AssetBase::Total(n),
        (None, None, Some(inv)) => AssetBase::Inventory(inv),
        (None, None, None) => match contexts.iter().map(|k| k.assets.size()).sum::<Option<u64>>() {
            Some(n) if !contexts.is_empty() => AssetBase::Total(n),
            _ => AssetBase::Unknown,
        },
    };
    let union = kpi::Union { targets: &fleet.targets, assets: base, as_of: ctx.as_of, since, now: ctx.now() };
    Ok(kpi::fleet(&parts, &union, unreadable))
}

/// Replays the history once, taking the registry's state at each quarter end.
fn trend(ctx: &Context, reg: &Registry, assets: AssetBase) -> Result<Vec<Quarter>> {
    let history = match reg.history() {
        Ok(h) if !h.commits.is_empty() => h,
        Ok(_) => {
            output::warn(&format!("no commits touch the records yet; the trend shows only {}", ctx.as_of));
            return now_only(ctx, reg, assets);
        }
        Err(e) => {
            output::warn(&format!("{e}; the trend shows only {} (from the files on disk)", ctx.as_of));
            return now_only(ctx, reg, assets);
        }
    };
    let first = history.commits.iter().map(|c| c.time.date_naive()).min().unwrap_or(ctx.as_of);
    let mut ends = kpi::quarter_ends(first, ctx.as_of, 8).into_iter().peekable();
    let mut state: HashMap<String, Record> = HashMap::new();
    let mut quarters = Vec::new();
    let policy = &reg.policy;
    history.replay(
        &history.changes,
        |text| {
            let e = registry::parse_version(text).and_then(|v| v.1)?;
            let route = routing::route_of(&e, policy);
            Some((e, route))
        },
        |commit, change, _, after| {
            while let Some(end) = ends.next_if(|end| commit.time.date_naive() > *end) {
                quarters.push(snapshot(reg, assets, end, &state));
            }
            if let Some(old) = &change.old_name {
                state.remove(old);
            }
            if let (Some(name), Some(Some((e, route)))) = (&change.new_name, after) {
                let path = format!("{}/{name}", registry::RECORDS_DIR);
                let mut r = Record::new(path, e.id.clone(), e.clone(), "".into());
                // As when loading: approvals that do not stand leave it requested.
                if r.exception.status == Status::Approved && !route.awaiting.is_empty() {
                    r.exception.status = Status::Requested;
                    r.unverified = true;
                }
                r.route = Some(route.clone());
                state.insert(name.clone(), r);
            }
            Ok(())
        },
    )?;
    for end in ends {
        quarters.push(snapshot(reg, assets, end, &state));
    }
    Ok(quarters)
}

fn now_only(ctx: &Context, reg: &Registry, assets: AssetBase) -> Result<Vec<Quarter>> {
    let loaded = ctx.load(reg)?;
    let state = loaded.records.into_iter().map(|r| (r.path.clone(), r)).collect();
    Ok(vec![snapshot(reg, assets, ctx.as_of, &state)])
}

/// The KPIs as of a quarter end (its last second); flow KPIs (volume,
/// approval time) count that quarter only.
fn snapshot(reg: &Registry, assets: AssetBase, as_of: NaiveDate, state: &HashMap<String, Record>) -> Quarter {
    let now = as_of.and_hms_opt(23, 59, 59).unwrap_or_default().and_utc();
    // Each record as it stood then: a decision dated later does not count yet.
    let (later, as_is): (Vec<&Record>, Vec<&Record>) =
        state.values().partition(|r| measure::decided_after(&r.exception, now));
    let stood: Vec<Record> = later.into_iter().map(|r| measure::as_stood(r.clone(), &reg.policy, now)).collect();
    let records: Vec<&Record> = as_is.into_iter().chain(&stood).collect();
    let since = Some(kpi::quarter_start(as_of));
    let edited = HashMap::new();
    let inputs = Inputs { policy: &reg.policy, assets, as_of, since, now, edited: &edited, ungoverned: None };
    let r = kpi::report(&records, &inputs);
    Quarter {
        quarter: kpi::quarter_name(as_of),
        as_of,
        records: r.records,
        active: r.active,
        kpis: r.kpis.into_iter().filter(|k| TREND_KPIS.contains(&k.key)).collect(),
    }
}
