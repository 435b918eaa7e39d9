//! The register for auditors and BI tools (CSV, JSON, JSON Lines, YAML, with
//! the git trail when asked), and the choice of scanner suppression formats
//! (written by `super::suppressions`).

use std::collections::HashMap;

use clap::ValueEnum;
use serde::Serialize;
use serde_json::Value;

use super::suppressions::Written;
use crate::model::suppression::Suppression;

use super::{Cell, timestamp};
use crate::error::{Error, Result};
use crate::model::policy::Policy;
use crate::model::record::{Decision, Exception, Record, Status};
use crate::model::review;

/// What `exc export` writes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// The register for spreadsheets and BI tools.
    #[default]
    Csv,
    Json,
    /// One JSON object per line.
    Jsonl,
    Yaml,
    /// Trivy's .trivyignore.yaml: scoped by paths and package URLs, lapsing by itself.
    Trivyignore,
    /// Trivy's legacy .trivyignore (ID exp:DATE; unscoped findings only).
    TrivyignoreLegacy,
    /// Snyk's .snyk policy (ignore rules with reason, expires, created).
    Snyk,
    /// osv-scanner's osv-scanner.toml ([[IgnoredVulns]] with ignoreUntil).
    OsvScanner,
    /// Grype's .grype.yaml ignore rules (package scope; no expiry: regenerate nightly).
    Grype,
    /// better-npm-audit's .nsprc (active, notes, expiry).
    Nsprc,
    /// An OpenVEX 0.2.0 document (not_affected where the type's policy says so).
    Openvex,
    /// An OSCAL plan of action and milestones (POA&M), for FedRAMP and GRC tools.
    OscalPoam,
}

impl ExportFormat {
    /// Whether the format suppresses scanner findings.
    pub fn suppresses(self) -> bool {
        !matches!(
            self,
            ExportFormat::Csv | ExportFormat::Json | ExportFormat::Jsonl | ExportFormat::Yaml | ExportFormat::OscalPoam
        )
    }

    /// The file a scanner looks for, for `exc export --all`.
    pub fn file_name(self) -> Option<&'static str> {
        Some(match self {
            ExportFormat::Trivyignore => ".trivyignore.yaml",
            ExportFormat::TrivyignoreLegacy => ".trivyignore",
            ExportFormat::Snyk => ".snyk",
            ExportFormat::OsvScanner => "osv-scanner.toml",
            ExportFormat::Grype => ".grype.yaml",
            ExportFormat::Nsprc => ".nsprc",
            ExportFormat::Openvex => "exc.openvex.json",
            _ => return None,
        })
    }

    /// The name on the command line (`trivyignore-legacy`).
    pub fn name(self) -> String {
        self.to_possible_value().map(|v| v.get_name().to_string()).unwrap_or_default()
    }
}

/// Writes suppressions in `format` (a suppression format).
/// The suppression formats exc.yaml's `exports:` lists, or every one.
pub fn configured(policy: &Policy) -> Result<Vec<ExportFormat>> {
    if policy.exports.is_empty() {
        return Ok(ExportFormat::value_variants().iter().copied().filter(|f| f.suppresses()).collect());
    }
    policy
        .exports
        .iter()
        .map(|name| {
            ExportFormat::from_str(name, true)
                .ok()
                .filter(|f| f.suppresses())
                .ok_or_else(|| Error::Usage(format!("exc.yaml exports: `{name}` is not a suppression format")))
        })
        .collect()
}

pub fn suppressions(format: ExportFormat, sups: &[Suppression]) -> Result<Written> {
    use super::suppressions as s;
    match format {
        ExportFormat::Trivyignore => s::trivy(sups),
        ExportFormat::TrivyignoreLegacy => Ok(s::trivy_legacy(sups)),
        ExportFormat::Snyk => s::snyk(sups),
        ExportFormat::OsvScanner => Ok(s::osv(sups)),
        ExportFormat::Grype => s::grype(sups),
        ExportFormat::Nsprc => s::nsprc(sups),
        ExportFormat::Openvex => s::openvex(sups),
        other => Err(Error::Usage(format!("`{}` is not a suppression format", other.name()))),
    }
}

