//! The one place that asks questions on a terminal (dialoguer): the request
//! form of `exc new` and the review checklist of `exc recertify`.
//!
//! Every prompt has a flag alternative, and nothing here runs without a
//! terminal on both stdin and stderr.

use std::io::IsTerminal;

use chrono::NaiveDate;
use dialoguer::theme::{ColorfulTheme, SimpleTheme, Theme};
use dialoguer::{Confirm, Input, Select};

use crate::error::{Error, Result};
use crate::model::identity::is_person;
use crate::model::policy::{Policy, RequiredField};
use crate::model::request::{Draft, unknown_type};
use crate::model::time;

/// The form never asks more than this many questions.
pub const MAX_QUESTIONS: usize = 7;

/// Whether a person is there to answer: stdin and stderr are terminals.
pub fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

fn theme() -> Box<dyn Theme> {
    if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        Box::new(SimpleTheme)
    } else {
        Box::new(ColorfulTheme::default())
    }
}

fn interrupted(e: dialoguer::Error) -> Error {
    Error::Prompt(format!("interrupted ({e}); nothing written"))
}

/// A yes/no question.
pub fn confirm(question: &str, default: bool) -> Result<bool> {
    Confirm::with_theme(&*theme()).with_prompt(question).default(default).interact().map_err(interrupted)
}

/// One choice from a list; returns its index.
pub fn select(question: &str, items: &[String], default: usize) -> Result<usize> {
    Select::with_theme(&*theme()).with_prompt(question).items(items).default(default).interact().map_err(interrupted)
}

/// A line of text, checked as it is typed.
pub fn line(question: &str, default: Option<String>, check: fn(&str) -> Option<String>) -> Result<String> {
    let theme = theme();
    let mut input = Input::<String>::with_theme(&*theme).with_prompt(question).allow_empty(true);
    if let Some(d) = default {
        input = input.default(d);
    }
    input
        .validate_with(move |s: &String| match check(s.trim()) {
            Some(msg) => Err(msg),
            None => Ok(()),
        })
        .interact_text()
        .map(|s| s.trim().to_string())
        .map_err(interrupted)
}

/// A date or a span from `from`, no later than `max` and after `from`.
pub fn expiry(from: NaiveDate, max: NaiveDate) -> Result<NaiveDate> {
    let theme = theme();
    let answer = Input::<String>::with_theme(&*theme)
        .with_prompt(format!("Expires (YYYY-MM-DD or e.g. 30d; at most {max})"))
        .default(max.to_string())
        .validate_with(move |s: &String| match time::parse_date_or_span(s, from) {
            Ok(d) if d > max => Err(format!("at most {max}")),
            Ok(d) if d <= from => Err(format!("must be after {from}")),
            Ok(_) => Ok(()),
            Err(m) => Err(m),
        })
        .interact_text()
        .map_err(interrupted)?;
    time::parse_date_or_span(&answer, from).map_err(Error::Usage)
}

fn one_line(s: &str) -> Option<String> {
    if s.is_empty() {
        Some("please write something".into())
    } else if s.chars().count() > 500 {
        Some("keep it to one line (at most 500 characters)".into())
    } else {
        None
    }
}

fn person(s: &str) -> Option<String> {
    if is_person(s) { None } else { Some("write it as: Name <email>".into()) }
}

fn at_least_one(s: &str) -> Option<String> {
    if split_list(s).is_empty() { Some("name at least one, separated by commas".into()) } else { None }
}

fn anything(_: &str) -> Option<String> {
    None
}

/// Comma-separated answers as a list.
pub fn split_list(s: &str) -> Vec<String> {
    s.split(',').map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect()
}

/// Counts the questions asked, so the form stays within [`MAX_QUESTIONS`].
struct Questions(usize);

impl Questions {
    fn ask(&mut self, question: &str, check: fn(&str) -> Option<String>) -> Result<String> {
        self.0 += 1;
        line(question, None, check)
    }
}

