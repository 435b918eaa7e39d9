//! Inline suppressions in source and IaC: `# nosec`, `// #nosec G101`,
//! `//nolint:gosec`, `nosemgrep`, `#checkov:skip=CKV_…`, `trivy:ignore:…`,
//! `# noqa: S101`, `eslint-disable… security/…`, and the policy's own
//! patterns. A multi-pattern search finds the candidate lines; only those
//! are parsed.

use aho_corasick::AhoCorasick;
use regex::Regex;

use crate::error::{Error, Result};
use crate::model::reconcile::{Site, SiteKind};

/// Built in: (tool, marker the prefilter looks for, pattern; group 1 is the rule when any).
const BUILT_IN: &[(&str, &str, &str)] = &[
    ("bandit", "nosec", r"#\s*nosec\b(?:[\s:\[]*(B\d{3}))?"),
    ("gosec", "nosec", r"//\s*#nosec\b(?:\s+(G\d{3}))?"),
    ("gosec", "nolint", r"//\s*nolint:[\w,]*\bgosec\b()"),
    ("semgrep", "nosemgrep", r"\bnosemgrep\b(?:\s*:\s*([\w.\-/]+))?"),
    ("checkov", "checkov:skip", r"checkov:skip=([A-Za-z0-9_]+)"),
    ("trivy", "trivy:ignore", r"trivy:ignore:([A-Za-z0-9_\-]+)"),
    ("bandit", "noqa", r"\bnoqa\s*:\s*(?:[A-Z]+\d+\s*,\s*)*(S\d{3})"),
    ("eslint", "eslint-disable", r"eslint-disable(?:-next-line|-line)?\b[^\n]*?\b(security/[\w\-]+)"),
];

/// Files that hold documentation or data, not code: their mentions of
/// `# nosec` are prose (JSON, JSON Lines and CSV have no comments to suppress
/// with; exc's own exports and evidence packs quote records in them).
const PROSE: &[&str] =
    &[".md", ".markdown", ".rst", ".txt", ".adoc", ".org", ".html", ".htm", ".json", ".jsonl", ".csv", ".tsv"];

/// Whether a file of this name may hold inline suppressions.
pub fn worth_reading(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    !PROSE.iter().any(|ext| lower.ends_with(ext))
}

pub struct Matcher {
    prefilter: AhoCorasick,
    /// For each pattern: its tool, the prefilter marker's index, and the regex.
    patterns: Vec<(String, usize, Regex)>,
}

impl Matcher {
    /// The built-in patterns and the policy's (`(tool, regex)`; the regex's
    /// first group, if any, is the rule).
    pub fn new(extra: &[(String, String)]) -> Result<Matcher> {
        let mut markers: Vec<String> = Vec::new();
        let mut patterns = Vec::new();
        let mut add = |tool: &str, marker: &str, pattern: &str| -> Result<()> {
            let regex = Regex::new(pattern).map_err(|e| {
                Error::Usage(format!("exc.yaml reconcile.patterns: `{pattern}` is not a regular expression: {e}"))
            })?;
            let at = match markers.iter().position(|m| m == marker) {
                Some(i) => i,
                None => {
                    markers.push(marker.to_string());
                    markers.len() - 1
                }
            };
            patterns.push((tool.to_string(), at, regex));
            Ok(())
        };
        for (tool, marker, pattern) in BUILT_IN {
            add(tool, marker, pattern)?;
        }
        for (tool, pattern) in extra {
            // A policy pattern's prefilter is its longest literal run; without one, every line.
            let marker: String = literal_run(pattern);
            add(tool, &marker, pattern)?;
        }
        let prefilter = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(&markers)
            .map_err(|e| Error::Usage(format!("exc.yaml reconcile.patterns: {e}")))?;
        Ok(Matcher { prefilter, patterns })
    }

