//! Scanners' ignore files, entry by entry, with each entry's line: Trivy's
//! `.trivyignore` and `.trivyignore.yaml`, Snyk's `.snyk`, osv-scanner's
//! `osv-scanner.toml`, Grype's `.grype.yaml`, better-npm-audit's `.nsprc`
//! and cargo-deny's `deny.toml` (`[advisories] ignore`). An entry cites an
//! exception when an EXC id appears anywhere in its lines (its reason,
//! statement or notes, or a comment on them).

use chrono::NaiveDate;
use serde_json::Value;

use crate::model::reconcile::{Site, SiteKind};

/// The ignore-file formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    TrivyLegacy,
    TrivyYaml,
    Snyk,
    Osv,
    Grype,
    Nsprc,
    CargoDeny,
}

/// The format of a file named `name`, if it is an ignore file.
pub fn format_of(name: &str) -> Option<Format> {
    Some(match name {
        ".trivyignore" => Format::TrivyLegacy,
        ".trivyignore.yaml" | ".trivyignore.yml" => Format::TrivyYaml,
        ".snyk" => Format::Snyk,
        "osv-scanner.toml" => Format::Osv,
        ".grype.yaml" | ".grype.yml" => Format::Grype,
        ".nsprc" => Format::Nsprc,
        "deny.toml" => Format::CargoDeny,
        _ => return None,
    })
}