/// The request form: asks for what the flags left out, at most seven
/// questions: the type, title, justification, risk owner, assets and
/// compensating controls, then what the type requires, then (while a question
/// is left) the evidence the risk tier requires.
pub fn form(policy: &Policy, mut d: Draft) -> Result<Draft> {
    eprintln!("New security exception (Ctrl-C cancels; nothing is written until you submit)");
    let mut q = Questions(0);
    if d.kind.is_empty() {
        let items: Vec<String> = policy
            .types
            .iter()
            .map(|(id, t)| format!("{} ({id}, {} risk, up to {} days)", t.title, t.default_risk, t.max_days))
            .collect();
        q.0 += 1;
        let i = select("Type of exception", &items, 0)?;
        d.kind = policy.types.get_index(i).map(|(k, _)| k.clone()).unwrap_or_default();
    }
    let rule = policy.types.get(&d.kind).ok_or_else(|| Error::Usage(unknown_type(policy, &d.kind)))?;
    if d.title.is_empty() {
        d.title = q.ask("Title (one line: what is excepted)", one_line)?;
    }
    if d.justification.is_empty() {
        d.justification = q.ask("Justification (business need and impact)", one_line)?;
    }
    if d.risk_owner.is_empty() {
        d.risk_owner = q.ask("Risk owner (Name <email>, accountable for the risk)", person)?;
    }
    if d.assets.is_empty() {
        d.assets = split_list(&q.ask("Assets affected (comma-separated)", at_least_one)?);
    }
    if d.compensating_controls.is_empty() {
        d.compensating_controls =
            split_list(&q.ask("Compensating controls (comma-separated; empty if none)", anything)?);
    }
    let tier = rule.default_risk.max(rule.min_risk.unwrap_or(rule.default_risk));
    let required = policy.required_fields(&d.kind, tier);
    let by_type = required.iter().filter(|f| rule.require.contains(f)).map(|f| (*f, true));
    let by_tier = required.iter().filter(|f| !rule.require.contains(f)).map(|f| (*f, false));
    for (f, needed_by_type) in by_type.chain(by_tier).collect::<Vec<_>>() {
        if d.has(f) || (!needed_by_type && q.0 >= MAX_QUESTIONS) {
            continue;
        }
        match f {
            RequiredField::Findings => {
                d.findings = split_list(&q.ask("Findings (CVE or scanner ids, comma-separated)", at_least_one)?)
                    .into_iter()
                    .map(crate::model::record::Covered::Id)
                    .collect()
            }
            RequiredField::MigrationPlan => {
                d.migration_plan = Some(q.ask("Migration plan (how and when this goes away)", one_line)?)
            }
            RequiredField::Attachments => {
                let question = if needed_by_type {
                    "Evidence (repository paths or https URLs, comma-separated)"
                } else {
                    "Evidence for the approvers (repository paths or https URLs, comma-separated)"
                };
                d.attachments = split_list(&q.ask(question, at_least_one)?);
            }
            RequiredField::Tickets => d.tickets = split_list(&q.ask("Tickets (comma-separated)", at_least_one)?),
            RequiredField::Controls => {
                d.controls = split_list(&q.ask("Controls deviated from (e.g. CIS:6.5)", at_least_one)?)
            }
            RequiredField::CompensatingControls => {
                d.compensating_controls =
                    split_list(&q.ask("Compensating controls (this type needs at least one)", at_least_one)?)
            }
        }
    }
    Ok(d)
}

/// What to do with the previewed request.
pub enum Choice {
    Submit,
    ChangeExpiry,
    Cancel,
}

/// Shows the preview and asks what to do with it.
pub fn submit(preview: &str) -> Result<Choice> {
    eprintln!("\n{preview}");
    let items = ["Submit".to_string(), "Change expiry".to_string(), "Cancel".to_string()];
    Ok(match select("Submit this exception?", &items, 0)? {
        0 => Choice::Submit,
        1 => Choice::ChangeExpiry,
        _ => Choice::Cancel,
    })
}
