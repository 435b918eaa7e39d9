//! `exc diff`: what a branch changes, for the pull request: records added,
//! changed or closed against the base, field by field, with the approvals each
//! still needs and any policy violation. `--format markdown` is a PR comment.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::cli::{Context, Outcome};
use crate::error::{Error, Result};
use crate::git;
use crate::model::diff::{self, FieldChange};
use crate::model::finding::{Finding, Severity};
use crate::model::record::Status;
use crate::model::rules;
use crate::output::{self, Format, Paint, finding_line, markdown as md, paint, terminal_safe};
use crate::registry;

/// Show what this branch changes in the registry.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  exc diff                                    against the merge base with the default branch
  exc diff --base origin/main --format markdown > comment.md

Compares the records on disk with those at the base. Exit codes: 0 no policy violation
in the changed records, 1 violations, 2 usage or git error (e.g. the base is missing
from a shallow clone).")]
pub struct Args {
    /// The revision to compare against (default: the merge base with the default branch).
    #[arg(long, value_name = "REF")]
    pub base: Option<String>,
}

/// How a record changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Added,
    Changed,
    Closed,
    Deleted,
}

/// One changed record.
#[derive(Debug, Serialize)]
pub struct Entry {
    pub kind: Kind,
    pub id: String,
    pub file: String,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    pub changes: Vec<FieldChange>,
    /// Roles whose approval is still needed.
    pub awaiting: Vec<String>,
    pub violations: Vec<Finding>,
}

#[derive(Debug, Serialize)]
struct Report<'a> {
    base: &'a str,
    commit: String,
    entries: &'a [Entry],
}

pub fn run(ctx: &Context, args: Args) -> Result<Outcome> {
    let format = Format::pick(ctx.format, &[Format::Text, Format::Json, Format::Markdown])?;
    let reg = ctx.registry()?;
    let (commit, base_name) = git::base(&reg.root, args.base.as_deref()).map_err(Error::Git)?;
    let before: BTreeMap<String, Value> = git::records_at(&reg.root, commit)
        .map_err(Error::Git)?
        .into_iter()
        .filter_map(|(name, text)| registry::parse_version(&text).map(|(v, _)| (name, v)))
        .collect();
    let loaded = reg.load_all()?;
    let mut entries = Vec::new();
    let mut current_files = Vec::new();
    for path in reg.record_files()? {
        let file = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let shown = reg.display_path(&path);
        current_files.push(file.clone());
        let record = loaded.records.iter().find(|r| r.path == shown);
        let after = match record {
            Some(r) => registry::parse_version(r.source()).map(|v| v.0),
            None => std::fs::read_to_string(&path).ok().and_then(|t| registry::parse_version(&t)).map(|v| v.0),
        };
        let old = before.get(&file);
        let changes = diff::diff(old, after.as_ref());
        if old.is_some() && changes.is_empty() {
            continue;
        }
        let violations: Vec<Finding> = loaded.findings.iter().filter(|f| f.path == shown).cloned().collect();
        let was_closed = old
            .and_then(|v| v.get("status"))
            .and_then(Value::as_str)
            .is_some_and(|s| matches!(s, "rejected" | "retired" | "revoked" | "expired"));
        let (id, title, status) = match record {
            Some(r) => (r.exception.id.clone(), r.exception.title.clone(), Some(r.exception.status)),
            None => (file.trim_end_matches(".yaml").trim_end_matches(".yml").to_string(), String::new(), None),
        };
        let kind = match (old, status) {
            (None, _) => Kind::Added,
            (Some(_), Some(s)) if s.is_closed() && !was_closed => Kind::Closed,
            _ => Kind::Changed,
        };
        let awaiting = record
            .filter(|r| !r.exception.status.is_closed())
            .map(|r| rules::missing_roles(&r.exception, &reg.policy))
            .unwrap_or_default();
        entries.push(Entry { kind, id, file: shown, title, status, changes, awaiting, violations });
    }
    for (file, value) in &before {
        if !current_files.contains(file) {
            let id = value.get("id").and_then(Value::as_str).unwrap_or(file).to_string();
            let title = value.get("title").and_then(Value::as_str).unwrap_or("").to_string();
            let shown = format!("{}/{file}", registry::RECORDS_DIR);
            let violation = Finding::error(
                crate::model::finding::Code::RecordDeleted,
                &shown,
                crate::yaml::Position::START,
                format!("{file} is deleted on this branch; records are closed (retire, revoke), never deleted"),
            );
            entries.push(Entry {
                kind: Kind::Deleted,
                id,
                file: shown,
                title,
                status: None,
                changes: Vec::new(),
                awaiting: Vec::new(),
                violations: vec![violation],
            });
        }
    }
    entries.sort_by(|a, b| (a.kind, &a.id).cmp(&(b.kind, &b.id)));
    let short = commit.to_string()[..10].to_string();
    let text = match format {
        Format::Json => output::json(&Report { base: &base_name, commit: commit.to_string(), entries: &entries })?,
        Format::Markdown => markdown(&entries, &base_name, &short, &reg.policy),
        _ => text(&entries, &base_name, &short, ctx.color),
    };
    output::emit(&text)?;
    let violated = entries.iter().any(|e| e.violations.iter().any(|f| f.severity == Severity::Error));
    Ok(if violated { Outcome::Findings } else { Outcome::Clean })
}

