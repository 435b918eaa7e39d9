//! The policy's `notify:` section: the channels `exc notify` delivers over,
//! who hears of each kind of event and by which channels, the link to a
//! record, the escalation recipients, and where the delivery log lives.
//!
//! Secrets never live here: a channel names the environment variables that
//! hold them (`password_env`, `url_env`, `token_env`, `secret_env`). This
//! module does no I/O.

use std::collections::BTreeMap;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use super::event_kind::Kind;

/// The whole `notify:` section.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notify {
    /// Links every message carries.
    #[serde(default, skip_serializing_if = "Links::is_empty")]
    pub links: Links,
    /// Who hears of chronic records and overdue reviews besides the risk
    /// owner: role names from `roles`, or email addresses.
    #[serde(default = "default_escalation")]
    pub escalation: Vec<String>,
    /// Channel name -> how to reach it.
    #[serde(default)]
    pub channels: IndexMap<String, Channel>,
    /// Event kind -> who hears of it and by which channels (default: see
    /// [`default_recipients`], over every channel).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub events: BTreeMap<Kind, EventRoute>,
    /// Where the delivery log lives.
    #[serde(default)]
    pub log: LogSettings,
    /// Timeouts and retries of each delivery.
    #[serde(default)]
    pub retry: Retry,
}

fn default_escalation() -> Vec<String> {
    vec!["engineering".to_string()]
}

impl Default for Notify {
    fn default() -> Self {
        Notify {
            links: Links::default(),
            escalation: default_escalation(),
            channels: IndexMap::new(),
            events: BTreeMap::new(),
            log: LogSettings::default(),
            retry: Retry::default(),
        }
    }
}

/// Link templates: `{id}` is the record's id, `{path}` its file relative to
/// the repository (e.g. `https://github.com/acme/sec/blob/main/{path}`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Links {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
}

impl Links {
    fn is_empty(&self) -> bool {
        self.record.is_none()
    }

    /// The link to a record, when a template is set. The id and path are
    /// percent-encoded where a URL needs it (ids are `[A-Z0-9-]` already).
    pub fn record(&self, id: &str, path: &str) -> Option<String> {
        let t = self.record.as_ref()?;
        Some(t.replace("{id}", &url_part(id)).replace("{path}", &url_path(path)))
    }
}

fn url_part(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn url_path(s: &str) -> String {
    s.split('/').map(url_part).collect::<Vec<_>>().join("/")
}

/// One channel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Channel {
    /// Mail over SMTP: one digest per person per run.
    Smtp(Smtp),
    /// A Slack incoming webhook (Block Kit).
    Slack(ChatHook),
    /// A Microsoft Teams workflow webhook (an Adaptive Card).
    Teams(ChatHook),
    /// Any HTTP endpoint: CloudEvents 1.0 JSON, signed with HMAC-SHA256.
    Webhook(Webhook),
    /// Jira Cloud: one issue per request.
    Jira(Jira),
}

impl Channel {
    /// The channel's type, as written in `type:`.
    pub fn kind(&self) -> &'static str {
        match self {
            Channel::Smtp(_) => "smtp",
            Channel::Slack(_) => "slack",
            Channel::Teams(_) => "teams",
            Channel::Webhook(_) => "webhook",
            Channel::Jira(_) => "jira",
        }
    }

    /// Whether the channel reaches people one by one (mail) rather than a
    /// shared place (a chat channel, an endpoint, a project).
    pub fn is_personal(&self) -> bool {
        matches!(self, Channel::Smtp(_))
    }

    /// The environment variables the channel reads its secrets from.
    pub fn secret_envs(&self) -> Vec<&str> {
        match self {
            Channel::Smtp(s) => s.username_env.iter().chain(s.password_env.iter()).map(String::as_str).collect(),
            Channel::Slack(c) | Channel::Teams(c) => vec![c.url_env.as_str()],
            Channel::Webhook(w) => w.url_env.iter().chain([&w.secret_env]).map(String::as_str).collect(),
            Channel::Jira(j) => vec![j.user_env.as_str(), j.token_env.as_str()],
        }
    }
}

/// How mail is sent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Smtp {
    pub host: String,
    /// Default: 587 for STARTTLS, 465 for implicit TLS, 25 without TLS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(default)]
    pub tls: SmtpTls,
    /// The sender, `Name <address>` or an address.
    pub from: String,
    /// The environment variables holding the AUTH user name and password
    /// (both or neither).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username_env: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_env: Option<String>,
}

impl Smtp {
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.tls {
            SmtpTls::Starttls => 587,
            SmtpTls::Tls => 465,
            SmtpTls::None => 25,
        })
    }
}

