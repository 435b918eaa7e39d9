//! The Definitions (docs/definitions.md), end to end: each class of disagreement found
//! between `report`, `remind`, `check` and the definitions, on a registry
//! made with the real binary, and the three commands agreeing on the SLA.

use std::collections::BTreeSet;

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

fn registry(policy: &str) -> Repo {
    let repo = Repo::init();
    repo.write("exc.yaml", policy);
    repo
}

/// Runs exc as `who` with the clock at `clock` (an RFC 3339 instant or a date).
fn at(repo: &Repo, clock: &str, who: &str, args: &[&str]) -> std::process::Output {
    let mut c = repo.cmd();
    c.args(args).env("EXC_TEST_CLOCK", clock);
    as_person(&mut c, who);
    c.output().unwrap()
}

/// Files a request at the instant `clock`.
fn request(repo: &Repo, id: &str, kind: &str, clock: &str, extra: &[&str]) {
    let mut args = vec![
        "new",
        "--yes",
        "--id",
        id,
        "--type",
        kind,
        "--title",
        "A request",
        "--justification",
        "Needed",
        "--risk-owner",
        DANA,
        "--asset",
        "host-01",
        "--compensating-control",
        "A control",
    ];
    args.extend_from_slice(extra);
    let out = at(repo, clock, ANN, &args);
    assert!(out.status.success(), "new {id}: {}", String::from_utf8_lossy(&out.stderr));
}

fn approve(repo: &Repo, id: &str, clock: &str, who: &str) {
    let out = at(repo, clock, who, &["approve", id]);
    assert!(out.status.success(), "approve {id}: {}", String::from_utf8_lossy(&out.stderr));
}

fn json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stdout)))
}

/// `report --format json` as of `as_of`: the KPIs by key.
fn kpis(repo: &Repo, as_of: &str) -> (Value, Value) {
    let r = json(&at(repo, as_of, ANN, &["report", "--as-of", as_of, "--format", "json"]));
    let mut k = serde_json::Map::new();
    for kpi in r["kpis"].as_array().unwrap() {
        k.insert(kpi["key"].as_str().unwrap().to_string(), kpi.clone());
    }
    (r, Value::Object(k))
}

/// Class 1: a request created after the date asked about does not exist yet.
#[test]
fn records_created_after_the_date_do_not_exist_yet() {
    let repo = registry(POLICY);
    request(&repo, "EXC-0001", "other", "2027-03-10", &[]);
    let remind = json(&at(&repo, "2027-03-10", ANN, &["remind", "--as-of", "2027-03-01", "--format", "json"]));
    assert_eq!(remind["groups"], serde_json::json!([]), "{remind}");
    let (r, _) = kpis(&repo, "2027-03-01");
    assert_eq!(r["records"], 0);
    let list = json(&at(&repo, "2027-03-10", ANN, &["list", "--as-of", "2027-03-01", "--format", "json"]));
    assert_eq!(list, serde_json::json!([]));
    let check = at(&repo, "2027-03-10", ANN, &["check", "--as-of", "2027-03-01", "--fail-on-sla"]);
    assert_eq!(check.status.code(), Some(0), "{}", String::from_utf8_lossy(&check.stdout));
    // On the day it was filed (00:00 UTC) it did not exist yet either; the next day it does.
    let (r, _) = kpis(&repo, "2027-03-11");
    assert_eq!(r["records"], 1);
}

/// Class 2: the median of 24 h and 48 h is 36 h.
#[test]
fn the_median_is_the_usual_median() {
    let repo = registry(POLICY);
    request(&repo, "EXC-0001", "other", "2027-01-01T00:00:00Z", &[]);
    request(&repo, "EXC-0002", "other", "2027-01-01T00:00:00Z", &[]);
    approve(&repo, "EXC-0001", "2027-01-02T00:00:00Z", SAM);
    approve(&repo, "EXC-0002", "2027-01-03T00:00:00Z", SAM);
    let (_, k) = kpis(&repo, "2027-02-01");
    assert_eq!(k["approval_hours_median"]["value"], 36.0);
    assert_eq!(k["approval_hours_avg"]["value"], 36.0);
    assert_eq!(k["approval_hours_p90"]["value"], 48.0);
}

