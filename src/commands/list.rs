//! `exc list`: the register as a filtered table, JSON or CSV; with `--fleet
//! FILE`, the register of several registries, each record as `registry:id`.

use chrono::NaiveDate;
use clap::ValueEnum;

use crate::context::{Context, Outcome};
use crate::error::Result;
use crate::model::identity::email_of;
use crate::model::measure;
use crate::model::record::{Exception, Record, Status};
use crate::model::time::Span;
use crate::output::{self, record};

/// List exceptions, filtered.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  exc list
  exc list --status active --type vendor-access
  exc list --status requested,approved
  exc list --owner dana@example.com --expiring-within 30d
  exc list --format csv > register.csv
  exc list --fleet fleet.yaml --status active   every registry the fleet file lists

With --fleet, records are shown as registry:id, and the JSON is {registries, partial,
unreadable, records}, each record with its `registry`. A registry that cannot be read is
named, and the run is partial: exit 2.")]
pub struct Args {
    /// Only these statuses (comma-separated or repeated); `active` is approved and not expired.
    #[arg(long, value_delimiter = ',', value_enum)]
    pub status: Vec<StatusFilter>,
    /// Only these types (comma-separated or repeated).
    #[arg(long = "type", value_delimiter = ',', value_name = "TYPE")]
    pub kind: Vec<String>,
    /// Only records whose risk owner matches (email or part of the name, any case).
    #[arg(long, value_name = "WHO")]
    pub owner: Option<String>,
    /// Only approved records that expire within this span of --as-of (e.g. 30d, 2w, 3m).
    #[arg(long, value_name = "SPAN", value_parser = Span::parse)]
    pub expiring_within: Option<Span>,
    /// List the registries this fleet file lists, instead of one.
    #[arg(long, value_name = "FILE")]
    pub fleet: Option<std::path::PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: ListFormat,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    #[default]
    Text,
    Json,
    Csv,
}

/// A status to list, or `active`: approved and not past its expiry as of the date.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StatusFilter {
    Active,
    Requested,
    Approved,
    Rejected,
    Retired,
    Revoked,
    Expired,
}

impl StatusFilter {
    fn admits(self, e: &Exception, as_of: NaiveDate) -> bool {
        match self {
            StatusFilter::Active => e.is_active(as_of),
            StatusFilter::Requested => e.status == Status::Requested,
            StatusFilter::Approved => e.status == Status::Approved,
            StatusFilter::Rejected => e.status == Status::Rejected,
            StatusFilter::Retired => e.status == Status::Retired,
            StatusFilter::Revoked => e.status == Status::Revoked,
            StatusFilter::Expired => e.status == Status::Expired,
        }
    }
}

fn matches(args: &Args, e: &Exception, as_of: NaiveDate) -> bool {
    if !args.status.is_empty() && !args.status.iter().any(|s| s.admits(e, as_of)) {
        return false;
    }
    if !args.kind.is_empty() && !args.kind.iter().any(|k| k == &e.kind) {
        return false;
    }
    if let Some(who) = &args.owner {
        let who = who.to_lowercase();
        let owner = e.risk_owner.to_lowercase();
        if !(email_of(&owner) == email_of(&who) || owner.contains(&who)) {
            return false;
        }
    }
    if let Some(span) = args.expiring_within {
        let until = span.after(as_of).unwrap_or(NaiveDate::MAX);
        if !(e.status == Status::Approved && e.expires >= as_of && e.expires <= until) {
            return false;
        }
    }
    true
}

/// Warns about each `--type` none of `types` knows, with the nearest one.
fn unknown_types<'a>(args: &Args, types: impl Iterator<Item = &'a str> + Clone) {
    for kind in args.kind.iter().filter(|k| !types.clone().any(|t| t == k.as_str())) {
        let hint = crate::model::suggest::nearest(kind, types.clone())
            .map(|t| format!("; did you mean `{t}`?"))
            .unwrap_or_else(|| {
                let known: Vec<&str> = types.clone().collect();
                format!(" (exc.yaml's types: {})", known.join(", "))
            });
        output::warn(&format!("exc.yaml has no type `{kind}`{hint}"));
    }
}

