//! Git as the audit trail: `history`, `audit`, and what they catch.

use serde_json::Value;

use crate::harness::{Repo, stderr, stdout};

pub const POLICY: &str = "\
roles:
  security: [sam@example.com]
  ciso: [carol@example.com]
trust: { signatures: off }
";

pub fn be(repo: &Repo, name: &str, email: &str) {
    repo.git(&["config", "user.name", name]);
    repo.git(&["config", "user.email", email]);
}

pub fn commit_all(repo: &Repo, msg: &str) {
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", msg]);
}

/// A registry with one high-risk request filed and committed by Ann. Returns the id.
fn requested(repo: &Repo) -> String {
    repo.write("exc.yaml", POLICY);
    commit_all(repo, "policy");
    request(repo, "2026-01-05", &[])
}

/// Files an MFA bypass request on `day` (with `extra` options) and commits it. Returns the id.
pub fn request(repo: &Repo, day: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "new",
        "--yes",
        "--format",
        "json",
        "--as-of",
        day,
        "--type",
        "mfa-bypass",
        "--title",
        "MFA bypass for the legacy CRM",
        "--justification",
        "SAML unsupported",
        "--risk-owner",
        "Dana Ops <dana@example.com>",
        "--asset",
        "crm-01",
        "--compensating-control",
        "IP allow-list",
        "--attachment",
        "evidence/letter.pdf",
    ];
    args.extend(extra);
    let out = repo.exc(&args).success();
    let id = serde_json::from_str::<Value>(&stdout(&out)).unwrap()["id"].as_str().unwrap().to_string();
    commit_all(repo, &format!("exc: request {id}"));
    id
}

fn approved(repo: &Repo) -> String {
    let id = requested(repo);
    be(repo, "Sam Okafor", "sam@example.com");
    repo.exc(&["approve", &id, "--commit", "--as-of", "2026-01-06"]).success();
    be(repo, "Dana Ops", "dana@example.com");
    repo.exc(&["approve", &id, "--commit", "--as-of", "2026-01-07"]).success();
    id
}

#[test]
fn the_whole_life_of_a_high_risk_exception() {
    let repo = Repo::init();
    let id = approved(&repo);
    let check = ["--controls-effective", "yes", "--justification-valid", "yes", "--better-option", "no", "--commit"];
    // Each round, security extends the date and the risk owner approves it:
    // an extension needs every role that approved the exception.
    for (i, (day, next)) in
        [("2026-04-01", "2026-04-02"), ("2026-06-25", "2026-06-26"), ("2026-09-20", "2026-09-21")].iter().enumerate()
    {
        be(&repo, "Sam Okafor", "sam@example.com");
        let mut args = vec!["recertify", id.as_str(), "--as-of", day, "--decision", "extend"];
        args.extend_from_slice(&check);
        let out = repo.exc(&args).success();
        assert_eq!(stdout(&out).contains("chronic"), i == 2, "{}", stdout(&out));
        assert!(stdout(&out).contains("needs approving by risk_owner"), "{}", stdout(&out));
        be(&repo, "Dana Ops", "dana@example.com");
        repo.exc(&["approve", &id, "--commit", "--as-of", next]).success();
    }
    be(&repo, "CI Bot", "ci@example.com");
    let out = repo.exc(&["expire", "--apply", "--commit", "--as-of", "2027-01-01"]).success();
    assert!(stdout(&out).contains(&id), "{}", stdout(&out));

    let history = stdout(&repo.exc(&["history", &id]).success());
    assert!(history.contains("10 commit(s)"), "{history}");
    let order: Vec<&str> =
        history.lines().filter(|l| l.starts_with("20")).map(|l| l.split("  ").nth(2).unwrap()).collect();
    assert_eq!(
        order,
        ["add", "approve", "approve", "recertify", "approve", "recertify", "approve", "recertify", "approve", "expire"],
        "{history}"
    );
    assert!(history.contains("approvals: + security by Sam Okafor <sam@example.com> (approved)"), "{history}");
    assert!(history.contains("status: requested → approved"), "{history}");
    assert!(history.contains("expires: 2026-04-05 → 2026-06-30"), "{history}");
    assert!(history.contains("status: approved → expired"), "{history}");
    assert!(history.contains("Dana Ops <dana@example.com>"), "{history}");

    let json: Value =
        serde_json::from_str(&stdout(&repo.exc(&["history", &id, "--format", "json"]).success())).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 10);
    assert_eq!(json[1]["action"], "approve");
    assert_eq!(json[1]["author"], "Sam Okafor <sam@example.com>");

    let audit = repo.exc(&["audit"]).success();
    assert!(stdout(&audit).contains("the history is clean"), "{}", stdout(&audit));
    repo.exc(&["validate"]).success();
}

