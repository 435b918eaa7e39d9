//! `exc list`: the register as a filtered table, JSON or CSV.

use chrono::NaiveDate;
use serde::Serialize;

use crate::cli::{Context, Outcome};
use crate::error::Result;
use crate::model::policy::Policy;
use crate::model::record::{Exception, Record, Status, email_of};
use crate::model::time::Span;
use crate::output::{self, Format};

/// List exceptions, filtered.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  exc list
  exc list --status requested,approved --type vendor-access
  exc list --owner dana@example.com --expiring-within 30d
  exc list --format csv > register.csv")]
pub struct Args {
    /// Only these statuses (comma-separated or repeated).
    #[arg(long, value_delimiter = ',', value_enum)]
    pub status: Vec<StatusArg>,
    /// Only these types (comma-separated or repeated).
    #[arg(long = "type", value_delimiter = ',', value_name = "TYPE")]
    pub kind: Vec<String>,
    /// Only records whose risk owner matches (email or part of the name, any case).
    #[arg(long, value_name = "WHO")]
    pub owner: Option<String>,
    /// Only approved records that expire within this span of --as-of (e.g. 30d, 2w, 3m).
    #[arg(long, value_name = "SPAN", value_parser = Span::parse)]
    pub expiring_within: Option<Span>,
}

/// A status as a command-line value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum StatusArg {
    Requested,
    Approved,
    Rejected,
    Retired,
    Revoked,
    Expired,
}

impl From<StatusArg> for Status {
    fn from(s: StatusArg) -> Status {
        match s {
            StatusArg::Requested => Status::Requested,
            StatusArg::Approved => Status::Approved,
            StatusArg::Rejected => Status::Rejected,
            StatusArg::Retired => Status::Retired,
            StatusArg::Revoked => Status::Revoked,
            StatusArg::Expired => Status::Expired,
        }
    }
}

/// One row of the register: the record plus what is derived from it on `--as-of`.
#[derive(Debug, Serialize)]
pub struct Row<'a> {
    #[serde(flatten)]
    pub exception: &'a Exception,
    pub path: &'a str,
    pub effective_risk: String,
    pub active: bool,
    pub days_to_expiry: i64,
    pub awaiting: Vec<String>,
}

impl<'a> Row<'a> {
    pub fn new(r: &'a Record, policy: &Policy, as_of: NaiveDate) -> Row<'a> {
        let e = &r.exception;
        Row {
            exception: e,
            path: &r.path,
            effective_risk: policy.effective_risk(e).to_string(),
            active: e.is_active(as_of),
            days_to_expiry: e.days_to_expiry(as_of),
            awaiting: if e.status == Status::Requested {
                crate::model::rules::missing_roles(e, policy)
            } else {
                Vec::new()
            },
        }
    }
}

fn matches(args: &Args, e: &Exception, as_of: NaiveDate) -> bool {
    if !args.status.is_empty() && !args.status.iter().any(|s| Status::from(*s) == e.status) {
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

/// The status as people read it on `as_of`: an approved record past its expiry has lapsed.
pub fn status_word(e: &Exception, as_of: NaiveDate) -> String {
    if e.status == Status::Approved && e.expires < as_of { "approved (lapsed)".into() } else { e.status.to_string() }
}

pub fn run(ctx: &Context, args: Args) -> Result<Outcome> {
    let format = Format::pick(ctx.format, &[Format::Text, Format::Json, Format::Csv])?;
    let reg = ctx.registry()?;
    let loaded = reg.load_all()?;
    let mut records: Vec<&Record> = loaded.records.iter().filter(|r| matches(&args, &r.exception, ctx.as_of)).collect();
    records.sort_by(|a, b| (a.exception.expires, &a.exception.id).cmp(&(b.exception.expires, &b.exception.id)));
    let rows: Vec<Row> = records.iter().map(|r| Row::new(r, &reg.policy, ctx.as_of)).collect();

    let unreadable: std::collections::BTreeSet<&str> = loaded
        .findings
        .iter()
        .filter(|f| !loaded.records.iter().any(|r| r.path == f.path))
        .map(|f| f.path.as_str())
        .collect();
    if !unreadable.is_empty() {
        eprintln!(
            "exc: warning: {} file(s) could not be read as records and are not listed; run `exc validate`",
            unreadable.len()
        );
    }

    match format {
        Format::Json => output::emit(&output::json(&rows)?)?,
        Format::Csv => {
            let headers = [
                "id",
                "status",
                "type",
                "risk",
                "title",
                "risk_owner",
                "requester",
                "created",
                "expires",
                "days_to_expiry",
                "assets",
                "compensating_controls",
                "path",
            ];
            let cells: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    let e = r.exception;
                    vec![
                        e.id.clone(),
                        e.status.to_string(),
                        e.kind.clone(),
                        r.effective_risk.clone(),
                        e.title.clone(),
                        e.risk_owner.clone(),
                        e.requester.clone(),
                        e.created.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                        e.expires.to_string(),
                        r.days_to_expiry.to_string(),
                        e.assets.join("; "),
                        e.compensating_controls.join("; "),
                        r.path.to_string(),
                    ]
                })
                .collect();
            output::emit(&output::csv(&headers, &cells)?)?;
        }
        _ => {
            if rows.is_empty() {
                output::emit("No exceptions match.\n")?;
                return Ok(Outcome::Clean);
            }
            let cells: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    let e = r.exception;
                    let days = if e.status.is_closed() { "-".into() } else { r.days_to_expiry.to_string() };
                    vec![
                        e.id.clone(),
                        status_word(e, ctx.as_of),
                        e.kind.clone(),
                        r.effective_risk.clone(),
                        e.title.clone(),
                        email_of(&e.risk_owner).to_string(),
                        e.expires.to_string(),
                        days,
                    ]
                })
                .collect();
            let table =
                output::table(&["ID", "Status", "Type", "Risk", "Title", "Risk owner", "Expires", "Days left"], cells);
            output::emit(&format!("{table}\n{} exception(s) as of {}\n", rows.len(), ctx.as_of))?;
        }
    }
    Ok(Outcome::Clean)
}
