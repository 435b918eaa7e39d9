//! `exc recertify ID`: the periodic review. Asks the checklist (are the controls
//! effective, is the justification still valid, is a better option available),
//! then extends within the type's cap, or retires or revokes.

use crate::commands::{ChangeArgs, transition};
use crate::context::{Context, Outcome};
use crate::error::{Error, Result};
use crate::model::lifecycle::{self, Action, Checklist};
use crate::model::record::ReviewDecision;
use crate::model::time;
use crate::prompt;

/// Review an approved exception and extend, retire or revoke it.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  exc recertify EXC-7K3Q                     the checklist, on a terminal
  exc recertify EXC-7K3Q --controls-effective yes --justification-valid yes \\
      --better-option no --expires 90d --note 'WAF rule still blocks the exploit'
  exc recertify EXC-7K3Q --controls-effective no --justification-valid yes \\
      --better-option no --decision revoke --note 'EDR gap no longer covered'

Without a terminal, answer the three checklist questions with flags.")]
pub struct Args {
    /// The exception id.
    pub id: String,
    /// Are the compensating controls still effective?
    #[arg(long, value_name = "yes|no", value_parser = yes_no)]
    pub controls_effective: Option<bool>,
    /// Is the justification still valid?
    #[arg(long, value_name = "yes|no", value_parser = yes_no)]
    pub justification_valid: Option<bool>,
    /// Is a better option (a fix) available now?
    #[arg(long, value_name = "yes|no", value_parser = yes_no)]
    pub better_option: Option<bool>,
    /// What the review decides (default: extend, unless the answers say retire or revoke).
    #[arg(long, value_enum)]
    pub decision: Option<ReviewDecision>,
    /// New expiry for an extension: a date or a span from today (default: the type's maximum).
    #[arg(long, value_name = "DATE|SPAN")]
    pub expires: Option<String>,
    /// The reviewer's comment.
    #[arg(long)]
    pub note: Option<String>,
    #[command(flatten)]
    pub change: ChangeArgs,
}

fn yes_no(s: &str) -> std::result::Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "yes" | "y" | "true" => Ok(true),
        "no" | "n" | "false" => Ok(false),
        _ => Err(format!("`{s}`: answer yes or no")),
    }
}

pub fn run(ctx: &Context, args: Args) -> Result<Outcome> {
    let reg = ctx.registry()?;
    let (record, _) = reg.find(&args.id)?;
    let today = ctx.now().date_naive();
    let e = &record.exception;
    let interactive = prompt::interactive();
    let ask = |flag: Option<bool>, question: &str, default: bool| -> Result<bool> {
        match flag {
            Some(v) => Ok(v),
            None if interactive => prompt::confirm(question, default),
            None => Err(Error::Usage(format!("stdin is not a terminal: answer `{question}` with a flag (see --help)"))),
        }
    };
    if interactive {
        eprintln!(
            "Recertifying {}: {} (expires {}, {} extension(s) so far)",
            e.id,
            crate::output::escape::text(&e.title),
            e.expires,
            lifecycle::extensions(e)
        );
    }
    let answers = Checklist {
        controls_effective: ask(args.controls_effective, "Are the compensating controls still effective?", true)?,
        justification_valid: ask(args.justification_valid, "Is the justification still valid?", true)?,
        better_option: ask(args.better_option, "Is a better option (a fix) available now?", false)?,
    };
    let suggested = lifecycle::suggested_decision(&answers);
    let decision = match args.decision {
        Some(d) => d,
        None if interactive => {
            let items = ["Extend", "Retire (no longer needed)", "Revoke (withdraw for cause)"].map(String::from);
            let choices = [ReviewDecision::Extend, ReviewDecision::Retire, ReviewDecision::Revoke];
            let default = choices.iter().position(|c| *c == suggested).unwrap_or(0);
            choices[prompt::select("Decision", &items, default)?]
        }
        None => suggested,
    };
    let cap = lifecycle::extension_cap(e, &reg.policy, today);
    let expires = match (&args.expires, decision) {
        (Some(s), _) => Some(time::parse_date_or_span(s, today).map_err(Error::Usage)?),
        (None, ReviewDecision::Extend) if interactive => Some(prompt::expiry(today, cap)?),
        _ => None,
    };
    let note = match (&args.note, decision) {
        (Some(n), _) => Some(n.clone()),
        (None, ReviewDecision::Retire | ReviewDecision::Revoke) if !interactive => {
            return Err(Error::Usage("give the reason with --note".into()));
        }
        (None, _) if interactive => Some(prompt::line("Note", None, |_| None)?).filter(|n| !n.is_empty()),
        _ => None,
    };
    transition(ctx, &args.change, &args.id, Action::Recertify { answers, decision, expires, note })
}
