//! Approvals you can prove: each attack a contributor with plain git could try,
//! on a real repository with real SSH keys (ssh-keygen), and the finding that
//! stops it; then the honest paths (a key held by ssh-agent, a squash merge, a
//! key rotation, a policy change the CISO approves).

use std::process::Command;

use serde_json::Value;

use crate::harness::{as_person, stdout};
use crate::team::{POLICY, REGISTRY, Team, has, typed, who};

/// The requester writes `by: policy` and a digest computed by hand on a medium
/// type, and says approved.
#[test]
fn self_approval_through_the_risk_tier() {
    let t = Team::new();
    let path = t.request("EXC-0001", "vulnerability-deferral", "2026-02-01", &["--finding", "CVE-2026-1111"]);
    let e = typed(&t.read(&path));
    let digest = exc::model::digest::digest(&e);
    let forged = t.read(&path).replace("status: requested", "status: approved")
        + &format!(
            "approvals:\n  - by: policy\n    role: policy\n    at: \"2026-02-01T00:00:00Z\"\n    decision: approved\n    risk: low\n    digest: {digest}\n    expires: \"{}\"\n",
            e.expires
        );
    t.repo.write(&path, forged);
    t.commit("ann", "2026-02-01", "approved by policy");
    let (code, codes) = t.check("2026-02-02", &["--fail-on-expired"]);
    assert_eq!(code, 1);
    assert!(has(&codes, "unauthorized-approver") && has(&codes, "approvals-missing"), "{codes:?}");
    assert!(!t.suppressed("2026-02-02").contains("CVE-2026-1111"), "a forged approval suppresses nothing");
    let list = stdout(&t.repo.exc(&["list", "--status", "approved", "--format", "json"]).success());
    assert_eq!(list.trim(), "[]", "it does not count as approved");
}

/// Ann writes an approval naming Sam and commits it under Sam's name: unsigned,
/// or signed with her own key.
#[test]
fn a_spoofed_author_cannot_approve() {
    for signed in [false, true] {
        let t = Team::new();
        let path = t.request("EXC-0001", "vulnerability-deferral", "2026-02-01", &["--finding", "CVE-2026-2222"]);
        let mut e = typed(&t.read(&path));
        e.approvals.push(exc::model::record::Approval {
            by: who("sam"),
            role: "security".into(),
            at: "2026-02-02T00:00:00Z".parse().unwrap(),
            decision: exc::model::record::Decision::Approved,
            risk: exc::model::record::Risk::Medium,
            digest: exc::model::digest::digest(&e),
            expires: e.expires,
            note: None,
            signature: None,
        });
        e.status = exc::model::record::Status::Approved;
        if signed {
            let (entry, bytes) = exc::model::statement::statements(&e, REGISTRY).pop().unwrap();
            let sig = t.sign("ann", &bytes);
            exc::model::statement::set_signature(&mut e, entry, sig);
        }
        let text = format!(
            "# yaml-language-server: $schema=../schema/exception.schema.json\n{}",
            exc::yaml::to_string(&e).unwrap()
        );
        t.repo.write(&path, text);
        t.commit("sam", "2026-02-02", "approve");
        let expected = if signed { "signature-unknown-key" } else { "signature-missing" };
        let (code, codes) = t.check("2026-02-03", &[]);
        assert_eq!(code, 1);
        assert!(has(&codes, expected) && has(&codes, "approvals-missing"), "{codes:?}");
        let (code, codes, text) = t.audit();
        assert_eq!(code, 1);
        assert!(has(&codes, expected), "{text}");
        assert!(!t.suppressed("2026-02-03").contains("CVE-2026-2222"));
    }
}

