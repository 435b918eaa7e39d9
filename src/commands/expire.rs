//! `exc expire [--apply]`: lists, then with `--apply` closes, the approved
//! exceptions past their expiry or past a missed review plus the grace period.
//! Expired exceptions stop suppressing anything.

use serde::Serialize;

use crate::context::{Context, Outcome};
use crate::error::Result;
use crate::model::identity::email_of;
use crate::model::lifecycle::{self, Act, Action};
use crate::model::routing::POLICY_APPROVER;
use crate::output::{self, TextOrJson};

/// Close what is past expiry or a missed review.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  exc expire                      list what would close
  exc expire --apply --commit     close them, one commit per record (nightly CI)")]
pub struct Args {
    /// Close them (default: only list).
    #[arg(long)]
    pub apply: bool,
    /// Commit each closed record (also on with `git: { commit: true }`).
    #[arg(long)]
    pub commit: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: TextOrJson,
}

/// One record due to close.
#[derive(Debug, Serialize)]
pub struct Due {
    pub id: String,
    pub path: String,
    pub risk_owner: String,
    pub reason: String,
    pub closed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

pub fn run(ctx: &Context, args: Args) -> Result<Outcome> {
    let reg = ctx.registry()?;
    // Closing reads the records as they are; a preview, as they stood as of the date.
    let loaded = if args.apply { reg.load_all()? } else { ctx.load(&reg)? };
    let commit = crate::commands::commit_options(args.commit || reg.policy.git.commit, ctx)?;
    // Expiry is a fact anyone can check from the record and the policy, not
    // someone's decision: the policy closes the record, unsigned, and the
    // audit checks it was due. The commit says who ran the job.
    let sign = |_: &[u8]| -> Result<String> { Err(crate::error::Error::Sign("the policy does not sign".into())) };
    let act = Act { actor: POLICY_APPROVER, at: if args.apply { ctx.decision_time()? } else { ctx.now() } };
    // Closing happens today: --as-of only previews another day.
    let day = if args.apply { act.at.date_naive() } else { ctx.as_of };
    if args.apply && ctx.as_of_given && ctx.as_of != day {
        return Err(crate::error::Error::Usage(format!(
            "--apply closes what is due today ({day}); --as-of {} only previews: run it without --apply",
            ctx.as_of
        )));
    }
    let mut due = Vec::new();
    for r in &loaded.records {
        let Some(reason) = lifecycle::expiry_due(&r.exception, &reg.policy, day) else { continue };
        let mut item = Due {
            id: r.exception.id.clone(),
            path: r.path.clone(),
            risk_owner: r.exception.risk_owner.clone(),
            reason: reason.clone(),
            closed: false,
            commit: None,
        };
        if args.apply {
            let (_, saved) = reg.transition(r, &act, Action::Expire { reason }, &sign, commit.as_ref())?;
            item.closed = true;
            item.commit = saved.commit;
        }
        due.push(item);
    }
    if args.format == TextOrJson::Json {
        output::emit_json(&due)?;
        return Ok(Outcome::Clean);
    }
    if due.is_empty() {
        output::emit_text(&format!("Nothing to expire as of {}.\n", day))?;
        return Ok(Outcome::Clean);
    }
    let rows = due.iter().map(|d| vec![d.id.clone(), email_of(&d.risk_owner).to_string(), d.reason.clone()]).collect();
    let verb = if args.apply { "Closed as expired" } else { "Would close (run with --apply)" };
    output::emit_text(&format!(
        "{verb}:\n{}\n{} exception(s) as of {}\n",
        output::table(&["ID", "Risk owner", "Why"], rows),
        due.len(),
        day
    ))?;
    Ok(Outcome::Clean)
}
