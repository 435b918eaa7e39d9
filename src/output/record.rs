//! Records as people read them: the register (`exc list`: a table, JSON or
//! CSV) and one record in full (`exc show`).

use chrono::NaiveDate;
use serde::Serialize;

use super::findings::{Shown, shown};
use super::{Cell, Paint, escape, finding_line, paint};
use crate::error::Result;
use crate::model::finding::{Finding, Locate};
use crate::model::identity::email_of;
use crate::model::policy::Policy;
use crate::model::record::{Decision, Exception, Record, ReviewDecision, Status};
use crate::model::{review, routing, time};

/// One row of the register: the record plus what is derived from it on `--as-of`.
#[derive(Debug, Serialize)]
pub struct Row<'a> {
    /// Its registry, in a fleet's register (the id is then shown as `registry:id`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registry: Option<&'a str>,
    #[serde(flatten)]
    pub exception: &'a Exception,
    pub path: &'a str,
    pub effective_risk: String,
    pub active: bool,
    pub days_to_expiry: i64,
    pub awaiting: Vec<String>,
    /// When the next recertification falls due (approved records whose review comes before they expire).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_review: Option<NaiveDate>,
    /// Decisions made after the date asked about, left out (see `measure::as_stood`).
    #[serde(skip)]
    pub later: usize,
}

impl<'a> Row<'a> {
    pub fn new(r: &'a Record, policy: &Policy, as_of: NaiveDate) -> Row<'a> {
        let e = &r.exception;
        Row {
            registry: None,
            exception: e,
            path: &r.path,
            effective_risk: routing::tier_of(r, policy).to_string(),
            active: e.is_active(as_of),
            days_to_expiry: e.days_to_expiry(as_of),
            awaiting: routing::awaiting_of(r, policy),
            next_review: review::review_due(e, policy).filter(|d| *d <= e.expires),
            later: r.later,
        }
    }
}

impl Row<'_> {
    /// The id as shown: `registry:id` in a fleet's register.
    pub fn shown_id(&self) -> String {
        crate::model::fleet::qualified(self.registry, &self.exception.id)
    }
}

/// The status as people read it on `as_of`: an approved record past its expiry has lapsed.
pub fn status_word(e: &Exception, as_of: NaiveDate) -> String {
    if e.status == Status::Approved && e.expires < as_of { "approved (lapsed)".into() } else { e.status.to_string() }
}

/// The register as a terminal table.
pub fn register_table(rows: &[Row], as_of: NaiveDate) -> String {
    if rows.is_empty() {
        return "No exceptions match.\n".into();
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let e = r.exception;
            let days = if e.status.is_closed() { "-".into() } else { r.days_to_expiry.to_string() };
            vec![
                r.shown_id(),
                status_word(e, as_of),
                e.kind.clone(),
                r.effective_risk.clone(),
                e.title.clone(),
                email_of(&e.risk_owner).to_string(),
                e.expires.to_string(),
                days,
            ]
        })
        .collect();
    let table = super::table(&["ID", "Status", "Type", "Risk", "Title", "Risk owner", "Expires", "Days left"], cells);
    format!("{table}\n{} exception(s) as of {as_of}\n", rows.len())
}

/// The register as CSV for a spreadsheet: numbers stay numbers, lists are
/// joined with `; `. A fleet's register starts with the registry, and its
/// ids read `registry:id`.
pub fn register_csv(rows: &[Row]) -> Result<String> {
    let fleet = rows.iter().any(|r| r.registry.is_some());
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
    let cells: Vec<Vec<Cell>> = rows
        .iter()
        .map(|r| {
            let e = r.exception;
            let mut row: Vec<Cell> = if fleet { vec![r.registry.unwrap_or("").into()] } else { Vec::new() };
            row.extend([
                r.shown_id().into(),
                e.status.as_str().into(),
                e.kind.as_str().into(),
                r.effective_risk.as_str().into(),
                e.title.as_str().into(),
                e.risk_owner.as_str().into(),
                e.requester.as_str().into(),
                e.created.to_rfc3339_opts(chrono::SecondsFormat::Secs, true).into(),
                e.expires.to_string().into(),
                Cell::Number(r.days_to_expiry.to_string()),
                e.assets.join("; ").into(),
                e.compensating_controls.join("; ").into(),
                r.path.into(),
            ]);
            row
        })
        .collect();
    let headers: Vec<&str> =
        if fleet { std::iter::once("registry").chain(headers).collect() } else { headers.to_vec() };
    super::csv(&headers, &cells)
}