/// A branch grants its author power in exc.yaml and uses it.
#[test]
fn a_policy_that_grants_its_own_power_is_judged_by_the_base() {
    for (change, expect) in [
        ("  security: [sam.okafor@example.com, priya@example.com, ann@example.com]", "unauthorized-approver"),
        ("risk:\n  high: { approvers: [security], require: [attachments] }", "approvals-missing"),
        ("types:\n  mfa-bypass: { title: MFA bypass, default_risk: high, max_days: 3650 }", "expiry-over-cap"),
    ] {
        let t = Team::new();
        t.git_as("ann", "2026-01-02", &["switch", "-q", "-c", "feature"]);
        let policy = if change.starts_with("  security") {
            POLICY.replace("  security: [sam.okafor@example.com, priya@example.com]", change)
        } else {
            format!("{POLICY}{change}\n")
        };
        t.repo.write("exc.yaml", policy);
        t.commit("ann", "2026-01-02", "policy tweak");
        if change.starts_with("  security") {
            // Ann, now "security" on her branch, approves Dana's request.
            t.request_as(
                "dana",
                "EXC-0001",
                "vulnerability-deferral",
                "2026-01-03",
                &["--finding", "CVE-2026-5555", "--risk-owner", "Leo <leo@example.com>"],
            );
            t.exc("ann", "2026-01-04", &["approve", "EXC-0001"]).success();
        } else {
            let expires = if change.contains("3650") { "2027-06-01" } else { "2026-03-01" };
            t.request(
                "EXC-0001",
                "mfa-bypass",
                "2026-01-03",
                &["--attachment", "https://wiki.example.com/x", "--expires", expires],
            );
            t.exc("sam", "2026-01-04", &["approve", "EXC-0001", "--risk", "high"]).success();
            let _ = t.exc("dana", "2026-01-04", &["approve", "EXC-0001"]);
        }
        t.commit("sam", "2026-01-04", "approvals");
        let (code, codes) = t.check("2026-01-05", &["--base", "main"]);
        assert_eq!(code, 1, "{change}: {codes:?}");
        assert!(has(&codes, "policy-unapproved"), "{change}: {codes:?}");
        assert!(has(&codes, expect), "{change}: {codes:?}");
        let diff = stdout(&t.repo.exc(&["diff", "--base", "main"]).code(1));
        assert!(diff.contains("policy") && diff.contains("needs approval by: ciso"), "{diff}");
        let (_, codes, text) = t.audit();
        assert!(has(&codes, "policy-unapproved"), "{text}");
    }
}

/// The approver files under an alias of themselves and approves.
#[test]
fn aliases_do_not_separate_duties() {
    let t = Team::new();
    for (n, alias) in [
        (1, "Sam Okafor <\u{455}am.okafor@example.com>"),
        (2, "Sam Okafor <sam.okafor+x@example.com>"),
        (3, "S. Okafor <SAM.OKAFOR@example.com>"),
    ] {
        let id = format!("EXC-000{n}");
        let path = format!("exceptions/{id}.yaml");
        t.request(&id, "vulnerability-deferral", "2026-02-01", &["--finding", "CVE-2026-3333"]);
        t.repo.write(&path, t.read(&path).replace("Ann Lee <ann@example.com>", alias));
        t.commit("sam", "2026-02-01", "file as alias");
        let refused = t.exc("sam", "2026-02-02", &["approve", &id]).code(2);
        let err = String::from_utf8_lossy(&refused.get_output().stderr).into_owned();
        assert!(err.contains("never approves their own"), "{alias}: {err}");
    }
    // Filing in a colleague's name is refused: the requester is whoever files.
    let refused = t
        .exc(
            "sam",
            "2026-02-03",
            &[
                "new",
                "--yes",
                "--type",
                "other",
                "--title",
                "t",
                "--justification",
                "j",
                "--risk-owner",
                "Dana Ops <dana@example.com>",
                "--asset",
                "a",
                "--requester",
                "Ann Lee <ann@example.com>",
            ],
        )
        .code(2);
    assert!(String::from_utf8_lossy(&refused.get_output().stderr).contains("is not you"));
    // Naming yourself as risk owner under another mailbox is refused at `new`.
    let refused = t
        .exc(
            "ann",
            "2026-02-03",
            &[
                "new",
                "--yes",
                "--type",
                "mfa-bypass",
                "--title",
                "t",
                "--justification",
                "j",
                "--risk-owner",
                "Ann <ann+owner@example.com>",
                "--asset",
                "a",
                "--attachment",
                "https://x.example.com/e",
            ],
        )
        .code(2);
    let err = String::from_utf8_lossy(&refused.get_output().stderr).into_owned();
    assert!(err.contains("self-approval") && err.contains("both requester and risk owner"), "{err}");
}

