//! Delivery: the one place that talks to the network. One file per channel
//! (`smtp`, `slack`, `teams`, `webhook`, `jira`), each turning notices into
//! its wire format and reporting, per notice, whether the other side
//! accepted it. What to send and what was sent is decided elsewhere
//! (`model::delivery`, `registry::deliveries`).
//!
//! Secrets come from environment variables only, named by the policy, and
//! are never part of a message exc prints: errors name the channel and the
//! variable, never a URL, a token or a password. HTTP goes only to https
//! URLs (http only to this machine's loopback), follows no redirects, and
//! every request has a timeout. Transient failures (a connection refused or
//! dropped, HTTP 429 and 5xx, SMTP 4xx) are tried again with a doubling
//! backoff; a failure that stays is that delivery's, and the others go on.

use std::time::Duration;

use crate::model::notify::{Channel, Retry};
use crate::output::notify::Notice;

pub mod jira;
pub mod slack;
pub mod smtp;
pub mod teams;
pub mod webhook;

/// The environment variable naming a PEM file of CA certificates to trust
/// instead of the built-in (webpki) roots, for SMTP and HTTPS alike.
pub const CA_FILE_ENV: &str = "EXC_CA_FILE";

/// What the other side said when it accepted a notice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    /// `250 2.0.0 Ok: queued`, `HTTP 200`, `created SEC-12`…
    pub detail: String,
    /// For Jira, the issue the record maps to.
    pub issue: Option<String>,
}

/// One notice's fate: accepted, or why not (safe to print).
pub type Outcome = std::result::Result<Accepted, String>;

/// One message's worth of notices for one recipient over one channel.
#[derive(Debug)]
pub struct Batch<'a> {
    /// The channel's name in `notify.channels`.
    pub channel: &'a str,
    /// The person's address, or `*`.
    pub to: &'a str,
    /// The name to greet a person by.
    pub name: &'a str,
    pub notices: Vec<Notice<'a>>,
}

/// What every channel needs besides its own settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub retry: Retry,
    /// The run's date, for subjects.
    pub as_of: chrono::NaiveDate,
    /// The run's id (sent as a header, for the receiver's logs).
    pub run: String,
    /// The registry's name (the CloudEvents source, the mail's sender name).
    pub registry: String,
    /// For Jira: the issue each record already maps to, from the delivery log.
    pub issues: std::collections::HashMap<String, String>,
}

/// Sends `batch` over `channel`; one outcome per notice, in order.
pub fn send(channel: &Channel, batch: &Batch, settings: &Settings) -> Vec<Outcome> {
    let all = |r: std::result::Result<Accepted, String>| vec![r; batch.notices.len()];
    match channel {
        Channel::Smtp(c) => all(smtp::send(c, batch, settings)),
        Channel::Slack(c) => slack::send(c, batch, settings),
        Channel::Teams(c) => teams::send(c, batch, settings),
        Channel::Webhook(c) => webhook::send(c, batch, settings),
        Channel::Jira(c) => jira::send(c, batch, settings),
    }
}

/// A secret from the environment, or why not (naming the variable only).
pub fn secret(channel: &str, env: &str) -> std::result::Result<String, String> {
    match std::env::var(env) {
        Ok(v) if !v.trim().is_empty() => Ok(v.trim().to_string()),
        _ => Err(format!("channel `{channel}`: the environment variable {env} is not set")),
    }
}

/// The CA certificates in `EXC_CA_FILE`, if it is set.
pub fn extra_roots() -> std::result::Result<Option<Vec<u8>>, String> {
    match std::env::var_os(CA_FILE_ENV) {
        Some(p) if !p.is_empty() => std::fs::read(&p)
            .map(Some)
            .map_err(|e| format!("{CA_FILE_ENV}={}: {e}", std::path::Path::new(&p).display())),
        _ => Ok(None),
    }
}

