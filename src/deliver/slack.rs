//! Slack incoming webhooks: one Block Kit message per run (split when it
//! would pass Block Kit's limits), posted to the webhook the environment
//! variable names.
//!
//! Record fields go only into `plain_text` objects with `emoji: false`,
//! which Slack never parses as mrkdwn: no `<!channel>`, `<@U…>`, `@here`,
//! `<url|link>` or `:emoji:` in a title becomes a ping, a link or an emoji.
//! The top-level `text` (the notification's fallback, always mrkdwn) holds
//! only exc's own words and record ids, escaped as Slack documents (`&`,
//! `<`, `>`). Limits kept (Block Kit reference): at most 50 blocks, a header
//! of 150 characters, section text of 3,000, at most 10 fields of 2,000
//! each, a button's text of 75 and its URL of 3,000.

use serde_json::{Value, json};

use super::{Accepted, Batch, Outcome, Settings, check_url, excerpt, request, secret};
use crate::model::notify::ChatHook;
use crate::output::notify::{Notice, cut};

/// Blocks per message: a header, then two per notice (a section, a divider).
pub const NOTICES_PER_MESSAGE: usize = 24;

/// Posts the batch; each notice's outcome is its message's.
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
    for (i, chunk) in batch.notices.chunks(NOTICES_PER_MESSAGE).enumerate() {
        if i > 0 {
            // Slack takes about one message a second per webhook.
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
        let body = payload(chunk, settings).to_string();
        let headers = [("Content-Type", "application/json; charset=utf-8".to_string())];
        let result = match request(&agent, "POST", &url, &headers, Some(body.as_bytes()), &settings.retry) {
            Ok(r) if (200..300).contains(&r.status) => Ok(Accepted {
                detail: format!("HTTP {} {}", r.status, excerpt(&r.body)).trim().to_string(),
                issue: None,
            }),
            Ok(r) => Err(format!("Slack refused it: HTTP {} {}", r.status, excerpt(&r.body))),
            Err(e) => Err(format!("Slack: {e}")),
        };
        out.extend(std::iter::repeat_n(result, chunk.len()));
    }
    out
}

/// Escapes text for mrkdwn as Slack documents: `&`, `<` and `>`.
pub fn mrkdwn_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn plain(text: &str, max: usize) -> Value {
    json!({ "type": "plain_text", "text": cut(text, max), "emoji": false })
}

/// The Block Kit message for up to [`NOTICES_PER_MESSAGE`] notices.
pub fn payload(notices: &[Notice], settings: &Settings) -> Value {
    let ids: Vec<&str> = notices.iter().map(|n| n.facts.id.as_str()).collect();
    let fallback = mrkdwn_escape(&cut(
        &format!("exc: {} security exception notice(s) as of {}: {}", notices.len(), settings.as_of, ids.join(", ")),
        3000,
    ));
    let mut blocks = vec![json!({
        "type": "header",
        "text": plain(&format!("Security exceptions: {} notice(s), {}", notices.len(), settings.as_of), 150),
    })];
    for n in notices {
        let text = format!("{}: {}\n{}", n.headline(), n.title(), n.message());
        let fields: Vec<Value> =
            n.fields().into_iter().take(10).map(|(label, value)| plain(&format!("{label}: {value}"), 2000)).collect();
        let mut section = json!({ "type": "section", "text": plain(&text, 3000), "fields": fields });
        if let Some(link) = n.facts.link.as_ref().filter(|l| l.len() <= 3000 && check_url("links", l).is_ok()) {
            section["accessory"] = json!({
                "type": "button",
                "text": plain(&format!("Open {}", n.facts.id), 75),
                "url": link,
            });
        }
        blocks.push(section);
        blocks.push(json!({ "type": "divider" }));
    }
    json!({ "text": fallback, "blocks": blocks })
}
