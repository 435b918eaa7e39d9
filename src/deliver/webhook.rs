//! A generic webhook: each notice is one CloudEvents 1.0 event in
//! structured mode (`application/cloudevents+json`), signed with
//! HMAC-SHA256 over the exact body in `X-Exc-Signature-256: sha256=<hex>`,
//! as GitHub signs its webhooks. ServiceNow, Jira Automation or an in-house
//! service verify it with the shared secret and can drop repeats by the
//! event's `id`, which is the notice's stable key.

use hmac::{KeyInit, Mac};
use serde_json::{Value, json};

use super::{Accepted, Batch, Outcome, Settings, check_url, excerpt, request, secret};
use crate::model::notify::Webhook;
use crate::output::notify::Notice;

/// The signature header.
pub const SIGNATURE_HEADER: &str = "X-Exc-Signature-256";

/// Posts each notice as its own event.
pub fn send(c: &Webhook, batch: &Batch, settings: &Settings) -> Vec<Outcome> {
    let n = batch.notices.len();
    let setup = || -> std::result::Result<(String, String, ureq::Agent), String> {
        let url = match (&c.url, &c.url_env) {
            (Some(u), _) => u.clone(),
            (None, Some(env)) => secret(batch.channel, env)?,
            (None, None) => return Err(format!("channel `{}`: no url", batch.channel)),
        };
        check_url(batch.channel, &url)?;
        Ok((url, secret(batch.channel, &c.secret_env)?, super::agent(&settings.retry)?))
    };
    let (url, key, agent) = match setup() {
        Ok(s) => s,
        Err(e) => return vec![Err(e); n],
    };
    let source = c.source.clone().unwrap_or_else(|| format!("urn:exc:{}", settings.registry));
    batch
        .notices
        .iter()
        .map(|notice| {
            let body = event(notice, &source, settings).to_string();
            let headers = [
                ("Content-Type", "application/cloudevents+json; charset=utf-8".to_string()),
                (SIGNATURE_HEADER, sign(key.as_bytes(), body.as_bytes())),
                ("X-Exc-Run", settings.run.clone()),
            ];
            match request(&agent, "POST", &url, &headers, Some(body.as_bytes()), &settings.retry) {
                Ok(r) if (200..300).contains(&r.status) => {
                    Ok(Accepted { detail: format!("HTTP {}", r.status), issue: None })
                }
                Ok(r) => Err(format!("the endpoint refused it: HTTP {} {}", r.status, excerpt(&r.body))),
                Err(e) => Err(format!("webhook: {e}")),
            }
        })
        .collect()
}

/// `sha256=` and the hex HMAC-SHA256 of `body` under `key`.
pub fn sign(key: &[u8], body: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(body);
    let tag = mac.finalize().into_bytes();
    format!("sha256={}", tag.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

/// The CloudEvent for one notice.
pub fn event(n: &Notice, source: &str, settings: &Settings) -> Value {
    json!({
        "specversion": "1.0",
        "id": n.event.key(),
        "source": source,
        "type": format!("exc.exception.{}", n.event.kind),
        "subject": n.facts.id,
        "time": n.event.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "datacontenttype": "application/json",
        "data": {
            "key": n.event.key(),
            "kind": n.event.kind,
            "about": n.event.about,
            "outcome": n.event.outcome,
            "message": n.event.message,
            "as_of": settings.as_of,
            "record": n.facts,
        },
    })
}
