//! Field-level differences between two versions of a record, as reviewers read
//! them: `expires: 2026-12-01 → 2027-03-01`, `assets: + crm-02`,
//! `approvals: + security by Sam Okafor <sam@example.com> (approved)`.
//!
//! Works on parsed YAML (JSON values), so it can describe versions that no
//! longer pass the schema. Pure and bounded: nesting is cut off at a fixed depth.

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;
use serde_json::Value;

use super::policy::Policy;
use super::record::{Exception, Status};
use super::routing;

/// One changed field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    /// Dotted path, e.g. `expires`, `approvals[1].digest`, `closed.reason`.
    pub field: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

/// One line for a terminal: long values are cut at [`MAX_TEXT`] characters
/// (the JSON and the pull-request comment carry them whole).
impl std::fmt::Display for FieldChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let clip = |s: &str| {
            if s.chars().count() > MAX_TEXT {
                format!("{}…", s.chars().take(MAX_TEXT).collect::<String>())
            } else {
                s.to_string()
            }
        };
        match (&self.before, &self.after) {
            (Some(b), Some(a)) => write!(f, "{}: {} → {}", self.field, clip(b), clip(a)),
            (None, Some(a)) => write!(f, "{}: + {}", self.field, clip(a)),
            (Some(b), None) => write!(f, "{}: - {}", self.field, clip(b)),
            (None, None) => write!(f, "{}", self.field),
        }
    }
}

/// How a record changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Added,
    Changed,
    Closed,
    Deleted,
}

impl Kind {
    pub fn verb(self) -> &'static str {
        match self {
            Kind::Added => "added",
            Kind::Changed => "changed",
            Kind::Closed => "closed",
            Kind::Deleted => "deleted",
        }
    }
}

/// One changed record (or the policy).
#[derive(Debug, Serialize)]
pub struct Entry {
    pub kind: Kind,
    pub id: String,
    pub file: String,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    pub changes: Vec<FieldChange>,
    /// Roles whose approval is still needed.
    pub awaiting: Vec<String>,
    /// The same roles with who holds them: `security (sam@…, priya@…)`.
    pub approvers: Vec<String>,
}

/// A record file as it is now: its parsed YAML, and the typed record if it reads.
pub struct Current<'a> {
    pub file: String,
    pub shown: String,
    pub value: Option<Value>,
    pub record: Option<&'a Exception>,
}

/// The records a branch adds, changes, closes or deletes against the base
/// (`before`: file name → parsed YAML), in a stable order: by kind, then id.
pub fn compare(before: &BTreeMap<String, Value>, now: &[Current], policy: &Policy, records_dir: &str) -> Vec<Entry> {
    let mut entries = Vec::new();
    for c in now {
        let old = before.get(&c.file);
        let changes = diff(old, c.value.as_ref());
        if old.is_some() && changes.is_empty() {
            continue;
        }
        let was_closed = old
            .and_then(|v| v.get("status"))
            .and_then(Value::as_str)
            .is_some_and(|s| matches!(s, "rejected" | "retired" | "revoked" | "expired"));
        let (id, title, status) = match c.record {
            Some(e) => (e.id.clone(), e.title.clone(), Some(e.status)),
            None => (c.file.trim_end_matches(".yaml").trim_end_matches(".yml").to_string(), String::new(), None),
        };
        let kind = match (old, status) {
            (None, _) => Kind::Added,
            (Some(_), Some(s)) if s.is_closed() && !was_closed => Kind::Closed,
            _ => Kind::Changed,
        };
        let open = c.record.filter(|e| !e.status.is_closed());
        let awaiting = open.map(|e| routing::missing_roles(e, policy)).unwrap_or_default();
        let approvers = match open {
            Some(e) => awaiting
                .iter()
                .map(|r| {
                    let people = routing::people(r, e, policy);
                    if people.is_empty() { r.clone() } else { format!("{r} ({})", people.join(", ")) }
                })
                .collect(),
            None => Vec::new(),
        };
        entries.push(Entry { kind, id, file: c.shown.clone(), title, status, changes, awaiting, approvers });
    }
    let files: HashSet<&str> = now.iter().map(|c| c.file.as_str()).collect();
    for (file, value) in before {
        if !files.contains(file.as_str()) {
            entries.push(Entry {
                kind: Kind::Deleted,
                id: value.get("id").and_then(Value::as_str).unwrap_or(file).to_string(),
                file: format!("{records_dir}/{file}"),
                title: value.get("title").and_then(Value::as_str).unwrap_or("").to_string(),
                status: None,
                changes: Vec::new(),
                awaiting: Vec::new(),
                approvers: Vec::new(),
            });
        }
    }
    entries.sort_by(|a, b| (a.kind, &a.id).cmp(&(b.kind, &b.id)));
    entries
}