/// One person fills two roles of a high-risk record through a hand edit.
#[test]
fn one_person_fills_one_role() {
    let t = Team::new();
    t.request("EXC-0001", "mfa-bypass", "2026-02-01", &["--attachment", "https://wiki.example.com/x"]);
    let path = "exceptions/EXC-0001.yaml";
    // Sam is also named risk owner, then approves as security and as risk owner.
    t.repo.write(
        path,
        t.read(path).replace("risk_owner: Dana Ops <dana@example.com>", "risk_owner: Sam O. <sam.okafor@example.com>"),
    );
    t.exc("sam", "2026-02-02", &["approve", "EXC-0001", "--role", "security"]).success();
    let twice = t.exc("sam", "2026-02-02", &["approve", "EXC-0001", "--role", "risk_owner"]).code(2);
    assert!(String::from_utf8_lossy(&twice.get_output().stderr).contains("each role needs a different person"));
    // By hand: a second approval entry, signed by Sam as risk owner.
    let mut e = typed(&t.read(path));
    let mut second = e.approvals[0].clone();
    second.role = "risk_owner".into();
    second.signature = None;
    e.approvals.push(second);
    e.status = exc::model::record::Status::Approved;
    let (entry, bytes) = exc::model::statement::statements(&e, REGISTRY).pop().unwrap();
    exc::model::statement::set_signature(&mut e, entry, t.sign("sam", &bytes));
    t.repo.write(path, format!("# x\n{}", exc::yaml::to_string(&e).unwrap()));
    let (code, codes) = t.check("2026-02-03", &[]);
    assert_eq!(code, 1);
    assert!(has(&codes, "duplicate-role") && has(&codes, "approvals-missing"), "{codes:?}");
}

/// After security approves, the risk owner rewrites the request and extends it.
#[test]
fn an_extension_cannot_carry_a_rewritten_request() {
    let t = Team::new();
    let path = t.request(
        "EXC-0001",
        "vulnerability-deferral",
        "2026-02-01",
        &["--finding", "CVE-2026-4444", "--expires", "2026-04-01", "--attachment", "https://wiki.example.com/scan"],
    );
    t.exc("sam", "2026-02-02", &["approve", "EXC-0001", "--risk", "high"]).success();
    t.exc("dana", "2026-02-03", &["approve", "EXC-0001"]).success();
    t.commit("dana", "2026-02-03", "approvals");
    assert_eq!(t.check("2026-02-04", &[]).0, 0);
    // Dana adds a CVE and an asset, then recertifies (signing the new content).
    t.repo.write(
        &path,
        t.read(&path).replacen("  - CVE-2026-4444\n", "  - CVE-2026-4444\n  - CVE-2026-9999\n", 1).replacen(
            "  - pay-01\n",
            "  - pay-01\n  - pay-02\n",
            1,
        ),
    );
    // exc will not recertify content its approvals no longer cover...
    let refused = t
        .exc(
            "dana",
            "2026-03-20",
            &[
                "recertify",
                "EXC-0001",
                "--controls-effective",
                "yes",
                "--justification-valid",
                "yes",
                "--better-option",
                "no",
                "--expires",
                "2026-06-15",
            ],
        )
        .code(2);
    assert!(String::from_utf8_lossy(&refused.get_output().stderr).contains("only approved exceptions"));
    // ...so Dana writes the extension herself, signed with her key over the new content.
    let mut e = typed(&t.read(&path));
    e.expires = "2026-06-15".parse().unwrap();
    e.reviews.push(exc::model::record::Review {
        by: who("dana"),
        at: "2026-03-20T00:00:00Z".parse().unwrap(),
        controls_effective: true,
        justification_valid: true,
        better_option: false,
        decision: exc::model::record::ReviewDecision::Extend,
        expires: Some(e.expires),
        note: None,
        digest: exc::model::digest::digest(&e),
        signature: None,
    });
    let (entry, bytes) = exc::model::statement::statements(&e, REGISTRY).pop().unwrap();
    exc::model::statement::set_signature(&mut e, entry, t.sign("dana", &bytes));
    t.repo.write(&path, format!("# x\n{}", exc::yaml::to_string(&e).unwrap()));
    t.commit("dana", "2026-03-20", "extend");
    let (code, codes) = t.check("2026-03-21", &[]);
    assert_eq!(code, 1);
    assert!(has(&codes, "changed-after-approval") && has(&codes, "approvals-missing"), "{codes:?}");
    let ignored = t.suppressed("2026-03-21");
    assert!(!ignored.contains("CVE-2026-9999") && !ignored.contains("CVE-2026-4444"), "{ignored}");
}

