//! The approval workflow and lifecycle: routing, separation of duties, digests,
//! recertification, closing, expiry and `--commit`.

use serde_json::Value;

use crate::harness::{Repo, stderr, stdout};

const POLICY: &str = "\
roles:
  security: [sam@example.com, priya@example.com]
  ciso: [carol@example.com]
trust: { signatures: off }
";

const SAM: &str = "Sam Okafor <sam@example.com>";
const PRIYA: &str = "Priya Patel <priya@example.com>";
const CAROL: &str = "Carol Chen <carol@example.com>";
const DANA: &str = "Dana Ops <dana@example.com>";
const ANN: &str = "Ann Lee <ann@example.com>";

fn registry() -> Repo {
    let repo = Repo::init();
    repo.write("exc.yaml", POLICY);
    repo
}

/// Files a request as Ann on 2026-11-01 and returns its id.
fn file(repo: &Repo, kind: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "new",
        "--yes",
        "--format",
        "json",
        "--as-of",
        "2026-11-01",
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
    let out = repo.exc(&args).success();
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    v["id"].as_str().unwrap().to_string()
}

fn status(repo: &Repo, id: &str) -> String {
    let out = repo.exc(&["show", id, "--format", "json"]);
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    v["status"].as_str().unwrap().to_string()
}

fn act(repo: &Repo, args: &[&str], by: &str, as_of: &str) -> assert_cmd::assert::Assert {
    let mut a = args.to_vec();
    a.extend_from_slice(&["--by", by, "--as-of", as_of]);
    repo.exc(&a)
}

#[test]
fn medium_needs_one_security_approval() {
    let repo = registry();
    let id = file(&repo, "other", &[]);
    let out = act(&repo, &["approve", &id, "--note", "ok"], SAM, "2026-11-02").success();
    assert!(stdout(&out).contains("every required role has approved"), "{}", stdout(&out));
    assert_eq!(status(&repo, &id), "approved");
    let text = repo.read(&format!("exceptions/{id}.yaml"));
    assert!(
        text.contains("risk: medium") && text.contains("role: security") && text.contains("digest: sha256:"),
        "{text}"
    );
    repo.exc(&["validate"]).success();
}

#[test]
fn refusals_say_why() {
    let repo = registry();
    let id = file(&repo, "mfa-bypass", &[]);
    let own = act(&repo, &["approve", &id], ANN, "2026-11-02").code(2);
    assert!(stderr(&own).contains("never approves their own"), "{}", stderr(&own));
    let outsider = act(&repo, &["approve", &id], "Eve <eve@example.com>", "2026-11-02").code(2);
    assert!(stderr(&outsider).contains("holds none of the roles"), "{}", stderr(&outsider));
    let wrong_role = act(&repo, &["approve", &id, "--role", "ciso"], CAROL, "2026-11-02").code(2);
    assert!(stderr(&wrong_role).contains("`ciso` is not one of them"), "{}", stderr(&wrong_role));
    let no_evidence = act(&repo, &["approve", &id], SAM, "2026-11-02").code(2);
    assert!(stderr(&no_evidence).contains("needs attachments before approval"), "{}", stderr(&no_evidence));
    let lacks = act(&repo, &["approve", &id, "--role", "security"], DANA, "2026-11-02").code(2);
    assert!(stderr(&lacks).contains("does not hold the role `security`"), "{}", stderr(&lacks));
    assert_eq!(status(&repo, &id), "requested");
    assert!(!repo.read(&format!("exceptions/{id}.yaml")).contains("approvals:"), "a refusal wrote the file");
}

#[test]
fn high_needs_security_and_the_risk_owner_once_each() {
    let repo = registry();
    let id = file(&repo, "mfa-bypass", &["--attachment", "evidence/vendor-letter.pdf"]);
    act(&repo, &["approve", &id], SAM, "2026-11-02").success();
    assert_eq!(status(&repo, &id), "requested");
    let again = act(&repo, &["approve", &id, "--role", "security"], PRIYA, "2026-11-02").code(2);
    assert!(stderr(&again).contains("has already approved"), "{}", stderr(&again));
    let out = act(&repo, &["approve", &id], DANA, "2026-11-03").success();
    assert!(stdout(&out).contains("as risk_owner"), "{}", stdout(&out));
    assert_eq!(status(&repo, &id), "approved");
    let done = act(&repo, &["approve", &id], PRIYA, "2026-11-03").code(2);
    assert!(stderr(&done).contains("is approved; only requested"), "{}", stderr(&done));
}

