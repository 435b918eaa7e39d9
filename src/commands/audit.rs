//! `exc audit`: verifies the whole history in one pass: policy changes
//! approved by the previous policy's owners, decisions appended and never
//! rewritten, signed by their makers, made by people who held the role, no
//! self-approval, no request change left unapproved, no deleted or renamed
//! record, no reopened or skipped lifecycle step, no symbolic links; merges
//! judged as git's own three-way merge would have merged them. The findings
//! come in every finding format, so a pull request can be annotated with them.

use crate::context::{Context, Outcome};
use crate::error::{Error, Result};
use crate::output::findings::{self, FindingsFormat};

/// Verify the history of every record.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  exc audit
  exc audit --format github                 annotations on the pull request
  exc audit --format json > audit.json
  EXC_CHECKPOINT_KEY=… exc audit --checkpoint .exc-cache/audit.checkpoint
                                            go on from the last audit (CI on main)

With --checkpoint and the secret EXC_CHECKPOINT_KEY (at least 16 bytes), the
audit goes on from the checkpoint of the last commit it audited and writes
one for HEAD: after one new commit it reads one commit. A checkpoint that is
altered, written under another key or setting, or for a commit that is not on
HEAD's first-parent line is ignored, and the whole history is read. Keep the
key in the protected branch's jobs only (see docs/performance.md).

Exit codes: 0 the history is clean, 1 findings, 2 no usable history (no git, a shallow clone).")]
pub struct Args {
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: FindingsFormat,
    /// Go on from this checkpoint file and write it for HEAD (needs EXC_CHECKPOINT_KEY).
    #[arg(long, env = "EXC_AUDIT_CHECKPOINT", value_name = "FILE")]
    pub checkpoint: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub trust: super::TrustArgs,
}

/// The checkpoint's key, from the environment (never an argument: others
/// on the machine can read those).
fn checkpoint_key() -> Result<Option<Vec<u8>>> {
    match std::env::var_os("EXC_CHECKPOINT_KEY").filter(|k| !k.is_empty()) {
        None => Ok(None),
        Some(k) if k.len() < crate::registry::CHECKPOINT_MIN_KEY => Err(Error::Usage(format!(
            "EXC_CHECKPOINT_KEY is {} bytes; use at least {} random bytes (e.g. `openssl rand -hex 32`)",
            k.len(),
            crate::registry::CHECKPOINT_MIN_KEY
        ))),
        Some(k) => Ok(Some(k.into_encoded_bytes())),
    }
}

pub fn run(ctx: &Context, args: Args) -> Result<Outcome> {
    let reg = ctx.registry()?;
    let (mut audited, notes) = match args.checkpoint.as_deref().filter(|p| !p.as_os_str().is_empty()) {
        Some(path) => {
            let done = reg.audit_checkpointed(args.trust.root(), path, checkpoint_key()?.as_deref())?;
            (done.audited, done.notes)
        }
        None => (reg.audit_from_root(args.trust.root())?, Vec::new()),
    };
    for n in &notes {
        crate::output::note(n);
    }
    if args.format == FindingsFormat::Text {
        crate::output::note(&audited.root);
    }
    super::audit_run(&reg, &mut audited, |run| findings::print(run, args.format, ctx.color))?;
    Ok(Outcome::from_findings(&audited.findings))
}
