//! Suppressions checked by the programs that read them: Trivy filters a
//! report through exc's ignore files, Snyk's own policy parser and matcher
//! reads `.snyk`, Semgrep's and Checkov's SARIF goes through `exc suppress`,
//! and the formats with no runnable consumer here are checked against their
//! documented structure.
//!
//! The consumers are installed by `.ci/run` under `target/consumers` (a
//! Python virtualenv and an npm project); `EXC_CONSUMERS` points elsewhere.
//! Without them a test says so and passes, unless `EXC_REQUIRE_CONSUMERS=1`
//! (as in CI), when it fails.

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{Days, Utc};
use serde_json::Value;

use crate::harness::{Repo, as_person};

/// A consumer program, or `None` (with a note) when it is not installed.
fn consumer(name: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("EXC_CONSUMERS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/consumers"));
    let found = [
        dir.join("venv/bin").join(name),
        dir.join("node_modules/.bin").join(name),
        dir.join("node_modules").join(name),
    ]
    .into_iter()
    .find(|p| p.exists());
    if found.is_none() {
        assert!(
            std::env::var("EXC_REQUIRE_CONSUMERS").as_deref() != Ok("1"),
            "{name} is not installed under {}: run .ci/run, which installs the consumers",
            dir.display()
        );
        eprintln!("skipping: {name} is not installed under {} (.ci/run installs it)", dir.display());
    }
    found
}

fn consumers_dir() -> PathBuf {
    std::env::var_os("EXC_CONSUMERS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/consumers"))
}

const SAM: &str = "Sam Okafor <sam@example.com>";
const ANN: &str = "Ann Lee <ann@example.com>";

const POLICY: &str = "\
roles:
  security: [sam@example.com]
