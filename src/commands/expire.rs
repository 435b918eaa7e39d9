//! `exc expire [--apply]`: lists, then with `--apply` closes, the approved
//! exceptions past their expiry or past a missed review plus the grace period.
//! Expired exceptions stop suppressing anything.

use serde::Serialize;

use crate::cli::{Context, Outcome};
use crate::commands::transition::Change;
use crate::error::{Error, Result};
use crate::git;
use crate::model::lifecycle;
use crate::model::record::email_of;
use crate::output::{self, Format};

/// Close what is past expiry or a missed review.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  exc expire                      list what would close
  exc expire --apply --commit     close them, one commit per record (nightly CI)")]
pub struct Args {
    /// Close them (default: only list).
    #[arg(long)]
    pub apply: bool,
    #[command(flatten)]
    pub change: Change,
}

/// One record due to close.
#[derive(Debug, Serialize)]
pub struct Due {
    pub id: String,
    pub path: String,
    pub risk_owner: String,
    pub reason: String,
    pub closed: bool,
}

pub fn run(ctx: &Context, args: Args) -> Result<Outcome> {
    let format = Format::pick(ctx.format, &[Format::Text, Format::Json])?;
    let reg = ctx.registry()?;
    let loaded = reg.load_all()?;
    let now = ctx.now();
    let mut due = Vec::new();
    for r in &loaded.records {
        let Some(reason) = lifecycle::expiry_due(&r.exception, &reg.policy, ctx.as_of) else { continue };
        let mut closed = false;
        if args.apply {
            let after = lifecycle::expire(&r.exception, now, &reason).map_err(Error::Usage)?;
            let path = reg.write_record(&after, false)?;
            if args.change.commit || reg.policy.git.commit {
                git::commit_file(&reg.root, &path, &git::message("expire", &after.id, None))
                    .map_err(|m| Error::Git(format!("{m} ({} was written, not committed)", r.path)))?;
            }
            closed = true;
        }
        due.push(Due {
            id: r.exception.id.clone(),
            path: r.path.clone(),
            risk_owner: r.exception.risk_owner.clone(),
            reason,
            closed,
        });
    }
    if format == Format::Json {
        output::emit(&output::json(&due)?)?;
        return Ok(Outcome::Clean);
    }
    if due.is_empty() {
        output::emit(&format!("Nothing to expire as of {}.\n", ctx.as_of))?;
        return Ok(Outcome::Clean);
    }
    let rows = due.iter().map(|d| vec![d.id.clone(), email_of(&d.risk_owner).to_string(), d.reason.clone()]).collect();
    let verb = if args.apply { "Closed as expired" } else { "Would close (run with --apply)" };
    output::emit(&format!(
        "{verb}:\n{}\n{} exception(s) as of {}\n",
        output::table(&["ID", "Risk owner", "Why"], rows),
        due.len(),
        ctx.as_of
    ))?;
    Ok(Outcome::Clean)
}