/// The entries of `text`, an ignore file at `file`; `Err` says why it cannot be read.
pub fn parse(format: Format, file: &str, text: &str) -> Result<Vec<Site>, String> {
    let lines: Vec<&str> = text.lines().collect();
    let site = |tool: &str, line: usize, rule: Option<String>| Site {
        file: file.to_string(),
        line: line as u32 + 1,
        col: 1,
        kind: SiteKind::IgnoreFile,
        tool: tool.to_string(),
        rule,
        cited: Vec::new(),
        reason: None,
        expires: None,
        package: None,
        scope: None,
    };
    // The lines of an entry: from its first to just before the next entry's.
    let span = |starts: &[usize], i: usize| -> String {
        let end = starts.get(i + 1).copied().unwrap_or(lines.len());
        lines[starts[i]..end.max(starts[i] + 1).min(lines.len())].join("\n")
    };
    let mut out = Vec::new();
    match format {
        Format::TrivyLegacy => {
            for (i, l) in lines.iter().enumerate() {
                let t = l.trim();
                if t.is_empty() || t.starts_with('#') {
                    continue;
                }
                let mut s = site("trivy", i, t.split_whitespace().next().map(String::from));
                s.cited = super::cited(t);
                s.expires = t.split_whitespace().find_map(|f| f.strip_prefix("exp:")).and_then(|d| d.parse().ok());
                s.reason = t.split_once('#').map(|(_, c)| c.trim().to_string()).filter(|c| !c.is_empty());
                let kept: Vec<&str> =
                    t.split('#').next().unwrap_or("").split_whitespace().filter(|f| !f.starts_with("exp:")).collect();
                s.scope = scope(&serde_json::json!(kept));
                out.push(s);
            }
        }
        Format::TrivyYaml | Format::Grype | Format::Snyk => {
            let doc = crate::yaml::parse(text)
                .map_err(|e| format!("{}:{}: {}", e.position.line, e.position.col, e.message))?;
            let mut entries: Vec<(usize, Site)> = Vec::new();
            match format {
                Format::TrivyYaml => {
                    for section in ["vulnerabilities", "misconfigurations", "secrets", "licenses"] {
                        for (i, item) in doc.value[section].as_array().into_iter().flatten().enumerate() {
                            let line = doc.position(&format!("/{section}/{i}")).line as usize - 1;
                            let mut s = site("trivy", line, item["id"].as_str().map(String::from));
                            s.reason = item["statement"].as_str().map(String::from);
                            s.expires = item["expired_at"].as_str().and_then(last_day);
                            s.package = item["purls"][0].as_str().map(String::from);
                            s.scope = scope(&serde_json::json!({ "section": section, "entry": item }));
                            entries.push((line, s));
                        }
                    }
                }
                Format::Grype => {
                    for (i, item) in doc.value["ignore"].as_array().into_iter().flatten().enumerate() {
                        let line = doc.position(&format!("/ignore/{i}")).line as usize - 1;
                        let rule = item["vulnerability"].as_str().map(String::from);
                        let mut s = site("grype", line, rule);
                        s.reason = item["reason"].as_str().map(String::from);
                        s.package =
                            item["package"]["name"].as_str().map(|n| match item["package"]["version"].as_str() {
                                Some(v) => format!("{n}@{v}"),
                                None => n.to_string(),
                            });
                        s.scope = scope(item);
                        entries.push((line, s));
                    }
                }
                _ => {
                    for (id, rules) in doc.value["ignore"].as_object().into_iter().flatten() {
                        for (i, rule) in rules.as_array().into_iter().flatten().enumerate() {
                            for (path, details) in rule.as_object().into_iter().flatten() {
                                let pointer = format!("/ignore/{}/{i}", crate::model::finding::pointer_token(id));
                                let line = doc.position(&pointer).line as usize - 1;
                                let mut s = site("snyk", line, Some(id.clone()));
                                s.reason = details["reason"].as_str().map(String::from);
                                s.expires = details["expires"].as_str().and_then(last_day);
                                s.package = (path != "*").then(|| path.trim_start_matches("* > ").to_string());
                                s.scope = scope(&serde_json::json!({ "id": id, "path": path, "details": details }));
                                entries.push((line, s));
                            }
                        }
                    }
                }
            }
            out.extend(citing(entries, &lines));
        }
        Format::Osv => {
            // A small TOML reader: `[[IgnoredVulns]]` and `[[PackageOverrides]]` tables, `key = value` lines.
            let starts: Vec<usize> = lines
                .iter()
                .enumerate()
                .filter(|(_, l)| {
                    l.trim_start().starts_with("[[IgnoredVulns]]") || l.trim_start().starts_with("[[PackageOverrides]]")
                })
                .map(|(i, _)| i)
                .collect();
            for (i, &start) in starts.iter().enumerate() {
                let body = span(&starts, i);
                let value = |key: &str| toml_value(&body, key);
                let overrides = lines[start].contains("PackageOverrides");
                if overrides && value("ignore").as_deref() != Some("true") && !body.contains("ignore = true") {
                    continue; // a package override that ignores nothing
                }
                let mut s = site("osv-scanner", start, if overrides { None } else { value("id") });
                s.package = if overrides {
                    value("name").map(|n| value("version").map_or(n.clone(), |v| format!("{n}@{v}")))
                } else {
                    None
                };
                s.reason = value("reason");
                s.expires = value("ignoreUntil").or(value("effectiveUntil")).as_deref().and_then(last_day);
                s.cited = super::cited(&body);
                // The table's lines as written, but its free text and expiry.
                let kept: Vec<&str> = body
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .filter(|l| !["reason", "ignoreUntil", "effectiveUntil"].iter().any(|k| l.starts_with(k)))
                    .collect();
                s.scope = scope(&serde_json::json!(kept));
                out.push(s);
            }
        }
        Format::Nsprc => {
            let doc: Value =
                serde_json::from_str(text).map_err(|e| format!("{}:{}: not JSON: {e}", e.line(), e.column()))?;
            let mut entries: Vec<(usize, Site)> = Vec::new();
            for (id, details) in doc.as_object().into_iter().flatten() {
                if details.get("active").and_then(Value::as_bool) == Some(false) {
                    continue;
                }
                let line = lines.iter().position(|l| l.contains(&format!("\"{id}\""))).unwrap_or(0);
                let mut s = site("better-npm-audit", line, Some(id.clone()));
                s.reason = details["notes"].as_str().map(String::from);
                s.expires = details["expiry"].as_str().and_then(last_day);
                s.scope = scope(&serde_json::json!({ "id": id, "details": details }));
                entries.push((line, s));
            }
            out.extend(citing(entries, &lines));
        }
        Format::CargoDeny => {
            // `[advisories]` … `ignore = [ "RUSTSEC-…", { id = "…", reason = "…" } ]`
            let mut in_advisories = false;
            let mut depth: i32 = 0;
            for (i, l) in lines.iter().enumerate() {
                let t = l.split('#').next().unwrap_or(l).trim();
                if depth == 0 && t.starts_with('[') && !t.starts_with("[[") {
                    in_advisories = t == "[advisories]";
                    continue;
                }
                let opens = depth == 0 && in_advisories && t.starts_with("ignore") && t.contains('=');
                if depth == 0 && !opens {
                    continue;
                }
                for id in advisory_ids(t) {
                    let mut s = site("cargo-deny", i, Some(id));
                    s.cited = super::cited(l);
                    s.reason = toml_value(t, "reason");
                    out.push(s);
                }
                depth += t.matches('[').count() as i32 - t.matches(']').count() as i32;
            }
        }
    }
    Ok(out)
}