#[test]
fn critical_also_needs_the_ciso_and_types_can_raise_the_tier() {
    let repo = registry();
    let id = file(&repo, "other", &["--attachment", "https://wiki.example.com/e"]);
    act(&repo, &["approve", &id, "--risk", "critical"], SAM, "2026-11-02").success();
    act(&repo, &["approve", &id], DANA, "2026-11-02").success();
    let out = stdout(&repo.exc(&["show", &id]).success());
    assert!(out.contains("awaiting approval      ciso"), "{out}");
    act(&repo, &["approve", &id], CAROL, "2026-11-03").success();
    assert_eq!(status(&repo, &id), "approved");

    repo.write("exc.yaml", format!("{POLICY}types:\n  other: {{ title: Other, max_days: 90, min_risk: high }}\n"));
    let low = file(&repo, "other", &[]);
    let refused = act(&repo, &["approve", &low, "--risk", "medium"], SAM, "2026-11-02").code(2);
    assert!(stderr(&refused).contains("at least high risk"), "{}", stderr(&refused));
}

#[test]
fn editing_an_approved_request_voids_the_approval_until_approved_again() {
    let repo = registry();
    let id = file(&repo, "other", &[]);
    act(&repo, &["approve", &id], SAM, "2026-11-02").success();
    let path = format!("exceptions/{id}.yaml");
    let text = repo.read(&path);
    repo.write(&path, text.replacen("expires: \"2027-01-30\"", "expires: \"2027-01-29\"", 1));
    let out = stdout(&repo.exc(&["validate"]).code(1));
    assert!(out.contains("changed-after-approval") && out.contains("`security` by Sam Okafor"), "{out}");
    assert!(out.contains("approvals-missing"), "{out}");
    act(&repo, &["approve", &id], PRIYA, "2026-11-03").success();
    repo.exc(&["validate"]).success();
}

#[test]
fn reject_retire_and_revoke_close_with_a_reason() {
    let repo = registry();
    let a = file(&repo, "other", &[]);
    let own = act(&repo, &["reject", &a, "--reason", "no"], ANN, "2026-11-02").code(2);
    assert!(stderr(&own).contains("cannot decide on their own"), "{}", stderr(&own));
    act(&repo, &["reject", &a, "--reason", "Patch instead"], SAM, "2026-11-02").success();
    assert_eq!(status(&repo, &a), "rejected");
    assert!(repo.read(&format!("exceptions/{a}.yaml")).contains("reason: Patch instead"));

    let b = file(&repo, "other", &[]);
    act(&repo, &["approve", &b], SAM, "2026-11-02").success();
    let not_allowed = act(&repo, &["revoke", &b, "--reason", "x"], "Eve <eve@example.com>", "2026-11-05").code(2);
    assert!(stderr(&not_allowed).contains("may not revoke"), "{}", stderr(&not_allowed));
    act(&repo, &["revoke", &b, "--reason", "Control failed"], PRIYA, "2026-11-05").success();
    assert_eq!(status(&repo, &b), "revoked");
    let again = act(&repo, &["retire", &b, "--reason", "x"], ANN, "2026-11-06").code(2);
    assert!(stderr(&again).contains("is revoked"), "{}", stderr(&again));

    let c = file(&repo, "other", &[]);
    act(&repo, &["approve", &c], SAM, "2026-11-02").success();
    act(&repo, &["retire", &c, "--reason", "Fixed upstream"], ANN, "2026-11-10").success();
    assert_eq!(status(&repo, &c), "retired");
    repo.exc(&["validate"]).success();
    assert_eq!(repo.records().len(), 3, "no command deletes a record");
}

