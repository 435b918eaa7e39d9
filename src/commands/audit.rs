//! `exc audit`: verifies the whole history in one pass: policy changes
//! approved by the previous policy's owners, decisions appended and never
//! rewritten, signed by their makers, made by people who held the role, no
//! self-approval, no request change left unapproved, no deleted or renamed
//! record, no reopened or skipped lifecycle step, no symbolic links; merges
//! judged as git's own three-way merge would have merged them. The findings
//! come in every finding format, so a pull request can be annotated with them.

use crate::context::{Context, Outcome};
use crate::error::Result;
use crate::output::findings::{self, FindingsFormat, Run};

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
    #[command(flatten)]
    pub trust: super::TrustArgs,
}

pub fn run(ctx: &Context, args: Args) -> Result<Outcome> {
    let reg = ctx.registry()?;
    let audited = reg.audit_from_root(args.trust.trust_root.as_ref())?;
    let files: Vec<(String, Option<String>)> = audited.files.iter().map(|p| (p.clone(), None)).collect();
    let sources = reg.sources(&[]);
    let run = Run {
        tool: "exc audit",
        files: &files,
        findings: &audited.findings,
        summary: audited.summary(),
        locate: &sources,
        extra: audited.extra(),
        in_repository: reg.repository_prefix(),
    };
    if args.format == FindingsFormat::Text {
        crate::output::note(&audited.root);
    }
    findings::print(&run, args.format, ctx.color)?;
    Ok(Outcome::from_findings(&audited.findings))
}