/// How the SMTP connection is protected.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// STARTTLS, required (the session stops if the server does not offer it).
    #[default]
    Starttls,
    /// Implicit TLS (SMTPS, usually port 465).
    Tls,
    /// No TLS: only to a relay on this machine (loopback), and never with AUTH.
    None,
}

/// A chat webhook; its URL is the secret.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatHook {
    pub url_env: String,
}

/// A generic webhook.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Webhook {
    /// The endpoint, when it is not secret (else `url_env`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_env: Option<String>,
    /// The environment variable holding the HMAC key.
    pub secret_env: String,
    /// The CloudEvents `source` (default: `urn:exc:<policy name or directory>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// A Jira Cloud project.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Jira {
    /// The site, e.g. `https://acme.atlassian.net`.
    pub url: String,
    /// The project key, e.g. `SEC`.
    pub project: String,
    #[serde(default = "task")]
    pub issue_type: String,
    /// The environment variables holding the account's email and API token.
    pub user_env: String,
    pub token_env: String,
    /// The transition a closure takes (by name; default: the first one to a
    /// status in the `done` category).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub close_transition: Option<String>,
}

fn task() -> String {
    "Task".to_string()
}

/// Who hears of one kind of event, and how.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventRoute {
    /// `requester`, `risk_owner`, `approvers` (the roles the request awaits),
    /// `escalation`, a role from `roles`, or an email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Vec<String>>,
    /// Channel names (default: every channel); `[]` turns the event off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<Vec<String>>,
}

/// Who hears of each kind of event unless `events:` says otherwise.
pub fn default_recipients(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Filed | Kind::Changed | Kind::SlaAtRisk | Kind::SlaBreached => &[APPROVERS, RISK_OWNER_TO],
        Kind::Decided | Kind::Closed => &[REQUESTER, RISK_OWNER_TO],
        Kind::ExpiryNear | Kind::Lifetime => &[RISK_OWNER_TO, REQUESTER],
        Kind::ReviewDue => &[RISK_OWNER_TO],
        Kind::ReviewOverdue | Kind::Chronic => &[RISK_OWNER_TO, ESCALATION],
    }
}

/// The recipient words an `events.*.to` list may use besides roles and addresses.
pub const REQUESTER: &str = "requester";
pub const RISK_OWNER_TO: &str = "risk_owner";
pub const APPROVERS: &str = "approvers";
pub const ESCALATION: &str = "escalation";

/// Where the delivery log lives: a git ref, and the remote it is shared through.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    #[serde(default = "default_ref", rename = "ref")]
    pub git_ref: String,
    /// The remote the log is fetched from and pushed to before and after
    /// every change (default: `origin` when the repository has it; `""`
    /// keeps the log in this clone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<String>,
}

fn default_ref() -> String {
    "refs/exc/notify".to_string()
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings { git_ref: default_ref(), remote: None }
    }
}

/// Timeouts and retries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retry {
    /// Tries per delivery (1 = no retry).
    #[serde(default = "three")]
    pub attempts: u32,
    /// The wait before the second try; it doubles for each later one.
    #[serde(default = "two")]
    pub backoff_seconds: u32,
    /// The time one request (or SMTP session) may take.
    #[serde(default = "thirty")]
    pub timeout_seconds: u32,
}

fn three() -> u32 {
    3
}
fn two() -> u32 {
    2
}
fn thirty() -> u32 {
    30
}

impl Default for Retry {
    fn default() -> Self {
        Retry { attempts: 3, backoff_seconds: 2, timeout_seconds: 30 }
    }
}

impl Notify {
    /// The channels an event of `kind` goes to, in the order they are configured.
    pub fn channels_for(&self, kind: Kind) -> Vec<(&str, &Channel)> {
        let via = self.events.get(&kind).and_then(|r| r.via.as_ref());
        self.channels
            .iter()
            .filter(|(name, _)| via.is_none_or(|v| v.iter().any(|x| x == *name)))
            .map(|(n, c)| (n.as_str(), c))
            .collect()
    }

    /// Who hears of an event of `kind`, as recipient words, roles and addresses.
    pub fn recipients_for(&self, kind: Kind) -> Vec<String> {
        match self.events.get(&kind).and_then(|r| r.to.as_ref()) {
            Some(to) => to.clone(),
            None => default_recipients(kind).iter().map(|s| s.to_string()).collect(),
        }
    }