#[test]
fn recertify_extends_within_the_cap_and_the_third_extension_is_chronic() {
    let repo = registry();
    let id = file(&repo, "other", &[]);
    act(&repo, &["approve", &id], SAM, "2026-11-02").success();
    let check = ["--controls-effective", "yes", "--justification-valid", "yes", "--better-option", "no"];
    let mut over = vec!["recertify", id.as_str()];
    over.extend_from_slice(&check);
    over.extend_from_slice(&["--expires", "2027-06-01"]);
    let refused = act(&repo, &over, DANA, "2027-01-20").code(2);
    assert!(stderr(&refused).contains("allows at most 90 days from today: until 2027-04-20"), "{}", stderr(&refused));
    let own: Vec<&str> = [&["recertify", id.as_str()][..], &check[..]].concat();
    act(&repo, &own, ANN, "2027-01-20").code(2);
    let missing = act(&repo, &["recertify", &id], DANA, "2027-01-20").code(2);
    assert!(stderr(&missing).contains("answer"), "{}", stderr(&missing));

    // A review keeps the date unless it says otherwise; the risk owner alone may keep it.
    let kept = act(&repo, &own, DANA, "2027-01-15").success();
    assert!(stdout(&kept).contains("the date kept"), "{}", stdout(&kept));
    // Security, who approved it, extends it (to the type's cap by default).
    let extend: Vec<&str> = [&own[..], &["--decision", "extend"]].concat();
    for (n, day) in ["2027-01-20", "2027-04-10", "2027-07-01"].iter().enumerate() {
        let out = act(&repo, &extend, SAM, day).success();
        assert_eq!(stdout(&out).contains("chronic"), n == 2, "extension {}: {}", n + 1, stdout(&out));
    }
    let v: Value = serde_json::from_str(&stdout(&repo.exc(&["show", &id, "--format", "json"]).success())).unwrap();
    assert_eq!(v["expires"], "2027-09-29");
    assert_eq!(v["reviews"].as_array().unwrap().len(), 4);
    repo.exc(&["validate"]).success();

    let ineffective: Vec<&str> =
        vec!["recertify", &id, "--controls-effective", "no", "--justification-valid", "yes", "--better-option", "no"];
    let no_extend = act(&repo, &[&ineffective[..], &["--decision", "extend"]].concat(), SAM, "2027-08-01").code(2);
    assert!(stderr(&no_extend).contains("revoke it instead"), "{}", stderr(&no_extend));
    act(&repo, &[&ineffective[..], &["--note", "EDR gap now uncovered"]].concat(), SAM, "2027-08-01").success();
    assert_eq!(status(&repo, &id), "revoked");
}

#[test]
fn expire_lists_then_closes_what_lapsed_or_missed_review() {
    let repo = registry();
    let lapsed = file(&repo, "other", &["--expires", "2026-11-20"]);
    let review = file(&repo, "firewall-rule", &[]);
    let short = file(&repo, "other", &["--expires", "2027-01-20"]);
    for id in [&lapsed, &review, &short] {
        act(&repo, &["approve", id], SAM, "2026-11-02").success();
    }
    let list = stdout(&repo.exc(&["expire", "--as-of", "2026-12-01", "--format", "json"]).success());
    let due: Value = serde_json::from_str(&list).unwrap();
    assert_eq!(due.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(due[0]["id"], lapsed.as_str());
    assert_eq!(status(&repo, &lapsed), "approved", "listing must not change anything");
    // Review due 2027-01-31 (approval + 90 days), grace 14 days: closes after 2027-02-14.
    let on_edge = stdout(&repo.exc(&["expire", "--as-of", "2027-02-14", "--format", "json"]).success());
    assert!(!on_edge.contains(&review), "{on_edge}");
    // Closing happens today: --as-of another day only previews.
    let ahead = repo
        .cmd()
        .env("EXC_TEST_CLOCK", "2027-02-15T02:00:00Z")
        .args(["expire", "--apply", "--as-of", "2027-03-01"])
        .output()
        .unwrap();
    assert_eq!(ahead.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&ahead.stderr).contains("--as-of 2027-03-01 only previews"));
    assert_eq!(status(&repo, &lapsed), "approved");
    let out = stdout(&repo.exc(&["expire", "--apply", "--as-of", "2027-02-15"]).success());
    assert!(out.contains(&lapsed) && out.contains(&review) && out.contains("review was due 2027-01-31"), "{out}");
    assert_eq!(status(&repo, &lapsed), "expired");
    assert_eq!(status(&repo, &review), "expired");
    assert_eq!(status(&repo, &short), "expired", "it expired on 2027-01-20");
    repo.exc(&["validate"]).success();
}