/// The canonical form of what an entry hides: its JSON with object keys
/// sorted, without free text (statements, reasons, notes) and expiries.
fn scope(entry: &Value) -> Option<String> {
    fn strip(v: &Value) -> Value {
        const SKIP: &[&str] =
            &["statement", "reason", "notes", "expired_at", "expires", "expiry", "ignoreUntil", "effectiveUntil"];
        match v {
            Value::Object(m) => Value::Object(
                m.iter().filter(|(k, _)| !SKIP.contains(&k.as_str())).map(|(k, v)| (k.clone(), strip(v))).collect(),
            ),
            Value::Array(a) => Value::Array(a.iter().map(strip).collect()),
            other => other.clone(),
        }
    }
    Some(crate::model::digest::canonical_json(&strip(entry)))
}

/// Entries (each with its first line) with the ids cited anywhere in their
/// lines: from an entry's first line to just before the next one's.
fn citing(mut entries: Vec<(usize, Site)>, lines: &[&str]) -> Vec<Site> {
    entries.sort_by_key(|(line, _)| *line);
    let starts: Vec<usize> = entries.iter().map(|(l, _)| *l).collect();
    entries
        .into_iter()
        .enumerate()
        .map(|(i, (start, mut s))| {
            let end = starts.get(i + 1).copied().unwrap_or(lines.len()).max(start + 1).min(lines.len());
            s.cited = super::cited(&lines[start.min(end)..end].join("\n"));
            s
        })
        .collect()
}

/// The last day an expiry instant covers: `2027-02-09T00:00:00Z` (the first
/// instant after 2027-02-08) is 2027-02-08; a date is itself.
fn last_day(s: &str) -> Option<NaiveDate> {
    if let Ok(d) = s.parse::<NaiveDate>() {
        return Some(d);
    }
    let t = chrono::DateTime::parse_from_rfc3339(s).ok()?.with_timezone(&chrono::Utc);
    let d = t.date_naive();
    Some(if t.time() == chrono::NaiveTime::MIN { d.pred_opt().unwrap_or(d) } else { d })
}

/// `key = "value"` (or a bare value) in TOML-ish text.
fn toml_value(text: &str, key: &str) -> Option<String> {
    for part in text.split(['\n', ',', '{', '}']) {
        let Some((k, v)) = part.split_once('=') else { continue };
        if k.trim() == key {
            let v = v.trim();
            return Some(v.trim_matches('"').trim_matches('\'').to_string());
        }
    }
    None
}

