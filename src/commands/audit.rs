//! `exc audit`: verifies the whole history in one pass: approvals committed by
//! the person they name, approvers who held the role as of that commit, no
//! self-approval, no request change left unapproved, no deleted record, no
//! skipped lifecycle step.

use std::collections::HashMap;

use rayon::prelude::*;
use serde::Serialize;

use crate::cli::{Context, Outcome};
use crate::error::{Error, Result};
use crate::git::{History, Oid};
use crate::model::audit::{Audit, AuditFinding, CommitRef, Step};
use crate::model::policy::Policy;
use crate::model::record::Exception;
use crate::output::{self, Format, Paint, paint, terminal_safe};
use crate::registry;

/// Verify the history of every record.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  exc audit
  exc audit --format json > audit.json

Exit codes: 0 the history is clean, 1 findings, 2 no usable history (no git, a shallow clone).")]
pub struct Args {}

/// The JSON shape of an audit.
#[derive(Debug, Serialize)]
pub struct Report<'a> {
    pub commits: usize,
    pub changes: usize,
    pub findings: &'a [AuditFinding],
}

pub fn run(ctx: &Context, _args: Args) -> Result<Outcome> {
    let format = Format::pick(ctx.format, &[Format::Text, Format::Json])?;
    let reg = ctx.registry()?;
    let git_err = |e: crate::git::HistoryError| Error::Git(e.to_string());
    let history = History::read(&reg.root).map_err(git_err)?;

    let mut policies: HashMap<Option<Oid>, Policy> = HashMap::new();
    let mut policy_of_commit: Vec<Option<Oid>> = Vec::with_capacity(history.commits.len());
    for i in 0..history.commits.len() {
        let found = history.policy_text(i).map_err(git_err)?;
        let key = found.as_ref().map(|(oid, _)| *oid);
        if let std::collections::hash_map::Entry::Vacant(v) = policies.entry(key) {
            let policy = match &found {
                Some((_, text)) => registry::parse_policy(text.as_bytes(), "exc.yaml").unwrap_or_default(),
                None => Policy::default(),
            };
            v.insert(policy);
        }
        policy_of_commit.push(key);
    }

    // Walk the changes in order, a chunk at a time: read the versions a chunk
    // needs, parse them in parallel, check the chunk, and let them go, so memory
    // stays flat however long the history is.
    let mut audit = Audit::default();
    for chunk in history.changes.chunks(4096) {
        let mut blobs: Vec<Oid> = chunk.iter().flat_map(|c| [c.old_blob, c.new_blob]).flatten().collect();
        blobs.sort();
        blobs.dedup();
        let texts: Vec<(Oid, String)> = blobs
            .iter()
            .map(|b| history.text(*b).map(|t| (*b, t)))
            .collect::<std::result::Result<_, _>>()
            .map_err(git_err)?;
        let parsed: HashMap<Oid, Option<Exception>> =
            texts.into_par_iter().map(|(b, t)| (b, registry::parse_version(&t).and_then(|v| v.1))).collect();
        for c in chunk {
            let commit = &history.commits[c.commit];
            let version = |b: Option<Oid>| b.map(|b| parsed.get(&b).and_then(|e| e.as_ref()));
            audit.step(&Step {
                commit: CommitRef { id: &commit.id, author: &commit.author, time: commit.time },
                file: c.new_name.as_deref().or(c.old_name.as_deref()).unwrap_or(""),
                before: version(c.old_blob),
                after: version(c.new_blob),
                policy: &policies[&policy_of_commit[c.commit]],
            });
        }
    }
    let findings = audit.finish();

    if format == Format::Json {
        output::emit(&output::json(&Report {
            commits: history.commits.len(),
            changes: history.changes.len(),
            findings: &findings,
        })?)?;
    } else {
        let mut o = String::new();
        for f in &findings {
            o.push_str(&format!(
                "{} {} {}: {}[{}]: {}\n",
                paint(&f.commit[..10], Paint::Yellow, ctx.color),
                f.time.format("%Y-%m-%d"),
                terminal_safe(&f.file),
                paint("error", Paint::Red, ctx.color),
                f.code,
                terminal_safe(&f.message)
            ));
        }
        let summary = format!(
            "{} commit(s) touching records, {} change(s) checked: {}",
            history.commits.len(),
            history.changes.len(),
            if findings.is_empty() {
                "the history is clean".to_string()
            } else {
                format!("{} finding(s)", findings.len())
            }
        );
        o.push_str(&summary);
        o.push('\n');
        output::emit(&o)?;
    }
    Ok(if findings.is_empty() { Outcome::Clean } else { Outcome::Findings })
}
