//! The finding reporters: every command that reports findings (`validate`,
//! `check`, `audit`, `diff`) hands them here, in one shape, and gets them back
//! as text, JSON, GitHub workflow commands, SARIF 2.1.0 or JUnit XML.
//!
//! Positions are worked out here, from each finding's JSON pointer, through
//! the `Locate` the command passes in.

use clap::ValueEnum;
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::{Paint, escape, finding_line, paint};
use crate::error::Result;
use crate::model::finding::{Code, Finding, Locate, Severity, counts};

/// The formats every finding-reporting command offers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum FindingsFormat {
    /// `path:line:col: severity[code]: message`, then a summary.
    #[default]
    Text,
    /// One object: counts, summary and every finding (the documented shape).
    Json,
    /// GitHub Actions workflow commands: annotations on the pull request's files.
    Github,
    /// SARIF 2.1.0, for code scanning.
    Sarif,
    /// JUnit XML: one test case per file.
    Junit,
}

/// One run of a finding-reporting command.
pub struct Run<'a> {
    /// `exc check`, `exc audit`, …
    pub tool: &'a str,
    /// Every file looked at, with its record id when known.
    pub files: &'a [(String, Option<String>)],
    pub findings: &'a [Finding],
    /// The closing line for text output.
    pub summary: String,
    pub locate: &'a dyn Locate,
    /// Fields the command adds to its JSON (an audit's commit count, a diff's entries).
    pub extra: Map<String, Value>,
    /// Where the registry sits in the repository (`security/registry/`, or
    /// ""): GitHub annotations and SARIF name files from the repository root.
    pub in_repository: String,
}

/// Renders a run in `format`, findings ordered by file, line and column.
pub fn render(run: &Run, format: FindingsFormat, color: bool) -> Result<String> {
    let mut sorted: Vec<Finding> = run.findings.to_vec();
    for f in &mut sorted {
        f.position = Some(f.position(run.locate));
    }
    sorted.sort_by(|a, b| (&a.path, a.position, a.code, &a.commit).cmp(&(&b.path, b.position, b.code, &b.commit)));
    let run = &Run {
        tool: run.tool,
        files: run.files,
        findings: &sorted,
        summary: run.summary.clone(),
        locate: run.locate,
        extra: run.extra.clone(),
        in_repository: run.in_repository.clone(),
    };
    match format {
        FindingsFormat::Text => Ok(text(run, color)),
        FindingsFormat::Json => super::json(&report(run)),
        FindingsFormat::Github => Ok(github(run)),
        FindingsFormat::Sarif => super::json(&sarif(run)),
        FindingsFormat::Junit => Ok(junit(run)),
    }
}

/// Renders a run and writes it to stdout (text gets the CI-command guard; the
/// other formats escape their own values).
pub fn print(run: &Run, format: FindingsFormat, color: bool) -> Result<()> {
    let out = render(run, format, color)?;
    if format == FindingsFormat::Text { super::emit_text(&out) } else { super::emit(&out) }
}

fn text(run: &Run, color: bool) -> String {
    let mut out = String::new();
    for f in run.findings {
        out.push_str(&finding_line(f, run.locate, color));
        out.push('\n');
    }
    let (errors, _) = counts(run.findings);
    out.push_str(&paint(&escape::text(&run.summary), if errors > 0 { Paint::Red } else { Paint::Green }, color));
    out.push('\n');
    out
}

/// A finding as JSON shows it: with its line and column.
#[derive(Serialize)]
pub struct Shown<'a> {
    pub code: Code,
    pub severity: Severity,
    pub path: &'a str,
    pub line: u32,
    pub column: u32,
    pub pointer: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<&'a str>,
    pub message: &'a str,
}

/// Findings with their positions, for JSON.
pub fn shown<'a>(findings: &'a [Finding], locate: &dyn Locate) -> Vec<Shown<'a>> {
    findings
        .iter()
        .map(|f| {
            let at = f.position(locate);
            Shown {
                code: f.code,
                severity: f.severity,
                path: &f.path,
                line: at.line,
                column: at.col,
                pointer: &f.pointer,
                id: f.id.as_deref(),
                commit: f.commit.as_deref(),
                message: &f.message,
            }
        })
        .collect()
}

/// The one JSON shape of a run (see `tests/schemas/findings-report.schema.json`).
fn report(run: &Run) -> Value {
    let (errors, warnings) = counts(run.findings);
    let failed: std::collections::HashSet<&str> =
        run.findings.iter().filter(|f| f.is_error()).map(|f| f.path.as_str()).collect();
    let mut doc = json!({
        "tool": run.tool,
        "version": env!("CARGO_PKG_VERSION"),
        "files": run.files.len(),
        "valid": run.files.iter().filter(|(p, _)| !failed.contains(p.as_str())).count(),
        "errors": errors,
        "warnings": warnings,
        "summary": run.summary,
        "findings": shown(run.findings, run.locate),
    });
    if let Value::Object(m) = &mut doc {
        m.extend(run.extra.clone());
    }
    doc
}