    /// The inline suppressions in one file.
    pub fn find(&self, file: &str, bytes: &[u8]) -> Vec<Site> {
        let mut out = Vec::new();
        let mut last_line_start = usize::MAX;
        for hit in self.prefilter.find_iter(bytes) {
            let start = bytes[..hit.start()].iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
            if start == last_line_start {
                continue; // this line was parsed already
            }
            last_line_start = start;
            let end = bytes[hit.start()..].iter().position(|b| *b == b'\n').map_or(bytes.len(), |i| hit.start() + i);
            let text = String::from_utf8_lossy(&bytes[start..end]);
            let line = bytes[..start].iter().filter(|b| **b == b'\n').count() as u32 + 1;
            for (tool, _, regex) in &self.patterns {
                for caps in regex.captures_iter(&text) {
                    let whole = caps.get(0).expect("a match has group 0");
                    let before = &text[..whole.start()];
                    // `// #nosec` is gosec's; `x#nosec` is no comment.
                    if tool == "bandit"
                        && whole.as_str().starts_with('#')
                        && (before.trim_end().ends_with("//") || before.ends_with(|c: char| c.is_alphanumeric()))
                    {
                        continue;
                    }
                    let col = text[..whole.start()].chars().count() as u32 + 1;
                    let rule = caps.get(1).map(|m| m.as_str().to_string()).filter(|r| !r.is_empty());
                    out.push(Site {
                        file: file.to_string(),
                        line,
                        col,
                        kind: SiteKind::Inline,
                        tool: tool.clone(),
                        rule,
                        cited: super::cited(&text),
                        reason: Some(text.trim().to_string()),
                        expires: None,
                        package: None,
                        scope: None,
                    });
                }
            }
        }
        out
    }
}

/// The longest run of literal characters in a regular expression (lower case).
fn literal_run(pattern: &str) -> String {
    let mut best = String::new();
    let mut run = String::new();
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            chars.next();
            run.clear();
        } else if c.is_alphanumeric() || matches!(c, ':' | '-' | '_' | '=' | '#' | '/') {
            run.push(c);
            if run.len() > best.len() {
                best = run.clone();
            }
        } else {
            run.clear();
        }
    }
    best.to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (tool, rule, cited ids, line, column) of each suppression found.
    type Found = (String, Option<String>, Vec<String>, u32, u32);

    fn found(text: &str) -> Vec<Found> {
        Matcher::new(&[])
            .unwrap()
            .find("f", text.as_bytes())
            .into_iter()
            .map(|s| (s.tool, s.rule, s.cited, s.line, s.col))
            .collect()
    }

    #[test]
    fn each_tool_s_inline_suppression() {
        let t = |tool: &str, rule: Option<&str>| (tool.to_string(), rule.map(String::from));
        let cases = [
            ("x = eval(y)  # nosec B307", t("bandit", Some("B307"))),
            ("x = 1  # nosec", t("bandit", None)),
            ("password := \"x\" // #nosec G101", t("gosec", Some("G101"))),
            ("f() //nolint:errcheck,gosec", t("gosec", None)),
            ("eval(x) // nosemgrep: rules.no-eval", t("semgrep", Some("rules.no-eval"))),
            ("  #checkov:skip=CKV_AWS_20:public by design", t("checkov", Some("CKV_AWS_20"))),
            ("# trivy:ignore:AVD-AWS-0086", t("trivy", Some("AVD-AWS-0086"))),
            ("assert x  # noqa: E501, S101", t("bandit", Some("S101"))),
            (
                "obj[key] // eslint-disable-line security/detect-object-injection",
                t("eslint", Some("security/detect-object-injection")),
            ),
        ];
        for (line, want) in cases {
            let got = found(line);
            assert_eq!(got.len(), 1, "{line}: {got:?}");
            assert_eq!((got[0].0.clone(), got[0].1.clone()), want, "{line}");
        }
        // Not suppressions: a blanket noqa, eslint rules outside the security plugin, prose.
        for line in ["x  # noqa: E501", "// eslint-disable-next-line no-console", "a nosecret", "# nosecure"] {
            assert!(found(line).is_empty(), "{line}: {:?}", found(line));
        }
        let got = found("a\nb\n  x = 1  # nosec B101 EXC-7K3Q\n");
        assert_eq!((got[0].2.clone(), got[0].3, got[0].4), (vec!["EXC-7K3Q".to_string()], 3, 10));
    }

    #[test]
    fn the_policy_adds_patterns() {
        let m = Matcher::new(&[("custom".into(), r"SAFE-IGNORE\((\w+)\)".into())]).unwrap();
        let got = m.find("f", b"call() // SAFE-IGNORE(R12)\n");
        assert_eq!((got[0].tool.as_str(), got[0].rule.as_deref()), ("custom", Some("R12")));
        assert!(Matcher::new(&[("x".into(), "(".into())]).is_err());
    }
}
