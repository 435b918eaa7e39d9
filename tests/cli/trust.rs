//! Trust, round 2: each way a contributor with plain git, ssh-keygen and exc
//! itself could still get a decision counted after the first round, played as
//! an attack on a real repository with real keys, and the named finding that
//! stops it in `check --base` (the pull request), `check` or `audit` (main).
//! Then the key operations a team does, done honestly: revoking a key and
//! approving again, the first policy, a policy change with its keys file.

use crate::harness::{Repo, stderr, stdout};
use crate::team::{POLICY, REGISTRY, Team, has, typed, who};

/// The policy with Mallory in `security`.
fn with_mallory(policy: &str) -> String {
    policy.replace(
        "  security: [sam.okafor@example.com, priya@example.com]",
        "  security: [sam.okafor@example.com, priya@example.com, mallory@example.com]",
    )
}

/// Writes a record's typed value back as exc writes it.
fn write_record(t: &Team, path: &str, e: &exc::model::record::Exception) {
    t.repo.write(
        path,
        format!(
            "# yaml-language-server: $schema=../schema/exception.schema.json\n{}",
            exc::yaml::to_string(e).unwrap()
        ),
    );
}

/// A policy approval counts once: for one version, in one registry. The
/// CISO added Mallory to security (version 1) and took her out again
/// (version 2); a later change back to version 1's exact file, approvals
/// and all, is a replay. So is the same approval in a sibling registry.
#[test]
fn a_policy_approval_counts_once_for_one_version_in_one_registry() {
    let t = Team::new();
    let (_, genesis) = t.trust_roots();
    t.approved_policy_change("grant", "2026-01-10", |t| {
        t.repo.write("exc.yaml", with_mallory(POLICY));
    });
    let granted = t.read("exc.yaml");
    assert!(granted.contains("version: 1"), "{granted}");
    t.approved_policy_change("revoke", "2026-01-20", |t| {
        let text = t.read("exc.yaml");
        let start = text.find("\n# Signed approvals").unwrap_or(text.len());
        t.repo.write("exc.yaml", text[..start].replace(", mallory@example.com", ""));
    });
    assert!(t.read("exc.yaml").contains("version: 2"));

    // The replay, on a pull request.
    t.git_as("mallory", "2026-02-01", &["switch", "-q", "-c", "again"]);
    t.repo.write("exc.yaml", &granted);
    t.commit("mallory", "2026-02-01", "restore the policy");
    let (code, codes) = t.check("2026-02-02", &["--base", "main"]);
    assert_eq!(code, 1, "{codes:?}");
    assert!(has(&codes, "policy-unapproved"), "{codes:?}");
    let diff = t.repo.exc(&["diff", "--base", "main"]).code(1);
    assert!(stdout(&diff).contains("needs approval by: ciso"), "{}", stdout(&diff));
    // Pushed to main anyway: the audit, and a clone pinned to the first policy, say so.
    t.git_as("mallory", "2026-02-02", &["switch", "-q", "main"]);
    t.git_as("mallory", "2026-02-02", &["merge", "-q", "--ff-only", "again"]);
    let (code, codes, text) = t.audit();
    assert_eq!(code, 1, "{text}");
    assert!(has(&codes, "policy-unapproved") && text.contains("does not grow past"), "{text}");
    let (code, codes) = t.check("2026-02-03", &["--trust-root", &genesis]);
    assert_eq!(code, 1, "{codes:?}");
    assert!(has(&codes, "trust-root-mismatch"), "{codes:?}");

    // A sibling registry with the same keys: the approval names the other registry.
    let sibling = Repo::init();
    sibling.write("keys/allowed_signers", t.read("keys/allowed_signers"));
    sibling.write("exc.yaml", POLICY.replace("registry: forgery-tests", "registry: sibling-registry"));
    sibling.git(&["add", "-A"]);
    sibling.git(&["commit", "-qm", "policy"]);
    sibling.git(&["switch", "-q", "-c", "copy"]);
    // As written (it would change the registry's identity), and with the identity edited.
    for text in [granted.clone(), granted.replace("registry: forgery-tests", "registry: sibling-registry")] {
        sibling.write("exc.yaml", &text);
        sibling.git(&["commit", "-qam", "copy the approved policy"]);
        let out = sibling.exc(&["check", "--base", "main", "--format", "json"]).code(1);
        assert!(stdout(&out).contains("policy-unapproved"), "{}", stdout(&out));
    }
}

