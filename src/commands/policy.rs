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

/// What to do with a first policy: nothing to approve; commit it and pin it.
fn first_policy(why: &str) -> Error {
    Error::Refused(format!(
        "{why}: the first policy is trusted on first use and needs no approval. Commit it with its keys file \
         (`git add exc.yaml keys/ && git commit -m 'exc: policy'`), then pin its owners' keys in CI \
         (EXC_TRUST_ROOT, `exc keys --format trust-root` prints them) so a replaced policy is caught. \
         `exc policy approve` is for later changes, approved by the owners of the policy in force."
    ))
}

fn approve(ctx: &Context, args: ApproveArgs) -> Result<Outcome> {
    let reg = ctx.registry()?;
    let (base, base_name) = match crate::git::base(&reg.root, args.base.as_deref()) {
        Ok(b) => b,
        Err(Error::Git(m)) if m.contains("no commits yet") => {
            return Err(first_policy("nothing is committed yet, so there is no policy in force to change"));
        }
        Err(e) => return Err(e),
    };
    if crate::git::file_at(&reg.root, base, POLICY_FILE)?.is_none() {
        return Err(first_policy(&format!("{base_name} has no exc.yaml, so this is the first policy")));
    }
    let previous = reg.policy_at(base)?;
    if previous.digest() == reg.policy.digest() {
        return Err(Error::Refused(format!("exc.yaml does not change the policy at {base_name}; nothing to approve")));
    }
    if !previous.can_approve_anything(Some(ctx.now())) {
        if previous.trust.keyring.is_empty() {
            return Err(Error::Refused(format!(
                "the policy at {base_name} names no owner ({}) who holds a key, so nobody can approve a change to it: \
                 this change takes effect without approval, trusted on first use as the first policy was. Commit it; \
                 approvals start once an owner role has a holder with a key",
                previous.trust.owners.join(", ")
            )));
        }
        return Err(Error::Refused(format!(
            "no holder of an owner role ({}) of the policy at {base_name} has a key valid now, so nobody can approve a \
             change to it: the policy is locked. Start over from a new trust root pinned outside the repository \
             (docs/trust.md, \"A locked policy\")",
            previous.trust.owners.join(", ")
        )));
    }
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
    let path = reg.root.join(POLICY_FILE);
    let mut text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    // The version grows with every change: an approval of this one can never
    // count for an older or a later policy.
    if reg.policy.version <= previous.version {
        text = registry::set_policy_version(&text, previous.version + 1);
    }
    let next = parse_with_keys(&reg, &text)?;
    let mut approval = PolicyApproval {
        by: actor.clone(),
        role: role.clone(),
        at: ctx.decision_time()?,
        policy: next.digest(),
        version: next.version,
        previous: Some(previous.digest()),
        signature: None,
    };
    if previous.signatures_required() {
        let sign = crate::commands::signer(&reg, args.key.as_deref());
        let bytes = crate::model::policy_change::policy_statement(&approval, previous.trust.registry.as_deref());
        let signature = sign(&bytes)?;
        use crate::model::signature::{Verdict, verify};
        match verify(&previous.trust.keyring, &actor, approval.at, &bytes, Some(&signature)) {
            Verdict::Valid => approval.signature = Some(signature),
            v @ (Verdict::UnknownKey(_) | Verdict::Expired { .. }) => {
                return Err(Error::Refused(format!("you {} at {base_name}; nothing was written", v.describe(&actor))));
            }
            _ => return Err(Error::Sign("the signature does not verify; nothing was written".into())),
        }
    }
    let updated = registry::append_policy_approval(&text, &approval)?;
    let check = parse_with_keys(&reg, &updated)?;
    if check.digest() != approval.policy {
        return Err(Error::Refused("appending the approval would change the policy; nothing was written".into()));
    }
    // The keys file the policy trusts travels with it: a rotation committed
    // without it would silently not happen.
    let keys_file = check.trust.allowed_signers.as_deref().map(|rel| reg.root.join(rel)).filter(|p| p.is_file());
    let plan = if args.commit {
        let mut files: Vec<&std::path::Path> = vec![&path];
        files.extend(keys_file.as_deref());
        Some(crate::git::plan_commit_all(&reg.root, &files)?)
    } else {
        None
    };
    registry::write_atomic(&path, updated.as_bytes(), false)?;
    let commit = match plan {
        Some(plan) => {
            let date = crate::commands::commit_options(true, ctx)?.and_then(|c| c.date);
            let message =
                format!("exc: approve policy version {} ({role})\n\nExc-Action: approve-policy\n", approval.version);
            Some(crate::git::commit(&plan, &message, date)?)
        }
        None => None,
    };
    let now = ctx.now();
    let change = previous.judge_change(
        &check,
        &crate::model::policy_change::Bounds { not_before: None, not_after: Some(now), landed: Some(now) },
    );
    match args.format {
        TextOrJson::Json => output::emit(&output::json(&serde_json::json!({
            "approval": approval,
            "still_needed": change.missing,
            "commit": commit,
        }))?)?,
        TextOrJson::Text => {
            let mut o =
                format!("Approved the policy change (version {}) against {base_name} as {role}.\n", approval.version);
            if change.missing.is_empty() {
                o.push_str("Every owner role has approved: the change takes effect once merged.\n");
            } else {
                o.push_str(&format!("Still needs: {}\n", change.missing.join(", ")));
            }
            if let Some(c) = commit {
                let with = keys_file.as_ref().map(|k| format!(" and {}", reg.display_path(k))).unwrap_or_default();
                o.push_str(&format!("Committed exc.yaml{with} as {c}.\n"));
            }
            output::emit_text(&o)?
        }
    }
    Ok(Outcome::Clean)
}

/// Parses exc.yaml's text with the keys of the work tree's keys file.
fn parse_with_keys(reg: &crate::registry::Registry, text: &str) -> Result<crate::model::policy::Policy> {
    let mut p = registry::parse_policy(text.as_bytes(), POLICY_FILE)?;
    registry::load_keys(&mut p, |rel| {
        let file = reg.inside(rel)?;
        std::fs::read_to_string(&file).map_err(|e| e.to_string())
    })?;
    Ok(p)
}
