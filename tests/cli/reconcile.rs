//! `exc reconcile` and `exc import` on a repository with every kind of
//! suppression: each ungoverned one is named with its file and line, stale
//! exceptions are found from real scanners' results (Semgrep, Checkov, and
//! a Trivy report written in its own format), and import, approval and
//! reconcile come out clean.

use std::collections::BTreeSet;
use std::process::Command;

use serde_json::Value;

use crate::consumers::consumer;
use crate::harness::{Repo, as_person};

const POLICY: &str = "\
roles:
  security: [sam@example.com]
trust: { signatures: off }
reconcile:
  exclude: [\"vendor/**\"]
";
const SAM: &str = "Sam Okafor <sam@example.com>";
const DANA: &str = "Dana Ops <dana@example.com>";

/// Every kind of suppression: (file, content, the lines that suppress).
fn sample(repo: &Repo) {
    repo.write("exc.yaml", POLICY);
    repo.write(".gitignore", "build/\n");
    repo.write(".trivyignore", "# legacy\nCVE-2026-1000\nCVE-2026-1001 exp:2030-01-01 # EXC-ZZZZ\n");
    repo.write(".trivyignore.yaml", "vulnerabilities:\n  - id: CVE-2026-1002\n    statement: accepted long ago\n");
    repo.write(
        ".snyk",
        "version: v1.25.0\nignore:\n  SNYK-JS-LODASH-1:\n    - '* > lodash@4.17.20':\n        reason: no fix\n",
    );
    repo.write("osv-scanner.toml", "[[IgnoredVulns]]\nid = \"GHSA-4xc9-8hmq-j652\"\nreason = \"dev only\"\n");
    repo.write(".grype.yaml", "ignore:\n  - vulnerability: CVE-2026-1003\n    package:\n      name: openssl\n");
    repo.write(".nsprc", "{\n  \"1096\": { \"active\": true, \"notes\": \"test tooling\" }\n}\n");
    repo.write("deny.toml", "[advisories]\nignore = [\n  \"RUSTSEC-2023-0071\",\n]\n");
    repo.write("app/main.py", "import os\nresult = eval(expr)  # nosec B307\nassert ok  # noqa: S101\n");
    repo.write(
        "svc/main.go",
        "package main\n\nvar pw = \"hunter2\" // #nosec G101\n\nfunc f() { g() } //nolint:gosec\n",
    );
    repo.write(
        "web/app.js",
        "obj[key] = 1; // eslint-disable-line security/detect-object-injection\neval(input); // nosemgrep: no-eval\n",
    );
    repo.write(
        "infra/main.tf",
        "resource \"aws_s3_bucket\" \"logs\" {\n  #checkov:skip=CKV_AWS_18:logs go to the SIEM\n  # trivy:ignore:AVD-AWS-0089\n  bucket = \"example-logs\"\n}\n",
    );
    // Not suppressions: prose, ignored and excluded files.
    repo.write("README.md", "Never write `# nosec` without an exception.\n");
    repo.write("build/gen.py", "x = eval(y)  # nosec\n");
    repo.write("vendor/lib.py", "x = eval(y)  # nosec\n");
    repo.write("rules.yaml", "rules:\n  - id: no-eval\n    pattern: eval(...)\n    message: eval runs strings\n    languages: [javascript]\n    severity: ERROR\n");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "a repository with suppressions"]);
}

fn reconcile(repo: &Repo, extra: &[&str]) -> (i32, Vec<(String, String, u64)>) {
    let out = repo.cmd().args(["reconcile", "--format", "json", "--as-of", "2026-11-10"]).args(extra).output().unwrap();
    let v: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    let mut found: Vec<(String, String, u64)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (f["code"].as_str().unwrap().into(), f["path"].as_str().unwrap().into(), f["line"].as_u64().unwrap_or(0))
        })
        .collect();
    found.sort();
    (out.status.code().unwrap(), found)
}

