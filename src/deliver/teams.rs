//! Microsoft Teams workflow webhooks ("When a Teams webhook request is
//! received"): a message with one Adaptive Card (version 1.5) per run,
//! split when a card would grow past what Teams takes (about 28 KB).
//!
//! Record fields go only into `TextRun`s of `RichTextBlock`s, which
//! Adaptive Cards never read as Markdown: a title's `[text](url)`, `**`,
//! `<at>…</at>` or `@here` stays text. The card's own words are in a
//! `TextBlock`; the record's link is an `Action.OpenUrl` exc builds from
//! the policy's template.

use serde_json::{Value, json};

use super::{Accepted, Batch, Outcome, Settings, check_url, excerpt, request, secret};
use crate::model::notify::ChatHook;
use crate::output::notify::{Notice, cut};

/// The most bytes one card may take (Teams refuses messages over about 28 KB).
pub const MAX_CARD_BYTES: usize = 24_000;

/// Posts the batch; each notice's outcome is its card's.
pub fn send(c: &ChatHook, batch: &Batch, settings: &Settings) -> Vec<Outcome> {
    let n = batch.notices.len();
    let url = match secret(batch.channel, &c.url_env).and_then(|u| check_url(batch.channel, &u).map(|_| u)) {
        Ok(u) => u,
        Err(e) => return vec![Err(e); n],
    };
    let agent = match super::agent(&settings.retry) {
        Ok(a) => a,
        Err(e) => return vec![Err(e); n],
    };
    let mut out = Vec::with_capacity(n);
    for chunk in chunks(&batch.notices, settings) {
        let body = message(card(chunk, settings)).to_string();
        let headers = [("Content-Type", "application/json; charset=utf-8".to_string())];
        let result = match request(&agent, "POST", &url, &headers, Some(body.as_bytes()), &settings.retry) {
            Ok(r) if (200..300).contains(&r.status) => {
                Ok(Accepted { detail: format!("HTTP {}", r.status), issue: None })
            }
            Ok(r) => Err(format!("Teams refused it: HTTP {} {}", r.status, excerpt(&r.body))),
            Err(e) => Err(format!("Teams: {e}")),
        };
        out.extend(std::iter::repeat_n(result, chunk.len()));
    }
    out
}

/// The notices in runs whose cards stay under [`MAX_CARD_BYTES`].
pub fn chunks<'a, 'b>(notices: &'b [Notice<'a>], settings: &Settings) -> Vec<&'b [Notice<'a>]> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < notices.len() {
        let mut end = start + 1;
        while end < notices.len() && card(&notices[start..=end], settings).to_string().len() <= MAX_CARD_BYTES {
            end += 1;
        }
        out.push(&notices[start..end]);
        start = end;
    }
    out
}

/// The workflow webhook's message around a card.
pub fn message(card: Value) -> Value {
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": card,
        }],
    })
}

fn run(text: &str, bold: bool) -> Value {
    let mut r = json!({ "type": "TextRun", "text": cut(text, 2000) });
    if bold {
        r["weight"] = json!("Bolder");
    }
    r
}

/// The Adaptive Card for some notices.
pub fn card(notices: &[Notice], settings: &Settings) -> Value {
    let mut body = vec![json!({
        "type": "TextBlock",
        "text": format!("Security exceptions: {} notice(s), {}", notices.len(), settings.as_of),
        "weight": "Bolder",
        "size": "Medium",
        "wrap": true,
    })];
    let mut actions = Vec::new();
    for n in notices {
        body.push(json!({
            "type": "RichTextBlock",
            "separator": true,
            "inlines": [run(&format!("{}: {}", n.headline(), n.title()), true)],
        }));
        let mut lines = vec![run(&n.message(), false)];
        for (label, value) in n.fields() {
            lines.push(run(&format!("\n{label}: {value}"), false));
        }
        body.push(json!({ "type": "RichTextBlock", "inlines": lines }));
        if let Some(link) = n.facts.link.as_ref().filter(|l| check_url("links", l).is_ok()) {
            actions.push(json!({ "type": "Action.OpenUrl", "title": format!("Open {}", n.facts.id), "url": link }));
        }
    }
    if !actions.is_empty() {
        body.push(json!({ "type": "ActionSet", "actions": actions }));
    }
    json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.5",
        "body": body,
    })
}