/// The policy change a branch makes, field by field (the keys it trusts
/// included), with the owner roles of the base policy that must still approve it.
pub fn policy_change(base: &Policy, now: &Policy, file: &str, bounds: &super::policy_change::Bounds) -> Option<Entry> {
    if base.digest() == now.digest() {
        return None;
    }
    let view = |p: &Policy| {
        let mut p = p.clone();
        p.approvals.clear();
        let mut v = serde_json::to_value(&p).unwrap_or_default();
        // Each key by its holder and fingerprint, with its window: a key
        // added, removed, or given a valid-before shows as its own line.
        let mut keys = serde_json::Map::new();
        for (who, list) in p.trust.keyring.people() {
            for k in list {
                let day = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M UTC").to_string();
                let value = match (k.valid_after, k.valid_before) {
                    (None, None) => "listed".to_string(),
                    (Some(a), None) => format!("valid after {}", day(a)),
                    (None, Some(b)) => format!("valid before {}", day(b)),
                    (Some(a), Some(b)) => format!("valid after {}, before {}", day(a), day(b)),
                };
                keys.insert(format!("{who} {}", k.fingerprint()), Value::from(value));
            }
        }
        if let Value::Object(m) = &mut v {
            m.insert("trusted_keys".into(), Value::Object(keys));
        }
        v
    };
    let awaiting = base.judge_change(now, bounds).missing;
    let approvers = awaiting
        .iter()
        .map(|r| match base.roles.get(r) {
            Some(people) if !people.is_empty() => format!("{r} ({})", people.join(", ")),
            _ => r.clone(),
        })
        .collect();
    Some(Entry {
        kind: Kind::Changed,
        id: "policy".into(),
        file: file.to_string(),
        title: "the policy (exc.yaml and the keys it trusts)".into(),
        status: None,
        changes: diff(Some(&view(base)), Some(&view(now))),
        awaiting,
        approvers,
    })
}

const MAX_DEPTH: usize = 8;
const MAX_TEXT: usize = 120;

/// The changes from `before` to `after` (a missing `before` is an empty record).
pub fn diff(before: Option<&Value>, after: Option<&Value>) -> Vec<FieldChange> {
    let mut out = Vec::new();
    let empty = Value::Object(Default::default());
    walk("", before.unwrap_or(&empty), after.unwrap_or(&empty), 0, &mut out);
    out
}

fn walk(path: &str, before: &Value, after: &Value, depth: usize, out: &mut Vec<FieldChange>) {
    if before == after {
        return;
    }
    let change = |b: Option<String>, a: Option<String>| FieldChange { field: path.to_string(), before: b, after: a };
    if depth >= MAX_DEPTH {
        out.push(change(Some(render(before)), Some(render(after))));
        return;
    }
    match (before, after) {
        (Value::Object(b), Value::Object(a)) => {
            for (k, av) in a {
                match b.get(k) {
                    Some(bv) => walk(&join(path, k), bv, av, depth + 1, out),
                    None => walk(&join(path, k), &empty_like(av), av, depth + 1, out),
                }
            }
            for (k, bv) in b {
                if !a.contains_key(k) {
                    walk(&join(path, k), bv, &empty_like(bv), depth + 1, out);
                }
            }
        }
        (Value::Array(b), Value::Array(a)) if b.iter().chain(a).all(|v| !v.is_object() && !v.is_array()) => {
            // Membership through sets of the scalars' JSON text (equal exactly when
            // the values are): `Vec::contains` made long lists quadratic.
            let (in_b, in_a) = (scalar_set(b), scalar_set(a));
            for v in b.iter().filter(|v| !in_a.contains(&v.to_string())) {
                out.push(change(Some(render(v)), None));
            }
            for v in a.iter().filter(|v| !in_b.contains(&v.to_string())) {
                out.push(change(None, Some(render(v))));
            }
        }
        (Value::Array(b), Value::Array(a)) => {
            for (i, av) in a.iter().enumerate() {
                match b.get(i) {
                    Some(bv) => walk(&format!("{path}[{i}]"), bv, av, depth + 1, out),
                    None => out.push(change(None, Some(render(av)))),
                }
            }
            for bv in b.iter().skip(a.len()) {
                out.push(change(Some(render(bv)), None));
            }
        }
        _ if path == "signature" || path.ends_with(".signature") => {
            let show = |v: &Value| v.as_str().map(signed_by).filter(|_| !v.is_null());
            out.push(change(show(before), show(after)))
        }
        (Value::Null, a) => out.push(change(None, Some(render(a)))),
        (b, Value::Null) => out.push(change(Some(render(b)), None)),
        (b, a) => out.push(change(Some(render(b)), Some(render(a)))),
    }
}

