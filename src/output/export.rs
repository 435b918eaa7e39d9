//! Exports for auditors, BI tools and scanners: the register (CSV, JSON, JSON
//! Lines, YAML, with the git trail when asked), Trivy's `.trivyignore.yaml`
//! and an OpenVEX document.

use std::collections::HashMap;

use clap::ValueEnum;
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::Cell;
use crate::error::{Error, Result};
use crate::model::lifecycle;
use crate::model::policy::Policy;
use crate::model::record::{Decision, Exception, Record, Status};

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
    /// Trivy's .trivyignore.yaml (suppressions that lapse by themselves).
    Trivyignore,
    /// An OpenVEX 0.2.0 document.
    Openvex,
}

impl ExportFormat {
    /// Whether the format suppresses scanner findings.
    pub fn suppresses(self) -> bool {
        matches!(self, ExportFormat::Trivyignore | ExportFormat::Openvex)
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

pub fn ts(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
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
        created: ts(e.created),
        expires: e.expires.to_string(),
        approved_at: approved_at(e).map(ts),
        approvals: e
            .approvals
            .iter()
            .map(|a| {
                let d = if a.decision == Decision::Approved { "approved" } else { "rejected" };
                format!("{}: {d} by {} at {}", a.role, a.by, ts(a.at))
            })
            .collect::<Vec<_>>()
            .join("; "),
        extensions: lifecycle::extensions(e),
        last_review: e.reviews.iter().map(|v| v.at).max().map(ts),
        closed_at: e.closed.as_ref().map(|c| ts(c.at)),
        closed_reason: e.closed.as_ref().map(|c| c.reason.clone()),
        assets: e.assets.join("; "),
        compensating_controls: e.compensating_controls.join("; "),
        controls: e.controls.join("; "),
        findings: e.findings.join("; "),
        tickets: e.tickets.join("; "),
        attachments: e.attachments.join("; "),
        justification: e.justification.clone(),
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
    "path",
];

pub fn register(rows: &[Row], format: ExportFormat) -> Result<String> {
    match format {
        ExportFormat::Json => super::json(&rows),
        ExportFormat::Jsonl => {
            let mut o = String::new();
            for r in rows {
                o.push_str(&super::escape::json(serde_json::to_string(r).map_err(|e| Error::Output(e.to_string()))?));
                o.push('\n');
            }
            Ok(o)
        }
        ExportFormat::Yaml => crate::yaml::to_string(&rows).map_err(Error::Output),
        _ => {
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
                                .join("; "),
                        ));
                    }
                    cells
                })
                .collect();
            super::csv(&headers, &cells)
        }
    }
}

#[derive(Serialize)]
struct TrivyIgnore {
    vulnerabilities: Vec<TrivyEntry>,
}

#[derive(Serialize)]
struct TrivyEntry {
    id: String,
    statement: String,
    expired_at: String,
}

pub fn trivyignore(records: &[&Exception], as_of: chrono::NaiveDate) -> Result<String> {
    let mut entries = Vec::new();
    for e in records {
        for f in &e.findings {
            entries.push(TrivyEntry {
                id: f.clone(),
                statement: format!("{}: {} (risk owner {}, until {})", e.id, e.title, e.risk_owner, e.expires),
                expired_at: e.expires.to_string(),
            });
        }
    }
    let body = crate::yaml::to_string(&TrivyIgnore { vulnerabilities: entries }).map_err(Error::Output)?;
    Ok(format!(
        "# Generated by `exc export --format trivyignore` as of {}. Do not edit: regenerate it.\n# Only active, approved vulnerability deferrals; each entry lapses on its exception's expiry.\n{body}",
        as_of
    ))
}

/// An asset name as an IRI (`urn:exc:asset:<name>`), percent-encoding what an IRI may not hold.
fn asset_iri(name: &str) -> String {
    let mut out = String::from("urn:exc:asset:");
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub fn openvex(records: &[&Exception], as_of: chrono::NaiveDate, now: chrono::DateTime<chrono::Utc>) -> Result<String> {
    let mut statements = Vec::new();
    for e in records {
        let products: Vec<Value> = e.assets.iter().map(|a| json!({ "@id": asset_iri(a) })).collect();
        for f in &e.findings {
            let controls = if e.compensating_controls.is_empty() {
                "none".to_string()
            } else {
                e.compensating_controls.join("; ")
            };
            statements.push(json!({
                "vulnerability": { "name": f },
                "products": products,
                "status": "affected",
                "action_statement": format!(
                    "Risk accepted under security exception {} until {} ({}); compensating controls: {controls}. Remediate before the exception expires.",
                    e.id, e.expires, e.title
                ),
                "action_statement_timestamp": ts(now),
                "timestamp": ts(now),
            }));
        }
    }
    if statements.is_empty() {
        return Err(Error::Refused(format!(
            "no active vulnerability deferral with findings as of {}: an OpenVEX document needs at least one statement, so none was written (remove any old one, so it no longer suppresses)",
            as_of
        )));
    }
    let mut hash = Sha256::new();
    hash.update(serde_json::to_string(&statements).unwrap_or_default());
    let id: String = hash.finalize().iter().take(16).map(|b| format!("{b:02x}")).collect();
    let doc = json!({
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": format!("urn:exc:vex:{id}"),
        "author": "exc security exception registry",
        "role": "Document Creator",
        "timestamp": ts(now),
        "version": 1,
        "tooling": format!("exc {}", env!("CARGO_PKG_VERSION")),
        "statements": statements,
    });
    super::json(&doc)
}
