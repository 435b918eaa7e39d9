//! `exc remind` for people: what needs action, by who must act, as text or
//! markdown (for a wiki page, an issue or a chat message).

use chrono::NaiveDate;

use super::{Paint, escape, paint};
use crate::model::fleet::qualified;
use crate::model::remind::Group;

fn heading(g: &Group) -> String {
    if g.kind == "role" {
        format!(
            "role {}{} ({})",
            g.to,
            g.registry.as_deref().map(|r| format!(" in {r}")).unwrap_or_default(),
            if g.emails.is_empty() { "nobody holds it".to_string() } else { g.emails.join(", ") }
        )
    } else {
        g.to.clone()
    }
}

pub fn text(groups: &[Group], as_of: NaiveDate, within: i64, color: bool) -> String {
    if groups.is_empty() {
        return format!("Nothing needs action as of {as_of} (lead time {within} days).\n");
    }
    let mut o = String::new();
    for g in groups {
        o.push_str(&format!("{}\n", paint(&escape::text(&heading(g)), Paint::Bold, color)));
        for i in &g.items {
            o.push_str(&format!(
                "  {}  {}: {}\n",
                escape::text(&qualified(i.registry.as_deref(), &i.id)),
                escape::text(&i.title),
                escape::text(&i.message)
            ));
        }
        o.push('\n');
    }
    let n: usize = groups.iter().map(|g| g.items.len()).sum();
    o.push_str(&format!("{n} reminder(s) for {} recipient(s) as of {as_of} (lead time {within} days)\n", groups.len()));
    o
}

pub fn markdown(groups: &[Group], as_of: NaiveDate, within: i64) -> String {
    let mut o = format!("## Security exceptions needing action ({as_of})\n\n");
    if groups.is_empty() {
        o.push_str(&format!("Nothing needs action (lead time {within} days).\n"));
        return o;
    }
    for g in groups {
        o.push_str(&format!("### {}\n\n", escape::markdown_code(&heading(g))));
        for i in &g.items {
            o.push_str(&format!(
                "- **{}** {}: {}\n",
                escape::markdown_code(&qualified(i.registry.as_deref(), &i.id)),
                escape::markdown_code(&i.title),
                escape::markdown_message(&i.message)
            ));
        }
        o.push('\n');
    }
    o
}