#[test]
fn commit_commits_only_the_record_with_trailers() {
    let repo = registry();
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "init"]);
    let id = file(&repo, "other", &[]);
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "request"]);
    repo.write("unrelated.txt", "x");
    repo.git(&["add", "unrelated.txt"]);
    let refused = act(&repo, &["approve", &id, "--commit"], SAM, "2026-11-02").code(2);
    assert!(stderr(&refused).contains("other changes are staged (unrelated.txt)"), "{}", stderr(&refused));
    repo.git(&["reset", "-q", "unrelated.txt"]);
    repo.git(&["checkout", "-q", "--", "."]);
    let out = act(&repo, &["approve", &id, "--commit"], SAM, "2026-11-02").success();
    assert!(stdout(&out).contains("Committed"), "{}", stdout(&out));
    let log = std::process::Command::new("git")
        .args(["log", "-1", "--format=%s%n%b", "--name-only"])
        .current_dir(repo.path())
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&log.stdout);
    assert!(log.contains(&format!("exc: approve {id} (security)")), "{log}");
    assert!(log.contains(&format!("Exc-Id: {id}")) && log.contains("Exc-Action: approve"), "{log}");
    assert!(log.contains(&format!("exceptions/{id}.yaml")) && !log.contains("unrelated.txt"), "{log}");
}

#[test]
fn commit_outside_git_is_a_clear_error() {
    let dir = tempfile::TempDir::new().unwrap();
    let repo = Repo { dir, home: tempfile::TempDir::new().unwrap(), clock: Default::default() };
    repo.exc(&["init"]).success();
    repo.write("exc.yaml", POLICY);
    let id = file(&repo, "other", &["--requester", ANN]);
    let out = act(&repo, &["approve", &id, "--commit"], SAM, "2026-11-02").code(2);
    assert!(stderr(&out).contains("needs a git work tree"), "{}", stderr(&out));
}

/// The last commit's subject, body and files.
fn last_commit(repo: &Repo) -> String {
    let log = std::process::Command::new("git")
        .args(["log", "-1", "--format=%s%n%b", "--name-only"])
        .current_dir(repo.path())
        .output()
        .unwrap();
    String::from_utf8_lossy(&log.stdout).into_owned()
}

#[test]
fn new_commit_commits_only_the_new_record_with_trailers() {
    let repo = registry();
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "init"]);
    repo.write("unrelated.txt", "x");
    let id = file(&repo, "other", &["--commit"]);
    let log = last_commit(&repo);
    assert!(log.starts_with(&format!("exc: request {id}\n")), "{log}");
    assert!(log.contains(&format!("Exc-Id: {id}")) && log.contains("Exc-Action: request"), "{log}");
    let files: Vec<&str> = log.lines().filter(|l| l.contains('.')).collect();
    assert_eq!(files, [format!("exceptions/{id}.yaml")], "{log}");

    // Something else staged: refused, and nothing written.
    repo.git(&["add", "unrelated.txt"]);
    let args = ["new", "--yes", "--commit", "--type", "other", "--title", "t", "--justification", "j"];
    let out = repo.exc(&[&args[..], &["--risk-owner", DANA, "--asset", "a", "--as-of", "2026-11-01"]].concat()).code(2);
    assert!(stderr(&out).contains("other changes are staged (unrelated.txt)"), "{}", stderr(&out));
    assert_eq!(repo.records().len(), 1);
}

#[test]
fn new_commits_when_the_policy_says_so() {
    let repo = registry();
    repo.write("exc.yaml", format!("{POLICY}git: {{ commit: true }}\n"));
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "init"]);
    let id = file(&repo, "other", &[]);
    let log = last_commit(&repo);
    assert!(log.contains(&format!("Exc-Id: {id}")) && log.contains("Exc-Action: request"), "{log}");
    assert!(log.contains(&format!("exceptions/{id}.yaml")), "{log}");
}