/// Decisions dated before the request, and a request dated in the future.
#[test]
fn backdating_is_caught() {
    let t = Team::new();
    let path = t.request("EXC-0001", "other", "2026-02-10", &[]);
    t.exc("sam", "2026-02-11", &["approve", "EXC-0001"]).success();
    t.repo.write(&path, t.read(&path).replace("at: \"2026-02-11T00:00:00Z\"", "at: \"2026-02-01T00:00:00Z\""));
    let (code, codes) = t.check("2026-02-12", &[]);
    assert_eq!(code, 1);
    assert!(has(&codes, "decision-time") && has(&codes, "signature-invalid"), "{codes:?}");
    // A request created "in the future" to stretch the cap.
    let out = t
        .exc(
            "ann",
            "2099-01-01",
            &[
                "new",
                "--yes",
                "--id",
                "EXC-0002",
                "--type",
                "other",
                "--title",
                "t",
                "--justification",
                "j",
                "--risk-owner",
                "Dana Ops <dana@example.com>",
                "--asset",
                "a",
            ],
        )
        .success();
    drop(out);
    let out = Command::new(assert_cmd::cargo::cargo_bin!("exc"))
        .current_dir(t.repo.path())
        .env("NO_COLOR", "1")
        .env_remove("EXC_TEST_CLOCK")
        .args(["check", "--format", "json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v["findings"].as_array().unwrap().iter().any(|f| f["code"] == "decision-time" && f["pointer"] == "/created"),
        "{v}"
    );
}

/// Closing someone's exception early in the policy's name: the audit knows
/// the policy closes only what is due.
#[test]
fn the_policy_expires_only_what_is_due() {
    let t = Team::new();
    let path = t.request("EXC-0001", "other", "2026-02-10", &[]);
    t.exc("sam", "2026-02-11", &["approve", "EXC-0001"]).success();
    t.commit("sam", "2026-02-11", "approve");
    let closed = "  closed:\n    at: \"2026-02-12T09:00:00Z\"\n    by: policy\n    reason: lapsed\n";
    let text = t.read(&path).replace("status: approved", "status: expired");
    t.repo.write(&path, format!("{text}{}", closed.trim_start_matches("  ").replace("\n  ", "\n")));
    t.commit("ann", "2026-02-12", "expire");
    let (code, codes) = t.check("2026-02-13", &[]);
    assert_eq!((code, codes), (1, vec!["unauthorized-approver".to_string()]));
    let (code, codes, text) = t.audit();
    assert_eq!((code, codes), (1, vec!["unauthorized-approver".to_string()]), "{text}");
    assert!(text.contains("the policy only closes what is due to expire"), "{text}");
}

/// An honest team: a key held by ssh-agent (as a hardware key would be), a
/// pull request squash-merged, a recertification and the nightly expiry; every
/// decision verifies, `check` and `audit` pass.
#[test]
fn an_honest_team_with_an_agent_and_a_squash_merge() {
    let t = Team::new();
    t.git_as("carol", "2026-01-01", &["branch", "-M", "main"]);
    // Sam's key lives in ssh-agent; git names only its public half.
    let sock = t.repo.home.path().join("agent.sock");
    let agent =
        Command::new("ssh-agent").args(["-D", "-a"]).arg(&sock).stdout(std::process::Stdio::null()).spawn().unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
        }
    }
    let _agent = Kill(agent);
    for _ in 0..50 {
        if sock.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let added = Command::new("ssh-add").arg(t.key("sam")).env("SSH_AUTH_SOCK", &sock).output().unwrap();
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    let public = std::fs::read_to_string(format!("{}.pub", t.key("sam"))).unwrap();

    t.git_as("ann", "2026-03-01", &["switch", "-q", "-c", "exc/EXC-0001"]);
    t.request(
        "EXC-0001",
        "mfa-bypass",
        "2026-03-01",
        &["--attachment", "https://wiki.example.com/e", "--expires", "2026-05-01"],
    );
    // Sam approves with the agent: no key file given.
    let mut c = t.repo.cmd();
    c.args(["approve", "EXC-0001", "--risk", "high"])
        .env("SSH_AUTH_SOCK", &sock)
        .env("EXC_TEST_CLOCK", "2026-03-02T10:00:00Z");
    as_person(&mut c, &who("sam"));
    t.repo.git(&["config", "gpg.format", "ssh"]);
    t.repo.git(&["config", "user.signingkey", &format!("key::{}", public.trim())]);
    let out = c.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    t.repo.git(&["config", "--unset", "user.signingkey"]);
    t.commit("sam", "2026-03-02", "approve (security)");
    t.exc("dana", "2026-03-03", &["approve", "EXC-0001"]).success();
    t.commit("dana", "2026-03-03", "approve (risk owner)");
    // The maintainer squash-merges the pull request.
    t.git_as("carol", "2026-03-04", &["switch", "-q", "main"]);
    t.git_as("carol", "2026-03-04", &["merge", "--squash", "-q", "exc/EXC-0001"]);
    t.git_as("carol", "2026-03-04", &["commit", "-qm", "EXC-0001 (#12)"]);
    assert_eq!(t.check("2026-03-05", &["--fail-on-expired"]), (0, vec![]));
    t.exc(
        "priya",
        "2026-04-20",
        &[
            "recertify",
            "EXC-0001",
            "--controls-effective",
            "yes",
            "--justification-valid",
            "yes",
            "--better-option",
            "no",
            "--expires",
            "2026-06-01",
        ],
    )
    .success();
    // Security's extension carries security's approval only: the risk owner
    // approves the new date too.
    let (_, codes) = t.check("2026-04-20", &[]);
    assert!(codes.is_empty(), "requested again until Dana approves, and that is no finding: {codes:?}");
    t.exc("dana", "2026-04-21", &["approve", "EXC-0001"]).success();
    t.commit("priya", "2026-04-21", "recertify");
    // The nightly job needs no key: expiry is checked, not signed.
    t.exc("bot", "2026-06-02", &["expire", "--apply"]).success();
    t.commit("bot", "2026-06-02", "nightly");
    let (code, codes) = t.check("2026-06-03", &["--fail-on-expired"]);
    assert_eq!((code, codes.len()), (0, 0), "{codes:?}");
    let (code, _, text) = t.audit();
    assert_eq!(code, 0, "{text}");
    let show = stdout(&t.repo.exc(&["show", "EXC-0001", "--format", "json"]).success());
    assert!(show.contains("\"status\": \"expired\""), "{show}");
}