/// Class 3: a request withdrawn after a partial approval was never approved;
/// for the SLA it waited until it was withdrawn.
#[test]
fn a_withdrawn_request_has_no_approval_time() {
    let repo = registry(POLICY);
    let evidence = ["--attachment", "evidence/x.pdf"];
    request(&repo, "EXC-0001", "mfa-bypass", "2027-02-01T00:00:00Z", &evidence);
    request(&repo, "EXC-0002", "mfa-bypass", "2027-02-01T00:00:00Z", &evidence);
    approve(&repo, "EXC-0001", "2027-02-09T00:00:00Z", SAM);
    approve(&repo, "EXC-0002", "2027-02-02T00:00:00Z", SAM);
    for (id, day) in [("EXC-0001", "2027-02-10T00:00:00Z"), ("EXC-0002", "2027-02-03T00:00:00Z")] {
        let out = at(&repo, day, ANN, &["retire", id, "--reason", "Not needed after all"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let (_, k) = kpis(&repo, "2027-03-01");
    assert!(k["approval_hours_avg"]["value"].is_null(), "{}", k["approval_hours_avg"]);
    // EXC-0001 waited 9 days (a breach), EXC-0002 2 days (none): the partial approval does not matter.
    assert_eq!(k["sla_breaches"]["value"], 1.0);
}

/// Class 4: a re-approval after an edit is not the approval time; it is
/// counted apart, timed from the edit (the commit that made it).
#[test]
fn a_reapproval_after_an_edit_is_counted_apart() {
    let repo = registry(POLICY);
    let commit = |clock: &str, message: &str| {
        for args in [&["add", "-A"][..], &["commit", "-qm", message][..]] {
            let out = std::process::Command::new("git")
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
    };
    request(&repo, "EXC-0001", "other", "2027-01-10T00:00:00Z", &[]);
    commit("2027-01-10T00:00:00Z", "request");
    approve(&repo, "EXC-0001", "2027-01-11T00:00:00Z", SAM);
    commit("2027-01-11T00:00:00Z", "approve");
    let text = repo.read("exceptions/EXC-0001.yaml").replace("justification: Needed", "justification: Needed more");
    repo.write("exceptions/EXC-0001.yaml", text);
    commit("2027-01-20T00:00:00Z", "edit the justification");
    approve(&repo, "EXC-0001", "2027-01-30T00:00:00Z", SAM);
    commit("2027-01-30T00:00:00Z", "approve again");
    let (_, k) = kpis(&repo, "2027-02-01");
    assert_eq!(k["approval_hours_avg"]["value"], 24.0);
    assert_eq!(k["sla_breaches"]["value"], 0.0);
    assert_eq!(k["reapprovals"]["value"], 1.0);
    assert_eq!(k["reapproval_hours_median"]["value"], 240.0, "from the edit on 01-20 to 01-30");
}

/// Class 5: times are exact to the second.
#[test]
fn times_are_exact_to_the_second() {
    let repo = registry(POLICY);
    request(&repo, "EXC-0001", "other", "2027-01-01T00:00:30Z", &[]);
    approve(&repo, "EXC-0001", "2027-01-01T01:00:00Z", SAM);
    let (_, k) = kpis(&repo, "2027-02-01");
    let hours = k["approval_hours_avg"]["value"].as_f64().unwrap();
    assert!((hours - 3570.0 / 3600.0).abs() < 1e-9, "{hours}");
    // An urgent request: on time at exactly 24 h, a breach one second later.
    request(&repo, "EXC-0002", "other", "2027-03-01T00:00:00Z", &["--urgency", "urgent"]);
    for (clock, code) in [("2027-03-02T00:00:00Z", 0), ("2027-03-02T00:00:01Z", 1)] {
        let out = at(&repo, clock, ANN, &["check", "--fail-on-sla"]);
        assert_eq!(out.status.code(), Some(code), "{clock}: {}", String::from_utf8_lossy(&out.stdout));
    }
}

/// Class 6: an urgent request 24.5 h old: all three say it breaches.
#[test]
fn remind_check_and_report_agree_on_half_hours() {
    let repo = registry(POLICY);
    request(&repo, "EXC-0001", "other", "2027-02-27T23:30:00Z", &["--urgency", "urgent"]);
    let (_, k) = kpis(&repo, "2027-03-01");
    assert_eq!(k["sla_breaches"]["value"], 1.0);
    let remind = json(&at(&repo, "2027-03-01", ANN, &["remind", "--as-of", "2027-03-01", "--format", "json"]));
    let message = remind["groups"][0]["items"][0]["message"].as_str().unwrap();
    assert_eq!(message, "awaiting your approval as security for 24.5 h (0.5 h over the 24 h SLA)");
    let check = at(&repo, "2027-03-01", ANN, &["check", "--as-of", "2027-03-01", "--fail-on-sla"]);
    assert_eq!(check.status.code(), Some(1));
}

/// Class 7: with `remind_at_lifetime: 0.55`, a 100-day exception gets its
/// lifetime reminder on day 55 (0.55 × 100 is 55.000000000000007 in floats).
#[test]
fn the_lifetime_share_is_compared_exactly() {
    let repo = registry(&format!("{POLICY}review: {{ remind_at_lifetime: 0.55 }}\n"));
    // 100 days, from 2027-01-01 to 2027-04-11.
    request(&repo, "EXC-0001", "firewall-rule", "2027-01-01T00:00:00Z", &["--expires", "2027-04-11"]);
    approve(&repo, "EXC-0001", "2027-01-01T01:00:00Z", SAM);
    let lifetime = |as_of: &str| {
        let r = json(&at(&repo, as_of, ANN, &["remind", "--as-of", as_of, "--within", "0d", "--format", "json"]));
        r["groups"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|g| g["items"].as_array().unwrap().iter())
            .any(|i| i["reason"] == "lifetime")
    };
    assert!(!lifetime("2027-02-24"), "day 54");
    assert!(lifetime("2027-02-25"), "day 55");
}

/// Requests around every SLA boundary, pending and decided: `check`, `remind`
/// and `report` name the same pending requests as past their SLA, and the
/// report counts the late decisions besides.
#[test]
fn report_remind_and_check_agree_on_which_requests_breach_the_sla() {
    let repo = registry(POLICY);
    let as_of = "2027-03-01";
    // Pending on 2027-03-01 00:00 UTC:
    request(&repo, "EXC-000A", "other", "2027-01-01T00:00:00Z", &[]); // 59 days: breach
    request(&repo, "EXC-000B", "other", "2027-02-27T23:30:00Z", &["--urgency", "urgent"]); // 24.5 h: breach
    request(&repo, "EXC-000C", "other", "2027-02-28T00:00:00Z", &["--urgency", "urgent"]); // exactly 24 h: on time
    request(&repo, "EXC-000D", "other", "2027-02-24T00:00:00Z", &[]); // exactly 120 h: on time
    request(&repo, "EXC-000E", "other", "2027-02-23T23:59:59Z", &[]); // 120 h and 1 s: breach
    // Decided: late (a breach the report counts), and on time.
    request(&repo, "EXC-000F", "other", "2027-01-01T00:00:00Z", &[]);
    approve(&repo, "EXC-000F", "2027-01-10T00:00:00Z", SAM);
    request(&repo, "EXC-000G", "other", "2027-01-01T00:00:00Z", &[]);
    approve(&repo, "EXC-000G", "2027-01-02T00:00:00Z", SAM);

    let check = json(&at(&repo, as_of, ANN, &["check", "--as-of", as_of, "--fail-on-sla", "--format", "json"]));
    let by_check: BTreeSet<String> = check["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "sla-breach")
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect();
    let remind = json(&at(&repo, as_of, ANN, &["remind", "--as-of", as_of, "--format", "json"]));
    let by_remind: BTreeSet<String> = remind["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["items"].as_array().unwrap().iter())
        .filter(|i| i["message"].as_str().unwrap().contains(" over the "))
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect();
    let (r, k) = kpis(&repo, as_of);
    let by_report: BTreeSet<String> = r["needs_action"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["why"] == "decision overdue (SLA)")
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect();
    let pending: BTreeSet<String> = ["EXC-000A", "EXC-000B", "EXC-000E"].map(String::from).into();
    assert_eq!(by_check, pending);
    assert_eq!(by_remind, pending);
    assert_eq!(by_report, pending);
    assert_eq!(k["sla_breaches"]["value"], 4.0, "the three pending, and EXC-000F decided late");
}
