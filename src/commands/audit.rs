//! `exc audit`: verifies the whole history in one pass: policy changes
//! approved by the previous policy's owners, decisions appended and never
//! rewritten, signed by their makers, made by people who held the role, no
//! self-approval, no request change left unapproved, no deleted or renamed
//! record, no reopened or skipped lifecycle step, no symbolic links; merges
//! judged as git's own three-way merge would have merged them. The findings
//! come in every finding format, so a pull request can be annotated with them.

use std::collections::{BTreeSet, HashMap};

use serde_json::json;

use crate::context::{Context, Outcome};
use crate::error::{Error, Result};
use crate::git::TrustChange;
use crate::model::audit::{Audit, CommitRef, PolicyChain, Step, Version};
use crate::model::finding::{Code, Finding, counts};
use crate::model::record::Exception;
use crate::output::findings::{self, FindingsFormat, Run};
use crate::registry::{self, POLICY_FILE, RECORDS_DIR};

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
    let commit_ref = |i: usize| {
        let c = &history.commits[i];
        CommitRef { id: &c.id, author: &c.author, time: c.time }
    };
    let policy_at = |commit: Option<usize>| -> std::result::Result<Option<crate::model::policy::Policy>, String> {
        let read = |path: &str| match commit {
            Some(c) => history.file_at(c, path),
            None => history.file_at_start(path),
        };
        let Some(text) = read(POLICY_FILE).map_err(|e| e.to_string())? else { return Ok(None) };
        let mut p = registry::parse_policy(text.as_bytes(), POLICY_FILE).map_err(|e| describe(&e))?;
        registry::load_keys(&mut p, |rel| {
            read(rel).map_err(|e| e.to_string())?.ok_or_else(|| "not in this commit".into())
        })
        .map_err(|e| describe(&e))?;
        Ok(Some(p))
    };

    let mut chain = PolicyChain::default();
    let mut audit = Audit::default();
    if history.start > 0
        && let Some(p) = policy_at(None).map_err(Error::Usage)?
    {
        chain.trust(p);
    }
    let mut events = history.trust.iter().filter(|(c, _)| *c >= history.start).peekable();
    let mut last_time: HashMap<String, chrono::DateTime<chrono::Utc>> = HashMap::new();
    let mut files = BTreeSet::new();
    let changes = history.changes.iter().filter(|c| c.commit >= history.start);
    let mut apply_events = |upto: usize, chain: &mut PolicyChain, audit: &mut Audit| {
        while let Some((c, ev)) = events.next_if(|(c, _)| *c <= upto) {
            match ev {
                TrustChange::Policy { .. } => {
                    let candidate = policy_at(Some(*c)).map(|p| p.unwrap_or_default());
                    if let Some(f) = chain.offer(candidate, &commit_ref(*c), POLICY_FILE, history.commits[*c].mainline)
                    {
                        audit.note(f);
                    }
                }
                TrustChange::Symlink { path } => audit.note(
                    Finding::new(
                        Code::Symlink,
                        path,
                        "",
                        format!("{path} was committed as a symbolic link ({})", commit_ref(*c).describe()),
                    )
                    .with_commit(&history.commits[*c].id),
                ),
            }
        }
    };
    history.replay(
        changes,
        |text| registry::parse_version(text).and_then(|v| v.1),
        |commit, change, before, after| {
            apply_events(change.commit, &mut chain, &mut audit);
            let name = change.new_name.as_deref().or(change.old_name.as_deref()).unwrap_or("");
            let path = format!("{RECORDS_DIR}/{name}");
            let old_path = change.old_name.as_deref().map(|n| format!("{RECORDS_DIR}/{n}"));
            fn version<'v>(blob: Option<crate::git::Oid>, parsed: Option<&'v Option<Exception>>) -> Version<'v> {
                match (blob, parsed) {
                    (None, _) => Version::Absent,
                    (Some(_), Some(Some(e))) => Version::Record(e),
                    (Some(_), _) => Version::Unreadable,
                }
            }
            let default = crate::model::policy::Policy::default();
            let policy = chain.effective().unwrap_or(&default);
            if change.link {
                audit.note(
                    Finding::new(
                        Code::Symlink,
                        &path,
                        "",
                        format!("{path} was committed as a symbolic link ({})", commit_ref(change.commit).describe()),
                    )
                    .with_commit(&commit.id),
                );
            }
            audit.step(&Step {
                commit: commit_ref(change.commit),
                file: &path,
                renamed_from: old_path.as_deref().filter(|o| *o != path),
                before: version(change.old_blob, before),
                after: version(change.new_blob, after),
                before_time: old_path.as_ref().and_then(|o| last_time.get(o).copied()),
                policy,
                unapproved_policy: chain.unapproved(),
            });
            if let Some(o) = &old_path {
                last_time.remove(o);
            }
            last_time.insert(path.clone(), commit.time);
            files.insert(path);
            Ok(())
        },
    )?;
    apply_events(usize::MAX, &mut chain, &mut audit);
    let mut found = audit.finish();
    reg.policy.severity.apply(&mut found);

    let (errors, _) = counts(&found);
    let audited = history.commits.len() - history.start.min(history.commits.len());
    let checked = history.changes.iter().filter(|c| c.commit >= history.start).count();
    let since = if history.start > 0 { " since trust.audit_from" } else { "" };
    let summary = format!(
        "{audited} commit(s) touching records or the policy{since}, {checked} change(s) checked: {}",
        if errors == 0 && found.is_empty() {
            "the history is clean".to_string()
        } else {
            format!("{} finding(s)", found.len())
        }
    );
    let files: Vec<(String, Option<String>)> = files.into_iter().map(|p| (p, None)).collect();
    let sources = reg.sources(&[]);
    let mut extra = serde_json::Map::new();
    extra.insert("commits".into(), json!(audited));
    extra.insert("changes".into(), json!(checked));
    let run = Run {
        tool: "exc audit",
        files: &files,
        findings: &found,
        summary,
        locate: &sources,
        extra,
        in_repository: reg.repository_prefix(),
    };
    findings::print(&run, args.format, ctx.color)?;
    Ok(Outcome::from_findings(&found))
}

/// An error's message with its findings, on one line.
fn describe(e: &Error) -> String {
    let mut s = e.to_string();
    for f in e.findings() {
        s.push_str(&format!("; {}", f.message));
    }
    s
}
