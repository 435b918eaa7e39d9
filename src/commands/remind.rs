//! `exc remind`: what needs action now (expiries, reviews, 75 % of the
//! lifetime, pending approvals against their SLA, chronic records), grouped by
//! the person or role who must act. The JSON feeds a mail or chat step in CI.

use serde::Serialize;

use crate::cli::{Context, Outcome};
use crate::error::Result;
use crate::model::remind::{self, Group};
use crate::model::time::Span;
use crate::output::{self, Format, Paint, markdown as md, paint, terminal_safe};

/// List what needs action, by who must act.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  exc remind
  exc remind --within 30d --format markdown
  exc remind --format json | ./notify.py        # one message per group

The JSON is {as_of, within_days, groups: [{to, as, emails, items: [{id, title, reason,
date, days, message}]}]}; `as` is risk_owner or role, `reason` one of expiry, review,
lifetime, pending-approval, chronic.")]
pub struct Args {
    /// Lead time (default: review.remind_before_days from exc.yaml, 14 days).
    #[arg(long, value_name = "SPAN", value_parser = Span::parse)]
    pub within: Option<Span>,
}

#[derive(Debug, Serialize)]
struct Report<'a> {
    as_of: chrono::NaiveDate,
    within_days: i64,
    groups: &'a [Group],
}

pub fn run(ctx: &Context, args: Args) -> Result<Outcome> {
    let format = Format::pick(ctx.format, &[Format::Text, Format::Json, Format::Markdown])?;
    let reg = ctx.registry()?;
    let loaded = reg.load_all()?;
    let within = match args.within {
        Some(span) => span.after(ctx.as_of).map(|d| (d - ctx.as_of).num_days()).unwrap_or(i64::MAX / 4),
        None => i64::from(reg.policy.review.remind_before_days),
    };
    let groups = remind::reminders(&loaded.records, &reg.policy, within, ctx.as_of, ctx.now());
    let text = match format {
        Format::Json => output::json(&Report { as_of: ctx.as_of, within_days: within, groups: &groups })?,
        Format::Markdown => markdown(&groups, ctx.as_of, within),
        _ => text(&groups, ctx.as_of, within, ctx.color),
    };
    output::emit(&text)?;
    Ok(Outcome::Clean)
}

fn heading(g: &Group) -> String {
    if g.kind == "role" {
        format!(
            "role {} ({})",
            g.to,
            if g.emails.is_empty() { "nobody holds it".to_string() } else { g.emails.join(", ") }
        )
    } else {
        g.to.clone()
    }
}

fn text(groups: &[Group], as_of: chrono::NaiveDate, within: i64, color: bool) -> String {
    if groups.is_empty() {
        return format!("Nothing needs action as of {as_of} (lead time {within} days).\n");
    }
    let mut o = String::new();
    for g in groups {
        o.push_str(&format!("{}\n", paint(&terminal_safe(&heading(g)), Paint::Bold, color)));
        for i in &g.items {
            o.push_str(&format!("  {}  {}: {}\n", i.id, terminal_safe(&i.title), terminal_safe(&i.message)));
        }
        o.push('\n');
    }
    let n: usize = groups.iter().map(|g| g.items.len()).sum();
    o.push_str(&format!("{n} reminder(s) for {} recipient(s) as of {as_of} (lead time {within} days)\n", groups.len()));
    o
}

/// Markdown for a wiki page, an issue or a chat message.
fn markdown(groups: &[Group], as_of: chrono::NaiveDate, within: i64) -> String {
    let mut o = format!("## Security exceptions needing action ({as_of})\n\n");
    if groups.is_empty() {
        o.push_str(&format!("Nothing needs action (lead time {within} days).\n"));
        return o;
    }
    for g in groups {
        o.push_str(&format!("### {}\n\n", md(&heading(g))));
        for i in &g.items {
            o.push_str(&format!("- **{}** {}: {}\n", md(&i.id), md(&i.title), md(&i.message)));
        }
        o.push('\n');
    }
    o
}
