//! `exc approve ID`: records one role's approval, enforcing routing and
//! separation of duties. The record becomes approved once every role has.

use crate::commands::{ChangeArgs, transition};
use crate::context::{Context, Outcome};
use crate::error::Result;
use crate::model::lifecycle::Action;
use crate::model::record::Risk;

/// Approve an exception as one role.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  exc approve EXC-7K3Q                       as the first still-needed role you hold
  exc approve EXC-7K3Q --role security --risk high --note 'Controls verified'
  exc approve EXC-7K3Q --commit              and commit just that file

Refused when you requested it, lack the role, the role already approved, the record is
not `requested`, or evidence the tier requires (e.g. attachments for high risk) is missing.")]
pub struct Args {
    /// The exception id.
    pub id: String,
    /// The role to approve as (default: the first still-needed role you hold).
    #[arg(long)]
    pub role: Option<String>,
    /// Assess the risk tier (decides who must approve).
    #[arg(long, value_enum)]
    pub risk: Option<Risk>,
    /// A comment for the record.
    #[arg(long)]
    pub note: Option<String>,
    #[command(flatten)]
    pub change: ChangeArgs,
}

pub fn run(ctx: &Context, args: Args) -> Result<Outcome> {
    let action = Action::Approve { role: args.role, risk: args.risk, note: args.note };
    transition(ctx, &args.change, &args.id, action)
}
