//! `exc reject ID --reason`: a required approver turns a request down; it closes.

use crate::cli::{Context, Outcome};
use crate::commands::transition::{self, Change};
use crate::error::Result;
use crate::model::lifecycle::{self, Act};

/// Reject a request.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  exc reject EXC-7K3Q --reason 'Patch is available; apply it instead'")]
pub struct Args {
    /// The exception id.
    pub id: String,
    /// Why it is rejected (kept in the record).
    #[arg(long)]
    pub reason: String,
    /// The role deciding (default: the first deciding role you hold).
    #[arg(long)]
    pub role: Option<String>,
    #[command(flatten)]
    pub change: Change,
}

pub fn run(ctx: &Context, args: Args) -> Result<Outcome> {
    let reg = ctx.registry()?;
    let (record, _) = reg.find(&args.id)?;
    let actor = transition::actor(&reg, &args.change)?;
    let act = Act { actor: &actor, at: ctx.now() };
    let after = lifecycle::reject(&record.exception, &reg.policy, &act, args.role.as_deref(), &args.reason)
        .map_err(|why| transition::refused(&args.id, why))?;
    let role = after.approvals.last().map(|a| a.role.clone()).unwrap_or_default();
    transition::save(
        ctx,
        &reg,
        &args.change,
        &record,
        &after,
        "reject",
        Some(&role),
        &format!("Rejected {} as {role}.", after.id),
    )?;
    Ok(Outcome::Clean)
}
