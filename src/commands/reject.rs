//! `exc reject ID --reason`: a required approver turns a request down; it closes.

use crate::commands::{ChangeArgs, transition};
use crate::context::{Context, Outcome};
use crate::error::Result;
use crate::model::lifecycle::Action;

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
    pub change: ChangeArgs,
}

pub fn run(ctx: &Context, args: Args) -> Result<Outcome> {
    transition(ctx, &args.change, &args.id, Action::Reject { role: args.role, reason: args.reason })
}