/// A policy change (a rotated key, a longer cap) approved by the CISO takes
/// effect; decisions signed with the old key before it stopped verify still.
#[test]
fn a_key_rotation_approved_by_the_ciso() {
    let t = Team::new();
    t.git_as("carol", "2026-01-01", &["branch", "-M", "main"]);
    t.request("EXC-0001", "other", "2026-02-01", &[]);
    t.exc("sam", "2026-02-02", &["approve", "EXC-0001"]).success();
    t.commit("sam", "2026-02-02", "approve");
    // Sam's new key; the old one stops on 2026-03-01.
    let new_key = t.keys.join("sam2");
    Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-f"]).arg(&new_key).output().unwrap();
    let signers = t.read("keys/allowed_signers");
    let old_line = signers.lines().find(|l| l.starts_with("sam.okafor")).unwrap().to_string();
    let rotated =
        signers.replace(
            &old_line,
            &old_line.replacen("sam.okafor@example.com ", "sam.okafor@example.com valid-before=\"20260301\" ", 1),
        ) + &format!("sam.okafor@example.com {}", std::fs::read_to_string(new_key.with_extension("pub")).unwrap());
    t.git_as("sam", "2026-02-20", &["switch", "-q", "-c", "rotate"]);
    t.repo.write("keys/allowed_signers", rotated);
    t.commit("sam", "2026-02-20", "rotate Sam's key");
    let (code, codes) = t.check("2026-02-21", &["--base", "main"]);
    assert_eq!(code, 1, "unapproved until the CISO signs: {codes:?}");
    assert!(has(&codes, "policy-unapproved"));
    t.exc("carol", "2026-02-21", &["policy", "approve", "--base", "main", "--commit"]).success();
    assert_eq!(t.check("2026-02-22", &["--base", "main"]).0, 0);
    t.git_as("carol", "2026-02-22", &["switch", "-q", "main"]);
    t.git_as("carol", "2026-02-22", &["merge", "-q", "--no-ff", "-m", "merge rotate", "rotate"]);
    // The old approval still verifies; the old key signs nothing after March 1st.
    assert_eq!(t.check("2026-03-02", &[]).0, 0);
    t.request("EXC-0002", "other", "2026-03-05", &[]);
    t.exc("sam", "2026-03-06", &["approve", "EXC-0002", "--key", &t.key("sam")]).code(2);
    t.exc("sam", "2026-03-06", &["approve", "EXC-0002", "--key", &new_key.to_string_lossy()]).success();
    t.commit("sam", "2026-03-06", "approve with the new key");
    assert_eq!(t.check("2026-03-07", &[]).0, 0);
    let (code, _, text) = t.audit();
    assert_eq!(code, 0, "{text}");
}
