//! The CI gate and the pull-request loop: `check` (exit codes, formats, no
//! history needed), `diff`, and `remind`.

use serde_json::Value;

use crate::harness::{Repo, stdout};

const POLICY: &str = "roles:\n  security: [sam@example.com]\ntrust: { signatures: off }\n";
const SAM: &str = "Sam Okafor <sam@example.com>";
const DANA: &str = "Dana Ops <dana@example.com>";

fn new(repo: &Repo, id: &str, kind: &str, created: &str, expires: &str, extra: &[&str]) {
    let mut args = vec![
        "new",
        "--yes",
        "--id",
        id,
        "--as-of",
        created,
        "--type",
        kind,
        "--title",
        "Title of the request",
        "--justification",
        "Needed",
        "--risk-owner",
        DANA,
        "--asset",
        "host-01",
        "--compensating-control",
        "A control",
        "--expires",
        expires,
    ];
    args.extend_from_slice(extra);
    repo.exc(&args).success();
}

fn approve(repo: &Repo, id: &str, on: &str) {
    repo.exc(&["approve", id, "--by", SAM, "--as-of", on]).success();
}

/// A: expires 2026-03-01. B: review due 2026-04-02. C: requested 2026-01-01 (SLA 120 h).
fn gate_fixture() -> Repo {
    let repo = Repo::init();
    repo.write("exc.yaml", POLICY);
    new(&repo, "EXC-000A", "other", "2026-01-01", "2026-03-01", &[]);
    approve(&repo, "EXC-000A", "2026-01-02");
    new(&repo, "EXC-000B", "firewall-rule", "2026-01-01", "2026-06-30", &[]);
    approve(&repo, "EXC-000B", "2026-01-02");
    new(&repo, "EXC-000C", "other", "2026-01-01", "2026-03-01", &[]);
    repo
}

fn check_code(repo: &Repo, as_of: &str, flag: &str) -> i32 {
    repo.cmd().args(["check", "--as-of", as_of, flag]).output().unwrap().status.code().unwrap()
}

#[test]
fn each_fail_on_flag_flips_the_exit_code_at_its_boundary() {
    let repo = gate_fixture();
    assert_eq!(check_code(&repo, "2026-03-01", "--fail-on-expired"), 0, "expires on 2026-03-01: still valid that day");
    assert_eq!(check_code(&repo, "2026-03-02", "--fail-on-expired"), 1);
    assert_eq!(check_code(&repo, "2026-04-02", "--fail-on-review-overdue"), 0);
    assert_eq!(check_code(&repo, "2026-04-03", "--fail-on-review-overdue"), 1);
    assert_eq!(check_code(&repo, "2026-01-06", "--fail-on-sla"), 0, "exactly 120 h");
    assert_eq!(check_code(&repo, "2026-01-07", "--fail-on-sla"), 1);
    // Without the flag, the same findings are warnings.
    let out = repo.exc(&["check", "--as-of", "2026-04-03"]).success();
    let text = stdout(&out);
    assert!(text.contains("warning[expired]: EXC-000A expired on 2026-03-01, 33 days over"), "{text}");
    assert!(text.contains("risk owner Dana Ops <dana@example.com>"), "{text}");
    assert!(text.lines().last().unwrap().starts_with("exc check: 3 record(s) as of 2026-04-03: 0 error(s)"), "{text}");
    let soon = stdout(&repo.exc(&["check", "--as-of", "2026-02-20", "--warn-within", "10"]).success());
    assert!(soon.contains("warning[expiring-soon]: EXC-000A expires on 2026-03-01 (in 9 days)"), "{soon}");
}

