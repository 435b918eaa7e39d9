//! Findings in every format a CI system reads: text, JSON, GitHub workflow
//! commands, SARIF 2.1.0 and JUnit XML. One entry point, `render`.

use serde::Serialize;
use serde_json::json;

use super::{Format, Paint, finding_line, paint};
use crate::error::{Error, Result};
use crate::model::finding::{Code, Finding, Severity};

/// What was checked, for summaries and per-record test cases.
pub struct Run<'a> {
    pub tool: &'a str,
    /// Every file looked at, with its record id when known.
    pub files: &'a [(String, Option<String>)],
    pub findings: &'a [Finding],
    /// The closing line for text output.
    pub summary: String,
}

/// Renders a run of findings in `format`.
pub fn render(run: &Run, format: Format, color: bool) -> Result<String> {
    match format {
        Format::Json => json_report(run),
        Format::Github => Ok(github(run)),
        Format::Sarif => sarif(run),
        Format::Junit => Ok(junit(run)),
        _ => Ok(text(run, color)),
    }
}

fn text(run: &Run, color: bool) -> String {
    let mut out = String::new();
    for f in run.findings {
        out.push_str(&finding_line(f, color));
        out.push('\n');
    }
    let has_errors = run.findings.iter().any(|f| f.severity == Severity::Error);
    out.push_str(&paint(&run.summary, if has_errors { Paint::Red } else { Paint::Green }, color));
    out.push('\n');
    out
}

#[derive(Serialize)]
struct JsonReport<'a> {
    files: usize,
    errors: usize,
    warnings: usize,
    summary: &'a str,
    findings: &'a [Finding],
}

fn json_report(run: &Run) -> Result<String> {
    let errors = run.findings.iter().filter(|f| f.severity == Severity::Error).count();
    super::json(&JsonReport {
        files: run.files.len(),
        errors,
        warnings: run.findings.len() - errors,
        summary: &run.summary,
        findings: run.findings,
    })
}

/// GitHub Actions workflow commands: each finding shows on the pull request's file.
fn github(run: &Run) -> String {
    let mut out = String::new();
    for f in run.findings {
        let level = if f.severity == Severity::Error { "error" } else { "warning" };
        out.push_str(&format!(
            "::{level} file={},line={},col={},title={}::{}\n",
            gh_property(&f.path),
            f.line,
            f.column,
            gh_property(&format!("exc {}", f.code)),
            gh_data(&f.message)
        ));
    }
    out.push_str(&format!("{}\n", gh_data(&run.summary)));
    out
}

fn gh_data(s: &str) -> String {
    s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

fn gh_property(s: &str) -> String {
    gh_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// SARIF 2.1.0, one rule per finding code.
fn sarif(run: &Run) -> Result<String> {
    let mut codes: Vec<Code> = run.findings.iter().map(|f| f.code).collect();
    codes.sort();
    codes.dedup();
    let rules: Vec<_> = codes
        .iter()
        .map(|c| {
            json!({
                "id": c.as_str(),
                "name": c.as_str(),
                "shortDescription": { "text": c.description() },
            })
        })
        .collect();
    let results: Vec<_> = run
        .findings
        .iter()
        .map(|f| {
            json!({
                "ruleId": f.code.as_str(),
                "ruleIndex": codes.iter().position(|c| *c == f.code).unwrap_or(0),
                "level": if f.severity == Severity::Error { "error" } else { "warning" },
                "message": { "text": f.message },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": f.path, "uriBaseId": "%SRCROOT%" },
                        "region": { "startLine": f.line.max(1), "startColumn": f.column.max(1) }
                    }
                }],
                "properties": { "exceptionId": f.id },
            })
        })
        .collect();
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "exc",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "automationDetails": { "id": format!("{}/", run.tool) },
            "results": results,
        }]
    });
    serde_json::to_string_pretty(&doc).map(|s| s + "\n").map_err(|e| Error::Usage(format!("cannot write SARIF: {e}")))
}

/// JUnit XML: one test case per record file; errors fail it, warnings go to system-out.
fn junit(run: &Run) -> String {
    let failed = |path: &str| run.findings.iter().any(|f| f.path == path && f.severity == Severity::Error);
    let failures = run.files.iter().filter(|(p, _)| failed(p)).count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<testsuites name=\"exc\" tests=\"{n}\" failures=\"{failures}\" errors=\"0\">\n  <testsuite name=\"{}\" tests=\"{n}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\">\n",
        xml(run.tool),
        n = run.files.len()
    ));
    for (path, id) in run.files {
        let name = id.clone().unwrap_or_else(|| path.clone());
        out.push_str(&format!(
            "    <testcase classname=\"exceptions\" name=\"{}\" file=\"{}\">\n",
            xml(&name),
            xml(path)
        ));
        let mine: Vec<&Finding> = run.findings.iter().filter(|f| &f.path == path).collect();
        for f in mine.iter().filter(|f| f.severity == Severity::Error) {
            out.push_str(&format!(
                "      <failure type=\"{}\" message=\"{}\">{}:{}:{}: {}</failure>\n",
                f.code,
                xml(&f.message),
                xml(&f.path),
                f.line,
                f.column,
                xml(&f.message)
            ));
        }
        let warnings: Vec<String> = mine
            .iter()
            .filter(|f| f.severity == Severity::Warning)
            .map(|f| format!("warning[{}]: {}", f.code, f.message))
            .collect();
        if !warnings.is_empty() {
            out.push_str(&format!("      <system-out>{}</system-out>\n", xml(&warnings.join("\n"))));
        }
        out.push_str("    </testcase>\n");
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

/// XML text with markup escaped and characters XML 1.0 forbids shown escaped.
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' | '\t' => out.push(c),
            c if (c as u32) < 0x20 || matches!(c, '\u{fffe}' | '\u{ffff}') => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_escapes_commands() {
        assert_eq!(gh_data("a\nb%"), "a%0Ab%25");
        assert_eq!(gh_property("a:b,c"), "a%3Ab%2Cc");
    }

    #[test]
    fn xml_escapes_markup_and_controls() {
        assert_eq!(xml("<a href=\"x\">&'\u{1b}"), "&lt;a href=&quot;x&quot;&gt;&amp;&apos;\\u{1b}");
    }
}
