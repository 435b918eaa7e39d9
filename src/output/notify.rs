//! What `exc notify` says: the words of each notice (one event about one
//! record), a person's digest as plain text and HTML, and the command's own
//! report (who would get or got what) as text.
//!
//! Record fields are data. In the digest's HTML every value is escaped; in
//! plain text and in headers, control characters (CR, LF, tabs, escapes)
//! and invisible characters are replaced, so a title cannot add a mail
//! header or a line. Each channel's own format (Block Kit, Adaptive Cards,
//! CloudEvents, Atlassian Document Format) is built in `deliver`, from the
//! same [`Notice`].

use chrono::NaiveDate;
use serde::Serialize;

use super::escape;
use crate::model::event::{Event, Facts};

/// One event with the facts of its record: what every channel shows.
#[derive(Clone, Copy, Debug)]
pub struct Notice<'a> {
    pub event: &'a Event,
    pub facts: &'a Facts,
}

/// A value on one line: controls and invisible characters become spaces or
/// U+FFFD, runs of whitespace one space. For headers, subjects and chat.
pub fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() || c == '\u{2028}' || c == '\u{2029}' {
            if !out.ends_with(' ') {
                out.push(' ');
            }
        } else if escape::is_invisible(c) {
            out.push('\u{fffd}');
        } else {
            out.push(c);
        }
    }
    out.trim().to_string()
}

/// At most `max` characters, with an ellipsis when cut.
pub fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

impl Notice<'_> {
    /// `EXC-0001 expires soon`.
    pub fn headline(&self) -> String {
        let what = match self.event.outcome.as_deref() {
            Some(o) => format!("{} ({o})", self.event.kind.headline()),
            None => self.event.kind.headline().to_string(),
        };
        format!("{} {what}", self.facts.id)
    }

    /// The title on one line.
    pub fn title(&self) -> String {
        one_line(&self.facts.title)
    }

    /// What happened, on one line.
    pub fn message(&self) -> String {
        one_line(&self.event.message)
    }

    /// The facts as (label, value) pairs, values on one line.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let f = self.facts;
        let mut out = vec![
            ("Risk", f.risk.to_string()),
            ("Status", f.status.to_string()),
            ("Type", one_line(&f.kind)),
            ("Requester", one_line(&f.requester)),
            ("Risk owner", one_line(&f.risk_owner)),
            ("Expires", f.expires.to_string()),
        ];
        if !f.tickets.is_empty() {
            out.push(("Tickets", one_line(&f.tickets.join(", "))));
        }
        out.push(("File", one_line(&f.path)));
        out
    }
}

/// A digest's subject: one notice names it, several are counted.
pub fn subject(notices: &[Notice], as_of: NaiveDate) -> String {
    match notices {
        [one] => cut(&format!("[exc] {}: {}", one.headline(), one.title()), 200),
        many => format!("[exc] {} security exception notices ({as_of})", many.len()),
    }
}

/// A person's digest as plain text.
pub fn digest_text(name: &str, notices: &[Notice], as_of: NaiveDate) -> String {
    let mut o = format!("Hello {},\n\nas of {as_of}, {}:\n", one_line(name), count(notices.len()));
    for n in notices {
        o.push_str(&format!("\n* {}: {}\n  {}\n", n.headline(), n.title(), n.message()));
        for (label, value) in n.fields() {
            o.push_str(&format!("  {label}: {value}\n"));
        }
        if let Some(link) = &n.facts.link {
            o.push_str(&format!("  Link: {link}\n"));
        }
    }
    o.push_str("\nSent by exc notify. Each notice is sent once; `exc remind` shows what is open now.\n");
    o
}