/// Sam's old key retired on March 1st. Whoever still holds it signs with the
/// clock set back: a brand-new record approved in one commit, an old pending
/// request approved late, and a policy change by the CISO's retired key.
#[test]
fn a_retired_key_signs_nothing_new_whatever_date_it_writes() {
    let t = Team::new();
    let old_sam = t.key("sam");
    let old_carol = t.key("carol");
    t.request("EXC-0001", "other", "2026-02-10", &[]);
    // Rotation: new keys for Sam and Carol; the old ones stop on March 1st.
    t.approved_policy_change("rotate", "2026-02-20", |t| {
        let mut signers = String::new();
        for line in t.read("keys/allowed_signers").lines() {
            if line.starts_with("sam.okafor") || line.starts_with("carol") {
                let (who, key) = line.split_once(' ').unwrap();
                signers.push_str(&format!("{who} valid-before=\"20260301\" {key}\n"));
            } else {
                signers.push_str(&format!("{line}\n"));
            }
        }
        signers.push_str(&format!("sam.okafor@example.com {}", t.new_key("sam2")));
        signers.push_str(&format!("carol@example.com {}", t.new_key("carol2")));
        t.repo.write("keys/allowed_signers", signers);
    });
    assert_eq!(t.check("2026-02-21", &[]).0, 0);

    // April: the old key approves the pending request, dated February 25th.
    t.git_as("mallory", "2026-04-01", &["switch", "-q", "-c", "late"]);
    t.exc("sam", "2026-02-25", &["approve", "EXC-0001", "--key", &old_sam]).success();
    t.commit("sam", "2026-04-01", "approve");
    let (code, codes) = t.check("2026-04-02", &["--base", "main"]);
    assert_eq!(code, 1, "{codes:?}");
    assert!(has(&codes, "signature-unknown-key"), "the key is retired now: {codes:?}");
    // And a brand-new record, requested and approved in one commit.
    t.exc(
        "ann",
        "2026-02-24",
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
    t.exc("sam", "2026-02-25", &["approve", "EXC-0002", "--key", &old_sam]).success();
    t.commit("sam", "2026-04-01", "EXC-0002");
    // Pushed to main: files alone cannot tell (the dates fit the key), the history can.
    t.git_as("mallory", "2026-04-01", &["switch", "-q", "main"]);
    t.git_as("mallory", "2026-04-01", &["merge", "-q", "--ff-only", "late"]);
    let (code, codes, text) = t.audit();
    assert_eq!(code, 1, "{text}");
    assert_eq!(codes.iter().filter(|c| *c == "signature-unknown-key").count(), 2, "{text}");
    assert!(text.contains("before it reached the mainline"), "{text}");

    // The CISO's retired key approves a policy change, dated before it retired.
    t.git_as("mallory", "2026-04-05", &["switch", "-q", "-c", "grant"]);
    t.repo.write("exc.yaml", with_mallory(&t.read("exc.yaml")));
    t.exc("carol", "2026-02-26", &["policy", "approve", "--base", "main", "--key", &old_carol]).success();
    t.commit("mallory", "2026-04-05", "grant");
    let (code, codes) = t.check("2026-04-06", &["--base", "main"]);
    assert_eq!(code, 1, "{codes:?}");
    assert!(has(&codes, "policy-unapproved"), "{codes:?}");
    // Judged now, not at the story's date (the comment on the pull request says so too).
    let diff = String::from_utf8(t.repo.cmd().args(["diff", "--base", "main"]).output().unwrap().stdout).unwrap();
    assert!(diff.contains("needs approval by: ciso"), "{diff}");
}

/// A version that does not read breaks nothing: a revoked exception is not
/// revoked again by breaking it for one commit and restoring its approved
/// version; a request whose first version did not read is still a request.
#[test]
fn an_unreadable_version_does_not_reset_the_audit() {
    let t = Team::new();
    let path = t.request("EXC-0001", "other", "2026-02-01", &[]);
    t.exc("sam", "2026-02-02", &["approve", "EXC-0001"]).success();
    t.commit("sam", "2026-02-02", "approve");
    let approved = t.read(&path);
    t.exc("sam", "2026-02-10", &["revoke", "EXC-0001", "--reason", "control failed"]).success();
    t.commit("sam", "2026-02-10", "revoke");
    t.repo.write(&path, format!("{approved}\tnot yaml: [\n"));
    t.commit("mallory", "2026-02-11", "wip");
    assert_eq!(t.check("2026-02-11", &[]).0, 1, "the broken file fails the gate");
    t.repo.write(&path, &approved);
    t.commit("mallory", "2026-02-12", "fix the file");
    // Files alone see a validly approved record; the history sees it reopened.
    let (code, codes, text) = t.audit();
    assert_eq!(code, 1, "{text}");
    assert!(has(&codes, "decision-rewritten") && has(&codes, "lifecycle-skipped"), "{text}");

    // Mallory files in Ann's name: first a file that does not read, then the request.
    let other = "exceptions/EXC-0009.yaml";
    t.repo.write(other, "id: EXC-0009\ntitle: [\n");
    t.commit("mallory", "2026-02-13", "wip");
    let mut e = typed(&t.read(&path));
    e.id = "EXC-0009".into();
    e.status = exc::model::record::Status::Requested;
    e.approvals.clear();
    e.closed = None;
    e.signature = None;
    write_record(&t, other, &e);
    t.commit("mallory", "2026-02-14", "request");
    let (_, codes, text) = t.audit();
    assert!(has(&codes, "requester-mismatch"), "{text}");
    let (_, codes) = t.check("2026-02-15", &[]);
    assert!(has(&codes, "signature-missing"), "an unsigned request where keys are listed: {codes:?}");
}

/// A push that replaces the policy (signatures off, Mallory its owner) and
/// points `trust.audit_from` at itself: the audit never takes the start from
/// the repository alone, and a clone that pinned the root fails outright.
#[test]
fn a_replaced_policy_fails_every_clone_that_pinned_the_root() {
    let t = Team::new();
    let (owners, _) = t.trust_roots();
    t.request("EXC-0001", "other", "2026-02-01", &[]);
    let evil = "roles:\n  security: [mallory@example.com]\n  ciso: [mallory@example.com]\ntrust:\n  registry: forgery-tests\n  signatures: off\n";
    t.repo.write("exc.yaml", evil);
    t.commit("mallory", "2026-02-02", "policy");
    let genesis = String::from_utf8(
        std::process::Command::new("git")
            .args(["rev-parse", "HEAD"])
            .current_dir(t.repo.path())
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    t.repo.write("exc.yaml", format!("{evil}  audit_from: {}", genesis.trim()));
    t.commit("mallory", "2026-02-03", "start the audit here");
    // Mallory approves the request as security: no signature needed now.
    let path = "exceptions/EXC-0001.yaml";
    t.repo.exc(&["approve", "EXC-0001", "--by", &who("mallory"), "--as-of", "2026-02-04"]).success();
    t.commit("mallory", "2026-02-04", "approve");
    assert!(t.read(path).contains("status: approved"));

    let (code, codes, text) = t.audit();
    assert_eq!(code, 1, "without a pin, the audit reads from the first commit: {text}");
    assert!(has(&codes, "policy-unapproved"), "{text}");
    let (code, codes, text) = t.audit_with(&["--trust-root", &owners]);
    assert_eq!(code, 1, "{text}");
    assert!(has(&codes, "trust-root-mismatch"), "{text}");
    let (code, codes) = t.check("2026-02-05", &["--trust-root", &owners]);
    assert_eq!(code, 1, "{codes:?}");
    assert!(has(&codes, "trust-root-mismatch"), "{codes:?}");
    // The same pin from the environment, as CI sets it.
    let out = t.repo.cmd().args(["check", "--format", "json"]).env("EXC_TRUST_ROOT", &owners).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("trust-root-mismatch"));
}

/// Returning to content an approval once covered needs approving again:
/// scope narrowed and re-approved, then widened back; expiry shortened and
/// re-approved, then lengthened back.
#[test]
fn returning_to_approved_content_needs_approving_again() {
    let t = Team::new();
    let path = t.request("EXC-0001", "other", "2026-02-01", &["--asset", "pay-02", "--expires", "2026-04-01"]);
    t.exc("sam", "2026-02-02", &["approve", "EXC-0001"]).success();
    t.commit("sam", "2026-02-02", "approve wide");
    let wide = t.read(&path);
    for (narrow, back) in [
        (wide.replacen("  - pay-02\n", "", 1), "scope"),
        (wide.replacen("expires: \"2026-04-01\"", "expires: \"2026-03-01\"", 1), "expiry"),
    ] {
        t.repo.write(&path, &narrow);
        // The requester signs the new content; Priya approves it.
        let mut e = typed(&narrow);
        e.signature = Some(t.sign("ann", &exc::model::statement::request_statement(&e, REGISTRY)));
        e.status = exc::model::record::Status::Requested;
        write_record(&t, &path, &e);
        t.commit("ann", "2026-02-03", "narrow");
        t.exc("priya", "2026-02-04", &["approve", "EXC-0001"]).success();
        t.commit("priya", "2026-02-04", "approve narrow");
        assert_eq!(t.check("2026-02-05", &[]).0, 0, "{back}");
        // Widened back to what Sam approved, approvals kept as they are.
        let mut e = typed(&t.read(&path));
        let w = typed(&wide);
        e.assets = w.assets.clone();
        e.expires = w.expires;
        e.signature = w.signature.clone();
        write_record(&t, &path, &e);
        t.commit("ann", "2026-02-06", "back");
        let (code, codes) = t.check("2026-02-07", &[]);
        assert_eq!(code, 1, "{back}: {codes:?}");
        assert!(has(&codes, "changed-after-approval"), "{back}: {codes:?}");
        assert!(!t.suppressed("2026-02-07").contains("EXC-0001"), "{back}");
        t.git_as("ann", "2026-02-07", &["reset", "-q", "--hard", "HEAD~3"]);
    }
}

/// A record approved in one registry, copied into another that lists the same keys.
#[test]
fn a_record_approved_in_one_registry_does_not_count_in_another() {
    let t = Team::new();
    let path = t.request("EXC-0001", "vulnerability-deferral", "2026-02-01", &["--finding", "CVE-2026-7777"]);
    t.exc("sam", "2026-02-02", &["approve", "EXC-0001"]).success();
    t.commit("sam", "2026-02-02", "approve");
    let sibling = Repo::init();
    sibling.write("keys/allowed_signers", t.read("keys/allowed_signers"));
    sibling.write("exc.yaml", POLICY.replace("registry: forgery-tests", "registry: sibling-registry"));
    sibling.write(&path, t.read(&path));
    let out = sibling.exc(&["check", "--format", "json"]).code(1);
    assert!(stdout(&out).contains("signature-invalid"), "{}", stdout(&out));
    let export = sibling.exc(&["export", "--format", "trivyignore", "--skip-invalid"]).success();
    assert!(!stdout(&export).contains("CVE-2026-7777"), "{}", stdout(&export));
}

/// Mallory files a request in Ann's name that makes Mallory its risk owner,
/// then approves it as risk owner: a request is its requester's signed word.
#[test]
fn a_request_filed_in_someone_elses_name_does_not_count() {
    let t = Team::new();
    // Without Ann's key, exc will not file it at all...
    let refused = t
        .exc(
            "mallory",
            "2026-02-01",
            &[
                "new",
                "--yes",
                "--id",
                "EXC-0001",
                "--type",
                "mfa-bypass",
                "--title",
                "t",
                "--justification",
                "j",
                "--risk-owner",
                &who("mallory"),
                "--asset",
                "a",
                "--attachment",
                "https://wiki.example.com/x",
                "--requester",
                &who("ann"),
            ],
        )
        .code(2);
    assert!(stderr(&refused).contains("--requester") || stderr(&refused).contains("not you"), "{}", stderr(&refused));
    // ...so she writes it by hand and signs it with her own key.
    let mut e = typed(&crate::harness::VALID.replace("Dana Ops <dana@example.com>", &who("mallory")));
    e.attachments = vec!["https://wiki.example.com/x".into()];
    e.signature = Some(t.sign("mallory", &exc::model::statement::request_statement(&e, REGISTRY)));
    write_record(&t, "exceptions/EXC-0001.yaml", &e);
    t.commit("mallory", "2026-02-01", "request");
    let (code, codes) = t.check("2026-02-02", &[]);
    assert_eq!(code, 1);
    assert!(has(&codes, "signature-unknown-key"), "{codes:?}");
    // Security and the "risk owner" approve: it still does not count.
    t.exc("sam", "2026-02-02", &["approve", "EXC-0001", "--risk", "high"]).success();
    t.exc("mallory", "2026-02-03", &["approve", "EXC-0001"]).success();
    t.commit("mallory", "2026-02-03", "approve");
    let (code, codes) = t.check("2026-02-04", &[]);
    assert_eq!(code, 1, "{codes:?}");
    assert!(has(&codes, "self-approval"), "the key that signed the request approved it: {codes:?}");
    let list = stdout(&t.repo.exc(&["list", "--format", "json", "--as-of", "2026-11-02"]).success());
    assert!(list.contains("\"status\": \"requested\""), "{list}");
}

/// A look-alike principal (`sarn.okafor` for `sam.okafor`) whose key the CISO
/// listed, and a key listed under two people: the keyring refuses both.
#[test]
fn look_alike_principals_and_shared_keys_are_refused() {
    let t = Team::new();
    let mallory_key = std::fs::read_to_string(format!("{}.pub", t.key("mallory"))).unwrap();
    let sam_key = std::fs::read_to_string(format!("{}.pub", t.key("sam"))).unwrap();
    for (line, says) in [
        (format!("sarn.okafor@example.com {mallory_key}"), "looks like `sam.okafor@example.com`"),
        (format!("eve@example.com {sam_key}"), "listed for `sam.okafor@example.com` already"),
    ] {
        t.repo.write("keys/allowed_signers", format!("{}{line}", t.read("keys/allowed_signers")));
        let out = t.repo.exc(&["check"]).code(2);
        assert!(stderr(&out).contains("policy-invalid") && stderr(&out).contains(says), "{}", stderr(&out));
        t.git_as("carol", "2026-01-02", &["checkout", "-q", "--", "keys/allowed_signers"]);
    }
    t.repo
        .write("exc.yaml", POLICY.replace("ciso: [carol@example.com]", "ciso: [carol@example.com, caro1@example.com]"));
    let out = t.repo.exc(&["check"]).code(2);
    assert!(stderr(&out).contains("looks like `carol@example.com`"), "{}", stderr(&out));
}

/// A CVE filed under a low-risk type the policy approves automatically.
#[test]
fn an_automatically_approved_type_suppresses_nothing_without_a_person() {
    let t = Team::new();
    t.repo.write(
        "exc.yaml",
        format!("{POLICY}types:\n  dev-tooling: {{ title: Dev tooling, default_risk: low, max_days: 60 }}\n"),
    );
    t.git_as("carol", "2026-01-01", &["commit", "-qam", "a low type"]);
    let out = t
        .exc(
            "ann",
            "2026-02-01",
            &[
                "new",
                "--yes",
                "--id",
                "EXC-0001",
                "--type",
                "dev-tooling",
                "--title",
                "t",
                "--justification",
                "j",
                "--risk-owner",
                "Dana Ops <dana@example.com>",
                "--asset",
                "a",
                "--finding",
                "CVE-2026-8888 path=app/**",
            ],
        )
        .success();
    assert!(stdout(&out).contains("security"), "it needs a person: {}", stdout(&out));
    t.commit("ann", "2026-02-01", "request");
    assert!(!t.suppressed("2026-02-02").contains("CVE-2026-8888"));
    // A `by: policy` approval written by hand does not stand.
    let path = "exceptions/EXC-0001.yaml";
    let mut e = typed(&t.read(path));
    e.approvals.push(exc::model::record::Approval {
        by: "policy".into(),
        role: "policy".into(),
        at: "2026-02-01T00:00:00Z".parse().unwrap(),
        decision: exc::model::record::Decision::Approved,
        risk: exc::model::record::Risk::Low,
        digest: exc::model::digest::digest(&e),
        expires: e.expires,
        note: None,
        signature: None,
    });
    e.status = exc::model::record::Status::Approved;
    write_record(&t, path, &e);
    let (code, codes) = t.check("2026-02-02", &[]);
    assert_eq!(code, 1);
    assert!(has(&codes, "unauthorized-approver"), "{codes:?}");
    assert!(!t.suppressed("2026-02-02").contains("CVE-2026-8888"));
}

/// A committed suppression file edited by hand to hide one more CVE fails the
/// gate at its line; the action reconciles every pull request.
#[test]
fn suppressions_outside_the_records_are_gated() {
    let t = Team::new();
    t.repo.write("exc.yaml", format!("{POLICY}exports: [trivyignore]\n"));
    t.request("EXC-0001", "vulnerability-deferral", "2026-02-01", &["--finding", "CVE-2026-1212 path=app/**"]);
    t.exc("sam", "2026-02-02", &["approve", "EXC-0001"]).success();
    t.repo.exc(&["export", "--all", "--as-of", "2026-02-02"]).success();
    t.commit("sam", "2026-02-02", "approve and export");
    assert_eq!(t.check("2026-02-03", &[]).0, 0);
    let file = t.read(".trivyignore.yaml");
    let forged =
        file.replacen("vulnerabilities:\n", "vulnerabilities:\n  - id: CVE-2026-6666\n    statement: EXC-0001\n", 1);
    t.repo.write(".trivyignore.yaml", forged);
    let out = t.repo.exc(&["check", "--as-of", "2026-02-03"]).code(1);
    let text = stdout(&out);
    assert!(
        text.contains(".trivyignore.yaml:4:")
            && text.contains("error[shadow-suppression]")
            && text.contains("CVE-2026-6666"),
        "{text}"
    );

    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let action = std::fs::read_to_string(root.join("action.yml")).unwrap();
    assert!(action.contains("exc reconcile --format github") && action.contains("reconcile:"), "{action}");
    let example = std::fs::read_to_string(root.join("examples/ci/github-actions.yml")).unwrap();
    assert!(!example.contains("    paths:"), "no filter skips a code-only pull request");
}

/// Security approved 14 days; the risk owner alone extends to 90, again and
/// again: the extension carries only the risk owner's own approval.
#[test]
fn the_risk_owner_alone_cannot_extend() {
    let t = Team::new();
    t.request(
        "EXC-0001",
        "vulnerability-deferral",
        "2026-02-01",
        &["--finding", "CVE-2026-3434 path=app/**", "--expires", "14d"],
    );
    t.exc("sam", "2026-02-02", &["approve", "EXC-0001"]).success();
    t.commit("sam", "2026-02-02", "approve");
    let review = [
        "recertify",
        "EXC-0001",
        "--controls-effective",
        "yes",
        "--justification-valid",
        "yes",
        "--better-option",
        "no",
    ];
    let out = t.exc("dana", "2026-02-10", &[&review[..], &["--expires", "90d"]].concat()).success();
    assert!(stdout(&out).contains("needs approving by security"), "{}", stdout(&out));
    t.commit("dana", "2026-02-10", "extend");
    assert_eq!(t.check("2026-02-16", &[]).0, 0, "requested again: no finding, and no suppression");
    assert!(!t.suppressed("2026-02-16").contains("CVE-2026-3434"));
    // A hand-made extension (signed by Dana, status approved) does not count either.
    let path = "exceptions/EXC-0001.yaml";
    t.repo.write(path, t.read(path).replace("status: requested", "status: approved"));
    let (code, codes) = t.check("2026-02-16", &[]);
    assert_eq!(code, 1);
    assert!(has(&codes, "approvals-missing"), "{codes:?}");
    t.git_as("dana", "2026-02-16", &["checkout", "-q", "--", path]);
    // Security approves the new date: it counts again.
    t.exc("sam", "2026-02-17", &["approve", "EXC-0001"]).success();
    assert!(t.suppressed("2026-02-18").contains("CVE-2026-3434"));
    // A review that keeps the date needs only the risk owner.
    t.exc("dana", "2026-03-01", &review).success();
    assert!(t.read(path).contains("decision: keep"));
    assert!(t.suppressed("2026-03-02").contains("CVE-2026-3434"));
}

/// Tickets and notes are part of what was approved.
#[test]
fn tickets_and_notes_are_part_of_what_was_approved() {
    let t = Team::new();
    let path = t.request("EXC-0001", "other", "2026-02-01", &["--ticket", "SEC-1", "--notes", "for the Q1 audit only"]);
    t.exc("sam", "2026-02-02", &["approve", "EXC-0001"]).success();
    t.commit("sam", "2026-02-02", "approve");
    for (from, to) in [("SEC-1", "SEC-2"), ("for the Q1 audit only", "for the whole year")] {
        let text = t.read(&path);
        t.repo.write(&path, text.replace(from, to));
        let (code, codes) = t.check("2026-02-03", &[]);
        assert_eq!(code, 1, "{to}");
        assert!(has(&codes, "changed-after-approval"), "{to}: {codes:?}");
        t.repo.write(&path, text);
    }
}

/// Sam's laptop is lost: the CISO removes his key. What it signed stops
/// counting (the record is requested again, a warning, never a red CI), a
/// retired record says nothing, and Sam approves again with his new key.
#[test]
fn revoking_a_key_leaves_ci_green_and_its_holder_approves_again() {
    let t = Team::new();
    t.request("EXC-0001", "vulnerability-deferral", "2026-02-01", &["--finding", "CVE-2026-4545 path=app/**"]);
    t.request("EXC-0002", "other", "2026-02-01", &[]);
    t.exc("sam", "2026-02-02", &["approve", "EXC-0001"]).success();
    t.exc("sam", "2026-02-02", &["approve", "EXC-0002"]).success();
    t.exc("sam", "2026-02-03", &["retire", "EXC-0002", "--reason", "fixed"]).success();
    t.commit("sam", "2026-02-03", "decisions");
    let new_sam = t.new_key("sam-new");
    t.approved_policy_change("revoke-sam", "2026-02-10", |t| {
        let signers: String = t
            .read("keys/allowed_signers")
            .lines()
            .filter(|l| !l.starts_with("sam.okafor"))
            .map(|l| format!("{l}\n"))
            .collect();
        t.repo.write("keys/allowed_signers", format!("{signers}sam.okafor@example.com {new_sam}"));
    });
    let out = t.repo.exc(&["check", "--as-of", "2026-02-11", "--format", "json"]).success();
    let text = stdout(&out);
    assert!(text.contains("signature-revoked") && text.contains("EXC-0001"), "{text}");
    assert!(!text.contains("\"severity\": \"error\""), "{text}");
    assert!(!text.contains("EXC-0002"), "a retired record says nothing: {text}");
    assert!(!t.suppressed("2026-02-11").contains("CVE-2026-4545"));
    let (code, _, text) = t.audit();
    assert_eq!(code, 0, "{text}");
    // Sam approves again with plain `exc approve` and his new key.
    let new_key = t.keys.join("sam-new").to_string_lossy().into_owned();
    t.exc("sam", "2026-02-12", &["approve", "EXC-0001", "--key", &new_key]).success();
    t.commit("sam", "2026-02-12", "approve again");
    assert_eq!(t.check("2026-02-13", &[]), (0, vec![]), "the old decision is superseded");
    assert!(t.suppressed("2026-02-13").contains("CVE-2026-4545"));
}

/// A team starts from `exc init`, commits the blank policy, then names its
/// CISO and keys: no approval is possible or needed until an owner has a
/// key; from then on, every change needs one.
#[test]
fn the_first_policy_is_trusted_on_first_use_and_then_owned() {
    let repo = Repo::new();
    let out = repo.exc(&["init"]).success();
    assert!(
        stdout(&out).contains("trusted on first use") && stdout(&out).contains("Registry identity"),
        "{}",
        stdout(&out)
    );
    let out = repo.exc(&["policy", "approve"]).code(2);
    assert!(stderr(&out).contains("trusted on first use and needs no approval"), "{}", stderr(&out));
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "exc init"]);
    let key = repo.home.path().join("carol");
    std::process::Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-f"]).arg(&key).output().unwrap();
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    let policy = repo
        .read("exc.yaml")
        .replace("  ciso: []", "  ciso: [carol@example.com]")
        .replace("  # allowed_signers: keys/allowed_signers", "  allowed_signers: keys/allowed_signers");
    repo.write("exc.yaml", policy);
    repo.write("keys/allowed_signers", format!("carol@example.com {public}"));
    let out = repo.exc(&["policy", "approve", "--base", "HEAD"]).code(2);
    assert!(stderr(&out).contains("nobody can approve a change"), "{}", stderr(&out));
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "the CISO and her key"]);
    let out = repo.exc(&["audit"]).success();
    assert!(stdout(&out).contains("the history is clean"), "{}", stdout(&out));
    // Now Carol owns it: a change without her fails the audit.
    repo.write("exc.yaml", repo.read("exc.yaml").replace("security: []", "security: [ann@example.com]"));
    repo.git(&["commit", "-qam", "make me security"]);
    let out = repo.exc(&["audit"]).code(1);
    assert!(stdout(&out).contains("policy-unapproved"), "{}", stdout(&out));

    // Or in one step: init names the owner and prints the pin.
    let fresh = Repo::new();
    let out = fresh
        .exc(&[
            "init",
            "--owner",
            "Carol Chen <carol@example.com>",
            "--key",
            key.with_extension("pub").to_str().unwrap(),
        ])
        .success();
    let print = std::process::Command::new("ssh-keygen").arg("-lf").arg(key.with_extension("pub")).output().unwrap();
    let print = String::from_utf8_lossy(&print.stdout).split_whitespace().nth(1).unwrap().to_string();
    assert!(stdout(&out).contains(&format!("EXC_TRUST_ROOT={print}")), "{}", stdout(&out));
    assert!(fresh.read("exc.yaml").contains("ciso: [carol@example.com]"));
    assert!(fresh.read("keys/allowed_signers").contains(public.trim()));
    let keys = stdout(&fresh.exc(&["keys", "--format", "trust-root"]).success());
    assert!(keys.contains(&print), "{keys}");
}