#[test]
fn tampering_with_an_approved_record_is_caught() {
    let repo = Repo::init();
    let id = approved(&repo);
    be(&repo, "Ann Lee", "ann@example.com");
    let path = format!("exceptions/{id}.yaml");
    let text = repo.read(&path);
    repo.write(&path, text.replacen("expires: \"2026-04-05\"", "expires: \"2026-04-30\"", 1));
    commit_all(&repo, "bump expiry");

    let validate = stdout(&repo.exc(&["validate"]).code(1));
    assert!(validate.contains("changed-after-approval") && validate.contains("changed since: expires"), "{validate}");
    let audit = repo.exc(&["audit", "--format", "json"]).code(1);
    let report: Value = serde_json::from_str(&stdout(&audit)).unwrap();
    let f = &report["findings"][0];
    assert_eq!(f["code"], "changed-after-approval");
    assert!(f["message"].as_str().unwrap().contains("expires"), "{f}");
    assert!(f["message"].as_str().unwrap().contains("by Ann Lee <ann@example.com>"), "{f}");
    let head = std::process::Command::new("git").args(["rev-parse", "HEAD"]).current_dir(repo.path()).output().unwrap();
    assert_eq!(f["commit"], String::from_utf8_lossy(&head.stdout).trim());
}

#[test]
fn a_forged_approval_names_the_commit() {
    let repo = Repo::init();
    let id = requested(&repo);
    // Ann (the requester) writes Sam's approval herself (exc refuses --by someone
    // else, so she has it written as Sam) and commits it as herself.
    repo.exc(&["approve", &id, "--by", "Sam Okafor <sam@example.com>", "--as-of", "2026-01-06"]).success();
    commit_all(&repo, "approve");
    let out = stdout(&repo.exc(&["audit"]).code(1));
    let head = std::process::Command::new("git")
        .args(["rev-parse", "--short=10", "HEAD"])
        .current_dir(repo.path())
        .output()
        .unwrap();
    let head = String::from_utf8_lossy(&head.stdout).trim().to_string();
    assert!(
        out.lines()
            .any(|l| l.contains(&format!("commit {head} by Ann Lee"))
                && l.contains("error[approval-committed-by-other]")),
        "{out}"
    );
}

#[test]
fn self_approval_role_and_lifecycle_violations_in_history() {
    let repo = Repo::init();
    let id = requested(&repo);
    let path = format!("exceptions/{id}.yaml");
    // Flip the status by hand: requested -> approved with no approval entry.
    let text = repo.read(&path);
    repo.write(&path, text.replace("status: requested", "status: approved"));
    commit_all(&repo, "approve it myself");
    let out = stdout(&repo.exc(&["audit"]).code(1));
    assert!(out.contains("lifecycle-skipped") && out.contains("requested → approved with no approval entry"), "{out}");
}

#[test]
fn deleted_records_and_renames() {
    let repo = Repo::init();
    let id = requested(&repo);
    repo.git(&["mv", &format!("exceptions/{id}.yaml"), "exceptions/EXC-0001.yaml"]);
    let text = repo.read("exceptions/EXC-0001.yaml");
    repo.write("exceptions/EXC-0001.yaml", text.replace(&id, "EXC-0001"));
    commit_all(&repo, "renumber");
    let history = stdout(&repo.exc(&["history", "EXC-0001"]).success());
    assert!(
        history.contains("2 commit(s)") && history.contains(&format!("file: {id}.yaml → EXC-0001.yaml")),
        "{history}"
    );

    repo.git(&["rm", "-q", "exceptions/EXC-0001.yaml"]);
    commit_all(&repo, "gone");
    let out = stdout(&repo.exc(&["audit"]).code(1));
    assert!(out.contains("record-deleted") && out.contains("EXC-0001.yaml was deleted"), "{out}");
}

#[test]
fn history_needs_git_and_full_history() {
    let repo = Repo::init();
    let id = approved(&repo);
    let clone = tempfile::TempDir::new().unwrap();
    let url = format!("file://{}", repo.path().display());
    let st = std::process::Command::new("git")
        .args(["clone", "-q", "--depth", "1", &url, clone.path().to_str().unwrap()])
        .status()
        .unwrap();
    assert!(st.success());
    let mut c = repo.cmd();
    c.current_dir(clone.path()).args(["audit"]);
    let out = assert_cmd::assert::OutputAssertExt::assert(&mut c).code(2);
    assert!(stderr(&out).contains("shallow clone") && stderr(&out).contains("fetch-depth: 0"), "{}", stderr(&out));
    let mut c = repo.cmd();
    c.current_dir(clone.path()).args(["validate"]);
    assert_cmd::assert::OutputAssertExt::assert(&mut c).success();

    let plain = Repo {
        dir: tempfile::TempDir::new().unwrap(),
        home: tempfile::TempDir::new().unwrap(),
        clock: Default::default(),
    };
    plain.exc(&["init"]).success();
    let out = plain.exc(&["history", &id]).code(2);
    assert!(stderr(&out).contains("not in a git repository"), "{}", stderr(&out));
    plain.exc(&["audit"]).code(2);

    let empty = Repo::init();
    let out = empty.exc(&["audit"]).success();
    assert!(stdout(&out).contains("0 commit(s)"), "{}", stdout(&out));
}
