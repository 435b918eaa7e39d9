//! `exc sign ID`: the requester signs their request again, as it now
//! stands: after an edit (review feedback narrowed it, say), or for a request
//! filed before the policy listed any key. Only the requester may: the
//! signature is their word that they asked for exactly this.

use crate::commands::{ChangeArgs, actor, signer};
use crate::context::{Context, Outcome};
use crate::error::{Error, Result};
use crate::model::identity::same_person;
use crate::model::signature::Verdict;
use crate::model::{routing, statement};
use crate::output::{self, TextOrJson};

/// Sign your request again, as it now stands.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  exc sign EXC-7K3Q                      after editing your request
  exc sign EXC-7K3Q --key ~/.ssh/id_ed25519 --commit

Where decisions are signed and the policy lists keys, a request counts only while it
carries its requester's signature over its current content. An edit to a request field
voids it (and every approval: the approvers approve the new content again).")]
pub struct Args {
    /// The exception id.
    pub id: String,
    #[command(flatten)]
    pub change: ChangeArgs,
}

pub fn run(ctx: &Context, args: Args) -> Result<Outcome> {
    let reg = ctx.registry()?;
    let (record, _) = reg.find(&args.id)?;
    let mut e = record.exception.clone();
    let me = actor(&reg, args.change.by.as_deref())?;
    let refused = |why: String| Error::Refused(format!("cannot sign {}: {why}", e.id));
    if !same_person(&me, &e.requester) {
        return Err(refused(format!(
            "{me} is not its requester ({}); only the requester signs a request",
            e.requester
        )));
    }
    if e.status.is_closed() {
        return Err(refused(format!("it is {}; a closed record's request is not signed again", e.status)));
    }
    if !reg.policy.signatures_required() {
        return Err(refused("the policy does not require signatures (trust.signatures: off)".into()));
    }
    if routing::request_verdict(&e, &reg.policy) == Some(Verdict::Valid) {
        return Err(refused("its request already carries your valid signature over its current content".into()));
    }
    let bytes = statement::request_statement(&e, reg.policy.trust.registry.as_deref());
    let signature = signer(&reg, args.change.key.as_deref())(&bytes)?;
    e.signature = Some(signature);
    match routing::request_signed(&e, &reg.policy) {
        Verdict::Valid => {}
        v => return Err(refused(format!("the signature is {}; nothing was written", v.describe(&me)))),
    }
    let commit = args.change.commit(ctx, &reg)?;
    let message = commit.map(|c| (crate::git::message("sign", &e.id, None), c.date));
    let saved = reg.save(Some(&record), &e, message.as_ref().map(|(m, d)| (m.as_str(), *d)))?;
    match args.change.format {
        TextOrJson::Json => output::emit_json(&serde_json::json!({
            "id": e.id, "path": saved.shown, "signed": true, "commit": saved.commit,
        }))?,
        TextOrJson::Text => {
            let mut o = format!("Signed the request {} as it now stands.\n", e.id);
            match saved.commit {
                Some(c) => o.push_str(&format!("Committed {} as {c}.\n", saved.shown)),
                None => o.push_str(&format!("Wrote {}; commit it.\n", saved.shown)),
            }
            output::emit_text(&o)?
        }
    }
    Ok(Outcome::Clean)
}
