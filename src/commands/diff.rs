//! `exc diff`: what a branch changes, for the pull request: records added,
//! changed or closed against the base, field by field, with the approvals each
//! still needs and any policy violation. `--format markdown` is a PR comment.

use std::collections::BTreeMap;

use clap::ValueEnum;
use serde_json::{Value, json};

use crate::context::{Context, Outcome};
use crate::error::Result;
use crate::git;
use crate::model::diff::{self, Current};
use crate::model::finding::{self, Finding};
use crate::output::findings::{self, FindingsFormat, Run};
use crate::output::{self, diff as view};
use crate::registry::{self, POLICY_FILE, RECORDS_DIR};

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
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: DiffFormat,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    #[default]
    Text,
    /// The findings' JSON shape, plus `base`, `commit` and `entries`.
    Json,
    /// A pull-request comment.
    Markdown,
}

pub fn run(ctx: &Context, args: Args) -> Result<Outcome> {
    let mut reg = ctx.registry()?;
    let (commit, base_name) = git::base(&reg.root, args.base.as_deref())?;
    // The policy change first, judged by the base's owners; then the records,
    // judged by the policy in force, and against what the base holds.
    let base_policy = reg.policy_at(commit)?;
    let now = ctx.now();
    let bounds = crate::model::policy_change::Bounds { not_before: None, not_after: Some(now), landed: Some(now) };
    let policy_entry = diff::policy_change(&base_policy, &reg.policy, POLICY_FILE, &bounds);
    let remembered = reg.against_base(commit, &base_name, ctx.now())?;
    let before: BTreeMap<String, Value> = reg
        .records_at(commit)?
        .into_iter()
        .filter_map(|(name, text)| registry::parse_version(&text).map(|(v, _)| (name, v)))
        .collect();
    let loaded = reg.load_all()?;
    let mut now = Vec::new();
    for path in reg.record_files()? {
        let file = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let shown = reg.display_path(&path);
        let record = loaded.records.iter().find(|r| r.path == shown);
        let value = registry::read_version(&path).map(|v| v.0);
        now.push(Current { file, shown, value, record: record.map(|r| &r.exception) });
    }
    let mut entries = diff::compare(&before, &now, &reg.policy, RECORDS_DIR);
    entries.splice(0..0, policy_entry);
    let mut found: Vec<Finding> =
        loaded.findings.iter().filter(|f| entries.iter().any(|e| e.file == f.path)).cloned().collect();
    found.extend(remembered);
    finding::sort(&mut found);

    let short = commit.to_string()[..10].to_string();
    let sources = reg.sources(&loaded.records);
    match args.format {
        DiffFormat::Json => {
            let files: Vec<(String, Option<String>)> =
                entries.iter().map(|e| (e.file.clone(), Some(e.id.clone()))).collect();
            let mut extra = serde_json::Map::new();
            extra.insert("base".into(), json!(base_name));
            extra.insert("commit".into(), json!(commit.to_string()));
            extra.insert("entries".into(), serde_json::to_value(&entries).unwrap_or_default());
            let summary = format!("{} change(s) against {base_name} ({short})", entries.len());
            let run = Run {
                tool: "exc diff",
                files: &files,
                findings: &found,
                summary,
                locate: &sources,
                extra,
                in_repository: reg.repository_prefix(),
            };
            findings::print(&run, FindingsFormat::Json, false)?;
        }
        DiffFormat::Markdown => output::emit_text(&view::markdown(&entries, &found, &base_name, &short))?,
        DiffFormat::Text => output::emit_text(&view::text(&entries, &found, &sources, &base_name, &short, ctx.color))?,
    }
    Ok(Outcome::from_findings(&found))
}