fn verb(k: Kind) -> &'static str {
    match k {
        Kind::Added => "added",
        Kind::Changed => "changed",
        Kind::Closed => "closed",
        Kind::Deleted => "deleted",
    }
}

fn text(entries: &[Entry], base: &str, short: &str, color: bool) -> String {
    if entries.is_empty() {
        return format!("No exception changes against {base} ({short}).\n");
    }
    let mut o = format!("{} exception change(s) against {base} ({short}):\n", entries.len());
    for e in entries {
        let status = e.status.map(|s| format!(" [{s}]")).unwrap_or_default();
        o.push_str(&format!(
            "\n{} {}  {}{status}\n",
            paint(verb(e.kind), Paint::Bold, color),
            e.id,
            terminal_safe(&e.title)
        ));
        for c in &e.changes {
            o.push_str(&format!("    {}\n", terminal_safe(&c.to_string())));
        }
        if !e.awaiting.is_empty() {
            o.push_str(&format!("    needs approval by: {}\n", e.awaiting.join(", ")));
        }
        for f in &e.violations {
            o.push_str(&format!("    {}\n", finding_line(f, color)));
        }
    }
    o
}

fn markdown(entries: &[Entry], base: &str, short: &str, policy: &crate::model::policy::Policy) -> String {
    let mut o = format!("### exc: {} exception change(s) against {} (`{short}`)\n\n", entries.len(), md(base));
    if entries.is_empty() {
        o.push_str("No exception records change on this branch.\n");
        return o;
    }
    o.push_str("| change | id | title | status | needs approval by | policy |\n|---|---|---|---|---|---|\n");
    for e in entries {
        let errors = e.violations.iter().filter(|f| f.severity == Severity::Error).count();
        let who: Vec<String> = e
            .awaiting
            .iter()
            .map(|r| match policy.roles.get(r) {
                Some(p) if !p.is_empty() => format!("{r} ({})", p.join(", ")),
                _ => r.clone(),
            })
            .collect();
        o.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            verb(e.kind),
            md(&e.id),
            md(&e.title),
            e.status.map(|s| s.to_string()).unwrap_or_else(|| "-".into()),
            if who.is_empty() { "-".to_string() } else { md(&who.join("; ")) },
            if errors == 0 { "ok".to_string() } else { format!("**{errors} violation(s)**") }
        ));
    }
    for e in entries {
        o.push_str(&format!("\n#### {} {}: {}\n\n", verb(e.kind), md(&e.id), md(&e.title)));
        for c in &e.changes {
            o.push_str(&format!("- `{}`: {}\n", c.field.replace('`', "'"), md(&c.to_string()[c.field.len() + 2..])));
        }
        for f in &e.violations {
            o.push_str(&format!("- **{}** `{}`: {}\n", f.severity.as_str(), f.code, md(&f.message)));
        }
    }
    o
}