#[test]
fn formats_parse_back_and_match_their_schemas() {
    let repo = gate_fixture();
    let run = |format: &str| {
        let out = repo
            .cmd()
            .args(["check", "--as-of", "2026-03-02", "--fail-on-expired", "--format", format])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{format}");
        String::from_utf8(out.stdout).unwrap()
    };
    let schema = |file: &str| -> Value {
        let dir = if file.starts_with("findings") { "schema" } else { "tests/schemas" };
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir).join(file);
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    };

    let json: Value = serde_json::from_str(&run("json")).unwrap();
    let v = jsonschema::validator_for(&schema("findings.schema.json")).unwrap();
    assert!(v.is_valid(&json), "{json}");
    assert_eq!(json["errors"], 1);
    assert_eq!(json["findings"].as_array().unwrap().iter().filter(|f| f["code"] == "expired").count(), 1);

    let sarif: Value = serde_json::from_str(&run("sarif")).unwrap();
    let v = jsonschema::validator_for(&schema("sarif-schema-2.1.0.json")).unwrap();
    let errors: Vec<String> = v.iter_errors(&sarif).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let expired: Vec<&Value> = results.iter().filter(|r| r["ruleId"] == "expired").collect();
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0]["level"], "error");
    assert_eq!(expired[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], "exceptions/EXC-000A.yaml");

    let junit = run("junit");
    let doc = roxmltree::Document::parse(&junit).unwrap();
    let cases: Vec<_> = doc.descendants().filter(|n| n.has_tag_name("testcase")).collect();
    assert_eq!(cases.len(), 3);
    let failed: Vec<&str> = cases
        .iter()
        .filter(|c| c.children().any(|n| n.has_tag_name("failure")))
        .map(|c| c.attribute("name").unwrap())
        .collect();
    assert_eq!(
        failed,
        ["exceptions/EXC-000A.yaml"],
        "test cases are named by file, stable whether the record reads or not"
    );
    assert_eq!(doc.root_element().attribute("failures"), Some("1"));

    let gh = run("github");
    let line = gh.lines().find(|l| l.starts_with("::error ")).unwrap();
    assert!(
        line.starts_with("::error file=exceptions/EXC-000A.yaml,line=9,col=1,title=exc expired::EXC-000A expired"),
        "{line}"
    );
    assert!(gh.lines().last().unwrap().starts_with("exc check:"));
}

#[test]
fn check_needs_no_history() {
    let repo = gate_fixture();
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "registry"]);
    let shallow = tempfile::TempDir::new().unwrap();
    let url = format!("file://{}", repo.path().display());
    assert!(
        std::process::Command::new("git")
            .args(["clone", "-q", "--depth", "1", &url, shallow.path().to_str().unwrap()])
            .status()
            .unwrap()
            .success()
    );
    let plain = tempfile::TempDir::new().unwrap();
    std::fs::copy(repo.path().join("exc.yaml"), plain.path().join("exc.yaml")).unwrap();
    std::fs::create_dir(plain.path().join("exceptions")).unwrap();
    for f in repo.records() {
        std::fs::copy(repo.path().join("exceptions").join(&f), plain.path().join("exceptions").join(&f)).unwrap();
    }
    for dir in [shallow.path(), plain.path()] {
        let out =
            repo.cmd().current_dir(dir).args(["check", "--as-of", "2026-03-02", "--fail-on-expired"]).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{}: {text}{}", dir.display(), String::from_utf8_lossy(&out.stderr));
        assert!(text.contains("error[expired]: EXC-000A"), "{text}");
        assert_eq!(text.matches("error[").count(), 1, "{text}");
    }
}

