//! `exc retire ID --reason`: closes an exception that is no longer needed
//! (the root cause is fixed), or withdraws a request.

use crate::commands::{ChangeArgs, transition};
use crate::context::{Context, Outcome};
use crate::error::Result;
use crate::model::lifecycle::Action;

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
    pub change: ChangeArgs,
}

pub fn run(ctx: &Context, args: Args) -> Result<Outcome> {
    transition(ctx, &args.change, &args.id, Action::Retire { reason: args.reason })
}