/// A fleet's register as JSON.
#[derive(serde::Serialize)]
struct FleetRegister<'a> {
    registries: Vec<&'a str>,
    partial: bool,
    unreadable: &'a [crate::model::fleet::Unreadable],
    records: &'a [record::Row<'a>],
}

/// `exc list --fleet FILE`: every registry's matching records, as `registry:id`.
fn fleet(ctx: &Context, args: &Args, file: &std::path::Path) -> Result<Outcome> {
    let fleet = crate::registry::fleet::Fleet::read(file)?;
    let (opened, unreadable) = crate::registry::fleet::split(fleet.read_all(ctx.rules(), ctx.stood()));
    let mut types: Vec<&str> = opened.iter().flat_map(|o| o.registry.policy.types.keys().map(String::as_str)).collect();
    types.sort_unstable();
    types.dedup();
    unknown_types(args, types.iter().copied());
    let mut rows: Vec<record::Row> = Vec::new();
    for o in &opened {
        rows.extend(
            o.loaded
                .records
                .iter()
                .filter(|r| measure::exists(&r.exception, ctx.now()) && matches(args, &r.exception, ctx.as_of))
                .map(|r| record::Row { registry: Some(&o.name), ..record::Row::new(r, &o.registry.policy, ctx.as_of) }),
        );
        let unloaded = o.loaded.paths.len() - o.loaded.records.len();
        if unloaded > 0 {
            output::warn(&format!(
                "{}: {unloaded} file(s) could not be read as records and are not listed; run `exc validate` there",
                o.name
            ));
        }
    }
    rows.sort_by(|a, b| {
        (a.exception.expires, a.registry, &a.exception.id).cmp(&(b.exception.expires, b.registry, &b.exception.id))
    });
    for u in &unreadable {
        output::warn(&format!("registry {} ({}) could not be read: {}", u.registry, u.source, u.error));
    }
    let notice = crate::model::fleet::partial_notice(&unreadable, fleet.members.len());
    match args.format {
        ListFormat::Json => output::emit_json(&FleetRegister {
            registries: opened.iter().map(|o| o.name.as_str()).collect(),
            partial: notice.is_some(),
            unreadable: &unreadable,
            records: &rows,
        })?,
        ListFormat::Csv => output::emit(&record::register_csv(&rows)?)?,
        ListFormat::Text => {
            let mut text = record::register_table(&rows, ctx.as_of);
            if let Some(n) = &notice {
                let n = output::escape::text(n);
                text = format!("{n}\n{text}{n}\n");
            }
            output::emit_text(&text)?
        }
    }
    Ok(if notice.is_some() { Outcome::Partial } else { Outcome::Clean })
}

pub fn run(ctx: &Context, args: Args) -> Result<Outcome> {
    if let Some(file) = &args.fleet {
        return fleet(ctx, &args, file);
    }
    let reg = ctx.registry()?;
    unknown_types(&args, reg.policy.types.keys().map(String::as_str));
    let loaded = ctx.load(&reg)?;
    // Records created after the date asked about did not exist yet.
    let mut records: Vec<&Record> = loaded
        .records
        .iter()
        .filter(|r| measure::exists(&r.exception, ctx.now()) && matches(&args, &r.exception, ctx.as_of))
        .collect();
    records.sort_by(|a, b| (a.exception.expires, &a.exception.id).cmp(&(b.exception.expires, &b.exception.id)));
    let rows: Vec<record::Row> = records.iter().map(|r| record::Row::new(r, &reg.policy, ctx.as_of)).collect();
    let unreadable = loaded.paths.len() - loaded.records.len();
    if unreadable > 0 {
        output::warn(&format!(
            "{unreadable} file(s) could not be read as records and are not listed; run `exc validate`"
        ));
    }
    match args.format {
        ListFormat::Json => output::emit_json(&rows)?,
        ListFormat::Csv => output::emit(&record::register_csv(&rows)?)?,
        ListFormat::Text => output::emit_text(&record::register_table(&rows, ctx.as_of))?,
    }
    Ok(Outcome::Clean)
}