/// GitHub Actions workflow commands: each finding shows on its file in the pull request.
fn github(run: &Run) -> String {
    let mut out = String::new();
    for f in run.findings {
        let level = if f.is_error() { "error" } else { "warning" };
        let at = f.position(run.locate);
        out.push_str(&format!(
            "::{level} file={},line={},col={},title={}::{}\n",
            escape::workflow_property(&format!("{}{}", run.in_repository, f.path)),
            at.line,
            at.col,
            escape::workflow_property(&format!("exc {}", f.code)),
            escape::workflow_data(&f.message)
        ));
    }
    out.push_str(&format!("{}\n", escape::guard(&escape::text(&run.summary))));
    out
}

/// SARIF 2.1.0, one rule per finding code.
fn sarif(run: &Run) -> Value {
    let mut codes: Vec<Code> = run.findings.iter().map(|f| f.code).collect();
    codes.sort();
    codes.dedup();
    let rules: Vec<Value> = codes
        .iter()
        .map(|c| {
            json!({
                "id": c.as_str(),
                "name": c.as_str(),
                "shortDescription": { "text": c.summary() },
                "fullDescription": { "text": c.explanation() },
                "help": { "text": format!("{} Run `exc explain {}`.", c.explanation(), c.as_str()) },
                "defaultConfiguration": { "level": level(c.default_severity()) },
            })
        })
        .collect();
    let results: Vec<Value> = run
        .findings
        .iter()
        .map(|f| {
            let at = f.position(run.locate);
            let mut properties = Map::new();
            if let Some(id) = &f.id {
                properties.insert("exceptionId".into(), json!(id));
            }
            if let Some(c) = &f.commit {
                properties.insert("commit".into(), json!(c));
            }
            json!({
                "ruleId": f.code.as_str(),
                "ruleIndex": codes.iter().position(|c| *c == f.code).unwrap_or(0),
                "level": level(f.severity),
                "message": { "text": f.message },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": uri(&format!("{}{}", run.in_repository, f.path)), "uriBaseId": "%SRCROOT%" },
                        "region": { "startLine": at.line.max(1), "startColumn": at.col.max(1) }
                    }
                }],
                "properties": properties,
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "exc",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/exc-dev/exc",
                "rules": rules,
            }},
            "automationDetails": { "id": format!("{}/", run.tool) },
            "columnKind": "unicodeCodePoints",
            "results": results,
        }]
    })
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Allow => "none",
    }
}

/// A relative path as a URI reference: each segment percent-encoded.
fn uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// JUnit XML: one test case per file, named by its path (stable whether or not
/// the record reads); errors fail it, warnings go to system-out.
fn junit(run: &Run) -> String {
    let failed = |path: &str| run.findings.iter().any(|f| f.path == path && f.is_error());
    let failures = run.files.iter().filter(|(p, _)| failed(p)).count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<testsuites name=\"exc\" tests=\"{n}\" failures=\"{failures}\" errors=\"0\">\n  <testsuite name=\"{}\" tests=\"{n}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\">\n",
        escape::xml(run.tool),
        n = run.files.len()
    ));
    for (path, _) in run.files {
        out.push_str(&format!(
            "    <testcase classname=\"exceptions\" name=\"{}\" file=\"{}\">\n",
            escape::xml(path),
            escape::xml(&format!("{}{path}", run.in_repository))
        ));
        let mine: Vec<&Finding> = run.findings.iter().filter(|f| &f.path == path).collect();
        for f in mine.iter().filter(|f| f.is_error()) {
            let at = f.position(run.locate);
            out.push_str(&format!(
                "      <failure type=\"{}\" message=\"{}\">{}:{}:{}: {}</failure>\n",
                f.code,
                escape::xml(&f.message),
                escape::xml(&f.path),
                at.line,
                at.col,
                escape::xml(&f.message)
            ));
        }
        let warnings: Vec<String> = mine
            .iter()
            .filter(|f| f.severity == Severity::Warning)
            .map(|f| format!("warning[{}]: {}", f.code, f.message))
            .collect();
        if !warnings.is_empty() {
            out.push_str(&format!("      <system-out>{}</system-out>\n", escape::xml(&warnings.join("\n"))));
        }
        out.push_str("    </testcase>\n");
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_percent_encoded() {
        assert_eq!(uri("exceptions/a b%é.yaml"), "exceptions/a%20b%25%C3%A9.yaml");
    }
}