/// Whether `host` is this machine (where plain HTTP and SMTP are allowed).
pub fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost") || h.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Checks a URL before anything is sent to it: https, or http to loopback.
pub fn check_url(channel: &str, url: &str) -> std::result::Result<(), String> {
    let (scheme, rest) = url.split_once("://").ok_or_else(|| format!("channel `{channel}`: the URL has no scheme"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or("");
    let host = if host_port.starts_with('[') {
        host_port.split(']').next().map(|h| format!("{h}]")).unwrap_or_default()
    } else {
        host_port.split(':').next().unwrap_or("").to_string()
    };
    match scheme.to_ascii_lowercase().as_str() {
        "https" => Ok(()),
        "http" if is_loopback(&host) => Ok(()),
        "http" => Err(format!("channel `{channel}`: plain http is refused (use https); only loopback may use http")),
        _ => Err(format!("channel `{channel}`: only https URLs are allowed")),
    }
}

/// An HTTP agent with timeouts, no redirects, and the trusted roots.
pub fn agent(retry: &Retry) -> std::result::Result<ureq::Agent, String> {
    let timeout = Duration::from_secs(retry.timeout_seconds.into());
    let mut tls = ureq::tls::TlsConfig::builder();
    if let Some(pem) = extra_roots()? {
        let certs: Vec<ureq::tls::Certificate<'static>> = ureq::tls::parse_pem(&pem)
            .filter_map(|item| match item {
                Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                _ => None,
            })
            .collect();
        if certs.is_empty() {
            return Err(format!("{CA_FILE_ENV} holds no PEM certificate"));
        }
        tls = tls.root_certs(ureq::tls::RootCerts::new_with_certs(&certs));
    }
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(timeout))
        .timeout_connect(Some(timeout.min(Duration::from_secs(10))))
        .user_agent(format!("exc/{}", env!("CARGO_PKG_VERSION")))
        .tls_config(tls.build())
        .build();
    Ok(config.new_agent())
}

/// An HTTP response exc looked at.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub body: String,
    /// `Retry-After` in seconds, when the server sent one (Slack does with 429).
    pub retry_after: Option<u64>,
}

/// Sends one request, trying again on transient failures. `Ok` is any
/// response that is not transient (the caller judges 4xx); `Err` when no
/// response came, or the last was transient. Never names the URL.
pub fn request(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    headers: &[(&str, String)],
    body: Option<&[u8]>,
    retry: &Retry,
) -> std::result::Result<Response, String> {
    let mut wait = Duration::from_secs(retry.backoff_seconds.into());
    let mut last = String::new();
    for attempt in 1..=retry.attempts.max(1) {
        match once(agent, method, url, headers, body) {
            Ok(r) if r.status == 429 || r.status >= 500 => {
                last = format!("HTTP {}", r.status);
                // A server that says when to come back is heard, within reason.
                if let Some(after) = r.retry_after {
                    wait = wait.max(Duration::from_secs(after.min(60)));
                }
            }
            Ok(r) => return Ok(r),
            Err(e) => last = e,
        }
        if attempt < retry.attempts {
            std::thread::sleep(wait);
            wait = wait.saturating_mul(2).min(Duration::from_secs(60));
        }
    }
    Err(format!("{last} (after {} tries)", retry.attempts.max(1)))
}

fn once(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    headers: &[(&str, String)],
    body: Option<&[u8]>,
) -> std::result::Result<Response, String> {
    let result = match method {
        "GET" => {
            let mut r = agent.get(url);
            for (k, v) in headers {
                r = r.header(*k, v.as_str());
            }
            r.call()
        }
        _ => {
            let mut r = agent.post(url);
            for (k, v) in headers {
                r = r.header(*k, v.as_str());
            }
            r.send(body.unwrap_or_default())
        }
    };
    match result {
        Ok(mut resp) => {
            let status = resp.status().as_u16();
            let retry_after =
                resp.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse().ok());
            let body = resp.body_mut().with_config().limit(1 << 20).read_to_string().unwrap_or_default();
            Ok(Response { status, body, retry_after })
        }
        Err(e) => Err(describe(&e)),
    }
}

/// A transport error in words that name no URL.
fn describe(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Io(io) => format!("connection failed ({})", io.kind()),
        ureq::Error::Timeout(_) => "timed out".into(),
        ureq::Error::HostNotFound => "host not found".into(),
        ureq::Error::ConnectionFailed => "connection failed".into(),
        ureq::Error::Tls(m) => format!("TLS: {m}"),
        ureq::Error::Rustls(m) => format!("TLS: {m}"),
        ureq::Error::BadUri(_) => "the URL is not valid".into(),
        ureq::Error::Protocol(_) => "the server broke the HTTP protocol".into(),
        ureq::Error::RedirectFailed | ureq::Error::TooManyRedirects => "the server redirected (not followed)".into(),
        other => {
            let text = other.to_string();
            // Keep anything that might echo a URL out of the message.
            if text.contains("://") { "request failed".into() } else { text }
        }
    }
}

/// The first lines of a response body, for a failure's detail (safe to print).
pub fn excerpt(body: &str) -> String {
    crate::output::notify::cut(&crate::output::notify::one_line(body), 200)
}
