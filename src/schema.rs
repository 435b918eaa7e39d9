//! The JSON Schemas for records and policy, embedded in the binary and compiled once.
//!
//! Schema errors come back as (JSON pointer, message) pairs in words a
//! requester understands; `crate::yaml::Document` turns the pointer into a line.

use std::collections::HashSet;
use std::sync::OnceLock;

use jsonschema::error::ValidationErrorKind;
use jsonschema::{ValidationError, Validator};
use serde_json::Value;

use crate::model::suggest;

/// The record schema, as shipped in `schema/exception.schema.json`.
pub const RECORD_SCHEMA: &str = include_str!("../schema/exception.schema.json");
/// The policy schema, as shipped in `schema/policy.schema.json`.
pub const POLICY_SCHEMA: &str = include_str!("../schema/policy.schema.json");
/// The JSON shape of every findings report, as shipped in `schema/findings.schema.json`.
pub const FINDINGS_SCHEMA: &str = include_str!("../schema/findings.schema.json");
/// What `exc export --format json` writes, as shipped in `schema/export.schema.json`.
pub const EXPORT_SCHEMA: &str = include_str!("../schema/export.schema.json");

/// What a schema violation is about, so callers can pick a finding code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IssueKind {
    UnknownField,
    InvalidDate,
    Other,
}

/// One schema violation.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Issue {
    pub kind: IssueKind,
    /// JSON pointer of the offending node (for an unknown field, the field itself).
    pub pointer: String,
    pub message: String,
}

fn compile(text: &str) -> Validator {
    let schema: Value = serde_json::from_str(text).expect("embedded schema is valid JSON");
    jsonschema::draft202012::options().should_validate_formats(true).build(&schema).expect("embedded schema compiles")
}

/// The compiled record schema.
pub fn record() -> &'static Validator {
    static V: OnceLock<Validator> = OnceLock::new();
    V.get_or_init(|| compile(RECORD_SCHEMA))
}

/// The compiled policy schema.
pub fn policy() -> &'static Validator {
    static V: OnceLock<Validator> = OnceLock::new();
    V.get_or_init(|| compile(POLICY_SCHEMA))
}

/// Validates `value` and explains each violation.
pub fn issues(validator: &Validator, schema_text: &str, value: &Value) -> Vec<Issue> {
    if validator.is_valid(value) {
        return Vec::new();
    }
    let mut out: Vec<Issue> = Vec::new();
    let mut seen: HashSet<Issue> = HashSet::new();
    for err in validator.iter_errors(value) {
        for issue in explain(&err, schema_text) {
            if seen.insert(issue.clone()) {
                out.push(issue);
            }
        }
    }
    out
}

fn field_name(pointer: &str) -> String {
    let last = pointer.rsplit('/').next().unwrap_or("");
    if pointer.is_empty() { "the record".into() } else { format!("`{}`", last.replace("~1", "/").replace("~0", "~")) }
}

fn explain(err: &ValidationError<'_>, schema_text: &str) -> Vec<Issue> {
    let pointer = err.instance_path().as_str().to_string();
    let what = field_name(&pointer);
    let other = |message: String| Issue { kind: IssueKind::Other, pointer: pointer.clone(), message };
    match err.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            // Once per error, not per name: the schema text is parsed each time.
            let known = known_properties(schema_text, &pointer);
            unexpected
                .iter()
                .map(|name| {
                    let hint = suggest::closest(name, known.iter().map(String::as_str))
                        .map(|s| format!("; did you mean `{s}`?"))
                        .unwrap_or_else(|| format!("; known fields: {}", known.join(", ")));
                    Issue {
                        kind: IssueKind::UnknownField,
                        pointer: format!("{pointer}/{}", crate::model::finding::pointer_token(name)),
                        message: format!("unknown field `{name}`{hint}"),
                    }
                })
                .collect()
        }
        ValidationErrorKind::Required { property } => {
            vec![other(format!("missing required field `{}`", property.as_str().unwrap_or("?")))]
        }
        ValidationErrorKind::Format { format } if format == "date" || format == "date-time" => {
            let shown = err.instance().as_str().unwrap_or("").to_string();
            let form = if format == "date" { "YYYY-MM-DD" } else { "an RFC 3339 timestamp like 2026-11-27T09:30:00Z" };
            vec![Issue {
                kind: IssueKind::InvalidDate,
                pointer: pointer.clone(),
                message: format!("{what}: `{shown}` is not a real date ({form})"),
            }]
        }
        ValidationErrorKind::Pattern { .. } => {
            let shown = shorten(err.instance());
            let hint = pattern_hint(&pointer);
            vec![Issue {
                kind: if hint.contains("YYYY") { IssueKind::InvalidDate } else { IssueKind::Other },
                pointer: pointer.clone(),
                message: format!("{what}: {shown} {hint}"),
            }]
        }
        ValidationErrorKind::Enum { options } => {
            let opts: Vec<String> =
                options.as_array().map(|a| a.iter().map(|v| v.to_string()).collect()).unwrap_or_default();
            vec![other(format!("{what}: {} is not one of {}", shorten(err.instance()), opts.join(", ")))]
        }
        ValidationErrorKind::Type { kind } => {
            vec![other(format!("{what}: expected {}, found {}", type_words(kind), json_type(err.instance())))]
        }
        ValidationErrorKind::MinItems { limit } => vec![other(format!("{what}: needs at least {limit} item(s)"))],
        ValidationErrorKind::MaxItems { limit } => vec![other(format!("{what}: has more than {limit} items"))],
        ValidationErrorKind::MinLength { .. } => vec![other(format!("{what}: must not be empty"))],
        ValidationErrorKind::MaxLength { limit } => vec![other(format!("{what}: longer than {limit} characters"))],
        _ => vec![other(format!("{what}: {err}"))],
    }
}

