//! `exc retire ID --reason`: closes an exception that is no longer needed
//! (the root cause is fixed), or withdraws a request.

use crate::cli::{Context, Outcome};
use crate::commands::transition::{self, Change};
use crate::error::Result;
use crate::model::lifecycle::{self, Act};

/// Close an exception that is no longer needed.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  exc retire EXC-7K3Q --reason 'CRM migrated to SSO'")]
pub struct Args {
    /// The exception id.
    pub id: String,
    /// Why it is no longer needed.
    #[arg(long)]
    pub reason: String,
    #[command(flatten)]
    pub change: Change,
}

pub fn run(ctx: &Context, args: Args) -> Result<Outcome> {
    let reg = ctx.registry()?;
    let (record, _) = reg.find(&args.id)?;
    let actor = transition::actor(&reg, &args.change)?;
    let after = lifecycle::retire(&record.exception, &Act { actor: &actor, at: ctx.now() }, &args.reason)
        .map_err(|why| transition::refused(&args.id, why))?;
    transition::save(ctx, &reg, &args.change, &record, &after, "retire", None, &format!("Retired {}.", after.id))?;
    Ok(Outcome::Clean)
}
