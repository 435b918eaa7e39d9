//! `exc revoke ID --reason`: withdraws an approved exception for cause
//! (security, the CISO or the risk owner).

use crate::commands::{ChangeArgs, transition};
use crate::context::{Context, Outcome};
use crate::error::Result;
use crate::model::lifecycle::Action;

/// Withdraw an approved exception for cause.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  exc revoke EXC-7K3Q --reason 'Compensating control failed the audit'")]
pub struct Args {
    /// The exception id.
    pub id: String,
    /// Why it is withdrawn.
    #[arg(long)]
    pub reason: String,
    #[command(flatten)]
    pub change: ChangeArgs,
}

pub fn run(ctx: &Context, args: Args) -> Result<Outcome> {
    transition(ctx, &args.change, &args.id, Action::Revoke { reason: args.reason })
}