/// One record as `exc show --format json` prints it: the row and its findings.
#[derive(Serialize)]
pub struct Detail<'a> {
    #[serde(flatten)]
    pub row: &'a Row<'a>,
    pub findings: Vec<Shown<'a>>,
}

pub fn detail_json(row: &Row, findings: &[Finding], locate: &dyn Locate) -> Result<String> {
    super::json(&Detail { row, findings: shown(findings, locate) })
}

/// One record in full, for the terminal.
pub fn show(
    row: &Row,
    type_title: Option<&str>,
    findings: &[Finding],
    locate: &dyn Locate,
    as_of: NaiveDate,
    color: bool,
) -> String {
    let e = row.exception;
    let mut o = format!("{}  {}\n", paint(&e.id, Paint::Bold, color), escape::text(&e.title));
    let mut field = |name: &str, value: &str| {
        o.push_str(&format!("  {:<22} {}\n", paint(name, Paint::Dim, color), escape::text(value)));
    };
    let days = e.days_to_expiry(as_of);
    let expiry = if e.status.is_closed() {
        e.expires.to_string()
    } else if days >= 0 {
        format!("{} ({} left)", e.expires, time::days(days))
    } else {
        format!("{} ({} ago)", e.expires, time::days(-days))
    };
    field("status", &status_word(e, as_of));
    field("type", &format!("{} ({})", e.kind, type_title.unwrap_or("unknown type")));
    let assessed = match (e.approvals.is_empty(), e.proposed_risk) {
        (true, Some(_)) => " (proposed by the requester, not yet assessed)",
        (true, None) => " (type default, not yet assessed)",
        _ => "",
    };
    field("risk", &format!("{}{assessed}", row.effective_risk));
    field("requester", &e.requester);
    field("risk owner", &e.risk_owner);
    field("created", &e.created.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    field("expires", &expiry);
    if let Some(due) = row.next_review {
        let until = (due - as_of).num_days();
        let when = match until {
            0 => "today".to_string(),
            1.. => format!("in {}", time::days(until)),
            _ => format!("overdue by {}: run `exc recertify {}`", time::days(-until), e.id),
        };
        field("next review", &format!("{due} ({when})"));
    }
    if e.urgency != Default::default() {
        field("urgency", "urgent");
    }
    field("assets", &e.assets.join(", "));
    let covered: Vec<String> = e.findings.iter().map(ToString::to_string).collect();
    let lists = [
        ("compensating controls", &e.compensating_controls),
        ("controls", &e.controls),
        ("findings", &covered),
        ("attachments", &e.attachments),
        ("tickets", &e.tickets),
    ];
    for (name, items) in lists {
        if !items.is_empty() {
            field(name, &items.join("; "));
        } else if name == "compensating controls" {
            field(name, "none");
        }
    }
    field("justification", &e.justification);
    if let Some(plan) = &e.migration_plan {
        field("migration plan", plan);
    }
    if let Some(notes) = &e.notes {
        field("notes", notes);
    }
    for a in &e.approvals {
        let note = a.note.as_deref().map(|n| format!(": {n}")).unwrap_or_default();
        let verb = if a.decision == Decision::Approved { "approved" } else { "rejected" };
        field("approval", &format!("{verb} by {} as {} on {}{note}", a.by, a.role, a.at.date_naive()));
    }
    for v in &e.reviews {
        let verb = match v.decision {
            ReviewDecision::Keep => "reviewed, expiry kept",
            ReviewDecision::Extend => "extended",
            ReviewDecision::Retire => "retired",
            ReviewDecision::Revoke => "revoked",
        };
        let to = v.expires.map(|d| format!(" to {d}")).unwrap_or_default();
        field("review", &format!("{verb}{to} by {} on {}", v.by, v.at.date_naive()));
    }
    if let Some(cl) = &e.closed {
        field("closed", &format!("{} by {}: {}", cl.at.date_naive(), cl.by, cl.reason));
    }
    if e.status == Status::Requested {
        let waiting = if row.awaiting.is_empty() { "nobody (ready)".to_string() } else { row.awaiting.join(", ") };
        field("awaiting approval", &waiting);
    }
    if row.later > 0 {
        let n = row.later;
        let (what, is) = if n == 1 { ("decision is", "it") } else { ("decisions are", "them") };
        o.push_str(&format!(
            "  {n} later {what} left out: this is the record as of {as_of}; without --as-of exc shows {is}\n"
        ));
    }
    for f in findings {
        o.push_str(&finding_line(f, locate, color));
        o.push('\n');
    }
    o
}
