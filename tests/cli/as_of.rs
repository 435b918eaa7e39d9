//! One meaning of "as of D": 00:00 UTC of D, when only the records created by
//! then exist and only the decisions made by then were made. Each command
//! that evaluates a date, asked about a day before a request was approved,
//! sees it still awaiting approval; and a signed record keeps its earlier
//! decisions verifiable when the later ones are left out.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::harness::{Repo, as_person};

const POLICY: &str = "\
roles:
  security: [sam@example.com, priya@example.com]
trust: { signatures: off }
";

const SAM: &str = "Sam Okafor <sam@example.com>";
const ANN: &str = "Ann Lee <ann@example.com>";
const DANA: &str = "Dana Ops <dana@example.com>";

/// The day asked about: the request was filed on 2027-01-04 and approved on
/// 2027-01-20, so on 2027-01-15 it had waited 11 days for a decision.
const BEFORE: &str = "2027-01-15";
const AFTER: &str = "2027-01-21";

/// Runs exc as `who` with the clock at `clock` (an RFC 3339 instant or a date).
fn at(repo: &Repo, clock: &str, who: &str, args: &[&str]) -> std::process::Output {
    let mut c = repo.cmd();
    c.args(args).env("EXC_TEST_CLOCK", clock);
    as_person(&mut c, who);
    c.output().unwrap()
}

fn ok(out: std::process::Output) -> std::process::Output {
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    out
}

fn json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stdout)))
}

/// A command run after everything happened (the clock on 2027-02-01), as of `as_of`.
fn asked(repo: &Repo, as_of: &str, args: &[&str]) -> std::process::Output {
    let mut a = args.to_vec();
    a.extend(["--as-of", as_of]);
    at(repo, "2027-02-01", ANN, &a)
}