/// Advisory ids on a line of cargo-deny's ignore list (`RUSTSEC-2023-0071`, a GHSA, …).
fn advisory_ids(line: &str) -> Vec<String> {
    let line = line.split('#').next().unwrap_or(line);
    line.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|w| w.starts_with("RUSTSEC-") || w.starts_with("GHSA-") || w.starts_with("CVE-"))
        .map(String::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(format: Format, text: &str) -> Vec<(u32, Option<String>, Vec<String>)> {
        parse(format, "f", text).unwrap().into_iter().map(|s| (s.line, s.rule, s.cited)).collect()
    }

    #[test]
    fn every_format_entry_by_entry() {
        let r = |line: u32, rule: &str, cited: &[&str]| {
            (line, Some(rule.to_string()), cited.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        };
        assert_eq!(
            rules(Format::TrivyLegacy, "# header\nCVE-1 exp:2027-01-01 # EXC-AAAA\nCVE-2\n"),
            vec![r(2, "CVE-1", &["EXC-AAAA"]), r(3, "CVE-2", &[])]
        );
        assert_eq!(
            rules(
                Format::TrivyYaml,
                "vulnerabilities:\n  - id: CVE-1\n    statement: \"EXC-AAAA: x\"\n  - id: CVE-2 # EXC-BBBB\nmisconfigurations:\n  - id: AVD-AWS-0086\n"
            ),
            vec![r(2, "CVE-1", &["EXC-AAAA"]), r(4, "CVE-2", &["EXC-BBBB"]), r(6, "AVD-AWS-0086", &[])]
        );
        assert_eq!(
            rules(
                Format::Snyk,
                "version: v1.25.0\nignore:\n  SNYK-JS-X-1:\n    - '*':\n        reason: EXC-AAAA\n  CVE-2:\n    - 'a > b@1':\n        reason: none\n"
            ),
            vec![r(4, "SNYK-JS-X-1", &["EXC-AAAA"]), r(7, "CVE-2", &[])]
        );
        assert_eq!(
            rules(
                Format::Osv,
                "[[IgnoredVulns]]\nid = \"GHSA-1\"\nreason = \"EXC-AAAA\"\n\n[[IgnoredVulns]]\nid = \"CVE-2\"\n"
            ),
            vec![r(1, "GHSA-1", &["EXC-AAAA"]), r(5, "CVE-2", &[])]
        );
        assert_eq!(
            rules(Format::Grype, "ignore:\n  - vulnerability: CVE-1\n    reason: EXC-AAAA\n  - vulnerability: CVE-2\n"),
            vec![r(2, "CVE-1", &["EXC-AAAA"]), r(4, "CVE-2", &[])]
        );
        assert_eq!(
            rules(
                Format::Nsprc,
                "{\n  \"1096\": { \"active\": true, \"notes\": \"EXC-AAAA\" },\n  \"GHSA-2\": { \"notes\": \"x\" },\n  \"3\": { \"active\": false }\n}\n"
            ),
            vec![r(2, "1096", &["EXC-AAAA"]), r(3, "GHSA-2", &[])]
        );
        assert_eq!(
            rules(
                Format::CargoDeny,
                "[graph]\nx = 1\n[advisories]\nignore = [\n  \"RUSTSEC-2023-0071\", # EXC-AAAA\n  { id = \"RUSTSEC-2024-0001\", reason = \"x\" },\n]\n[bans]\nignore = [\"RUSTSEC-9\"]\n"
            ),
            vec![r(5, "RUSTSEC-2023-0071", &["EXC-AAAA"]), r(6, "RUSTSEC-2024-0001", &[])]
        );
    }

    #[test]
    fn expiries_as_their_last_day() {
        assert_eq!(last_day("2027-02-09T00:00:00Z"), Some("2027-02-08".parse().unwrap()));
        assert_eq!(last_day("2027-02-08"), Some("2027-02-08".parse().unwrap()));
        assert_eq!(last_day("2027-02-08T12:00:00.000Z"), Some("2027-02-08".parse().unwrap()));
    }
}