/// A person's digest as HTML: every value escaped.
pub fn digest_html(name: &str, notices: &[Notice], as_of: NaiveDate) -> String {
    let h = |s: &str| escape::html(s);
    let mut o = String::from("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head><body>\n");
    o.push_str(&format!("<p>Hello {},</p>\n<p>as of {as_of}, {}:</p>\n", h(&one_line(name)), count(notices.len())));
    for n in notices {
        o.push_str(&format!("<h3>{}: {}</h3>\n<p>{}</p>\n<table>\n", h(&n.headline()), h(&n.title()), h(&n.message())));
        for (label, value) in n.fields() {
            o.push_str(&format!("<tr><th align=\"left\">{label}</th><td>{}</td></tr>\n", h(&value)));
        }
        o.push_str("</table>\n");
        if let Some(link) = &n.facts.link {
            o.push_str(&format!("<p><a href=\"{}\">{}</a></p>\n", h(link), h(&n.facts.id)));
        }
    }
    o.push_str("<p><small>Sent by exc notify. Each notice is sent once.</small></p>\n</body></html>\n");
    o
}

fn count(n: usize) -> String {
    if n == 1 { "one security exception needs your attention".into() } else { format!("{n} notices") }
}

/// One delivery of a run, as the command reports it.
#[derive(Clone, Debug, Serialize)]
pub struct Reported {
    pub channel: String,
    /// `smtp`, `slack`, …
    #[serde(rename = "type")]
    pub kind: String,
    pub to: String,
    pub key: String,
    pub id: String,
    pub event: String,
    /// `would-send`, `delivered` or `failed`.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issue: Option<String>,
}

/// The command's report as text: one line per delivery, then a summary.
pub fn report_text(rows: &[Reported], as_of: NaiveDate, dry_run: bool, log: &str) -> String {
    if rows.is_empty() {
        return format!("Nothing to deliver as of {as_of} (delivery log: {log}).\n");
    }
    let table = super::table(
        &["Channel", "To", "Event", "Status", "Detail"],
        rows.iter()
            .map(|r| {
                vec![
                    escape::text(&r.channel).into_owned(),
                    escape::text(&r.to).into_owned(),
                    escape::text(&r.key).into_owned(),
                    r.status.clone(),
                    escape::text(r.detail.as_deref().unwrap_or("")).into_owned(),
                ]
            })
            .collect(),
    );
    let failed = rows.iter().filter(|r| r.status == "failed").count();
    let verb = if dry_run { "would be sent (dry run: nothing sent, nothing recorded)" } else { "attempted" };
    let tail = if failed > 0 {
        format!("; {failed} failed and stay owed: the next run tries them again")
    } else {
        String::new()
    };
    format!("{table}\n{} deliveries {verb} as of {as_of} (delivery log: {log}){tail}\n", rows.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::event::Kind;
    use crate::model::record::{Risk, Status};

    fn facts(title: &str) -> Facts {
        Facts {
            id: "EXC-1".into(),
            title: title.into(),
            kind: "other".into(),
            status: Status::Approved,
            risk: Risk::High,
            requester: "Ann <ann@example.com>".into(),
            risk_owner: "Dana <dana@example.com>".into(),
            expires: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
            tickets: vec![],
            path: "exceptions/EXC-1.yaml".into(),
            link: Some("https://forge.example/x?a=1&b=2".into()),
        }
    }

    #[test]
    fn titles_cannot_add_lines_or_markup() {
        let ev = Event {
            id: "EXC-1".into(),
            kind: Kind::ExpiryNear,
            about: "2026-03-01".into(),
            at: "2026-02-15T00:00:00Z".parse().unwrap(),
            outcome: None,
            message: "expires".into(),
        };
        let f = facts("CRM\r\nBcc: evil@example.com <script>alert(1)</script>\u{202e}");
        let n = [Notice { event: &ev, facts: &f }];
        let day = NaiveDate::from_ymd_opt(2026, 2, 15).unwrap();
        let s = subject(&n, day);
        assert!(!s.contains('\r') && !s.contains('\n'), "{s:?}");
        let html = digest_html("Dana", &n, day);
        assert!(!html.contains("<script>") && html.contains("&lt;script&gt;"), "{html}");
        assert!(html.contains("href=\"https://forge.example/x?a=1&amp;b=2\""), "{html}");
        let text = digest_text("Dana", &n, day);
        assert!(text.lines().all(|l| !l.starts_with("Bcc:")), "{text}");
    }
}