/// One row of the register, approvals flattened.
#[derive(Debug, Serialize)]
pub struct Row {
    pub id: String,
    pub title: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub status: String,
    pub active: bool,
    pub risk: String,
    pub urgency: String,
    pub requester: String,
    pub risk_owner: String,
    pub created: String,
    pub expires: String,
    pub approved_at: Option<String>,
    pub approvals: String,
    pub extensions: usize,
    pub last_review: Option<String>,
    pub closed_at: Option<String>,
    pub closed_reason: Option<String>,
    pub assets: String,
    pub compensating_controls: String,
    pub controls: String,
    pub findings: String,
    pub tickets: String,
    pub attachments: String,
    pub justification: String,
    pub migration_plan: Option<String>,
    pub notes: Option<String>,
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<Trail>>,
}

/// One commit in a record's trail.
#[derive(Debug, Clone, Serialize)]
pub struct Trail {
    pub commit: String,
    pub date: String,
    pub author: String,
    pub action: String,
}

pub fn row(r: &Record, policy: &Policy, as_of: chrono::NaiveDate, trails: Option<&HashMap<String, Vec<Trail>>>) -> Row {
    let e = &r.exception;
    let file = std::path::Path::new(&r.path).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    Row {
        id: e.id.clone(),
        title: e.title.clone(),
        kind: e.kind.clone(),
        status: e.status.to_string(),
        active: e.is_active(as_of),
        risk: crate::model::routing::tier_of(r, policy).to_string(),
        urgency: if e.urgency == Default::default() { "standard".into() } else { "urgent".into() },
        requester: e.requester.clone(),
        risk_owner: e.risk_owner.clone(),
        created: timestamp(e.created),
        expires: e.expires.to_string(),
        approved_at: approved_at(e).map(timestamp),
        approvals: e
            .approvals
            .iter()
            .map(|a| {
                let d = if a.decision == Decision::Approved { "approved" } else { "rejected" };
                format!("{}: {d} by {} at {}", a.role, a.by, timestamp(a.at))
            })
            .collect::<Vec<_>>()
            .join(LIST_SEPARATOR),
        extensions: review::extensions(e),
        last_review: e.reviews.iter().map(|v| v.at).max().map(timestamp),
        closed_at: e.closed.as_ref().map(|c| timestamp(c.at)),
        closed_reason: e.closed.as_ref().map(|c| c.reason.clone()),
        assets: e.assets.join(LIST_SEPARATOR),
        compensating_controls: e.compensating_controls.join(LIST_SEPARATOR),
        controls: e.controls.join(LIST_SEPARATOR),
        findings: e.findings.iter().map(ToString::to_string).collect::<Vec<_>>().join(LIST_SEPARATOR),
        tickets: e.tickets.join(LIST_SEPARATOR),
        attachments: e.attachments.join(LIST_SEPARATOR),
        justification: e.justification.clone(),
        migration_plan: e.migration_plan.clone(),
        notes: e.notes.clone(),
        path: r.path.clone(),
        history: trails.map(|t| t.get(&file).cloned().unwrap_or_default()),
    }
}

fn approved_at(e: &Exception) -> Option<chrono::DateTime<chrono::Utc>> {
    if matches!(e.status, Status::Requested | Status::Rejected) {
        return None;
    }
    e.approvals.iter().filter(|a| a.decision == Decision::Approved).map(|a| a.at).max()
}

const COLUMNS: &[&str] = &[
    "id",
    "title",
    "type",
    "status",
    "active",
    "risk",
    "urgency",
    "requester",
    "risk_owner",
    "created",
    "expires",
    "approved_at",
    "approvals",
    "extensions",
    "last_review",
    "closed_at",
    "closed_reason",
    "assets",
    "compensating_controls",
    "controls",
    "findings",
    "tickets",
    "attachments",
    "justification",
    "migration_plan",
    "notes",
    "path",
];

/// How lists are joined in a CSV cell (documented in docs/reports.md).
pub const LIST_SEPARATOR: &str = "; ";

/// The export format's version (`exc schema export`).
pub const VERSION: u32 = 1;

/// One record in the structured export: its file's content, every field,
/// and where it stands as of the date.
#[derive(Debug, Serialize)]
pub struct Item {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
    pub path: String,
    pub state: State,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<Trail>>,
    pub record: Value,
}

/// Where a record stands, as exc works it out.
#[derive(Debug, Serialize)]
pub struct State {
    pub status: String,
    pub active: bool,
    pub risk: String,
    pub approved_at: Option<String>,
    pub extensions: usize,
    pub last_review: Option<String>,
    pub awaiting: Vec<String>,
    pub verified: bool,
}