    /// What the policy check says about this section, as (JSON pointer, message).
    pub fn problems(&self, roles: &BTreeMap<String, Vec<String>>) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (kind, route) in &self.events {
            for (i, name) in route.via.iter().flatten().enumerate() {
                if !self.channels.contains_key(name) {
                    let known: Vec<&str> = self.channels.keys().map(String::as_str).collect();
                    out.push((
                        format!("/notify/events/{}/via/{i}", kind.as_str()),
                        format!("unknown channel `{name}`; the channels are {}", known.join(", ")),
                    ));
                }
            }
            for (i, to) in route.to.iter().flatten().enumerate() {
                let word = [REQUESTER, RISK_OWNER_TO, APPROVERS, ESCALATION].contains(&to.as_str());
                if !word && !roles.contains_key(to) && !to.contains('@') {
                    out.push((
                        format!("/notify/events/{}/to/{i}", kind.as_str()),
                        format!(
                            "`{to}` is not a role, an email address, or one of requester, risk_owner, approvers, escalation"
                        ),
                    ));
                }
            }
        }
        for (name, channel) in &self.channels {
            let at = |field: &str| format!("/notify/channels/{name}/{field}");
            match channel {
                Channel::Smtp(s) => {
                    if s.username_env.is_some() != s.password_env.is_some() {
                        out.push((at("username_env"), "give both username_env and password_env, or neither".into()));
                    }
                    if s.tls == SmtpTls::None && s.username_env.is_some() {
                        out.push((at("tls"), "AUTH needs TLS: use starttls or tls".into()));
                    }
                }
                Channel::Webhook(w) if w.url.is_some() == w.url_env.is_some() => {
                    out.push((at("url"), "give url or url_env (one of them)".into()));
                }
                _ => {}
            }
            for env in channel.secret_envs() {
                if !is_env_name(env) {
                    out.push((at("type"), format!("`{env}` is not an environment variable name")));
                }
            }
        }
        if self.retry.attempts == 0 {
            out.push(("/notify/retry/attempts".into(), "must be at least 1".into()));
        }
        if !self.log.git_ref.starts_with("refs/") || self.log.git_ref.contains("..") {
            out.push(("/notify/log/ref".into(), "a full ref name, e.g. refs/exc/notify".into()));
        }
        out
    }
}

/// Whether `s` can name an environment variable (letters, digits, `_`).
fn is_env_name(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_encode_what_a_url_cannot_hold() {
        let l = Links { record: Some("https://forge.example/sec/blob/main/{path}?id={id}".into()) };
        assert_eq!(
            l.record("EXC-1", "exceptions/EXC-1.yaml").unwrap(),
            "https://forge.example/sec/blob/main/exceptions/EXC-1.yaml?id=EXC-1"
        );
        assert_eq!(l.record("A B", "x y/z").unwrap(), "https://forge.example/sec/blob/main/x%20y/z?id=A%20B");
        assert_eq!(Links::default().record("EXC-1", "p"), None);
    }

    #[test]
    fn a_section_reads_with_defaults_and_refuses_unknown_fields() {
        let n: Notify = serde_json::from_value(serde_json::json!({
            "channels": {
                "mail": { "type": "smtp", "host": "smtp.example.com", "from": "exc@example.com",
                          "username_env": "U", "password_env": "P" },
                "chat": { "type": "slack", "url_env": "EXC_SLACK_WEBHOOK" }
            },
            "events": { "chronic": { "via": ["mail"] } }
        }))
        .unwrap();
        assert_eq!(n.escalation, ["engineering"]);
        assert_eq!(n.log.git_ref, "refs/exc/notify");
        assert_eq!(n.channels_for(Kind::Chronic).len(), 1);
        assert_eq!(n.channels_for(Kind::Filed).len(), 2);
        assert!(n.problems(&BTreeMap::new()).is_empty(), "{:?}", n.problems(&BTreeMap::new()));
        let bad = serde_json::from_value::<Notify>(serde_json::json!({
            "channels": { "chat": { "type": "slack", "url": "https://hooks.slack.com/x" } }
        }));
        assert!(bad.is_err(), "a secret in the file is refused: {bad:?}");
    }

    #[test]
    fn problems_name_their_place() {
        let mut n = Notify::default();
        n.events.insert(Kind::Filed, EventRoute { to: Some(vec!["nobody".into()]), via: Some(vec!["pager".into()]) });
        n.channels.insert(
            "hook".into(),
            Channel::Webhook(Webhook { url: None, url_env: None, secret_env: "BAD NAME".into(), source: None }),
        );
        let p: Vec<String> = n.problems(&BTreeMap::new()).into_iter().map(|(at, _)| at).collect();
        assert_eq!(
            p,
            [
                "/notify/events/filed/via/0",
                "/notify/events/filed/to/0",
                "/notify/channels/hook/url",
                "/notify/channels/hook/type"
            ]
        );
    }
}
