//! `exc diff` for reviewers: what a branch adds, changes or closes, field by
//! field, with the approvals each record still needs and its findings; as
//! text or as a pull-request comment in markdown.
//!
//! The markdown shows every value from a record as a code span
//! (`escape::markdown_code`), so nothing in a record can add headings,
//! links, images, mentions or HTML to the comment.

use super::{Paint, escape, finding_line, paint};
use crate::model::diff::Entry;
use crate::model::finding::{Finding, Locate};

/// The diff as text for the terminal.
pub fn text(
    entries: &[Entry],
    findings: &[Finding],
    locate: &dyn Locate,
    base: &str,
    short: &str,
    color: bool,
) -> String {
    if entries.is_empty() {
        return format!("No exception changes against {} ({short}).\n", escape::text(base));
    }
    let mut o = format!("{} change(s) against {} ({short}):\n", entries.len(), escape::text(base));
    for e in entries {
        let status = e.status.map(|s| format!(" [{s}]")).unwrap_or_default();
        o.push_str(&format!(
            "\n{} {}  {}{status}\n",
            paint(e.kind.verb(), Paint::Bold, color),
            escape::text(&e.id),
            escape::text(&e.title)
        ));
        for c in &e.changes {
            o.push_str(&format!("    {}\n", escape::text(&c.to_string())));
        }
        if !e.awaiting.is_empty() {
            o.push_str(&format!("    needs approval by: {}\n", escape::text(&e.awaiting.join(", "))));
        }
        for f in findings.iter().filter(|f| f.path == e.file) {
            o.push_str(&format!("    {}\n", finding_line(f, locate, color)));
        }
    }
    o
}

/// The diff as a pull-request comment.
pub fn markdown(entries: &[Entry], findings: &[Finding], base: &str, short: &str) -> String {
    let mut o = format!("### exc: {} change(s) against {} (`{short}`)\n\n", entries.len(), escape::markdown_code(base));
    if entries.is_empty() {
        o.push_str("No exception records change on this branch.\n");
        return o;
    }
    o.push_str("| change | id | title | status | needs approval by | policy |\n|---|---|---|---|---|---|\n");
    let errors_of = |e: &Entry| findings.iter().filter(|f| f.path == e.file && f.is_error()).count();
    for e in entries {
        let errors = errors_of(e);
        o.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            e.kind.verb(),
            escape::markdown_code(&e.id),
            escape::markdown_code(&e.title),
            e.status.map(|s| s.to_string()).unwrap_or_else(|| "-".into()),
            if e.approvers.is_empty() { "-".to_string() } else { escape::markdown_code(&e.approvers.join("; ")) },
            if errors == 0 { "ok".to_string() } else { format!("**{errors} violation(s)**") }
        ));
    }
    for e in entries {
        o.push_str(&format!(
            "\n#### {} {}: {}\n\n",
            e.kind.verb(),
            escape::markdown_code(&e.id),
            escape::markdown_code(&e.title)
        ));
        for c in &e.changes {
            let value = match (&c.before, &c.after) {
                (Some(b), Some(a)) => format!("{} → {}", escape::markdown_code(b), escape::markdown_code(a)),
                (None, Some(a)) => format!("+ {}", escape::markdown_code(a)),
                (Some(b), None) => format!("- {}", escape::markdown_code(b)),
                (None, None) => String::new(),
            };
            o.push_str(&format!("- {}: {value}\n", escape::markdown_code(&c.field)));
        }
        for f in findings.iter().filter(|f| f.path == e.file) {
            o.push_str(&format!(
                "- **{}** `{}`: {}\n",
                f.severity.as_str(),
                f.code,
                escape::markdown_message(&f.message)
            ));
        }
    }
    o
}
