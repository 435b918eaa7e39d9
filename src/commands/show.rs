//! `exc show ID`: one record, with what is derived from it (days left, who must
//! still approve) and any problems with it.

use crate::cli::{Context, Outcome};
use crate::commands::list::{Row, status_word};
use crate::error::Result;
use crate::model::record::{Decision, ReviewDecision, Status};
use crate::output::{self, Format, Paint, paint, terminal_safe};

/// Show one exception.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  exc show EXC-7K3Q\n  exc show EXC-7K3Q --format json | jq .awaiting")]
pub struct Args {
    /// The exception id, e.g. EXC-7K3Q.
    pub id: String,
}

pub fn run(ctx: &Context, args: Args) -> Result<Outcome> {
    let format = Format::pick(ctx.format, &[Format::Text, Format::Yaml, Format::Json])?;
    let reg = ctx.registry()?;
    let (record, findings) = reg.find(&args.id)?;
    let row = Row::new(&record, &reg.policy, ctx.as_of);
    let e = &record.exception;
    match format {
        Format::Json => output::emit(&output::json(&row)?)?,
        Format::Yaml => output::emit(&crate::yaml::to_string(e).map_err(crate::error::Error::Usage)?)?,
        _ => {
            let c = ctx.color;
            let mut o = String::new();
            let mut field = |name: &str, value: &str| {
                o.push_str(&format!("  {:<22} {}\n", paint(name, Paint::Dim, c), terminal_safe(value)));
            };
            let type_title = reg.policy.types.get(&e.kind).map(|t| t.title.as_str()).unwrap_or("unknown type");
            let days = e.days_to_expiry(ctx.as_of);
            let expiry = if e.status.is_closed() {
                e.expires.to_string()
            } else if days >= 0 {
                format!("{} ({} left)", e.expires, crate::model::time::days(days))
            } else {
                format!("{} ({} ago)", e.expires, crate::model::time::days(-days))
            };
            field("status", &status_word(e, ctx.as_of));
            field("type", &format!("{} ({type_title})", e.kind));
            field(
                "risk",
                &format!(
                    "{}{}",
                    row.effective_risk,
                    if e.risk.is_none() { " (type default, not yet assessed)" } else { "" }
                ),
            );
            field("requester", &e.requester);
            field("risk owner", &e.risk_owner);
            field("created", &e.created.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
            field("expires", &expiry);
            if e.urgency != Default::default() {
                field("urgency", "urgent");
            }
            field("assets", &e.assets.join(", "));
            let lists = [
                ("compensating controls", &e.compensating_controls),
                ("controls", &e.controls),
                ("findings", &e.findings),
                ("attachments", &e.attachments),
                ("tickets", &e.tickets),
            ];
            for (name, items) in lists {
                if !items.is_empty() {
                    field(name, &items.join("; "));
                } else if name == "compensating controls" {
                    field(name, "none");
                }
            }
            field("justification", &e.justification);
            if let Some(plan) = &e.migration_plan {
                field("migration plan", plan);
            }
            if let Some(notes) = &e.notes {
                field("notes", notes);
            }
            for a in &e.approvals {
                let note = a.note.as_deref().map(|n| format!(": {n}")).unwrap_or_default();
                let verb = if a.decision == Decision::Approved { "approved" } else { "rejected" };
                field("approval", &format!("{verb} by {} as {} on {}{note}", a.by, a.role, a.at.date_naive()));
            }
            for v in &e.reviews {
                let verb = match v.decision {
                    ReviewDecision::Extend => "extended",
                    ReviewDecision::Retire => "retired",
                    ReviewDecision::Revoke => "revoked",
                };
                let to = v.expires.map(|d| format!(" to {d}")).unwrap_or_default();
                field("review", &format!("{verb}{to} by {} on {}", v.by, v.at.date_naive()));
            }
            if let Some(cl) = &e.closed {
                field("closed", &format!("{} by {}: {}", cl.at.date_naive(), cl.by, cl.reason));
            }
            if e.status == Status::Requested {
                let waiting =
                    if row.awaiting.is_empty() { "nobody (ready)".to_string() } else { row.awaiting.join(", ") };
                field("awaiting approval", &waiting);
            }
            let head = format!("{}  {}\n", paint(&e.id, Paint::Bold, c), terminal_safe(&e.title));
            o.insert_str(0, &head);
            for f in &findings {
                o.push_str(&output::finding_line(f, c));
                o.push('\n');
            }
            output::emit(&o)?;
        }
    }
    Ok(if findings.is_empty() { Outcome::Clean } else { Outcome::Findings })
}
