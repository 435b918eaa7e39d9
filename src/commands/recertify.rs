//! `exc recertify ID`: the periodic review. Asks the checklist (are the controls
//! effective, is the justification still valid, is a better option available),
//! then extends within the type's cap, or retires or revokes.

use std::io::IsTerminal;

use dialoguer::{Confirm, Input, Select};

use crate::cli::{Context, Outcome};
use crate::commands::transition::{self, Change};
use crate::error::{Error, Result};
use crate::model::lifecycle::{self, Act, Checklist};
use crate::model::record::ReviewDecision;
use crate::model::time;

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
    /// What the review decides.
    #[arg(long, value_enum)]
    pub decision: Option<DecisionArg>,
    /// New expiry for an extension: a date or a span from today (default: the type's maximum).
    #[arg(long, value_name = "DATE|SPAN")]
    pub expires: Option<String>,
    /// The reviewer's comment.
    #[arg(long)]
    pub note: Option<String>,
    #[command(flatten)]
    pub change: Change,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DecisionArg {
    Extend,
    Retire,
    Revoke,
}

fn yes_no(s: &str) -> std::result::Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "yes" | "y" | "true" => Ok(true),
        "no" | "n" | "false" => Ok(false),
        _ => Err(format!("`{s}`: answer yes or no")),
    }
}

fn prompt_error(e: dialoguer::Error) -> Error {
    Error::Prompt(format!("the review was interrupted ({e}); nothing written"))
}

pub fn run(ctx: &Context, args: Args) -> Result<Outcome> {
    let reg = ctx.registry()?;
    let (record, _) = reg.find(&args.id)?;
    let actor = transition::actor(&reg, &args.change)?;
    let now = ctx.now();
    let today = now.date_naive();
    let e = &record.exception;
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let ask = |flag: Option<bool>, question: &str, default: bool| -> Result<bool> {
        match flag {
            Some(v) => Ok(v),
            None if interactive => {
                Confirm::new().with_prompt(question).default(default).interact().map_err(prompt_error)
            }
            None => Err(Error::Usage(format!("stdin is not a terminal: answer `{question}` with a flag (see --help)"))),
        }
    };
    if interactive {
        eprintln!(
            "Recertifying {}: {} (expires {}, {} extension(s) so far)",
            e.id,
            e.title,
            e.expires,
            lifecycle::extensions(e)
        );
    }
    let answers = Checklist {
        controls_effective: ask(args.controls_effective, "Are the compensating controls still effective?", true)?,
        justification_valid: ask(args.justification_valid, "Is the justification still valid?", true)?,
        better_option: ask(args.better_option, "Is a better option (a fix) available now?", false)?,
    };
    let default_decision = if !answers.justification_valid {
        DecisionArg::Retire
    } else if !answers.controls_effective {
        DecisionArg::Revoke
    } else {
        DecisionArg::Extend
    };
    let decision = match args.decision {
        Some(d) => d,
        None if interactive => {
            let items = ["Extend", "Retire (no longer needed)", "Revoke (withdraw for cause)"];
            let default = default_decision as usize;
            match Select::new()
                .with_prompt("Decision")
                .items(items)
                .default(default)
                .interact()
                .map_err(prompt_error)?
            {
                0 => DecisionArg::Extend,
                1 => DecisionArg::Retire,
                _ => DecisionArg::Revoke,
            }
        }
        None => default_decision,
    };
    let max_days = reg.policy.types.get(&e.kind).map(|t| t.max_days).unwrap_or(90);
    let cap = time::add_days(today, max_days.into());
    let expires = match (&args.expires, decision) {
        (Some(s), _) => Some(time::parse_date_or_span(s, today).map_err(Error::Usage)?),
        (None, DecisionArg::Extend) if interactive => {
            let answer: String = Input::new()
                .with_prompt(format!("New expiry (at most {cap})"))
                .default(cap.to_string())
                .interact_text()
                .map_err(prompt_error)?;
            Some(time::parse_date_or_span(&answer, today).map_err(Error::Usage)?)
        }
        _ => None,
    };
    let note = match (&args.note, decision) {
        (Some(n), _) => Some(n.clone()),
        (None, DecisionArg::Retire | DecisionArg::Revoke) if !interactive => {
            return Err(Error::Usage("give the reason with --note".into()));
        }
        (None, _) if interactive => {
            let n: String = Input::new().with_prompt("Note").allow_empty(true).interact_text().map_err(prompt_error)?;
            Some(n).filter(|n| !n.trim().is_empty())
        }
        _ => None,
    };
    let review_decision = match decision {
        DecisionArg::Extend => ReviewDecision::Extend,
        DecisionArg::Retire => ReviewDecision::Retire,
        DecisionArg::Revoke => ReviewDecision::Revoke,
    };
    let after =
        lifecycle::recertify(e, &reg.policy, &Act { actor: &actor, at: now }, answers, review_decision, expires, note)
            .map_err(|why| transition::refused(&e.id, why))?;
    let summary = match review_decision {
        ReviewDecision::Extend => {
            let n = lifecycle::extensions(&after);
            let chronic = if lifecycle::is_chronic(&after, &reg.policy) {
                format!(" It has now been extended {n} times and is chronic: escalate it to engineering.")
            } else {
                String::new()
            };
            format!("Recertified {}: extended to {} (extension {n}).{chronic}", after.id, after.expires)
        }
        ReviewDecision::Retire => format!("Recertification retired {}.", after.id),
        ReviewDecision::Revoke => format!("Recertification revoked {}.", after.id),
    };
    transition::save(
        ctx,
        &reg,
        &args.change,
        &record,
        &after,
        "recertify",
        Some(&format!("{:?}", review_decision).to_lowercase()),
        &summary,
    )?;
    Ok(Outcome::Clean)
}