#[test]
fn diff_shows_what_a_branch_adds_extends_and_retires() {
    let repo = Repo::init();
    repo.write("exc.yaml", POLICY);
    for id in ["EXC-000X", "EXC-000Y", "EXC-000Z"] {
        new(&repo, id, "other", "2026-01-01", "2026-03-01", &[]);
        approve(&repo, id, "2026-01-02");
    }
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "base"]);
    repo.git(&["switch", "-q", "-c", "feature"]);
    new(&repo, "EXC-000W", "vendor-access", "2026-01-10", "2026-01-20", &[]);
    let y = repo.read("exceptions/EXC-000Y.yaml");
    repo.write("exceptions/EXC-000Y.yaml", y.replacen("expires: \"2026-03-01\"", "expires: \"2026-09-01\"", 1));
    repo.exc(&["retire", "EXC-000Z", "--reason", "Fixed upstream", "--by", DANA, "--as-of", "2026-01-15"]).success();
    // A justification longer than a terminal line: the pull-request comment carries it whole.
    let long = format!("The vendor portal needs {} and then it ends", "a long explanation ".repeat(12));
    let w = repo.read("exceptions/EXC-000W.yaml");
    let w: String = w
        .lines()
        .map(|l| if l.starts_with("justification:") { format!("justification: {long}\n") } else { format!("{l}\n") })
        .collect();
    repo.write("exceptions/EXC-000W.yaml", w);
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "feature"]);

    let out = repo.cmd().args(["diff", "--format", "json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "the extension breaks the policy");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let entries = v["entries"].as_array().unwrap();
    let kinds: Vec<(&str, &str)> =
        entries.iter().map(|e| (e["kind"].as_str().unwrap(), e["id"].as_str().unwrap())).collect();
    assert_eq!(kinds, [("added", "EXC-000W"), ("changed", "EXC-000Y"), ("closed", "EXC-000Z")]);
    assert_eq!(entries[0]["awaiting"][0], "security");
    let y = &entries[1];
    assert!(
        y["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["field"] == "expires" && c["before"] == "2026-03-01" && c["after"] == "2026-09-01")
    );
    let codes: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["path"] == y["file"])
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"expiry-over-cap") && codes.contains(&"changed-after-approval"), "{codes:?}");
    assert_eq!(y["awaiting"][0], "security", "the extension needs approving again");
    assert!(
        entries[2]["changes"].as_array().unwrap().iter().any(|c| c["field"] == "status" && c["after"] == "retired")
    );

    let md = stdout(&repo.exc(&["diff", "--format", "markdown"]).code(1));
    assert!(md.contains("| added | `EXC-000W` |") && md.contains("| closed | `EXC-000Z` |"), "{md}");
    assert!(md.contains("**2 violation(s)**") || md.contains("violation(s)**"), "{md}");
    assert!(md.contains(&format!("- `justification`: + `{long}`")), "{md}");
    let text = stdout(&repo.exc(&["diff", "--base", "main"]).code(1));
    assert!(text.contains("expires: 2026-03-01 → 2026-09-01"), "{text}");
    assert!(text.contains("justification: + The vendor portal needs a long") && text.contains("…"), "{text}");
    repo.exc(&["diff", "--base", "no-such-branch"]).code(2);
}

#[test]
fn remind_groups_by_who_acts_and_applies_the_lifetime_rule_on_its_boundary() {
    let repo = Repo::init();
    repo.write("exc.yaml", POLICY);
    // 100-day lifetime: 75 % is reached on day 75, 2026-03-17.
    new(&repo, "EXC-0LIF", "firewall-rule", "2026-01-01", "2026-04-11", &[]);
    approve(&repo, "EXC-0LIF", "2026-01-01");
    new(&repo, "EXC-0PEN", "other", "2026-03-10", "2026-05-01", &[]);
    new(&repo, "EXC-0HIG", "mfa-bypass", "2026-03-10", "2026-05-01", &["--attachment", "evidence/x.pdf"]);
    approve(&repo, "EXC-0HIG", "2026-03-11");
    let groups = |as_of: &str| -> Value {
        let out = repo.exc(&["remind", "--as-of", as_of, "--format", "json"]).success();
        serde_json::from_str::<Value>(&stdout(&out)).unwrap()["groups"].clone()
    };
    let reasons = |g: &Value, to: &str| -> Vec<String> {
        g.as_array()
            .unwrap()
            .iter()
            .filter(|x| x["to"] == to)
            .flat_map(|x| {
                x["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|i| format!("{} {}", i["id"].as_str().unwrap(), i["reason"].as_str().unwrap()))
            })
            .collect()
    };
    let day74 = groups("2026-03-16");
    assert_eq!(reasons(&day74, DANA), ["EXC-0HIG pending-approval"]);
    assert_eq!(reasons(&day74, "security"), ["EXC-0PEN pending-approval"]);
    let day75 = groups("2026-03-17");
    assert_eq!(reasons(&day75, DANA), ["EXC-0HIG pending-approval", "EXC-0LIF lifetime"]);
    let sec = day75.as_array().unwrap().iter().find(|g| g["to"] == "security").unwrap();
    assert_eq!(sec["as"], "role");
    assert_eq!(sec["emails"][0], "sam@example.com");
    let md = stdout(&repo.exc(&["remind", "--as-of", "2026-03-17", "--format", "markdown"]).success());
    assert!(md.contains("### `Dana Ops <dana@example.com>`") && md.contains("75% of its lifetime"), "{md}");
}
