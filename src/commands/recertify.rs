//! `exc recertify ID`: the periodic review. Asks the checklist (are the controls
//! effective, is the justification still valid, is a better option available),
//! then keeps the date (a review), extends within the type's cap, or retires
//! or revokes.
//!
//! Who may review, and the flags, are checked before any question; each
//! answer where it is given (Extend is offered only while the controls are
//! effective and the justification holds; an expiry past the cap is asked
//! again). If recording still fails, the answers are printed as flags.

use crate::commands::{ChangeArgs, transition};
use crate::context::{Context, Outcome};
use crate::error::{Error, Result};
use crate::model::lifecycle::{self, Action};
use crate::model::record::ReviewDecision;
use crate::model::review::{self, Checklist};
use crate::model::time;
use crate::prompt;

/// Review an approved exception and extend, retire or revoke it.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  exc recertify EXC-7K3Q                     the checklist, on a terminal
  exc recertify EXC-7K3Q --controls-effective yes --justification-valid yes \\
      --better-option no --note 'WAF rule still blocks the exploit'      review, keep the date
  exc recertify EXC-7K3Q --controls-effective yes --justification-valid yes \\
      --better-option no --expires 90d --note 'Vendor fix slipped to Q2'   extend
  exc recertify EXC-7K3Q --controls-effective no --justification-valid yes \\
      --better-option no --decision revoke --note 'EDR gap no longer covered'

Without a terminal, answer the three checklist questions with flags. A review keeps the
date unless --expires (or --decision extend) moves it. Moving it later needs every role
that approved the exception: an extension by the risk owner alone is requested again
until security (and any other approving role) approves the new date.")]
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
    /// What the review decides (default: keep the date, or extend with --expires; retire
    /// or revoke when the answers say so).
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
    let e = &record.exception;
    // The review is dated when it is made, and the cap counts from that day.
    let today = ctx.decision_time()?.date_naive();
    let interactive = prompt::interactive();
    let refused = |why: String| Error::Refused(format!("cannot change {}: {why}", e.id));

    // Before any question: whether this person may review it, and what the flags say.
    let actor = super::actor(&reg, args.change.by.as_deref())?;
    lifecycle::may_recertify(e, &reg.policy, &actor).map_err(refused)?;
    if interactive && args.change.commit(ctx, &reg)?.is_some() {
        reg.check_commit(&e.id)?;
    }
    let closing = matches!(args.decision, Some(ReviewDecision::Retire | ReviewDecision::Revoke | ReviewDecision::Keep));
    let flag_expires = match &args.expires {
        Some(s) => {
            let day = time::parse_date_or_span(s, today).map_err(Error::Usage)?;
            if !closing {
                review::check_extension(e, &reg.policy, today, day).map_err(refused)?;
            }
            Some(day)
        }
        None => None,
    };

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
            review::extensions(e)
        );
    }
    let answers = Checklist {
        controls_effective: ask(args.controls_effective, "Are the compensating controls still effective?", true)?,
        justification_valid: ask(args.justification_valid, "Is the justification still valid?", true)?,
        better_option: ask(args.better_option, "Is a better option (a fix) available now?", false)?,
    };
    let decision = match args.decision {
        Some(d) => {
            review::check_decision(&answers, d).map_err(refused)?;
            d
        }
        None if interactive && flag_expires.is_none() => choose(&answers, e.expires)?,
        None => match review::suggested_decision(&answers) {
            ReviewDecision::Keep if flag_expires.is_some_and(|d| d != e.expires) => ReviewDecision::Extend,
            d => d,
        },
    };
    let expires = match (flag_expires, decision) {
        (Some(day), _) => Some(day),
        (None, ReviewDecision::Extend) if interactive => {
            let cap = review::extension_cap(e, &reg.policy, today);
            let question = format!("Expires (YYYY-MM-DD or e.g. 30d; at most {cap})");
            Some(prompt::date(&question, today, cap, |day| review::check_extension(e, &reg.policy, today, day))?)
        }
        _ => None,
    };
    let note = match (&args.note, decision) {
        (Some(n), _) => Some(n.clone()),
        (None, ReviewDecision::Retire | ReviewDecision::Revoke) if !interactive => {
            return Err(Error::Usage("give the reason with --note".into()));
        }
        (None, _) if interactive => Some(prompt::text("Note", "", |s| Ok(s.to_string()))?).filter(|n| !n.is_empty()),
        _ => None,
    };
    let again = interactive.then(|| rerun(&args, &answers, decision, expires, note.as_deref()));
    let done = transition(ctx, &args.change, &args.id, Action::Recertify { answers, decision, expires, note });
    if let (Err(_), Some(again)) = (&done, again) {
        eprintln!("Nothing was recorded. To try again with the same answers:\n  {again}");
    }
    done
}

/// The decision, from those the answers leave open (Extend only while the
/// controls are effective and the justification holds), the suggested one first.
fn choose(answers: &Checklist, expires: chrono::NaiveDate) -> Result<ReviewDecision> {
    let open = review::open_decisions(answers);
    if let Err(why) = review::check_decision(answers, ReviewDecision::Extend) {
        eprintln!("Not offered: keep or extend ({why})");
    }
    let items: Vec<String> = open
        .iter()
        .map(|d| match d {
            ReviewDecision::Keep => format!("Keep the date (reviewed; still expires {expires})"),
            ReviewDecision::Extend => "Extend (a later expiry)".to_string(),
            ReviewDecision::Retire => "Retire (no longer needed)".to_string(),
            ReviewDecision::Revoke => "Revoke (withdraw for cause)".to_string(),
        })
        .collect();
    let suggested = review::suggested_decision(answers);
    let default = open.iter().position(|d| *d == suggested).unwrap_or(0);
    let i = prompt::select("Decision", &items, default)?;
    open.get(i).copied().ok_or_else(|| Error::Prompt("no decision chosen; nothing written".into()))
}

/// The command that records the same review without asking again.
fn rerun(
    args: &Args,
    answers: &Checklist,
    decision: ReviewDecision,
    expires: Option<chrono::NaiveDate>,
    note: Option<&str>,
) -> String {
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    let decision = decision.as_str();
    let mut words = vec![
        "exc".to_string(),
        "recertify".into(),
        crate::output::escape::shell_word(&args.id),
        "--controls-effective".into(),
        yes_no(answers.controls_effective).into(),
        "--justification-valid".into(),
        yes_no(answers.justification_valid).into(),
        "--better-option".into(),
        yes_no(answers.better_option).into(),
        "--decision".into(),
        decision.into(),
    ];
    if let Some(day) = expires {
        words.extend(["--expires".into(), day.to_string()]);
    }
    if let Some(note) = note {
        words.extend(["--note".into(), crate::output::escape::shell_word(note)]);
    }
    if args.change.commit {
        words.push("--commit".into());
    }
    if let Some(by) = &args.change.by {
        words.extend(["--by".into(), crate::output::escape::shell_word(by)]);
    }
    if let Some(key) = &args.change.key {
        words.extend(["--key".into(), crate::output::escape::shell_word(&key.to_string_lossy())]);
    }
    crate::output::escape::text(&words.join(" ")).into_owned()
}