pub fn item(
    r: &Record,
    policy: &Policy,
    as_of: chrono::NaiveDate,
    trails: Option<&HashMap<String, Vec<Trail>>>,
) -> Item {
    let e = &r.exception;
    let file = std::path::Path::new(&r.path).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    // The file's own content (a record whose approvals do not stand still
    // says what it says); as of an earlier date, the record as it stood then.
    let typed = || serde_json::to_value(e).unwrap_or(Value::Null);
    let record = if r.later > 0 { typed() } else { crate::yaml::parse_value(&r.source).unwrap_or_else(|_| typed()) };
    Item {
        version: None,
        path: r.path.clone(),
        state: State {
            status: e.status.to_string(),
            active: e.is_active(as_of),
            risk: crate::model::routing::tier_of(r, policy).to_string(),
            approved_at: crate::model::routing::completions_of(r, policy).first().map(|c| timestamp(c.at)),
            extensions: review::extensions(e),
            last_review: e.reviews.iter().map(|v| v.at).max().map(timestamp),
            awaiting: crate::model::routing::awaiting_of(r, policy),
            verified: !r.unverified,
        },
        history: trails.map(|t| t.get(&file).cloned().unwrap_or_default()),
        record,
    }
}

/// The register as JSON, JSON Lines or YAML: structured, every field. Items
/// are rendered one at a time as they come, so a large register is never one
/// tree of values (YAML excepted).
pub fn structured(
    items: impl IntoIterator<Item = Item>,
    format: ExportFormat,
    as_of: chrono::NaiveDate,
) -> Result<String> {
    match format {
        ExportFormat::Jsonl => {
            let mut o = String::new();
            for mut item in items {
                item.version = Some(VERSION);
                o.push_str(&super::escape::json(
                    serde_json::to_string(&item).map_err(|e| Error::Output(e.to_string()))?,
                ));
                o.push('\n');
            }
            Ok(o)
        }
        ExportFormat::Yaml => {
            let items: Vec<Item> = items.into_iter().collect();
            let doc = serde_json::json!({ "version": VERSION, "as_of": as_of.to_string(), "records": items });
            crate::yaml::to_string(&doc).map_err(Error::Output)
        }
        _ => {
            let mut o = Vec::new();
            register_json_to(&mut o, items, as_of)?;
            String::from_utf8(o).map_err(|e| Error::Output(e.to_string()))
        }
    }
}

/// The register as JSON, `{version, as_of, records}` as serde_json's pretty
/// printer writes it, written to `w` record by record as each is rendered
/// (never a list of them, nor the whole as one string).
pub fn register_json_to(
    w: &mut dyn std::io::Write,
    items: impl IntoIterator<Item = Item>,
    as_of: chrono::NaiveDate,
) -> Result<()> {
    use std::io::Write;
    let failed = |e: std::io::Error| Error::Output(format!("JSON: {e}"));
    let as_of = serde_json::to_string(&as_of.to_string()).map_err(|e| Error::Output(e.to_string()))?;
    let mut o = super::escape::JsonGuard::new(w);
    write!(o, "{{\n  \"version\": {VERSION},\n  \"as_of\": {as_of},\n  \"records\": [").map_err(failed)?;
    let mut empty = true;
    for item in items {
        o.write_all(if empty { b"\n    " } else { b",\n    " }).map_err(failed)?;
        o.write_all(super::embed(&item, 2)?.get().as_bytes()).map_err(failed)?;
        empty = false;
    }
    o.write_all(if empty { b"]\n}\n" } else { b"\n  ]\n}\n" }).map_err(failed)?;
    o.finish().map(|_| ()).map_err(failed)
}

/// One decision (an approval, rejection, review or closure) as the evidence shows it.
#[derive(Debug, Serialize)]
pub struct DecisionRow {
    pub id: String,
    pub decision: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    pub by: String,
    pub at: String,
    /// `at` as an instant, for bounding a period.
    #[serde(skip)]
    pub time: chrono::DateTime<chrono::Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub risk: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// Whether its signature verifies under the policy, in words.
    pub signature: String,
    /// The signature verifies (or the policy requires none).
    pub verified: bool,
    /// The first commit whose version of the record held it, when the history was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    pub path: String,
}

/// Where a decision entered the history: its record, its entry, and the commit.
pub type CommitOf<'a> = &'a dyn Fn(&Record, crate::model::statement::Entry) -> Option<String>;

