//! Request digests: `sha256:` over a canonical form of the request fields.
//!
//! The canonical form is compact JSON of the request fields in a fixed order,
//! with empty lists and absent values left out, so that formatting, comments and
//! key order in the YAML never change a digest, and any change of content does.
//! It covers everything that decides routing and the cap (id, type, created,
//! requester, risk owner) and what the requester wrote, but not `expires`:
//! every decision states the expiry it saw on its own, so an extension can
//! move the date, and only the date, without voiding the approvals.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::record::{Exception, REQUEST_FIELDS};

/// The request fields as one canonical JSON object.
pub fn request_fields(e: &Exception) -> Map<String, Value> {
    let full = serde_json::to_value(e).unwrap_or(Value::Null);
    let mut out = Map::new();
    for field in REQUEST_FIELDS {
        match full.get(*field) {
            None | Some(Value::Null) => {}
            Some(Value::Array(a)) if a.is_empty() => {}
            Some(v) => {
                out.insert((*field).to_string(), v.clone());
            }
        }
    }
    if !out.contains_key("urgency") {
        out.insert("urgency".into(), Value::String("standard".into()));
    }
    out
}

/// The request fields a digest covers: all but `expires`.
pub fn digested_fields(e: &Exception) -> Map<String, Value> {
    let mut m = request_fields(e);
    m.remove("expires");
    m
}

/// The request fields in canonical order (keys sorted), serialised straight to
/// the canonical JSON that [`request_fields`] + sorting would give: the hot path.
#[derive(serde::Serialize)]
struct Canonical<'a> {
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    assets: &'a [String],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    attachments: &'a [String],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    compensating_controls: &'a [String],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    controls: &'a [String],
    created: chrono::DateTime<chrono::Utc>,
    #[serde(skip_serializing_if = "<[super::record::Covered]>::is_empty")]
    findings: &'a [super::record::Covered],
    id: &'a str,
    justification: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    migration_plan: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    notes: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    proposed_risk: Option<super::record::Risk>,
    requester: &'a str,
    risk_owner: &'a str,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    tickets: &'a [String],
    title: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    urgency: super::record::Urgency,
}

/// `sha256:<hex>` over the canonical request fields.
pub fn digest(e: &Exception) -> String {
    let canonical = serde_json::to_vec(&Canonical {
        assets: &e.assets,
        attachments: &e.attachments,
        compensating_controls: &e.compensating_controls,
        controls: &e.controls,
        created: e.created,
        findings: &e.findings,
        id: &e.id,
        justification: &e.justification,
        migration_plan: e.migration_plan.as_deref(),
        notes: e.notes.as_deref(),
        proposed_risk: e.proposed_risk,
        requester: &e.requester,
        risk_owner: &e.risk_owner,
        tickets: &e.tickets,
        title: &e.title,
        kind: &e.kind,
        urgency: e.urgency,
    })
    .unwrap_or_default();
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(71);
    out.push_str("sha256:");
    for b in Sha256::digest(&canonical) {
        out.push(HEX[(b >> 4) as usize] as char);
        out.push(HEX[(b & 15) as usize] as char);
    }
    out
}

/// The request fields whose values differ between two versions of a record.
pub fn changed_fields(before: &Map<String, Value>, after: &Map<String, Value>) -> Vec<String> {
    REQUEST_FIELDS.iter().filter(|f| before.get(**f) != after.get(**f)).map(|f| f.to_string()).collect()
}

/// JSON with object keys sorted, no whitespace (the definition of canonical
/// form; [`digest`] is the fast path for records that must agree with it).
pub fn canonical_json(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let parts: Vec<String> =
                keys.into_iter().map(|k| format!("{}:{}", Value::String(k.clone()), canonical_json(&m[k]))).collect();
            format!("{{{}}}", parts.join(","))
        }
        Value::Array(a) => format!("[{}]", a.iter().map(canonical_json).collect::<Vec<_>>().join(",")),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The slow, obviously canonical form the fast path must match.
    fn reference(e: &Exception) -> String {
        let canonical = canonical_json(&Value::Object(digested_fields(e)));
        let hash = Sha256::digest(canonical.as_bytes());
        format!("sha256:{}", hash.iter().map(|b| format!("{b:02x}")).collect::<String>())
    }

    #[test]
    fn fast_digest_matches_the_canonical_form() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/exceptions");
        let mut n = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|x| x != "yaml") {
                continue;
            }
            let text = std::fs::read_to_string(path).unwrap();
            let mut e: Exception = serde_json::from_value(crate::yaml::parse_value(&text).unwrap()).unwrap();
            assert_eq!(digest(&e), reference(&e), "{}", e.id);
            e.migration_plan = Some("a \"quoted\" plan\nwith ünïcode".into());
            e.urgency = super::super::record::Urgency::Urgent;
            e.tickets = vec!["SEC-1".into(), "https://tickets.example.com/2".into()];
            e.notes = Some("see the <ticket> & \"log\"".into());
            assert_eq!(digest(&e), reference(&e), "{}", e.id);
            n += 1;
        }
        assert!(n >= 8);
    }

    #[test]
    fn canonical_json_sorts_keys() {
        let v: Value = serde_json::from_str(r#"{"b":1,"a":[{"d":1,"c":2}]}"#).unwrap();
        assert_eq!(canonical_json(&v), r#"{"a":[{"c":2,"d":1}],"b":1}"#);
    }
}