/// Commits everything, dated `clock`.
fn commit(repo: &Repo, clock: &str, message: &str) {
    for args in [&["add", "-A"][..], &["commit", "-qm", message][..]] {
        let out = Command::new("git")
            .args(args)
            .current_dir(repo.path())
            .env("HOME", repo.home.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_DATE", clock)
            .env("GIT_COMMITTER_DATE", clock)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
}

/// A vulnerability deferral filed on 2027-01-04 and approved on 2027-01-20,
/// each step committed on its day.
fn approved_after_the_date() -> Repo {
    let repo = Repo::init();
    repo.write("exc.yaml", format!("{POLICY}exports: [trivyignore]\n"));
    commit(&repo, "2027-01-01T00:00:00Z", "policy");
    ok(at(
        &repo,
        "2027-01-04T00:00:00Z",
        ANN,
        &[
            "new",
            "--yes",
            "--id",
            "EXC-0001",
            "--type",
            "vulnerability-deferral",
            "--title",
            "Defer the OpenSSL patch",
            "--justification",
            "Vendor appliance",
            "--risk-owner",
            DANA,
            "--asset",
            "pay-01",
            "--compensating-control",
            "WAF rule",
            "--finding",
            "CVE-2027-1111",
        ],
    ));
    commit(&repo, "2027-01-04T00:00:00Z", "request");
    ok(at(&repo, "2027-01-20T00:00:00Z", SAM, &["approve", "EXC-0001"]));
    commit(&repo, "2027-01-20T00:00:00Z", "approve");
    repo
}

#[test]
fn list_shows_the_status_and_decisions_as_they_stood() {
    let repo = approved_after_the_date();
    let before = json(&ok(asked(&repo, BEFORE, &["list", "--format", "json"])));
    assert_eq!(before[0]["status"], "requested", "{before}");
    assert_eq!(before[0]["active"], false);
    assert!(before[0].get("approvals").is_none(), "a later approval is not listed: {before}");
    assert_eq!(before[0]["awaiting"], serde_json::json!(["security"]));
    let active = json(&ok(asked(&repo, BEFORE, &["list", "--status", "active", "--format", "json"])));
    assert_eq!(active, serde_json::json!([]));
    let after = json(&ok(asked(&repo, AFTER, &["list", "--format", "json"])));
    assert_eq!((after[0]["status"].as_str(), after[0]["active"].as_bool()), (Some("approved"), Some(true)));
    assert_eq!(after[0]["approvals"].as_array().unwrap().len(), 1);
}

#[test]
fn show_shows_the_record_as_it_stood() {
    let repo = approved_after_the_date();
    let before = json(&ok(asked(&repo, BEFORE, &["show", "EXC-0001", "--format", "json"])));
    assert_eq!(before["status"], "requested", "{before}");
    assert!(before.get("approvals").is_none(), "{before}");
    let text = String::from_utf8_lossy(&ok(asked(&repo, BEFORE, &["show", "EXC-0001"])).stdout).into_owned();
    assert!(text.contains("awaiting approval") && !text.contains("approved by"), "{text}");
    assert!(text.contains("1 later decision is left out"), "{text}");
    let now = String::from_utf8_lossy(&ok(at(&repo, "2027-02-01", ANN, &["show", "EXC-0001"])).stdout).into_owned();
    assert!(now.contains("approved by Sam Okafor") && !now.contains("left out"), "{now}");
}

#[test]
fn report_counts_neither_its_activity_nor_an_approval_time() {
    let repo = approved_after_the_date();
    let r = json(&ok(asked(&repo, BEFORE, &["report", "--format", "json"])));
    assert_eq!(r["active"], 0, "{r}");
    assert_eq!(r["by_status"], serde_json::json!([{"name": "requested", "count": 1}]));
    let kpi = |key: &str| r["kpis"].as_array().unwrap().iter().find(|k| k["key"] == key).unwrap()["value"].clone();
    assert!(kpi("approval_hours_avg").is_null());
    assert_eq!(kpi("sla_breaches"), 1.0, "still pending after 11 days");
    let after = json(&ok(asked(&repo, AFTER, &["report", "--format", "json"])));
    assert_eq!(after["active"], 1);
}

#[test]
fn export_neither_registers_it_as_approved_nor_suppresses_its_findings() {
    let repo = approved_after_the_date();
    let register = json(&ok(asked(&repo, BEFORE, &["export", "--format", "json"])));
    let state = &register["records"][0]["state"];
    assert_eq!((state["status"].as_str(), state["active"].as_bool()), (Some("requested"), Some(false)), "{register}");
    assert!(register["records"][0]["record"].get("approvals").is_none(), "{register}");
    let trivy =
        String::from_utf8_lossy(&ok(asked(&repo, BEFORE, &["export", "--format", "trivyignore"])).stdout).into_owned();
    assert!(!trivy.contains("CVE-2027-1111"), "{trivy}");
    let trivy =
        String::from_utf8_lossy(&ok(asked(&repo, AFTER, &["export", "--format", "trivyignore"])).stdout).into_owned();
    assert!(trivy.contains("CVE-2027-1111"), "{trivy}");
}

#[test]
fn remind_asks_for_the_approval_still_awaited() {
    let repo = approved_after_the_date();
    let r = json(&ok(asked(&repo, BEFORE, &["remind", "--format", "json"])));
    let items: Vec<&Value> =
        r["groups"].as_array().unwrap().iter().flat_map(|g| g["items"].as_array().unwrap().iter()).collect();
    assert!(items.iter().any(|i| i["id"] == "EXC-0001" && i["reason"] == "pending-approval"), "{r}");
    let after = json(&ok(asked(&repo, AFTER, &["remind", "--format", "json", "--within", "1d"])));
    assert_eq!(after["groups"], serde_json::json!([]), "{after}");
}

#[test]
fn check_gates_it_as_a_request_past_its_sla() {
    let repo = approved_after_the_date();
    let before = asked(&repo, BEFORE, &["check", "--fail-on-sla", "--format", "json"]);
    assert_eq!(before.status.code(), Some(1), "{}", String::from_utf8_lossy(&before.stdout));
    let breaches: Vec<Value> = json(&before)["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "sla-breach")
        .map(|f| f["id"].clone())
        .collect();
    assert_eq!(breaches, ["EXC-0001"]);
    ok(asked(&repo, AFTER, &["check", "--fail-on-sla"]));
    // Without --as-of the records are as they are: nothing is left out.
    ok(at(&repo, "2027-01-20T00:00:00Z", ANN, &["check", "--fail-on-sla"]));
}

#[test]
fn evidence_registers_it_as_requested() {
    let repo = approved_after_the_date();
    // (The audit finds the unsigned decisions: exit 1, the pack written.)
    let made = asked(&repo, BEFORE, &["evidence", "--out", "../pack"]);
    assert!(matches!(made.status.code(), Some(0 | 1)), "{}", String::from_utf8_lossy(&made.stderr));
    let pack = repo.path().join("../pack");
    let register: Value = serde_json::from_slice(&std::fs::read(pack.join("register.json")).unwrap()).unwrap();
    assert_eq!(register["records"][0]["state"]["status"], "requested", "{register}");
    let decisions: Value = serde_json::from_slice(&std::fs::read(pack.join("decisions.json")).unwrap()).unwrap();
    assert_eq!(decisions, serde_json::json!([]));
    let kpis: Value = serde_json::from_slice(&std::fs::read(pack.join("kpis.json")).unwrap()).unwrap();
    assert_eq!(kpis["active"], 0);
    std::fs::remove_dir_all(&pack).unwrap();
}

/// An extension made later takes its expiry back: as of a day between the
/// first expiry and the extension, the record had expired, and `expire`
/// would have closed it.
#[test]
fn expire_previews_the_expiry_a_later_extension_had_not_moved_yet() {
    let repo = Repo::init();
    repo.write("exc.yaml", POLICY);
    let new = [
        "new",
        "--yes",
        "--id",
        "EXC-0002",
        "--type",
        "other",
        "--title",
        "Firewall hole",
        "--justification",
        "Vendor",
        "--risk-owner",
        DANA,
        "--asset",
        "fw-01",
        "--compensating-control",
        "Logging",
        "--expires",
        "2027-02-01",
    ];
    ok(at(&repo, "2027-01-01T00:00:00Z", ANN, &new));
    ok(at(&repo, "2027-01-02T00:00:00Z", SAM, &["approve", "EXC-0002"]));
    let recertify = [
        "recertify",
        "EXC-0002",
        "--controls-effective",
        "yes",
        "--justification-valid",
        "yes",
        "--better-option",
        "no",
        "--expires",
        "2027-04-01",
    ];
    ok(at(&repo, "2027-02-10T00:00:00Z", SAM, &recertify));
    let then = |as_of: &str, args: &[&str]| {
        let mut a = args.to_vec();
        a.extend(["--as-of", as_of]);
        json(&ok(at(&repo, "2027-03-01", ANN, &a)))
    };
    let due = then("2027-02-05", &["expire", "--format", "json"]);
    assert_eq!(due[0]["id"], "EXC-0002", "{due}");
    assert!(due[0]["reason"].as_str().unwrap().starts_with("expired on 2027-02-01"), "{due}");
    let listed = then("2027-02-05", &["list", "--format", "json"]);
    assert_eq!((listed[0]["expires"].as_str(), listed[0]["active"].as_bool()), (Some("2027-02-01"), Some(false)));
    assert_eq!(then("2027-02-11", &["expire", "--format", "json"]), serde_json::json!([]));
    // Previewing never changes the record.
    assert!(repo.read("exceptions/EXC-0002.yaml").contains("2027-04-01"));
}

/// With signatures required: the decisions made by the date are the head of
/// the signed chain, so they verify without the later ones, and the record
/// stands approved with the expiry it had then.
#[test]
fn leaving_later_decisions_out_keeps_the_earlier_signatures_valid() {
    let repo = Repo::init();
    let keys = repo.home.path().join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    let mut signers = String::new();
    for (short, email) in [("ann", "ann@example.com"), ("sam", "sam@example.com"), ("dana", "dana@example.com")] {
        keygen(&keys.join(short));
        signers.push_str(&format!("{email} {}", std::fs::read_to_string(keys.join(format!("{short}.pub"))).unwrap()));
    }
    repo.write("keys/allowed_signers", signers);
    repo.write(
        "exc.yaml",
        "roles:\n  security: [sam@example.com]\ntrust:\n  registry: as-of-tests\n  signatures: required\n  allowed_signers: keys/allowed_signers\n",
    );
    commit(&repo, "2027-01-01T00:00:00Z", "policy");
    let key = |short: &str| keys.join(short).to_string_lossy().into_owned();
    let new = [
        "new",
        "--yes",
        "--id",
        "EXC-0003",
        "--type",
        "other",
        "--title",
        "Vendor VPN",
        "--justification",
        "Support contract",
        "--risk-owner",
        DANA,
        "--asset",
        "vpn-01",
        "--compensating-control",
        "MFA",
        "--expires",
        "2027-03-01",
        "--key",
    ];
    ok(at(&repo, "2027-01-02T00:00:00Z", ANN, &[&new[..], &[key("ann").as_str()]].concat()));
    ok(at(&repo, "2027-01-03T00:00:00Z", SAM, &["approve", "EXC-0003", "--key", &key("sam")]));
    let recertify = [
        "recertify",
        "EXC-0003",
        "--controls-effective",
        "yes",
        "--justification-valid",
        "yes",
        "--better-option",
        "no",
        "--expires",
        "2027-05-01",
        "--key",
    ];
    ok(at(&repo, "2027-02-20T00:00:00Z", SAM, &[&recertify[..], &[key("sam").as_str()]].concat()));
    ok(at(&repo, "2027-03-10T00:00:00Z", DANA, &["retire", "EXC-0003", "--reason", "Fixed", "--key", &key("dana")]));
    commit(&repo, "2027-03-10T00:00:00Z", "the record's life");

    let list = |as_of: &str| json(&ok(at(&repo, "2027-04-01", ANN, &["list", "--as-of", as_of, "--format", "json"])));
    for (as_of, status, expires, active) in [
        ("2027-01-02", "requested", "2027-03-01", false),
        ("2027-02-01", "approved", "2027-03-01", true),
        ("2027-03-01", "approved", "2027-05-01", true),
        ("2027-03-11", "retired", "2027-05-01", false),
    ] {
        let r = &list(as_of)[0];
        assert_eq!(
            (r["status"].as_str(), r["expires"].as_str(), r["active"].as_bool()),
            (Some(status), Some(expires), Some(active)),
            "as of {as_of}: {r}"
        );
    }
    // The earlier decisions' signatures verify: the export says so, and the
    // gate finds nothing wrong with them.
    let export = json(&ok(at(&repo, "2027-04-01", ANN, &["export", "--format", "json", "--as-of", "2027-02-01"])));
    assert_eq!(export["records"][0]["state"]["verified"], true, "{export}");
    let check = ok(at(&repo, "2027-04-01", ANN, &["check", "--as-of", "2027-02-01", "--format", "json"]));
    assert_eq!(json(&check)["findings"], serde_json::json!([]));
}

fn keygen(path: &Path) {
    let out = Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-C", "test", "-f"]).arg(path).output();
    assert!(out.unwrap().status.success());
}

#[test]
fn reconcile_finds_a_suppression_citing_it_ungoverned_yet() {
    let repo = approved_after_the_date();
    repo.write(".trivyignore", "CVE-2027-1111 # EXC-0001\n");
    commit(&repo, "2027-01-21T00:00:00Z", "suppress");
    let before = asked(&repo, BEFORE, &["reconcile"]);
    assert_eq!(before.status.code(), Some(1));
    let text = String::from_utf8_lossy(&before.stdout).into_owned();
    assert!(text.contains("cites no active exception (EXC-0001 is requested)"), "{text}");
    ok(asked(&repo, AFTER, &["reconcile"]));
}
