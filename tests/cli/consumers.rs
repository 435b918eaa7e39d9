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
pub fn consumer(name: &str) -> Option<PathBuf> {
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

/// A record filed 40 days ago, approved the day after unless `approve` is false.
fn filed(repo: &Repo, id: &str, kind: &str, asset: &str, finding: &str, expires: Option<&str>, approve: bool) {
    let mut args = vec![
        "new",
        "--yes",
        "--id",
        id,
        "--type",
        kind,
        "--title",
        "Accept a finding",
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
    ];
    if let Some(e) = expires {
        args.extend(["--expires", e]);
    }
    run(repo, &day(-40), ANN, &args);
    if approve {
        run(repo, &day(-39), SAM, &["approve", id]);
    }
}

/// A vulnerability deferral filed 40 days ago.
fn deferral(repo: &Repo, id: &str, asset: &str, finding: &str, expires: &str, approve: bool) {
    filed(repo, id, "vulnerability-deferral", asset, finding, Some(expires), approve);
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

/// Exports `format` from the shared registry to a file, runs `script` with
/// node in the consumers' directory (so it can load `package`) with the
/// file's path in `FILE`, and reads its standard output as JSON; `None`
/// when the package is not installed.
fn node_reads(package: &str, format: &str, flags: &[&str], script: &str) -> Option<Value> {
    consumer(package)?;
    let repo = registry();
    let dir = tempfile::TempDir::new().unwrap();
    let file = dir.path().join("suppressions");
    std::fs::write(&file, export(&repo, format)).unwrap();
    let out = Command::new("node")
        .args(flags)
        .args(["-e", script])
        .current_dir(consumers_dir())
        .env("FILE", &file)
        .output()
        .unwrap();
    assert!(out.status.success(), "node: {}", String::from_utf8_lossy(&out.stderr));
    Some(serde_json::from_slice(&out.stdout).unwrap())
}

/// Snyk's own policy parser and matcher (`snyk-policy`) reads the `.snyk`
/// file exc writes: the scoped rule ignores lodash 4.17.20 on any path, not
/// 4.17.21, and a rule past its expiry ignores nothing.
#[test]
fn snyk_policy_applies_the_snyk_file() {
    let script = "
        import { loadFromText } from 'snyk-policy';
        import { readFileSync } from 'node:fs';
        const policy = await loadFromText(readFileSync(process.env.FILE, 'utf8'));
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
    let Some(kept) = node_reads("snyk-policy", "snyk", &["--input-type=module"], script) else { return };
    let kept: Vec<String> = serde_json::from_value(kept).unwrap();
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

/// The SARIF 2.1.0 schema and, when installed, Microsoft's SARIF validator
/// find no error in `path`.
fn assert_valid_sarif(path: &Path) {
    let doc: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let schema: Value = serde_json::from_slice(
        &std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas/sarif-schema-2.1.0.json")).unwrap(),
    )
    .unwrap();
    let v = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = v.iter_errors(&doc).map(|e| format!("{}: {e}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{}: {errors:?}", path.display());
    if let Some(tool) = consumer("sarif-multitool") {
        let out = Command::new(tool).arg("validate").arg(path).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && !text.contains(": error "), "sarif-multitool: {text}");
    }
}

/// The results of one SARIF log: (rule, file, the exception that suppressed it).
fn results(path: &Path) -> Vec<(String, String, Option<String>)> {
    let doc: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let mut out: Vec<(String, String, Option<String>)> = doc["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str().unwrap_or_default();
            let by = r["suppressions"][0]["properties"]["exception"].as_str().map(String::from);
            if by.is_some() {
                assert_eq!(r["suppressions"][0]["status"], "accepted");
                assert!(r["suppressions"][0]["justification"].as_str().unwrap().contains("lapses "));
            }
            (r["ruleId"].as_str().unwrap().to_string(), uri.to_string(), by)
        })
        .collect();
    out.sort();
    out
}

/// Semgrep (a local rule file) and Checkov (built-in checks on Terraform)
/// write SARIF; `exc suppress` marks exactly the covered results, scoped by
/// path, and the output is still valid SARIF.
#[test]
fn semgrep_and_checkov_results_are_marked_suppressed() {
    let (Some(semgrep), Some(checkov)) = (consumer("semgrep"), consumer("checkov")) else { return };
    let repo = Repo::init();
    repo.write("exc.yaml", POLICY);
    filed(&repo, "EXC-0001", "other", "repo", "no-eval path=src/**", None, true);
    filed(&repo, "EXC-0002", "other", "repo", "CKV_AWS_18 path=infra/dev/**", None, true);
    filed(&repo, "EXC-0003", "other", "repo", "CKV_AWS_21", None, false);
    repo.write(
        "rules.yaml",
        "rules:\n  - id: no-eval\n    pattern: eval(...)\n    message: eval runs strings as code\n    languages: [javascript]\n    severity: ERROR\n",
    );
    repo.write("src/a.js", "eval(userInput);\n");
    repo.write("lib/b.js", "eval(other);\n");
    for env in ["dev", "prod"] {
        repo.write(
            &format!("infra/{env}/main.tf"),
            "resource \"aws_s3_bucket\" \"logs\" {\n  bucket = \"example-logs\"\n}\n",
        );
    }
    let scan = |program: &Path, args: &[&str]| {
        let out = Command::new(program).args(args).current_dir(repo.path()).output().unwrap();
        assert!(
            out.status.code().is_some_and(|c| c <= 1),
            "{}: {}",
            program.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    scan(
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
            "src",
            "lib",
        ],
    );
    scan(&checkov, &["-d", "infra", "-o", "sarif", "--output-file-path", "checkov", "--quiet", "--skip-download"]);
    for log in ["semgrep.sarif", "checkov/results_sarif.sarif"] {
        run(&repo, &day(0), ANN, &["suppress", "--sarif", log, "--out", log]);
        assert_valid_sarif(&repo.path().join(log));
    }
    let semgrep = results(&repo.path().join("semgrep.sarif"));
    assert_eq!(
        semgrep,
        [("no-eval".into(), "lib/b.js".into(), None), ("no-eval".into(), "src/a.js".into(), Some("EXC-0001".into())),]
    );
    let checkov = results(&repo.path().join("checkov/results_sarif.sarif"));
    let by = |rule: &str, file: &str| checkov.iter().find(|r| r.0 == rule && r.1 == file).map(|r| r.2.clone());
    assert_eq!(by("CKV_AWS_18", "infra/dev/main.tf"), Some(Some("EXC-0002".into())));
    assert_eq!(by("CKV_AWS_18", "infra/prod/main.tf"), Some(None), "scoped to infra/dev");
    assert_eq!(by("CKV_AWS_21", "infra/dev/main.tf"), Some(None), "EXC-0003 was never approved");
    assert_eq!(checkov.iter().filter(|r| r.2.is_some()).count(), 1, "{checkov:?}");
}

/// better-npm-audit's own exception reader (`getExceptionsIds`) takes the
/// `.nsprc` exc writes: the active ids, not the lapsed one.
#[test]
fn better_npm_audit_reads_the_nsprc_file() {
    let script = "
        const v = require('better-npm-audit/src/utils/vulnerability.js');
        const nsprc = JSON.parse(require('fs').readFileSync(process.env.FILE, 'utf8'));
        const write = process.stdout.write.bind(process.stdout);
        console.log = console.info = () => {};
        write(JSON.stringify(v.getExceptionsIds(nsprc, []).sort()));
    ";
    let Some(ids) = node_reads("better-npm-audit", "nsprc", &[], script) else { return };
    let ids: Vec<String> = serde_json::from_value(ids).unwrap();
    assert_eq!(ids, ["CVE-2026-31337", "CVE-2026-60000"], "CVE-2026-40000 lapsed at 00:00 UTC today");
}

/// osv-scanner and Grype do not run here: their files are checked against
/// the structure each documents (osv-scanner rejects unknown keys).
#[test]
fn osv_scanner_and_grype_files_have_their_documented_structure() {
    let repo = registry();
    // osv-scanner.toml, read by Python's TOML parser: only id, ignoreUntil (a datetime) and reason.
    let toml = export(&repo, "osv-scanner");
    let python = consumer("python3").unwrap_or_else(|| PathBuf::from("python3"));
    let mut child = Command::new(python)
        .args(["-c", "import sys, tomllib, json; d = tomllib.loads(sys.stdin.read()); print(json.dumps(d, default=lambda t: 'datetime:' + t.isoformat()))"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), toml.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{toml}");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc.as_object().unwrap().keys().collect::<Vec<_>>(), ["IgnoredVulns"]);
    let vulns = doc["IgnoredVulns"].as_array().unwrap();
    let ids: Vec<&str> = vulns.iter().map(|v| v["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["CVE-2026-40000", "CVE-2026-31337", "CVE-2026-60000"]);
    for v in vulns {
        let mut keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(keys, ["id", "ignoreUntil", "reason"]);
        assert!(
            v["ignoreUntil"].as_str().unwrap().starts_with("datetime:")
                && v["ignoreUntil"].as_str().unwrap().ends_with("T00:00:00+00:00")
        );
    }
    assert!(vulns[0]["reason"].as_str().unwrap().contains("[scope: pkg:npm/lodash@4.17.20, app/**]"));

    // .grype.yaml: ignore rules with only the keys Grype's IgnoreRule reads.
    let grype = exc::yaml::parse(&export(&repo, "grype")).unwrap().value;
    let rules = grype["ignore"].as_array().unwrap();
    assert_eq!(rules.len(), 3);
    for rule in rules {
        for key in rule.as_object().unwrap().keys() {
            assert!(["vulnerability", "reason", "package"].contains(&key.as_str()), "{key}");
        }
        for key in rule["package"].as_object().into_iter().flat_map(|p| p.keys()) {
            assert!(["name", "version", "type", "location"].contains(&key.as_str()), "{key}");
        }
    }
    let lodash = rules.iter().find(|r| r["vulnerability"] == "CVE-2026-40000").unwrap();
    assert_eq!(
        lodash["package"],
        serde_json::json!({"name": "lodash", "version": "4.17.20", "type": "npm", "location": "/app/**"})
    );
}

/// A type whose policy says its records mean "not affected" states that in
/// OpenVEX, for the package URL; other records state "affected". The
/// document matches the OpenVEX 0.2.0 schema.
#[test]
fn openvex_states_not_affected_only_where_the_policy_says_so() {
    let repo = Repo::init();
    repo.write(
        "exc.yaml",
        format!(
            "{POLICY}types:\n  false-positive:\n    title: Scanner false positive\n    max_days: 180\n    vex: {{ status: not_affected, justification: vulnerable_code_not_in_execute_path }}\n  vulnerability-deferral:\n    title: Deferral\n    max_days: 90\n"
        ),
    );
    filed(&repo, "EXC-0001", "false-positive", "web", "CVE-2026-70000 purl=pkg:npm/minimist@1.2.5", None, true);
    filed(&repo, "EXC-0002", "vulnerability-deferral", "web", "CVE-2026-31337", None, true);
    let vex: Value = serde_json::from_str(&export(&repo, "openvex")).unwrap();
    let schema: Value = serde_json::from_slice(
        &std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas/openvex-0.2.0.schema.json")).unwrap(),
    )
    .unwrap();
    let v = jsonschema::options().should_validate_formats(true).build(&schema).unwrap();
    let errors: Vec<String> = v.iter_errors(&vex).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    let st = vex["statements"].as_array().unwrap();
    let fp = st.iter().find(|s| s["vulnerability"]["name"] == "CVE-2026-70000").unwrap();
    assert_eq!(fp["status"], "not_affected");
    assert_eq!(fp["justification"], "vulnerable_code_not_in_execute_path");
    assert_eq!(fp["products"], serde_json::json!([{ "@id": "pkg:npm/minimist@1.2.5" }]));
    let deferral = st.iter().find(|s| s["vulnerability"]["name"] == "CVE-2026-31337").unwrap();
    assert_eq!(deferral["status"], "affected");
    // The same registry gives the same bytes (a nightly job commits only real changes).
    assert_eq!(export(&repo, "openvex"), export(&repo, "openvex"));
}

/// With nothing to suppress, every format is a valid, empty file, and Trivy
/// reads the empty `.trivyignore.yaml` (it refused an empty file before).
#[test]
fn nothing_to_suppress_writes_valid_empty_files() {
    let repo = Repo::init();
    repo.write("exc.yaml", POLICY);
    let empty = |format: &str| export(&repo, format);
    assert_eq!(exc::yaml::parse(&empty("trivyignore")).unwrap().value["vulnerabilities"], serde_json::json!([]));
    assert_eq!(exc::yaml::parse(&empty("grype")).unwrap().value["ignore"], serde_json::json!([]));
    assert_eq!(exc::yaml::parse(&empty("snyk")).unwrap().value["ignore"], serde_json::json!({}));
    assert_eq!(serde_json::from_str::<Value>(&empty("nsprc")).unwrap(), serde_json::json!({}));
    assert_eq!(serde_json::from_str::<Value>(&empty("openvex")).unwrap()["statements"], serde_json::json!([]));
    assert!(empty("osv-scanner").lines().all(|l| l.starts_with('#') || l.is_empty()));
    if let Some(trivy) = consumer("trivy") {
        let dir = tempfile::TempDir::new().unwrap();
        std::fs::write(dir.path().join(".trivyignore.yaml"), empty("trivyignore")).unwrap();
        assert_eq!(trivy_kept(&trivy, dir.path(), ".trivyignore.yaml").len(), 6);
    }
}

/// `exc export --all` writes each file exc.yaml's `exports:` lists; `exc
/// check` warns when one is stale (an exception lapsed since) or missing,
/// and not once it is regenerated.
#[test]
fn export_all_writes_the_listed_files_and_check_notices_a_stale_one() {
    let repo = Repo::init();
    repo.write("exc.yaml", format!("{POLICY}exports: [trivyignore, osv-scanner]\n"));
    deferral(&repo, "EXC-0001", "pay-gateway", "CVE-2026-31337", &day(5), true);
    let stale = |as_of: &str| {
        let out = run(&repo, &day(0), ANN, &["check", "--as-of", as_of, "--format", "json"]);
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        let mut paths: Vec<String> = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["code"] == "stale-suppressions")
            .map(|f| f["path"].as_str().unwrap().to_string())
            .collect();
        paths.sort();
        paths
    };
    assert_eq!(stale(&day(0)), [".trivyignore.yaml", "osv-scanner.toml"], "missing");
    run(&repo, &day(0), ANN, &["export", "--all", "--as-of", &day(0)]);
    assert!(repo.read(".trivyignore.yaml").contains("CVE-2026-31337"));
    assert!(repo.read("osv-scanner.toml").contains("CVE-2026-31337"));
    assert!(!repo.path().join(".snyk").exists(), "only the listed formats");
    assert_eq!(stale(&day(0)), Vec::<String>::new());
    // After the exception's last day the files still suppress it: stale.
    assert_eq!(stale(&day(6)).len(), 2);
    run(&repo, &day(0), ANN, &["export", "--all", "--as-of", &day(6)]);
    assert_eq!(stale(&day(6)), Vec::<String>::new());
    assert!(!repo.read(".trivyignore.yaml").contains("CVE-2026-31337"));
    // A format exc does not write is a policy error.
    repo.write("exc.yaml", format!("{POLICY}exports: [trivy-ignore]\n"));
    assert_eq!(repo.cmd().args(["export", "--all"]).output().unwrap().status.code(), Some(2));
}

/// exc's findings as CI reads them: SARIF passes check-jsonschema with URI
/// formats checked (rfc3987) and Microsoft's validator, for file names with
/// a space, `%` and `é`; JUnit parses with junitparser, and a record keeps
/// its test case name whether it reads or not.
#[test]
fn sarif_and_junit_pass_their_validators() {
    let (Some(cjs), Some(python)) = (consumer("check-jsonschema"), consumer("python3")) else { return };
    let repo = Repo::init();
    repo.write("exc.yaml", POLICY);
    filed(&repo, "EXC-0001", "other", "web", "CVE-2026-1001", None, false);
    let odd = "exceptions/EXC 0002 100%é.yaml";
    repo.write(odd, "id: EXC-0002\ntitle: [unclosed\n");
    let check = |format: &str| {
        let out = repo.cmd().args(["check", "--format", format]).env("EXC_TEST_CLOCK", day(0)).output().unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let dir = tempfile::TempDir::new().unwrap();
    let sarif = dir.path().join("exc.sarif");
    std::fs::write(&sarif, check("sarif")).unwrap();
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas/sarif-schema-2.1.0.json");
    let out = Command::new(&cjs).arg("--schemafile").arg(&schema).arg(&sarif).output().unwrap();
    assert!(out.status.success(), "check-jsonschema: {}", String::from_utf8_lossy(&out.stdout));
    assert_valid_sarif(&sarif);
    assert!(std::fs::read_to_string(&sarif).unwrap().contains("EXC%200002%20100%25%C3%A9.yaml"));
    let cases = |xml: &str| {
        let file = dir.path().join("exc.xml");
        std::fs::write(&file, xml).unwrap();
        let script = "import sys\nfrom junitparser import JUnitXml\nfor suite in JUnitXml.fromfile(sys.argv[1]):\n    for case in suite:\n        print(case.name, 'failed' if case.result else 'passed')\n";
        let out = Command::new(&python).args(["-c", script]).arg(&file).output().unwrap();
        assert!(out.status.success(), "junitparser: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let before = cases(&check("junit"));
    assert_eq!(before, format!("{odd} failed\nexceptions/EXC-0001.yaml passed\n"));
    // The same record, broken: the same test case, now failing.
    let path = "exceptions/EXC-0001.yaml";
    repo.write(path, repo.read(path).replace("justification:", "justifcation:"));
    assert_eq!(cases(&check("junit")), format!("{odd} failed\nexceptions/EXC-0001.yaml failed\n"));
}

/// The sample registry's POA&M passes NIST's published OSCAL POA&M schema
/// (formats checked) and compliance-trestle's validation, maps each part of
/// a record where it belongs, and is the same bytes every time.
#[test]
fn the_oscal_poam_passes_the_schema_and_trestle() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let export = || {
        let out = Command::new(assert_cmd::cargo::cargo_bin!("exc"))
            .args(["export", "--format", "oscal-poam", "--as-of", "2026-11-27"])
            .current_dir(root)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let text = export();
    assert_eq!(text, export(), "stable UUIDs and times: re-exports diff cleanly");
    let doc: Value = serde_json::from_str(&text).unwrap();
    let schema: Value =
        serde_json::from_slice(&std::fs::read(root.join("tests/schemas/oscal-1.0.6-poam.schema.json")).unwrap())
            .unwrap();
    let v = jsonschema::options().should_validate_formats(true).build(&schema).unwrap();
    let errors: Vec<String> = v.iter_errors(&doc).map(|e| format!("{}: {e}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{errors:?}");
    let poam = &doc["plan-of-action-and-milestones"];
    let item = poam["poam-items"].as_array().unwrap().iter().find(|i| i["props"][0]["value"] == "EXC-0003").unwrap();
    assert_eq!(item["props"][0]["name"], "POAM-ID");
    let risk_id = item["related-risks"][0]["risk-uuid"].as_str().unwrap();
    let risk = poam["risks"].as_array().unwrap().iter().find(|r| r["uuid"] == risk_id).unwrap();
    assert_eq!(
        (risk["status"].as_str(), risk["deadline"].as_str()),
        (Some("deviation-approved"), Some("2027-02-08T23:59:59Z"))
    );
    assert_eq!(risk["mitigating-factors"].as_array().unwrap().len(), 2);
    assert_eq!(risk["characterizations"][0]["facets"][0]["value"], "CVE-2026-31337");
    assert!(risk["risk-log"]["entries"].as_array().unwrap().len() >= 2, "requested, then approved");
    let closed = poam["risks"].as_array().unwrap().iter().filter(|r| r["status"] == "closed").count();
    assert!(closed >= 4, "retired, revoked, expired and rejected records are closed: {closed}");
    let Some(trestle) = consumer("trestle") else { return };
    let ws = tempfile::TempDir::new().unwrap();
    let out = Command::new(&trestle).arg("init").current_dir(ws.path()).output().unwrap();
    assert!(out.status.success(), "trestle init: {}", String::from_utf8_lossy(&out.stderr));
    let dir = ws.path().join("plan-of-action-and-milestones/exc");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("plan-of-action-and-milestones.json"), &text).unwrap();
    let out = Command::new(&trestle)
        .args(["validate", "-f", "plan-of-action-and-milestones/exc/plan-of-action-and-milestones.json"])
        .current_dir(ws.path())
        .output()
        .unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && said.contains("VALID"), "trestle validate: {said}");
}