/// A policy change that rotates a key: `policy approve --commit` commits the
/// keys file with exc.yaml, and `exc diff` shows the key change field by field.
#[test]
fn a_policy_change_commits_its_keys_file_and_diff_shows_the_keys() {
    let t = Team::new();
    t.git_as("carol", "2026-01-05", &["switch", "-q", "-c", "rotate"]);
    let signers = t.read("keys/allowed_signers");
    let priya = signers.lines().find(|l| l.starts_with("priya")).unwrap().to_string();
    let (who_, key) = priya.split_once(' ').unwrap();
    t.repo.write(
        "keys/allowed_signers",
        signers.replace(&priya, &format!("{who_} valid-before=\"20260201\" {key}"))
            + &format!("priya@example.com {}", t.new_key("priya2")),
    );
    let diff = stdout(&t.repo.exc(&["diff", "--base", "main"]).code(1));
    assert!(
        diff.contains("trusted_keys.priya@example.com SHA256:")
            && diff.contains("listed → valid before 2026-02-01 00:00 UTC"),
        "{diff}"
    );
    assert!(diff.contains(": + listed"), "the new key: {diff}");
    let out = t.exc("carol", "2026-01-05", &["policy", "approve", "--base", "main", "--commit"]).success();
    assert!(stdout(&out).contains("Committed exc.yaml and keys/allowed_signers"), "{}", stdout(&out));
    let status =
        std::process::Command::new("git").args(["status", "--porcelain"]).current_dir(t.repo.path()).output().unwrap();
    assert!(status.stdout.is_empty(), "{}", String::from_utf8_lossy(&status.stdout));
    assert_eq!(t.check("2026-01-06", &["--base", "main"]).0, 0);
    let md = stdout(&t.repo.exc(&["diff", "--base", "main", "--format", "markdown"]).success());
    assert!(!md.contains("U1NIU0lH"), "no signature blobs in the comment: {md}");
}
