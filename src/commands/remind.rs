//! `exc remind`: what needs action now (expiries, reviews, 75 % of the
//! lifetime, pending approvals against their SLA, chronic records), grouped by
//! the person or role who must act. The read-only view: `exc notify`
//! delivers these (and decisions and closures) once each, by mail, chat,
//! webhook and Jira.

use clap::ValueEnum;
use serde::Serialize;

use crate::context::{Context, Outcome};
use crate::error::Result;
use crate::model::remind::{self, Group};
use crate::model::time::Span;
use crate::output::{self, remind as view};

/// List what needs action, by who must act.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  exc remind
  exc remind --within 30d --format markdown
  exc notify --dry-run                          # who exc notify would tell what

The JSON is {as_of, within_days, groups: [{to, as, emails, items: [{id, title, reason,
date, days, message, risk, requester, tickets, link}]}]}; `as` is risk_owner or role,
`reason` one of expiry, review, lifetime, pending-approval, chronic.")]
pub struct Args {
    /// Lead time (default: review.remind_before_days from exc.yaml, 14 days).
    #[arg(long, value_name = "SPAN", value_parser = Span::parse)]
    pub within: Option<Span>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: RemindFormat,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum RemindFormat {
    #[default]
    Text,
    Json,
    Markdown,
}

#[derive(Debug, Serialize)]
struct Report<'a> {
    as_of: chrono::NaiveDate,
    within_days: i64,
    groups: &'a [Group],
}

pub fn run(ctx: &Context, args: Args) -> Result<Outcome> {
    let reg = ctx.registry()?;
    let loaded = ctx.load(&reg)?;
    let within = match args.within {
        Some(span) => span.after(ctx.as_of).map(|d| (d - ctx.as_of).num_days()).unwrap_or(i64::MAX / 4),
        None => i64::from(reg.policy.review.remind_before_days),
    };
    let prefix = reg.repository_prefix();
    let groups = remind::reminders_in(&loaded.records, &reg.policy, within, ctx.as_of, ctx.now(), &prefix);
    match args.format {
        RemindFormat::Json => output::emit_json(&Report { as_of: ctx.as_of, within_days: within, groups: &groups })?,
        RemindFormat::Markdown => output::emit_text(&view::markdown(&groups, ctx.as_of, within))?,
        RemindFormat::Text => output::emit_text(&view::text(&groups, ctx.as_of, within, ctx.color))?,
    }
    Ok(Outcome::Clean)
}