/// Every decision of the records, in each record's order: who, when, as
/// what, whether its signature verifies under the policy, and (given
/// `commit_of`) the commit that brought it.
pub fn decisions(records: &[&Record], policy: &Policy, commit_of: Option<CommitOf>) -> Vec<DecisionRow> {
    use crate::model::signature::Verdict;
    use crate::model::statement::{self, Entry};
    let mut rows = Vec::new();
    for r in records {
        let e = &r.exception;
        let verdicts = crate::model::routing::verdicts_of(e, policy);
        let signed = |entry: Entry| match verdicts.get(&entry) {
            None if !policy.signatures_required() => ("not required".to_string(), true),
            None => ("not signed by a person (the policy's own act)".to_string(), true),
            Some(Verdict::Valid) => ("verifies".to_string(), true),
            Some(Verdict::Missing) => ("missing".to_string(), false),
            Some(Verdict::UnknownKey(k)) => (format!("unknown key {k}"), false),
            Some(Verdict::Expired { key, on }) => (format!("key {key} expired on {}", on.date_naive()), false),
            Some(Verdict::Invalid(why)) => (format!("invalid: {why}"), false),
        };
        for entry in statement::chain(e) {
            let (what, role, risk, expires) = match entry {
                Entry::Approval(i) => {
                    let a = &e.approvals[i];
                    let d = if a.decision == Decision::Approved { "approve" } else { "reject" };
                    (d.to_string(), Some(a.role.clone()), Some(a.risk.to_string()), Some(a.expires.to_string()))
                }
                Entry::Review(i) => {
                    let v = &e.reviews[i];
                    (
                        format!("recertify ({:?})", v.decision).to_lowercase(),
                        Some("reviewer".into()),
                        None,
                        v.expires.map(|d| d.to_string()),
                    )
                }
                Entry::Closure => (e.status.to_string(), None, None, None),
                Entry::Request => ("request".to_string(), None, None, Some(e.expires.to_string())),
            };
            let Some((by, at)) = statement::maker(e, entry) else { continue };
            let (signature, verified) = signed(entry);
            rows.push(DecisionRow {
                id: e.id.clone(),
                decision: what,
                role,
                by: by.to_string(),
                at: timestamp(at),
                time: at,
                risk,
                expires,
                signature,
                verified,
                commit: commit_of.and_then(|f| f(r, entry)),
                path: r.path.clone(),
            });
        }
    }
    rows
}

/// The decisions as CSV (`approvals.csv`), one row each; with `with_commit`, a commit column.
pub fn decisions_csv(rows: &[DecisionRow], with_commit: bool) -> Result<String> {
    let mut headers = vec!["id", "decision", "role", "by", "at", "risk", "expires", "signature"];
    if with_commit {
        headers.push("commit");
    }
    headers.push("path");
    let text = |s: &Option<String>| Cell::Text(s.clone().unwrap_or_default());
    let cells: Vec<Vec<Cell>> = rows
        .iter()
        .map(|d| {
            let mut row = vec![
                d.id.as_str().into(),
                d.decision.as_str().into(),
                text(&d.role),
                d.by.as_str().into(),
                d.at.as_str().into(),
                text(&d.risk),
                text(&d.expires),
                d.signature.as_str().into(),
            ];
            if with_commit {
                row.push(text(&d.commit));
            }
            row.push(d.path.as_str().into());
            row
        })
        .collect();
    super::csv(&headers, &cells)
}

/// The register as CSV: flat, lists joined with [`LIST_SEPARATOR`].
pub fn register(rows: &[Row]) -> Result<String> {
    let with_history = rows.iter().any(|r| r.history.is_some());
    let mut headers: Vec<&str> = COLUMNS.to_vec();
    if with_history {
        headers.push("history");
    }
    let cells: Vec<Vec<Cell>> = rows
        .iter()
        .map(|r| {
            let v = serde_json::to_value(r).unwrap_or(Value::Null);
            let mut cells: Vec<Cell> = COLUMNS
                .iter()
                .map(|c| match v.get(*c) {
                    Some(Value::String(s)) => Cell::Text(s.clone()),
                    Some(Value::Null) | None => Cell::Text(String::new()),
                    Some(other) => Cell::Number(other.to_string()),
                })
                .collect();
            if let Some(h) = &r.history {
                cells.push(Cell::Text(
                    h.iter()
                        .map(|t| format!("{} {} {}", t.date, t.action, t.author))
                        .collect::<Vec<_>>()
                        .join(LIST_SEPARATOR),
                ));
            }
            cells
        })
        .collect();
    super::csv(&headers, &cells)
}
