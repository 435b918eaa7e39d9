//! `exc check`: the CI gate. Everything `validate` does, plus the rules over
//! time (expired, review overdue, SLA) and stale suppression files, in text,
//! JSON, GitHub annotations, SARIF or JUnit. Needs no git history: it runs in shallow clones and plain
//! directories.

use std::path::PathBuf;

use crate::context::{Context, Outcome};
use crate::error::Result;
use crate::model::finding::{self, counts};
use crate::model::gate::{self, Gate};
use crate::model::time::Span;
use crate::output::findings::{self as report, FindingsFormat, Run};
use crate::registry::Visit;

/// The CI gate.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  exc check --fail-on-expired                          the CI gate
  exc check --fail-on-expired --warn-within 14d --format github
  exc check --fail-on-expired --format sarif > exc.sarif
  exc check --as-of 2027-01-01 --fail-on-expired --fail-on-review-overdue --fail-on-sla
  exc check --base origin/main --fail-on-expired --format github   on a pull request

Exit codes: 0 nothing failed (warnings allowed), 1 invalid records or a --fail-on-* rule
hit, 2 usage or configuration error. Needs no git history (with --base, only the base commit).")]
pub struct Args {
    /// Record files to check (default: all of exceptions/).
    pub files: Vec<PathBuf>,
    /// Fail when an approved exception is past its expiry as of --as-of.
    #[arg(long)]
    pub fail_on_expired: bool,
    /// Fail when a recertification is overdue.
    #[arg(long)]
    pub fail_on_review_overdue: bool,
    /// Fail when a request has waited past its SLA for a decision.
    #[arg(long)]
    pub fail_on_sla: bool,
    /// Warn (without failing) about expiries and reviews due within this span (14, 14d, 2w, 1m).
    #[arg(long, value_name = "SPAN", value_parser = Span::parse)]
    pub warn_within: Option<Span>,
    /// Judge a pull request against this base: its policy (unless the base's
    /// owners approved the change), and no record of the base deleted,
    /// reopened or with its decisions rewritten. Needs the base commit.
    #[arg(long, value_name = "REF")]
    pub base: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: FindingsFormat,
    #[command(flatten)]
    pub trust: super::TrustArgs,
}

pub fn run(ctx: &Context, args: Args) -> Result<Outcome> {
    let mut reg = ctx.registry()?;
    let mut against_base = match &args.base {
        Some(rev) => {
            let (commit, name) = crate::git::base(&reg.root, Some(rev))?;
            let mut found = Vec::new();
            // The base's policy judges the branch: it is what must be rooted.
            if let Some(root) = args.trust.root() {
                let (findings, note) = reg.rooted(root, &reg.policy_at(commit)?, Some(commit));
                note.inspect(|n| crate::output::note(n));
                found.extend(findings);
            }
            found.extend(reg.against_base(commit, &name, ctx.now())?);
            found
        }
        None => match args.trust.root() {
            Some(root) => {
                let (findings, note) = reg.rooted(root, &reg.policy, None);
                note.inspect(|n| crate::output::note(n));
                findings
            }
            None => Vec::new(),
        },
    };
    let g = Gate {
        fail_on_expired: args.fail_on_expired,
        fail_on_review_overdue: args.fail_on_review_overdue,
        fail_on_sla: args.fail_on_sla,
        warn_within: args.warn_within.map(|s| s.days_from(ctx.as_of)),
    };
    let now = ctx.now();
    // Each record is judged as it loads; only those the suppression files
    // are checked against are kept.
    let stale = args.files.is_empty() && !reg.policy.exports.is_empty();
    let visit = Visit {
        stood: ctx.stood(),
        judge: &|r| gate::check(r, &reg.policy, g, ctx.as_of, now),
        keep: &|r, _| stale && !r.exception.findings.is_empty(),
    };
    let mut loaded = reg.load_files(&args.files, &visit)?;
    against_base.extend(crate::model::rules::check_policy(&reg.policy, ctx.now(), crate::registry::POLICY_FILE));
    reg.policy.severity.apply(&mut against_base);
    loaded.findings.extend(against_base);
    if args.files.is_empty() {
        loaded.findings.extend(crate::output::stale::findings(
            &reg.policy,
            &reg.root,
            &loaded.records,
            &loaded.findings,
            ctx.as_of,
            ctx.now(),
        )?);
    }
    loaded.findings.retain(|f| f.severity != finding::Severity::Allow);
    finding::sort(&mut loaded.findings);
    let files = loaded.files();
    let (errors, warnings) = counts(&loaded.findings);
    let summary = format!(
        "exc check: {} record(s) as of {}: {errors} error(s), {warnings} warning(s); {}",
        files.len(),
        ctx.as_of,
        if errors == 0 { "passed" } else { "failed" }
    );
    let sources = reg.sources(&loaded.records);
    let run = Run {
        tool: "exc check",
        files: &files,
        findings: &loaded.findings,
        summary,
        locate: &sources,
        extra: Default::default(),
        in_repository: reg.repository_prefix(),
    };
    report::print(&run, args.format, ctx.color)?;
    Ok(Outcome::from_findings(&loaded.findings))
}
