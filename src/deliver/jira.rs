//! Jira Cloud (REST API v3): one issue per request. Filing creates it,
//! decisions and reminders add comments, a closure adds a comment and
//! takes the issue through a transition to done.
//!
//! Idempotent: before creating an issue, exc searches the project for the
//! record's label (`exc-<id>`), so an issue created by a run that died
//! before it could record it is found, not duplicated. The record-to-issue
//! map lives in the delivery log, never in the signed record. Bodies are
//! Atlassian Document Format: record fields are `text` nodes (data, never
//! markup); the only link is the record's, built from the policy's template.
//!
//! Requests (as Jira Cloud's REST API v3 documents them): `POST
//! /rest/api/3/search/jql`, `POST /rest/api/3/issue`, `POST
//! /rest/api/3/issue/{key}/comment`, `GET` and `POST
//! /rest/api/3/issue/{key}/transitions`, with basic auth (email and API token).

use std::collections::HashMap;

use serde_json::{Value, json};

use super::{Accepted, Batch, Outcome, Response, Settings, check_url, excerpt, request, secret};
use crate::model::event::Kind;
use crate::model::notify::Jira;
use crate::output::notify::{Notice, cut, one_line};

/// The label that finds a record's issue.
pub fn label(id: &str) -> String {
    format!("exc-{id}")
}

struct Client<'a> {
    c: &'a Jira,
    base: String,
    auth: String,
    agent: ureq::Agent,
    settings: &'a Settings,
}

/// Sends each notice to the record's issue.
pub fn send(c: &Jira, batch: &Batch, settings: &Settings) -> Vec<Outcome> {
    let n = batch.notices.len();
    let setup = || -> std::result::Result<Client, String> {
        check_url(batch.channel, &c.url)?;
        let user = secret(batch.channel, &c.user_env)?;
        let token = secret(batch.channel, &c.token_env)?;
        let auth = format!("Basic {}", base64(format!("{user}:{token}").as_bytes()));
        Ok(Client {
            c,
            base: c.url.trim_end_matches('/').to_string(),
            auth,
            agent: super::agent(&settings.retry)?,
            settings,
        })
    };
    let client = match setup() {
        Ok(cl) => cl,
        Err(e) => return vec![Err(e); n],
    };
    let mut issues: HashMap<String, String> = settings.issues.clone();
    batch.notices.iter().map(|notice| client.deliver(notice, &mut issues)).collect()
}

impl Client<'_> {
    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> std::result::Result<Response, String> {
        let text = body.map(Value::to_string);
        let mut headers = vec![("Authorization", self.auth.clone()), ("Accept", "application/json".to_string())];
        if text.is_some() {
            headers.push(("Content-Type", "application/json".to_string()));
        }
        let url = format!("{}{path}", self.base);
        request(&self.agent, method, &url, &headers, text.as_deref().map(str::as_bytes), &self.settings.retry)
            .map_err(|e| format!("Jira: {e}"))
    }

    fn deliver(&self, n: &Notice, issues: &mut HashMap<String, String>) -> Outcome {
        let (key, how) = self.issue_for(n, issues)?;
        if n.event.kind == Kind::Filed {
            return Ok(Accepted { detail: format!("{how} {key}"), issue: Some(key) });
        }
        let r = self.call("POST", &format!("/rest/api/3/issue/{key}/comment"), Some(&json!({ "body": adf(n) })))?;
        if r.status != 201 && r.status != 200 {
            return Err(format!("Jira refused the comment on {key}: HTTP {} {}", r.status, excerpt(&r.body)));
        }
        let mut detail = format!("commented on {key}");
        if n.event.kind == Kind::Closed {
            detail.push_str(&format!("; {}", self.close(&key)?));
        }
        Ok(Accepted { detail, issue: Some(key) })
    }

    /// The record's issue: known from the log, found by its label, or created.
    fn issue_for(
        &self,
        n: &Notice,
        issues: &mut HashMap<String, String>,
    ) -> std::result::Result<(String, &'static str), String> {
        let id = &n.facts.id;
        if let Some(k) = issues.get(id) {
            return Ok((k.clone(), "already"));
        }
        let jql = format!("project = {} AND labels = {}", jql_string(&self.c.project), jql_string(&label(id)));
        let query = json!({ "jql": jql, "fields": ["summary"], "maxResults": 1 });
        let r = self.call("POST", "/rest/api/3/search/jql", Some(&query))?;
        if r.status != 200 {
            return Err(format!("Jira refused the search: HTTP {} {}", r.status, excerpt(&r.body)));
        }
        let found: Value = serde_json::from_str(&r.body).map_err(|_| "Jira's search answer is not JSON".to_string())?;
        if let Some(k) = found["issues"].get(0).and_then(|i| i["key"].as_str()) {
            let k = checked_key(k)?;
            issues.insert(id.clone(), k.clone());
            return Ok((k, "found"));
        }
        let create = json!({
            "fields": {
                "project": { "key": self.c.project },
                "issuetype": { "name": self.c.issue_type },
                "summary": cut(&one_line(&format!("{id}: {}", n.facts.title)), 255),
                "labels": ["exc", label(id)],
                "description": adf(n),
            }
        });
        let r = self.call("POST", "/rest/api/3/issue", Some(&create))?;
        if r.status != 201 {
            return Err(format!("Jira refused the new issue: HTTP {} {}", r.status, excerpt(&r.body)));
        }
        let made: Value = serde_json::from_str(&r.body).map_err(|_| "Jira's answer is not JSON".to_string())?;
        let k = checked_key(made["key"].as_str().unwrap_or_default())?;
        issues.insert(id.clone(), k.clone());
        Ok((k, "created"))
    }

    /// Takes the issue to done: the transition the policy names, else the
    /// first whose target status is in the done category.
    fn close(&self, key: &str) -> std::result::Result<String, String> {
        let r = self.call("GET", &format!("/rest/api/3/issue/{key}/transitions"), None)?;
        if r.status != 200 {
            return Err(format!("Jira refused the transitions of {key}: HTTP {} {}", r.status, excerpt(&r.body)));
        }
        let list: Value = serde_json::from_str(&r.body).map_err(|_| "Jira's answer is not JSON".to_string())?;
        let empty = Vec::new();
        let all = list["transitions"].as_array().unwrap_or(&empty);
        let pick = all.iter().find(|t| match &self.c.close_transition {
            Some(name) => t["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name)),
            None => t["to"]["statusCategory"]["key"].as_str() == Some("done"),
        });
        let Some(t) = pick else {
            return Ok("no transition to done is available (already closed?)".to_string());
        };
        let id = t["id"].as_str().unwrap_or_default();
        let r = self.call(
            "POST",
            &format!("/rest/api/3/issue/{key}/transitions"),
            Some(&json!({ "transition": { "id": id } })),
        )?;
        if r.status != 204 && r.status != 200 {
            return Err(format!("Jira refused the transition of {key}: HTTP {} {}", r.status, excerpt(&r.body)));
        }
        Ok(format!("moved through `{}`", one_line(t["name"].as_str().unwrap_or(id))))
    }
}

