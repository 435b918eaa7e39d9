//! `exc approve ID`: records one role's approval, enforcing routing and
//! separation of duties. The record becomes approved once every role has.

use crate::cli::{Context, Outcome};
use crate::commands::transition::{self, Change};
use crate::error::Result;
use crate::model::lifecycle::{self, Act};
use crate::model::record::{Risk, Status};

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
    pub risk: Option<RiskArg>,
    /// A comment for the record.
    #[arg(long)]
    pub note: Option<String>,
    #[command(flatten)]
    pub change: Change,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum RiskArg {
    Low,
    Medium,
    High,
    Critical,
}

impl From<RiskArg> for Risk {
    fn from(r: RiskArg) -> Risk {
        match r {
            RiskArg::Low => Risk::Low,
            RiskArg::Medium => Risk::Medium,
            RiskArg::High => Risk::High,
            RiskArg::Critical => Risk::Critical,
        }
    }
}

pub fn run(ctx: &Context, args: Args) -> Result<Outcome> {
    let reg = ctx.registry()?;
    let (record, _) = reg.find(&args.id)?;
    let actor = transition::actor(&reg, &args.change)?;
    let act = Act { actor: &actor, at: ctx.now() };
    let before = &record.exception;
    let after =
        lifecycle::approve(before, &reg.policy, &act, args.role.as_deref(), args.risk.map(Risk::from), args.note)
            .map_err(|why| transition::refused(&before.id, why))?;
    let role = after.approvals.last().map(|a| a.role.clone()).unwrap_or_default();
    let summary = if after.status == Status::Approved {
        format!(
            "Approved {} as {role}: all required roles have approved; it is now active until {}.",
            after.id, after.expires
        )
    } else {
        format!("Approved {} as {role} ({} risk).", after.id, reg.policy.effective_risk(&after))
    };
    transition::save(ctx, &reg, &args.change, &record, &after, "approve", Some(&role), &summary)?;
    Ok(Outcome::Clean)
}
