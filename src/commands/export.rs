//! `exc export`: the register for auditors and BI tools (CSV, JSON, JSON Lines,
//! YAML; `--with-history` adds the git trail), and scanner suppressions made
//! only from active exceptions: Trivy's `.trivyignore.yaml` (with `expired_at`)
//! and an OpenVEX document. Expired, rejected and closed records never suppress.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::cli::{Context, Outcome};
use crate::error::{Error, Result};
use crate::git::History;
use crate::model::lifecycle;
use crate::model::record::{Decision, Exception, Record, Status};
use crate::output::{self, Format};
use crate::registry;

/// The type whose findings become scanner suppressions.
const DEFERRAL: &str = "vulnerability-deferral";

/// Export the register, or scanner suppressions.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  exc export --format csv > register.csv                  opens safely in a spreadsheet
  exc export --format jsonl --with-history > register.jsonl
  exc export --format trivyignore > .trivyignore.yaml     suppressions that lapse by themselves
  exc export --format openvex > exc.openvex.json

Suppressions come only from active vulnerability-deferral records with findings; Trivy's
expired_at is the exception's expiry, so it stops suppressing on that day at the latest.")]
pub struct Args {
    /// Add each record's git trail (commit, date, author, action).
    #[arg(long)]
    pub with_history: bool,
    /// Write to this file (atomically) instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<std::path::PathBuf>,
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

pub fn run(ctx: &Context, args: Args) -> Result<Outcome> {
    let format = Format::pick(
        ctx.format,
        &[Format::Csv, Format::Json, Format::Jsonl, Format::Yaml, Format::Trivyignore, Format::Openvex],
    )?;
    let reg = ctx.registry()?;
    let loaded = reg.load_all()?;
    if !loaded.findings.is_empty() {
        eprintln!("exc: warning: {} problem(s) in the records; `exc validate` lists them", loaded.findings.len());
    }
    let text = match format {
        Format::Trivyignore => trivyignore(&loaded.records, ctx)?,
        Format::Openvex => openvex(&loaded.records, ctx)?,
        _ => {
            let trails = if args.with_history { Some(trails(&reg.root)?) } else { None };
            let rows: Vec<Row> =
                loaded.records.iter().map(|r| row(r, &reg.policy, ctx.as_of, trails.as_ref())).collect();
            register(&rows, format)?
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

fn ts(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn row(
    r: &Record,
    policy: &crate::model::policy::Policy,
    as_of: chrono::NaiveDate,
    trails: Option<&HashMap<String, Vec<Trail>>>,
) -> Row {
    let e = &r.exception;
    let file = std::path::Path::new(&r.path).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    Row {
        id: e.id.clone(),
        title: e.title.clone(),
        kind: e.kind.clone(),
        status: e.status.to_string(),
        active: e.is_active(as_of),
        risk: policy.effective_risk(e).to_string(),
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

/// Every record file's trail, from one pass over the history; a renamed
/// record's trail moves with it to its latest name.
fn trails(root: &std::path::Path) -> Result<HashMap<String, Vec<Trail>>> {
    let history = History::read(root).map_err(|e| Error::Git(format!("--with-history: {e}")))?;
    let mut out: HashMap<String, Vec<Trail>> = HashMap::new();
    for c in &history.changes {
        let commit = &history.commits[c.commit];
        if let (Some(old), Some(new)) = (&c.old_name, &c.new_name)
            && old != new
        {
            let trail = out.remove(old).unwrap_or_default();
            out.insert(new.clone(), trail);
        }
        let action = commit.action.clone().unwrap_or_else(|| match (c.old_blob, c.new_blob) {
            (None, _) => "add".into(),
            (_, None) => "delete".into(),
            _ => "edit".into(),
        });
        let name = c.new_name.clone().or(c.old_name.clone()).unwrap_or_default();
        out.entry(name).or_default().push(Trail {
            commit: commit.id.clone(),
            date: ts(commit.time),
            author: commit.author.clone(),
            action,
        });
    }
    Ok(out)
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

fn register(rows: &[Row], format: Format) -> Result<String> {
    match format {
        Format::Json => output::json(&rows),
        Format::Jsonl => {
            let mut o = String::new();
            for r in rows {
                o.push_str(&serde_json::to_string(r).map_err(|e| Error::Usage(e.to_string()))?);
                o.push('\n');
            }
            Ok(o)
        }
        Format::Yaml => crate::yaml::to_string(&rows).map_err(Error::Usage),
        _ => {
            let with_history = rows.iter().any(|r| r.history.is_some());
            let mut headers: Vec<&str> = COLUMNS.to_vec();
            if with_history {
                headers.push("history");
            }
            let cells: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    let v = serde_json::to_value(r).unwrap_or(Value::Null);
                    let mut cells: Vec<String> = COLUMNS
                        .iter()
                        .map(|c| match v.get(*c) {
                            Some(Value::String(s)) => s.clone(),
                            Some(Value::Null) | None => String::new(),
                            Some(other) => other.to_string(),
                        })
                        .collect();
                    if let Some(h) = &r.history {
                        cells.push(
                            h.iter()
                                .map(|t| format!("{} {} {}", t.date, t.action, t.author))
                                .collect::<Vec<_>>()
                                .join("; "),
                        );
                    }
                    cells
                })
                .collect();
            output::csv(&headers, &cells)
        }
    }
}

/// The active deferrals that may suppress findings, oldest expiry first.
fn suppressing<'a>(records: &'a [Record], ctx: &Context) -> Vec<&'a Exception> {
    let mut v: Vec<&Exception> = records
        .iter()
        .map(|r| &r.exception)
        .filter(|e| e.kind == DEFERRAL && e.is_active(ctx.as_of) && !e.findings.is_empty())
        .collect();
    v.sort_by(|a, b| (a.expires, &a.id).cmp(&(b.expires, &b.id)));
    v
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

fn trivyignore(records: &[Record], ctx: &Context) -> Result<String> {
    let mut entries = Vec::new();
    for e in suppressing(records, ctx) {
        for f in &e.findings {
            entries.push(TrivyEntry {
                id: f.clone(),
                statement: format!("{}: {} (risk owner {}, until {})", e.id, e.title, e.risk_owner, e.expires),
                expired_at: e.expires.to_string(),
            });
        }
    }
    let body = crate::yaml::to_string(&TrivyIgnore { vulnerabilities: entries }).map_err(Error::Usage)?;
    Ok(format!(
        "# Generated by `exc export --format trivyignore` as of {}. Do not edit: regenerate it.\n# Only active, approved vulnerability deferrals; each entry lapses on its exception's expiry.\n{body}",
        ctx.as_of
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

fn openvex(records: &[Record], ctx: &Context) -> Result<String> {
    let now = ctx.now();
    let mut statements = Vec::new();
    for e in suppressing(records, ctx) {
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
        return Err(Error::Usage(format!(
            "no active vulnerability deferral with findings as of {}: an OpenVEX document needs at least one statement, so none was written (remove any old one, so it no longer suppresses)",
            ctx.as_of
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
    output::json(&doc)
}