fn as_of(repo: &Repo, who: &str, day: &str, args: &[&str]) -> std::process::Output {
    let mut c = repo.cmd();
    c.args(args).env("EXC_TEST_CLOCK", day);
    as_person(&mut c, who);
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn every_ungoverned_suppression_is_named_where_it_is() {
    let repo = Repo::init();
    sample(&repo);
    let (code, found) = reconcile(&repo, &[]);
    assert_eq!(code, 1);
    let shadow = |path: &str, line: u64| ("shadow-suppression".to_string(), path.to_string(), line);
    let expected: BTreeSet<(String, String, u64)> = [
        shadow(".grype.yaml", 2),
        shadow(".nsprc", 2),
        shadow(".snyk", 4),
        shadow(".trivyignore", 2),
        ("expired-suppression".into(), ".trivyignore".into(), 3),
        shadow(".trivyignore.yaml", 2),
        shadow("app/main.py", 2),
        shadow("app/main.py", 3),
        shadow("deny.toml", 3),
        shadow("infra/main.tf", 2),
        shadow("infra/main.tf", 3),
        shadow("osv-scanner.toml", 1),
        shadow("svc/main.go", 3),
        shadow("svc/main.go", 5),
        shadow("web/app.js", 1),
        shadow("web/app.js", 2),
    ]
    .into_iter()
    .collect();
    assert_eq!(found.into_iter().collect::<BTreeSet<_>>(), expected);
    // The report counts them against their target.
    let out = repo.cmd().args(["report", "--format", "json", "--as-of", "2026-11-10"]).output().unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let kpi = report["kpis"].as_array().unwrap().iter().find(|k| k["key"] == "ungoverned_suppressions").unwrap();
    assert_eq!((kpi["value"].as_f64(), kpi["pass"].as_bool()), (Some(16.0), Some(false)));
    // GitHub annotations point at the same files and lines.
    let out = repo.cmd().args(["reconcile", "--format", "github", "--as-of", "2026-11-10"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("::error file=svc/main.go,line=3,col="), "{text}");
}

/// Import files a request per suppression (keeping its scope and who wrote
/// it), cites it in place; importing again files nothing; once the requests
/// are approved, reconcile is clean, and given the scans, it names the
/// exception findings nobody reports any more.
#[test]
fn import_then_approval_then_reconcile_comes_out_clean() {
    let repo = Repo::init();
    sample(&repo);
    let dry = as_of(&repo, "Ann Lee <ann@example.com>", "2026-11-01", &["import", "--dry-run", "--format", "json"]);
    let planned: Value = serde_json::from_slice(&dry.stdout).unwrap();
    assert_eq!(planned.as_array().unwrap().len(), 15, "one per ungoverned suppression (not the one citing EXC-ZZZZ)");
    assert!(repo.records().is_empty(), "a dry run writes nothing");
    let filed = as_of(
        &repo,
        "Ann Lee <ann@example.com>",
        "2026-11-01",
        &["import", "--rewrite", "--risk-owner", DANA, "--asset", "payments", "--format", "json"],
    );
    let filed: Value = serde_json::from_slice(&filed.stdout).unwrap();
    let ids: Vec<String> = filed.as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(ids.len(), 15);
    // Scope and provenance came along.
    let py = filed.as_array().unwrap().iter().find(|f| f["sites"][0] == "app/main.py:2").unwrap();
    assert_eq!(py["findings"][0], "B307 path=app/main.py");
    let record = repo.read(&format!("exceptions/{}.yaml", py["id"].as_str().unwrap()));
    let words = record.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(words.contains("last changed by Ann Lee <ann@example.com>"), "{record}");
    assert!(repo.read("app/main.py").contains(&format!("# nosec B307 {}", py["id"].as_str().unwrap())));
    assert!(
        repo.read(".nsprc").contains(&format!("\"notes\": \"{}: test tooling\"", filed[5]["id"].as_str().unwrap()))
            || repo.read(".nsprc").contains("EXC-")
    );
    // Importing again files nothing new.
    let again =
        as_of(&repo, "Ann Lee <ann@example.com>", "2026-11-01", &["import", "--risk-owner", DANA, "--format", "json"]);
    assert_eq!(serde_json::from_slice::<Value>(&again.stdout).unwrap(), serde_json::json!([]));
    // Requested, not approved: still not governed.
    let (_, found) = reconcile(&repo, &[]);
    assert_eq!(found.iter().filter(|f| f.0 == "expired-suppression").count(), 16, "{found:?}");
    for id in &ids {
        as_of(&repo, SAM, "2026-11-02", &["approve", id]);
    }
    // The one that cites a missing exception still needs one.
    std::fs::write(
        repo.path().join(".trivyignore"),
        repo.read(".trivyignore").replace("CVE-2026-1001 exp:2030-01-01 # EXC-ZZZZ\n", ""),
    )
    .unwrap();
    let (code, found) = reconcile(&repo, &[]);
    assert_eq!((code, found.clone()), (0, vec![]), "{found:?}");

    // Stale exceptions, from what real scanners report.
    let Some(semgrep) = consumer("semgrep") else { return };
    let Some(checkov) = consumer("checkov") else { return };
    let run = |program: &std::path::Path, args: &[&str]| {
        let out = Command::new(program).args(args).current_dir(repo.path()).output().unwrap();
        assert!(out.status.code().is_some_and(|c| c <= 1), "{}", String::from_utf8_lossy(&out.stderr));
    };
    run(
        &semgrep,
        &[
            "--config",
            "rules.yaml",
            "--sarif",
            "-o",
            "semgrep.sarif",
            "--metrics",
            "off",
            "--disable-version-check",
            "web",
        ],
    );
    run(&checkov, &["-d", "infra", "-o", "sarif", "--output-file-path", "checkov", "--quiet", "--skip-download"]);
    // Trivy reports CVE-2026-1000 and 1002 still, and nothing else.
    repo.write(
        "trivy.json",
        r#"{"SchemaVersion": 2, "ArtifactName": "app", "Results": [{"Target": "app/requirements.txt", "Vulnerabilities": [
            {"VulnerabilityID": "CVE-2026-1000", "PkgName": "x", "InstalledVersion": "1"},
            {"VulnerabilityID": "CVE-2026-1002", "PkgName": "y", "InstalledVersion": "1"}]}]}"#,
    );
    let scans = ["--scan", "semgrep.sarif", "--scan", "checkov/results_sarif.sarif", "--scan", "trivy.json"];
    let (code, found) = reconcile(&repo, &scans);
    assert_eq!(code, 0, "stale exceptions are warnings");
    let stale: Vec<&String> = found.iter().filter(|f| f.0 == "stale-exception").map(|f| &f.1).collect();
    // Semgrep still reports no-eval (suppressed), Checkov still reports CKV_AWS_18 (skipped):
    // those exceptions are needed. The ones for findings no scan reports are stale.
    let stale_findings: BTreeSet<String> = stale
        .iter()
        .map(|path| {
            let text = repo.read(path);
            text.lines().skip_while(|l| !l.starts_with("findings:")).nth(1).unwrap_or("").trim().to_string()
        })
        .collect();
    assert!(
        !stale_findings.iter().any(|f| f.contains("no-eval")
            || f.contains("CKV_AWS_18")
            || f.contains("CVE-2026-1000")
            || f.contains("CVE-2026-1002")),
        "{stale_findings:?}"
    );
    assert!(stale_findings.iter().any(|f| f.contains("CVE-2026-1003")), "{stale_findings:?}");
}