/// An issue key as Jira writes them (`SEC-12`), before it goes into a URL.
fn checked_key(k: &str) -> std::result::Result<String, String> {
    let ok = k.split_once('-').is_some_and(|(p, n)| {
        !p.is_empty()
            && p.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            && !n.is_empty()
            && n.chars().all(|c| c.is_ascii_digit())
    });
    if ok {
        Ok(k.to_string())
    } else {
        Err(format!("Jira answered with an issue key exc does not trust: {:?}", cut(k, 40)))
    }
}

/// A JQL string literal.
pub fn jql_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn text(t: &str) -> Option<Value> {
    (!t.is_empty()).then(|| json!({ "type": "text", "text": t }))
}

fn paragraph(nodes: Vec<Value>) -> Value {
    json!({ "type": "paragraph", "content": nodes })
}

/// The notice as an Atlassian Document Format document.
pub fn adf(n: &Notice) -> Value {
    let mut content = Vec::new();
    let mut head = json!({ "type": "text", "text": format!("{}: {}", n.headline(), n.title()) });
    head["marks"] = json!([{ "type": "strong" }]);
    content.push(paragraph(vec![head]));
    if let Some(t) = text(&n.message()) {
        content.push(paragraph(vec![t]));
    }
    let items: Vec<Value> = n
        .fields()
        .into_iter()
        .filter_map(|(label, value)| text(&format!("{label}: {value}")))
        .map(|t| json!({ "type": "listItem", "content": [paragraph(vec![t])] }))
        .collect();
    content.push(json!({ "type": "bulletList", "content": items }));
    if let Some(link) = n.facts.link.as_ref().filter(|l| check_url("links", l).is_ok()) {
        let mut t = json!({ "type": "text", "text": format!("Open {}", n.facts.id) });
        t["marks"] = json!([{ "type": "link", "attrs": { "href": link } }]);
        content.push(paragraph(vec![t]));
    }
    json!({ "type": "doc", "version": 1, "content": content })
}

/// Standard base64 with padding (RFC 4648), for basic auth.
fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_as_rfc_4648() {
        for (i, o) in
            [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE=")]
        {
            assert_eq!(base64(i.as_bytes()), o);
        }
    }

    #[test]
    fn keys_and_jql_strings() {
        assert!(checked_key("SEC-12").is_ok());
        assert!(checked_key("SEC-12/../x").is_err() && checked_key("sec-1").is_err());
        assert_eq!(jql_string(r#"a"b\c"#), r#""a\"b\\c""#);
    }
}
