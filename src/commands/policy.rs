//! `exc policy approve`: an owner of the policy in force signs their
//! approval of a change to `exc.yaml` (and the keys it trusts). A change takes
//! effect only when every owner role of the previous policy has approved it.

use crate::context::{Context, Outcome};
use crate::error::{Error, Result};
use crate::model::policy::PolicyApproval;
use crate::output::{self, TextOrJson};
use crate::registry::{self, POLICY_FILE};

/// Work with the policy itself.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: PolicyCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum PolicyCommand {
    Approve(ApproveArgs),
}

/// Approve the policy in the work tree as an owner of the policy at the base.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  exc policy approve                         against the merge base with the default branch
  exc policy approve --base origin/main --commit

The approval covers the policy exactly as it is (every section and every key it trusts)
and the policy it replaces; any later edit needs approving again. It is appended to the
`approvals:` section at the end of exc.yaml, signed with your SSH key where the policy
in force requires signatures.")]
pub struct ApproveArgs {
    /// The revision whose policy is in force (default: the merge base with the default branch).
    #[arg(long, value_name = "REF")]
    pub base: Option<String>,
    /// The owner role to approve as (default: the first one you hold).
    #[arg(long)]
    pub role: Option<String>,
    /// Sign with this SSH key (default: git's user.signingkey with gpg.format ssh).
    #[arg(long, value_name = "FILE")]
    pub key: Option<std::path::PathBuf>,
    /// Commit exc.yaml (only that file).
    #[arg(long)]
    pub commit: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: TextOrJson,
}

pub fn run(ctx: &Context, args: Args) -> Result<Outcome> {
    match args.command {
        PolicyCommand::Approve(a) => approve(ctx, a),
    }
}

fn approve(ctx: &Context, args: ApproveArgs) -> Result<Outcome> {
    let reg = ctx.registry()?;
    let (base, base_name) = crate::git::base(&reg.root, args.base.as_deref())?;
    let previous = reg.policy_at(base)?;
    let actor = crate::commands::actor(&reg, None)?;
    let role = match &args.role {
        Some(r) if previous.trust.owners.contains(r) && previous.holds(&actor, r) => r.clone(),
        Some(r) => {
            return Err(Error::Refused(format!(
                "{actor} is not an owner of the policy at {base_name} as `{r}` (owners: {})",
                previous.trust.owners.join(", ")
            )));
        }
        None => previous.trust.owners.iter().find(|r| previous.holds(&actor, r)).cloned().ok_or_else(|| {
            Error::Refused(format!(
                "{actor} holds none of the roles that own the policy at {base_name} ({})",
                previous.trust.owners.join(", ")
            ))
        })?,
    };
    let (mine, theirs) = (previous.digest(), reg.policy.digest());
    if mine == theirs {
        return Err(Error::Refused(format!("exc.yaml does not change the policy at {base_name}; nothing to approve")));
    }
    let mut approval = PolicyApproval {
        by: actor.clone(),
        role: role.clone(),
        at: ctx.decision_time()?,
        policy: theirs,
        previous: Some(mine),
        signature: None,
    };
    if previous.signatures_required() {
        let sign = crate::commands::signer(&reg, args.key.as_deref());
        let bytes = crate::model::policy::policy_statement(&approval);
        let signature = sign(&bytes)?;
        use crate::model::signature::{Verdict, verify};
        match verify(&previous.trust.keyring, &actor, approval.at, &bytes, Some(&signature)) {
            Verdict::Valid => approval.signature = Some(signature),
            Verdict::UnknownKey(print) => {
                return Err(Error::Refused(format!(
                    "you signed with key {print}, which the policy at {base_name} does not list for {actor}; nothing was written"
                )));
            }
            _ => return Err(Error::Sign("the signature does not verify; nothing was written".into())),
        }
    }
    let path = reg.root.join(POLICY_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    let updated = registry::append_policy_approval(&text, &approval)?;
    let mut check = registry::parse_policy(updated.as_bytes(), POLICY_FILE)?;
    registry::load_keys(&mut check, |rel| {
        let file = reg.inside(rel)?;
        std::fs::read_to_string(&file).map_err(|e| e.to_string())
    })?;
    if check.digest() != approval.policy {
        return Err(Error::Refused("appending the approval would change the policy; nothing was written".into()));
    }
    let plan = if args.commit { Some(crate::git::plan_commit(&reg.root, &path)?) } else { None };
    registry::write_atomic(&path, updated.as_bytes(), false)?;
    let commit = match plan {
        Some(plan) => {
            let date = crate::commands::commit_options(true, ctx)?.and_then(|c| c.date);
            let message = format!("exc: approve policy ({role})\n\nExc-Action: approve-policy\n");
            Some(crate::git::commit(&plan, &message, date)?)
        }
        None => None,
    };
    let still = previous.owners_missing(&check);
    match args.format {
        TextOrJson::Json => output::emit(&output::json(&serde_json::json!({
            "approval": approval,
            "still_needed": still,
            "commit": commit,
        }))?)?,
        TextOrJson::Text => {
            let mut o = format!("Approved the policy change against {base_name} as {role}.\n");
            if still.is_empty() {
                o.push_str("Every owner role has approved: the change takes effect once merged.\n");
            } else {
                o.push_str(&format!("Still needs: {}\n", still.join(", ")));
            }
            if let Some(c) = commit {
                o.push_str(&format!("Committed exc.yaml as {c}.\n"));
            }
            output::emit_text(&o)?
        }
    }
    Ok(Outcome::Clean)
}
