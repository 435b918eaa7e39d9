//! Approval digests: `sha256:` over a canonical form of the request fields.
//!
//! The canonical form is compact JSON of the request fields in a fixed order,
//! with empty lists and absent values left out, so that formatting, comments and
//! key order in the YAML never change a digest, and any change of content does.

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

/// `sha256:<hex>` over the canonical request fields.
pub fn digest(e: &Exception) -> String {
    let canonical = canonical_json(&Value::Object(request_fields(e)));
    let hash = Sha256::digest(canonical.as_bytes());
    let mut hex = String::with_capacity(71);
    hex.push_str("sha256:");
    for b in hash {
        hex.push_str(&format!("{b:02x}"));
    }
    hex
}

/// The request fields whose values differ between two versions of a record.
pub fn changed_fields(before: &Map<String, Value>, after: &Map<String, Value>) -> Vec<String> {
    REQUEST_FIELDS.iter().filter(|f| before.get(**f) != after.get(**f)).map(|f| f.to_string()).collect()
}

/// JSON with object keys sorted, no whitespace.
fn canonical_json(v: &Value) -> String {
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

    #[test]
    fn canonical_json_sorts_keys() {
        let v: Value = serde_json::from_str(r#"{"b":1,"a":[{"d":1,"c":2}]}"#).unwrap();
        assert_eq!(canonical_json(&v), r#"{"a":[{"c":2,"d":1}],"b":1}"#);
    }
}
