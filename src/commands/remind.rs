//! `exc remind`: what needs action now (expiries, reviews, 75 % of the
//! lifetime, pending approvals against their SLA, chronic records), grouped by
//! the person or role who must act. The read-only view: `exc notify`
//! delivers these (and decisions and closures) once each, by mail, chat,
//! webhook and Jira. With `--fleet FILE`, over several registries: a person
//! gets one group across them, a role one per registry, and records read
//! `registry:id`.

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
`reason` one of expiry, review, lifetime, pending-approval, chronic. With --fleet, the JSON
adds registries, partial and unreadable, each item its `registry` and each role group its
`registry`; without --within, each registry uses its own lead time (within_days is then
null unless they agree). A registry that cannot be read is named, and the run is partial:
exit 2.")]
pub struct Args {
    /// Lead time (default: review.remind_before_days from exc.yaml, 14 days).
    #[arg(long, value_name = "SPAN", value_parser = Span::parse)]
    pub within: Option<Span>,
    /// Remind over the registries this fleet file lists, instead of one.
    #[arg(long, value_name = "FILE")]
    pub fleet: Option<std::path::PathBuf>,
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

/// A fleet's reminders as JSON.
#[derive(Debug, Serialize)]
struct FleetReport<'a> {
    registries: Vec<&'a str>,
    partial: bool,
    unreadable: &'a [crate::model::fleet::Unreadable],
    as_of: chrono::NaiveDate,
    within_days: Option<i64>,
    groups: &'a [Group],
}

/// The lead time in days: `--within`, else the policy's.
fn lead_time(ctx: &Context, args: &Args, policy: &crate::model::policy::Policy) -> i64 {
    match args.within {
        Some(span) => span.after(ctx.as_of).map(|d| (d - ctx.as_of).num_days()).unwrap_or(i64::MAX / 4),
        None => i64::from(policy.review.remind_before_days),
    }
}

/// `exc remind --fleet FILE`.
fn fleet(ctx: &Context, args: &Args, file: &std::path::Path) -> Result<Outcome> {
    let fleet = crate::registry::fleet::Fleet::read(file)?;
    let (opened, unreadable) = crate::registry::fleet::split(fleet.read_all(ctx.rules(), ctx.stood()));
    let mut leads: Vec<i64> = Vec::new();
    let parts: Vec<(String, Vec<Group>)> = opened
        .iter()
        .map(|o| {
            let within = lead_time(ctx, args, &o.registry.policy);
            leads.push(within);
            (o.name.clone(), remind::reminders(&o.loaded.records, &o.registry.policy, within, ctx.as_of, ctx.now()))
        })
        .collect();
    leads.sort_unstable();
    leads.dedup();
    let within = match leads.as_slice() {
        [one] => Some(*one),
        _ => None,
    };
    let groups = remind::fleet(parts);
    for u in &unreadable {
        output::warn(&format!("registry {} ({}) could not be read: {}", u.registry, u.source, u.error));
    }
    let notice = crate::model::fleet::partial_notice(&unreadable, fleet.members.len());
    let shown = within.unwrap_or(i64::from(crate::model::policy::Policy::default().review.remind_before_days));
    match args.format {
        RemindFormat::Json => output::emit_json(&FleetReport {
            registries: opened.iter().map(|o| o.name.as_str()).collect(),
            partial: notice.is_some(),
            unreadable: &unreadable,
            as_of: ctx.as_of,
            within_days: within,
            groups: &groups,
        })?,
        RemindFormat::Markdown => {
            let mut text = view::markdown(&groups, ctx.as_of, shown);
            if let Some(n) = &notice {
                text = format!("> **{}**\n\n{text}", output::escape::markdown_text(n));
            }
            output::emit_text(&text)?
        }
        RemindFormat::Text => {
            let mut text = view::text(&groups, ctx.as_of, shown, ctx.color);
            if let Some(n) = &notice {
                let n = output::escape::text(n);
                text = format!("{n}\n{text}{n}\n");
            }
            output::emit_text(&text)?
        }
    }
    Ok(if notice.is_some() { Outcome::Partial } else { Outcome::Clean })
}

pub fn run(ctx: &Context, args: Args) -> Result<Outcome> {
    if let Some(file) = &args.fleet {
        return fleet(ctx, &args, file);
    }
    let reg = ctx.registry()?;
    let loaded = ctx.load(&reg)?;
    let within = lead_time(ctx, &args, &reg.policy);
    let prefix = reg.repository_prefix();
    let groups = remind::reminders_in(&loaded.records, &reg.policy, within, ctx.as_of, ctx.now(), &prefix);
    match args.format {
        RemindFormat::Json => output::emit_json(&Report { as_of: ctx.as_of, within_days: within, groups: &groups })?,
        RemindFormat::Markdown => output::emit_text(&view::markdown(&groups, ctx.as_of, within))?,
        RemindFormat::Text => output::emit_text(&view::text(&groups, ctx.as_of, within, ctx.color))?,
    }
    Ok(Outcome::Clean)
}