fn pattern_hint(pointer: &str) -> &'static str {
    let last = pointer.rsplit('/').next().unwrap_or("");
    match last {
        "id" => "is not an id like EXC-7K3Q (capitals and digits, one dash)",
        "requester" | "risk_owner" | "by" => {
            "is not a person in the form 'Name <name@example.com>' (a full email address, its domain included)"
        }
        "expires" => "is not a date in the form YYYY-MM-DD",
        "created" | "at" => "is not a timestamp like 2026-11-27T09:30:00Z (YYYY-MM-DDThh:mm:ssZ)",
        "type" => "is not a type id (lowercase letters, digits and dashes)",
        "digest" => "is not a digest like sha256:<64 hex digits>",
        "role" => "is not a role name (lowercase letters, digits, - and _)",
        "title" => "must be one non-blank line",
        _ if pointer.starts_with("/controls/") => "is not a control reference like CIS:6.5 or NIST-800-53:IA-2(1)",
        _ if pointer.starts_with("/findings/") => "is not a finding id like CVE-2026-12345",
        _ => "must be non-blank text on one line",
    }
}

fn shorten(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 60 { format!("{}…", s.chars().take(60).collect::<String>()) } else { s }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing (null)",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

fn type_words(kind: &jsonschema::error::TypeKind) -> String {
    let one = |t: &jsonschema::JsonType| match t.to_string().as_str() {
        "array" => "a list".to_string(),
        "object" => "a mapping".to_string(),
        "string" => "a string".to_string(),
        "boolean" => "true or false".to_string(),
        "integer" => "a whole number".to_string(),
        "number" => "a number".to_string(),
        other => other.to_string(),
    };
    match kind {
        jsonschema::error::TypeKind::Single(t) => one(t),
        jsonschema::error::TypeKind::Multiple(ts) => ts.iter().map(|t| one(&t)).collect::<Vec<_>>().join(" or "),
    }
}

/// The property names the schema allows at `pointer` (for "did you mean").
fn known_properties(schema_text: &str, pointer: &str) -> Vec<String> {
    let schema: Value = serde_json::from_str(schema_text).unwrap_or(Value::Null);
    let mut node = &schema;
    for token in pointer.split('/').skip(1) {
        let next = if token.parse::<usize>().is_ok() {
            node.get("items")
        } else {
            node.get("properties").and_then(|p| p.get(token)).or_else(|| node.get("additionalProperties"))
        };
        node = match next {
            Some(n) => resolve(&schema, n),
            None => return Vec::new(),
        };
    }
    node.get("properties").and_then(Value::as_object).map(|p| p.keys().cloned().collect()).unwrap_or_default()
}

fn resolve<'a>(root: &'a Value, node: &'a Value) -> &'a Value {
    match node.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix('#')) {
        Some(p) => root.pointer(p).unwrap_or(node),
        None => node,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_field_suggests_the_nearest() {
        let v = serde_json::json!({"titel": "x"});
        let issues = issues(record(), RECORD_SCHEMA, &v);
        let unknown = issues.iter().find(|i| i.kind == IssueKind::UnknownField).unwrap();
        assert_eq!(unknown.pointer, "/titel");
        assert!(unknown.message.contains("did you mean `title`"), "{}", unknown.message);
    }

    #[test]
    fn impossible_dates_are_named() {
        let v = serde_json::json!({"expires": "2026-02-30"});
        let issues = issues(record(), RECORD_SCHEMA, &v);
        assert!(issues.iter().any(|i| i.kind == IssueKind::InvalidDate && i.pointer == "/expires"), "{issues:?}");
    }

    /// A hand-made input for the `record` fuzz target (a 256 KiB record with
    /// ~24,000 unknown fields) ran 4m20s there: the schema text was parsed again
    /// for every unknown name, and issues were de-duplicated with `Vec::contains`.
    #[test]
    fn many_unknown_fields_are_explained_in_linear_time() {
        let n = 20_000;
        let v: Value = (0..n).map(|i| (format!("zz{i}"), Value::from(1))).collect::<serde_json::Map<_, _>>().into();
        let found = issues(record(), RECORD_SCHEMA, &v);
        assert_eq!(found.iter().filter(|i| i.kind == IssueKind::UnknownField).count(), n);
        assert_eq!(found.iter().find(|i| i.pointer == "/zz7").map(|i| i.kind), Some(IssueKind::UnknownField));
    }

    #[test]
    fn nested_unknown_fields_know_their_siblings() {
        assert!(known_properties(RECORD_SCHEMA, "/approvals/0").contains(&"digest".to_string()));
        assert!(known_properties(POLICY_SCHEMA, "/types/mfa-bypass").contains(&"max_days".to_string()));
    }
}