assets:
  targets:
    pay-gateway: [\"registry.example.com/pay/gw*\"]
trust: { signatures: off }
";

/// Today, and `n` days before or after it (UTC), as `YYYY-MM-DD`.
fn day(offset: i64) -> String {
    let today = Utc::now().date_naive();
    let d = if offset >= 0 {
        today.checked_add_days(Days::new(offset as u64))
    } else {
        today.checked_sub_days(Days::new(offset.unsigned_abs()))
    };
    d.unwrap().to_string()
}

fn run(repo: &Repo, clock: &str, who: &str, args: &[&str]) -> std::process::Output {
    let mut c = repo.cmd();
    c.args(args).env("EXC_TEST_CLOCK", clock);
    as_person(&mut c, who);
    let out = c.output().unwrap();
    assert!(out.status.success(), "exc {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

/// A deferral filed 40 days ago, approved the day after unless `approve` is false.
fn deferral(repo: &Repo, id: &str, asset: &str, finding: &str, expires: &str, approve: bool) {
    let filed = day(-40);
    let args = [
        "new",
        "--yes",
        "--id",
        id,
        "--type",
        "vulnerability-deferral",
        "--title",
        "Defer a fix",
        "--justification",
        "Vendor fix pending",
        "--risk-owner",
        "Dana Ops <dana@example.com>",
        "--asset",
        asset,
        "--compensating-control",
        "WAF rule",
        "--finding",
        finding,
        "--expires",
        expires,
    ];
    run(repo, &filed, ANN, &args);
    if approve {
        run(repo, &day(-39), SAM, &["approve", id]);
    }
}

/// The registry every test here reads: as of yesterday, three deferrals are
/// approved and active; one is only requested.
fn registry() -> Repo {
    let repo = Repo::init();
    repo.write("exc.yaml", POLICY);
    // The CVE on the payment gateway image only, through today.
    deferral(&repo, "EXC-0001", "pay-gateway", "CVE-2026-31337", &day(0), true);
    // lodash 4.17.20 under app/, through yesterday: lapsed at 00:00 UTC today.
    deferral(&repo, "EXC-0002", "web", "CVE-2026-40000 purl=pkg:npm/lodash@4.17.20 path=app/**", &day(-1), true);
    // Requested, never approved: suppresses nothing.
    deferral(&repo, "EXC-0003", "pay-gateway", "CVE-2026-50000", &day(20), false);
    // minimist 1.2.5 anywhere, for a month.
    deferral(&repo, "EXC-0004", "web", "CVE-2026-60000 purl=pkg:npm/minimist@1.2.5", &day(30), true);
    repo
}

/// Exports `format` as of yesterday, when all three approved deferrals were active.
fn export(repo: &Repo, format: &str) -> String {
    let out = run(repo, &day(0), ANN, &["export", "--format", format, "--as-of", &day(-1)]);
    String::from_utf8(out.stdout).unwrap()
}

fn vuln(id: &str, pkg: &str, version: &str, purl: &str, pkg_path: Option<&str>) -> Value {
    let mut v = serde_json::json!({
        "VulnerabilityID": id,
        "PkgName": pkg,
        "PkgIdentifier": { "PURL": purl, "UID": format!("{pkg}-{version}") },
        "InstalledVersion": version,
        "Severity": "HIGH",
    });
    if let Some(p) = pkg_path {
        v["PkgPath"] = p.into();
    }
    v
}

/// A Trivy JSON report (schema version 2) with two images and two npm projects.
fn trivy_report() -> Value {
    let deb = |name: &str, v: &str| format!("pkg:deb/debian/{name}@{v}?arch=amd64&distro=debian-12.4");
    serde_json::json!({
        "SchemaVersion": 2,
        "CreatedAt": "2026-11-28T00:00:00Z",
        "ArtifactName": "scan",
        "ArtifactType": "filesystem",
        "Results": [
            { "Target": "registry.example.com/pay/gw:1.2 (debian 12.4)", "Class": "os-pkgs", "Type": "debian",
              "Vulnerabilities": [
                vuln("CVE-2026-31337", "openssl", "3.0.11-1", &deb("openssl", "3.0.11-1"), None),
                vuln("CVE-2026-50000", "curl", "7.88.1", &deb("curl", "7.88.1"), None),
              ] },
            { "Target": "registry.example.com/web/site:3 (debian 12.4)", "Class": "os-pkgs", "Type": "debian",
              "Vulnerabilities": [ vuln("CVE-2026-31337", "openssl", "3.0.11-1", &deb("openssl", "3.0.11-1"), None) ] },
            { "Target": "app/package-lock.json", "Class": "lang-pkgs", "Type": "npm",
              "Vulnerabilities": [
                vuln("CVE-2026-40000", "lodash", "4.17.20", "pkg:npm/lodash@4.17.20", Some("app/node_modules/lodash/package.json")),
                vuln("CVE-2026-60000", "minimist", "1.2.5", "pkg:npm/minimist@1.2.5", Some("app/node_modules/minimist/package.json")),
              ] },
            { "Target": "tools/package-lock.json", "Class": "lang-pkgs", "Type": "npm",
              "Vulnerabilities": [
                vuln("CVE-2026-60000", "minimist", "1.2.6", "pkg:npm/minimist@1.2.6", Some("tools/node_modules/minimist/package.json")),
              ] },
        ]
    })
}

/// What Trivy still reports after applying `ignorefile`: (target, CVE, package@version).
fn trivy_kept(trivy: &Path, dir: &Path, ignorefile: &str) -> Vec<String> {
    std::fs::write(dir.join("report.json"), serde_json::to_string(&trivy_report()).unwrap()).unwrap();
    let out = Command::new(trivy)
        .args(["convert", "--quiet", "--format", "json", "--ignorefile", ignorefile, "report.json"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "trivy: {}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut kept: Vec<String> = v["Results"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| {
            let target = r["Target"].as_str().unwrap().split(' ').next().unwrap().to_string();
            r["Vulnerabilities"].as_array().cloned().unwrap_or_default().into_iter().map(move |v| {
                format!(
                    "{target} {} {}@{}",
                    v["VulnerabilityID"].as_str().unwrap(),
                    v["PkgName"].as_str().unwrap(),
                    v["InstalledVersion"].as_str().unwrap()
                )
            })
        })
        .collect();
    kept.sort();
    kept
}

/// Trivy itself, on a report with several targets, packages and CVEs:
/// exactly the approved, active findings on the excepted targets and
/// packages are suppressed, through the exception's last day and not after.
#[test]
fn trivy_suppresses_exactly_what_is_excepted() {
    let Some(trivy) = consumer("trivy") else { return };
    let repo = registry();
    let dir = tempfile::TempDir::new().unwrap();
    std::fs::write(dir.path().join(".trivyignore.yaml"), export(&repo, "trivyignore")).unwrap();
    let kept = trivy_kept(&trivy, dir.path(), ".trivyignore.yaml");
    assert_eq!(
        kept,
        [
            // EXC-0002 lapsed at 00:00 UTC today.
            "app/package-lock.json CVE-2026-40000 lodash@4.17.20",
            // EXC-0003 was never approved.
            "registry.example.com/pay/gw:1.2 CVE-2026-50000 curl@7.88.1",
            // EXC-0001 covers the payment gateway, not the web image.
            "registry.example.com/web/site:3 CVE-2026-31337 openssl@3.0.11-1",
            // EXC-0004 covers minimist 1.2.5 only.
            "tools/package-lock.json CVE-2026-60000 minimist@1.2.6",
        ]
    );
    // Without the file, Trivy reports all six.
    let all = trivy_kept(&trivy, dir.path(), "");
    assert_eq!(all.len(), 6, "{all:?}");
}

/// The legacy `.trivyignore` carries only unscoped findings, each lapsing
/// after its last day; the scoped ones are left out with a warning.
#[test]
fn trivy_reads_the_legacy_ignore_file() {
    let Some(trivy) = consumer("trivy") else { return };
    let repo = Repo::init();
    repo.write("exc.yaml", POLICY);
    deferral(&repo, "EXC-0001", "web", "CVE-2026-31337", &day(0), true);
    deferral(&repo, "EXC-0002", "web", "CVE-2026-50000", &day(-1), true);
    deferral(&repo, "EXC-0003", "web", "CVE-2026-60000 purl=pkg:npm/minimist@1.2.5", &day(30), true);
    let mut c = repo.cmd();
    c.args(["export", "--format", "trivyignore-legacy", "--as-of", &day(-1)]).env("EXC_TEST_CLOCK", day(0));
    let out = c.output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("EXC-0003 CVE-2026-60000: left out"));
    let dir = tempfile::TempDir::new().unwrap();
    std::fs::write(dir.path().join(".trivyignore"), &text).unwrap();
    let kept = trivy_kept(&trivy, dir.path(), ".trivyignore");
    // CVE-2026-31337 (both images) is suppressed; CVE-2026-50000 lapsed; CVE-2026-60000 was left out.
    assert!(!kept.iter().any(|k| k.contains("CVE-2026-31337")), "{kept:?}");
    assert!(kept.iter().any(|k| k.contains("CVE-2026-50000")), "{kept:?}");
    assert_eq!(kept.iter().filter(|k| k.contains("CVE-2026-60000")).count(), 2, "{kept:?}");
}

/// Snyk's own policy parser and matcher (`snyk-policy`) reads the `.snyk`
/// file exc writes: the scoped rule ignores lodash 4.17.20 on any path, not
/// 4.17.21, and a rule past its expiry ignores nothing.
#[test]
fn snyk_policy_applies_the_snyk_file() {
    if consumer("snyk-policy").is_none() {
        return;
    }
    let repo = registry();
    let dir = tempfile::TempDir::new().unwrap();
    std::fs::write(dir.path().join(".snyk"), export(&repo, "snyk")).unwrap();
    let script = "
        import { loadFromText } from 'snyk-policy';
        import { readFileSync } from 'node:fs';
        const policy = await loadFromText(readFileSync(process.env.SNYK_FILE, 'utf8'));
        const vulns = [
          { id: 'CVE-2026-60000', from: ['app@1.0.0', 'minimist@1.2.5'] },
          { id: 'CVE-2026-60000', from: ['app@1.0.0', 'mkdirp@0.5.5', 'minimist@1.2.5'] },
          { id: 'CVE-2026-60000', from: ['app@1.0.0', 'minimist@1.2.6'] },
          { id: 'CVE-2026-40000', from: ['app@1.0.0', 'lodash@4.17.20'] },
          { id: 'CVE-2026-50000', from: ['app@1.0.0', 'curl@7.88.1'] },
        ];
        const out = policy.filter({ ok: false, vulnerabilities: vulns });
        console.log(JSON.stringify(out.vulnerabilities.map(v => v.id + ' ' + v.from.slice(1).join(' > '))));
    ";
    let out = Command::new("node")
        .args(["--input-type=module", "-e", script])
        .current_dir(consumers_dir())
        .env("SNYK_FILE", dir.path().join(".snyk"))
        .output()
        .unwrap();
    assert!(out.status.success(), "node: {}", String::from_utf8_lossy(&out.stderr));
    let kept: Vec<String> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        kept,
        [
            "CVE-2026-60000 minimist@1.2.6",
            // EXC-0002 lapsed at 00:00 UTC today: Snyk no longer ignores it.
            "CVE-2026-40000 lodash@4.17.20",
            "CVE-2026-50000 curl@7.88.1",
        ]
    );
}
