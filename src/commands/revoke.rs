//! `exc revoke ID --reason`: withdraws an approved exception for cause.

use crate::cli::{Context, Outcome};
use crate::commands::transition::{self, Change};
use crate::error::Result;
use crate::model::lifecycle::{self, Act};

/// Withdraw an approved exception.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  exc revoke EXC-7K3Q --reason 'Compensating control failed the audit'")]
pub struct Args {
    /// The exception id.
    pub id: String,
    /// Why it is withdrawn.
    #[arg(long)]
    pub reason: String,
    #[command(flatten)]
    pub change: Change,
}

pub fn run(ctx: &Context, args: Args) -> Result<Outcome> {
    let reg = ctx.registry()?;
    let (record, _) = reg.find(&args.id)?;
    let actor = transition::actor(&reg, &args.change)?;
    let after = lifecycle::revoke(&record.exception, &reg.policy, &Act { actor: &actor, at: ctx.now() }, &args.reason)
        .map_err(|why| transition::refused(&args.id, why))?;
    transition::save(ctx, &reg, &args.change, &record, &after, "revoke", None, &format!("Revoked {}.", after.id))?;
    Ok(Outcome::Clean)
}
