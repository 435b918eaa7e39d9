//! `exc audit`: verifies the whole history in one pass (approvals by people
//! who held the role, no self-approval, no request change left unapproved, no
//! deleted record, no skipped lifecycle step), with the findings in every
//! finding format, so a pull request can be annotated with them.

use std::collections::{BTreeSet, HashMap};

use serde_json::json;

use crate::context::{Context, Outcome};
use crate::error::Result;
use crate::git::Oid;
use crate::model::audit::{Audit, CommitRef, Step};
use crate::model::finding::counts;
use crate::model::policy::Policy;
use crate::output::findings::{self, FindingsFormat, Run};
use crate::registry::{self, RECORDS_DIR};

/// Verify the history of every record.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  exc audit
  exc audit --format github                 annotations on the pull request
  exc audit --format json > audit.json

Exit codes: 0 the history is clean, 1 findings, 2 no usable history (no git, a shallow clone).")]
pub struct Args {
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: FindingsFormat,
}

pub fn run(ctx: &Context, args: Args) -> Result<Outcome> {
    let reg = ctx.registry()?;
    let history = reg.history()?;

    // The policy as of each commit, parsed once per version.
    let mut policies: HashMap<Option<Oid>, Policy> = HashMap::new();
    let mut policy_of_commit: Vec<Option<Oid>> = Vec::with_capacity(history.commits.len());
    for i in 0..history.commits.len() {
        let found = history.policy_text(i)?;
        let key = found.as_ref().map(|(oid, _)| *oid);
        policies.entry(key).or_insert_with(|| match &found {
            Some((_, text)) => registry::parse_policy(text.as_bytes(), registry::POLICY_FILE).unwrap_or_default(),
            None => Policy::default(),
        });
        policy_of_commit.push(key);
    }

    let mut audit = Audit::default();
    let mut files = BTreeSet::new();
    history.replay(
        &history.changes,
        |text| registry::parse_version(text).and_then(|v| v.1),
        |commit, change, before, after| {
            let name = change.new_name.as_deref().or(change.old_name.as_deref()).unwrap_or("");
            let path = format!("{RECORDS_DIR}/{name}");
            audit.step(&Step {
                commit: CommitRef { id: &commit.id, author: &commit.author, time: commit.time },
                file: &path,
                before: change.old_blob.map(|_| before.and_then(|e| e.as_ref())),
                after: change.new_blob.map(|_| after.and_then(|e| e.as_ref())),
                policy: &policies[&policy_of_commit[change.commit]],
            });
            files.insert(path);
            Ok(())
        },
    )?;
    let mut found = audit.finish();
    reg.policy.severity.apply(&mut found);

    let (errors, _) = counts(&found);
    let summary = format!(
        "{} commit(s) touching records, {} change(s) checked: {}",
        history.commits.len(),
        history.changes.len(),
        if errors == 0 && found.is_empty() {
            "the history is clean".to_string()
        } else {
            format!("{} finding(s)", found.len())
        }
    );
    let files: Vec<(String, Option<String>)> = files.into_iter().map(|p| (p, None)).collect();
    let sources = reg.sources(&[]);
    let mut extra = serde_json::Map::new();
    extra.insert("commits".into(), json!(history.commits.len()));
    extra.insert("changes".into(), json!(history.changes.len()));
    let run = Run { tool: "exc audit", files: &files, findings: &found, summary, locate: &sources, extra };
    findings::print(&run, args.format, ctx.color)?;
    Ok(Outcome::from_findings(&found))
}
