//! Scanners' results, as the findings they report: Trivy JSON (schema
//! version 2), Grype JSON, osv-scanner JSON, and any SARIF 2.1.0 (Semgrep,
//! Checkov, CodeQL, Trivy…). The format is told by the document's shape.

use std::path::Path;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::model::reconcile::Reported;

/// The largest scan result read.
const MAX_BYTES: u64 = 512 * 1024 * 1024;

/// The findings in one scan result file.
pub fn read_results(path: &Path) -> Result<Vec<Reported>> {
    let shown = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.len() > MAX_BYTES {
        return Err(Error::Usage(format!("{shown}: larger than 512 MiB")));
    }
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let doc: Value = serde_json::from_str(&text)
        .map_err(|e| Error::Usage(format!("{shown}:{}:{}: not JSON: {e}", e.line(), e.column())))?;
    let str_of = |v: &Value| v.as_str().map(String::from);
    let mut out = Vec::new();
    if doc.get("runs").is_some() {
        // SARIF: a result's rule id, and its first location.
        for run in doc["runs"].as_array().into_iter().flatten() {
            let rules: Vec<String> = run["tool"]["driver"]["rules"]
                .as_array()
                .map(|r| r.iter().map(|r| r["id"].as_str().unwrap_or_default().to_string()).collect())
                .unwrap_or_default();
            for r in run["results"].as_array().into_iter().flatten() {
                let rule = str_of(&r["ruleId"])
                    .or_else(|| str_of(&r["rule"]["id"]))
                    .or_else(|| r["ruleIndex"].as_u64().and_then(|i| rules.get(i as usize).cloned()));
                let Some(rule) = rule else { continue };
                let location = str_of(&r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]);
                out.push(Reported { ids: vec![rule], location, purl: None });
            }
        }
    } else if doc.get("Results").is_some() {
        // Trivy: results per target, vulnerabilities and misconfigurations.
        for result in doc["Results"].as_array().into_iter().flatten() {
            let target = str_of(&result["Target"]);
            for v in result["Vulnerabilities"].as_array().into_iter().flatten() {
                out.push(Reported {
                    ids: str_of(&v["VulnerabilityID"]).into_iter().collect(),
                    location: str_of(&v["PkgPath"]).or(target.clone()),
                    purl: str_of(&v["PkgIdentifier"]["PURL"]),
                });
            }
            for m in result["Misconfigurations"].as_array().into_iter().flatten() {
                let ids = [&m["ID"], &m["AVDID"]].into_iter().filter_map(str_of).collect();
                out.push(Reported { ids, location: target.clone(), purl: None });
            }
        }
    } else if doc.get("matches").is_some() {
        // Grype: matches, with the vulnerability's related ids as aliases.
        for m in doc["matches"].as_array().into_iter().flatten() {
            let mut ids: Vec<String> = str_of(&m["vulnerability"]["id"]).into_iter().collect();
            ids.extend(m["relatedVulnerabilities"].as_array().into_iter().flatten().filter_map(|r| str_of(&r["id"])));
            out.push(Reported {
                ids,
                location: str_of(&m["artifact"]["locations"][0]["path"]),
                purl: str_of(&m["artifact"]["purl"]),
            });
        }
    } else if doc.get("results").is_some() {
        // osv-scanner: results per source, packages, vulnerabilities with aliases.
        for result in doc["results"].as_array().into_iter().flatten() {
            let source = str_of(&result["source"]["path"]);
            for p in result["packages"].as_array().into_iter().flatten() {
                let purl = match (
                    p["package"]["ecosystem"].as_str(),
                    p["package"]["name"].as_str(),
                    p["package"]["version"].as_str(),
                ) {
                    (Some(eco), Some(name), Some(version)) => {
                        Some(format!("pkg:{}/{name}@{version}", eco.to_ascii_lowercase()))
                    }
                    _ => None,
                };
                for v in p["vulnerabilities"].as_array().into_iter().flatten() {
                    let mut ids: Vec<String> = str_of(&v["id"]).into_iter().collect();
                    ids.extend(v["aliases"].as_array().into_iter().flatten().filter_map(str_of));
                    out.push(Reported { ids, location: source.clone(), purl: purl.clone() });
                }
            }
        }
    } else {
        return Err(Error::Usage(format!(
            "{shown}: not a scan result exc reads (Trivy JSON, Grype JSON, osv-scanner JSON, or SARIF 2.1.0)"
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(doc: &str) -> Vec<Reported> {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("scan.json");
        std::fs::write(&path, doc).unwrap();
        read_results(&path).unwrap()
    }

    #[test]
    fn each_scanner_s_results() {
        let grype = read(
            r#"{"matches": [{"vulnerability": {"id": "GHSA-1"}, "relatedVulnerabilities": [{"id": "CVE-1"}],
                "artifact": {"purl": "pkg:npm/x@1", "locations": [{"path": "/app/package-lock.json"}]}}]}"#,
        );
        assert_eq!(grype[0].ids, ["GHSA-1", "CVE-1"]);
        assert_eq!(
            (grype[0].location.as_deref(), grype[0].purl.as_deref()),
            (Some("/app/package-lock.json"), Some("pkg:npm/x@1"))
        );
        let osv = read(
            r#"{"results": [{"source": {"path": "/src/go.mod"}, "packages": [{"package": {"name": "golang.org/x/net",
                "version": "0.1.0", "ecosystem": "Go"}, "vulnerabilities": [{"id": "GO-2023-1", "aliases": ["CVE-2"]}]}]}]}"#,
        );
        assert_eq!(osv[0].ids, ["GO-2023-1", "CVE-2"]);
        assert_eq!(osv[0].purl.as_deref(), Some("pkg:go/golang.org/x/net@0.1.0"));
        let trivy = read(
            r#"{"SchemaVersion": 2, "Results": [{"Target": "main.tf", "Misconfigurations": [{"ID": "AWS-0086", "AVDID": "AVD-AWS-0086"}]}]}"#,
        );
        assert_eq!(trivy[0].ids, ["AWS-0086", "AVD-AWS-0086"]);
        let sarif = read(
            r#"{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x", "rules": [{"id": "R1"}]}}, "results": [{"ruleIndex": 0, "message": {"text": "m"}}]}]}"#,
        );
        assert_eq!(sarif[0].ids, ["R1"]);
        let dir = tempfile::TempDir::new().unwrap();
        std::fs::write(dir.path().join("x.json"), "{\"other\": 1}").unwrap();
        assert!(read_results(&dir.path().join("x.json")).is_err());
    }
}