/// A signature as a reviewer reads it: the key it was made with, never the blob.
fn signed_by(sig: &str) -> String {
    match super::signature::signing_key(sig) {
        Ok(k) => format!("signed with {}", k.fingerprint(ssh_key::HashAlg::Sha256)),
        Err(_) => "a signature that does not read".into(),
    }
}

/// The JSON text of each scalar in a list.
fn scalar_set(list: &[Value]) -> HashSet<String> {
    list.iter().map(Value::to_string).collect()
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

/// What an absent field counts as: an empty list for lists, nothing otherwise.
fn empty_like(v: &Value) -> Value {
    match v {
        Value::Array(_) => Value::Array(Vec::new()),
        _ => Value::Null,
    }
}

/// A value on one line: strings bare, approvals and reviews summarised, the
/// rest as compact JSON; whole (the terminal view cuts it).
fn render(v: &Value) -> String {
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Object(m) if m.contains_key("role") && m.contains_key("by") => {
            format!("{} by {} ({})", text(m.get("role")), text(m.get("by")), text(m.get("decision")))
        }
        Value::Object(m) if m.contains_key("controls_effective") => {
            let to = m.get("expires").map(|e| format!(" to {}", text(Some(e)))).unwrap_or_default();
            format!("{}{to} by {}", text(m.get("decision")), text(m.get("by")))
        }
        Value::Object(m) if m.contains_key("reason") && m.contains_key("by") => {
            format!("by {}: {}", text(m.get("by")), text(m.get("reason")))
        }
        other => other.to_string(),
    };
    s.replace(['\n', '\r'], " ")
}

fn text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => "?".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn lines(b: Value, a: Value) -> Vec<String> {
        diff(Some(&b), Some(&a)).iter().map(|c| c.to_string()).collect()
    }

    #[test]
    fn scalars_lists_and_approvals() {
        let b = json!({"expires": "2026-12-01", "assets": ["a", "b"], "approvals": []});
        let a = json!({"expires": "2027-03-01", "assets": ["b", "c"], "approvals": [
            {"by": "Sam <s@x.com>", "role": "security", "decision": "approved", "digest": "d"}]});
        assert_eq!(
            lines(b, a),
            [
                "expires: 2026-12-01 → 2027-03-01",
                "assets: - a",
                "assets: + c",
                "approvals: + security by Sam <s@x.com> (approved)"
            ]
        );
    }

    #[test]
    fn created_and_nested_changes() {
        assert_eq!(diff(None, Some(&json!({"id": "X"})))[0].to_string(), "id: + X");
        let b = json!({"closed": {"by": "a", "reason": "x", "at": "t"}});
        let a = json!({"closed": {"by": "a", "reason": "y", "at": "t"}});
        assert_eq!(lines(b, a), ["closed.reason: x → y"]);
    }

    /// A hand-made input for the `diff` fuzz target (two 128 KiB versions, each
    /// one list of ~20,000 different numbers) ran 8m41s there, since membership
    /// was `Vec::contains` for every item; this test took 14.6 s with 20,000.
    #[test]
    fn long_lists_diff_in_linear_time() {
        let n = 40_000;
        let b = json!({ "assets": (0..n).collect::<Vec<_>>() });
        let a = json!({ "assets": (n / 2..n + n / 2).collect::<Vec<_>>() });
        let changes = diff(Some(&b), Some(&a));
        assert_eq!(changes.len(), n);
        assert_eq!(changes[0].to_string(), "assets: - 0");
        assert_eq!(changes[n - 1].to_string(), format!("assets: + {}", n + n / 2 - 1));
    }

    #[test]
    fn list_membership_keeps_value_types_apart() {
        assert_eq!(lines(json!({"l": [1, "x"]}), json!({"l": ["1", "x"]})), ["l: - 1", "l: + 1"]);
        assert_eq!(lines(json!({"l": [1.0]}), json!({"l": [1.0]})), Vec::<String>::new());
    }

    #[test]
    fn deep_values_are_cut_off() {
        let mut deep = json!("x");
        for _ in 0..50 {
            deep = json!({ "k": deep });
        }
        assert_eq!(diff(None, Some(&deep)).len(), 1);
        let changes = diff(Some(&deep), Some(&json!({"k": 1})));
        assert_eq!(changes.len(), 1);
    }
}
