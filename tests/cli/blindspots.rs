//! The audit's former blind spots and the write paths, each as an attack with
//! plain git: merges that resurrect or delete, edits in place, laundering by
//! closing, renames, a symlinked registry, exports of what nobody approved,
//! output that talks to CI, evidence that isn't, discovery, and writes.

use std::process::Command;

use serde_json::Value;

use crate::harness::{Repo, as_person, stderr, stdout};

const POLICY: &str = "roles:\n  security: [sam@example.com]\n  ciso: [carol@example.com]\ntrust: { signatures: off }\n";
const SAM: &str = "Sam Okafor <sam@example.com>";

fn commit(repo: &Repo, msg: &str) {
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", msg]);
}

/// A committed registry with one approved vulnerability deferral (EXC-0001).
fn approved() -> Repo {
    let repo = Repo::init();
    repo.write("exc.yaml", POLICY);
    commit(&repo, "policy");
    repo.exc(&[
        "new",
        "--yes",
        "--id",
        "EXC-0001",
        "--as-of",
        "2026-02-01",
        "--type",
        "vulnerability-deferral",
        "--title",
        "Defer the patch",
        "--justification",
        "Vendor certification",
        "--risk-owner",
        "Dana Ops <dana@example.com>",
        "--asset",
        "pay-01",
        "--finding",
        "CVE-2026-1111",
        "--expires",
        "2026-04-01",
    ])
    .success();
    commit(&repo, "request");
    repo.exc(&["approve", "EXC-0001", "--by", SAM, "--as-of", "2026-02-02"]).success();
    commit(&repo, "approve");
    repo
}

fn audit_codes(repo: &Repo) -> (i32, Vec<String>, String) {
    let out = repo.cmd().args(["audit", "--format", "json"]).output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    let codes = v["findings"]
        .as_array()
        .map(|a| a.iter().map(|f| f["code"].as_str().unwrap().to_string()).collect())
        .unwrap_or_default();
    (out.status.code().unwrap(), codes, String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Approve, branch, revoke on main, `git merge -s ours main` on the branch,
/// merge the branch back: the revoked exception would come back approved.
#[test]
fn a_merge_cannot_resurrect_a_revoked_exception() {
    let repo = approved();
    repo.git(&["switch", "-q", "-c", "feature"]);
    repo.git(&["switch", "-q", "main"]);
    repo.exc(&["revoke", "EXC-0001", "--reason", "control failed", "--by", SAM, "--as-of", "2026-02-10"]).success();
    commit(&repo, "revoke");
    repo.git(&["switch", "-q", "feature"]);
    repo.git(&["merge", "-q", "-s", "ours", "-m", "keep ours", "main"]);
    // On the pull request: the gate remembers what main holds.
    let out = repo.cmd().args(["check", "--base", "main", "--format", "json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("lifecycle-skipped"));
    let diff = repo.cmd().args(["diff", "--base", "main"]).output().unwrap();
    assert_eq!(diff.status.code(), Some(1), "{}", String::from_utf8_lossy(&diff.stdout));
    assert!(String::from_utf8_lossy(&diff.stdout).contains("closed records never reopen"));
    repo.git(&["switch", "-q", "main"]);
    repo.git(&["merge", "-q", "--no-ff", "-m", "merge feature", "feature"]);
    let (code, codes, text) = audit_codes(&repo);
    assert_eq!(code, 1);
    assert!(codes.iter().any(|c| c == "lifecycle-skipped"), "{text}");
    assert!(text.contains("revoked → approved"), "{text}");
    let history = stdout(&repo.exc(&["history", "EXC-0001"]).success());
    assert!(history.contains("status: revoked → approved"), "{history}");
}

/// `git merge --no-commit old; git rm exceptions/X.yaml; git commit`.
#[test]
fn an_evil_merge_cannot_delete_a_record() {
    let repo = approved();
    repo.git(&["switch", "-q", "-c", "old"]);
    repo.write("notes.txt", "x");
    commit(&repo, "unrelated");
    repo.git(&["switch", "-q", "main"]);
    repo.write("other.txt", "y");
    commit(&repo, "unrelated on main");
    repo.git(&["merge", "-q", "--no-commit", "--no-ff", "old"]);
    repo.git(&["rm", "-q", "exceptions/EXC-0001.yaml"]);
    repo.git(&["commit", "-qm", "merge old"]);
    let (code, codes, text) = audit_codes(&repo);
    assert_eq!(code, 1);
    assert!(codes.iter().any(|c| c == "record-deleted"), "{text}");
}

/// A decision's `at` edited in place; a change after approval, then retired; a
/// rename with a new id.
#[test]
fn edits_in_place_closing_and_renames_are_seen() {
    let repo = approved();
    let path = "exceptions/EXC-0001.yaml";
    repo.write(path, repo.read(path).replace("at: \"2026-02-02T00:00:00Z\"", "at: \"2026-02-01T06:00:00Z\""));
    commit(&repo, "tidy");
    let (_, codes, text) = audit_codes(&repo);
    assert!(codes.iter().any(|c| c == "decision-rewritten") && text.contains("at: 2026-02-02"), "{text}");

    let repo = approved();
    repo.write(path, repo.read(path).replacen("  - CVE-2026-1111\n", "  - CVE-2026-1111\n  - CVE-2026-2222\n", 1));
    commit(&repo, "one more CVE");
    repo.exc(&["retire", "EXC-0001", "--reason", "done", "--as-of", "2026-02-20"]).success();
    commit(&repo, "retire");
    let (_, codes, text) = audit_codes(&repo);
    assert!(codes.iter().any(|c| c == "changed-after-approval"), "closing does not launder it: {text}");

    let repo = approved();
    let text = repo.read(path).replace("id: EXC-0001", "id: EXC-0009");
    std::fs::remove_file(repo.path().join(path)).unwrap();
    repo.write("exceptions/EXC-0009.yaml", text);
    commit(&repo, "renumber");
    let (_, codes, text) = audit_codes(&repo);
    assert!(codes.iter().any(|c| c == "record-renamed"), "{text}");
}

/// `exceptions` committed as a symbolic link to a hidden directory.
#[test]
fn a_symlinked_registry_is_refused() {
    let repo = Repo::init();
    repo.write("exc.yaml", POLICY);
    repo.write(".hidden/EXC-0001.yaml", crate::harness::VALID);
    std::fs::remove_dir_all(repo.path().join("exceptions")).unwrap();
    std::os::unix::fs::symlink(".hidden", repo.path().join("exceptions")).unwrap();
    commit(&repo, "registry");
    let out = repo.exc(&["check"]).code(2);
    assert!(stderr(&out).contains("is a symbolic link"), "{}", stderr(&out));
    repo.write("exc.yaml.real", POLICY);
    // The audit reads the history itself, whatever the work tree holds.
    std::fs::remove_file(repo.path().join("exceptions")).unwrap();
    std::fs::create_dir(repo.path().join("exceptions")).unwrap();
    let (code, codes, text) = audit_codes(&repo);
    assert_eq!(code, 1);
    assert!(codes.iter().any(|c| c == "symlink"), "{text}");
}

/// Suppressions come only from records whose approvals stand; the export
/// stops and names the others.
#[test]
fn exports_never_suppress_what_nobody_approved() {
    type Edit = fn(&str) -> String;
    let cases: [(&str, Edit); 4] = [
        ("no approvals", |t| {
            let i = t.find("approvals:").unwrap();
            t[..i].to_string()
        }),
        ("an unauthorized approver", |t| t.replace("by: Sam Okafor <sam@example.com>", "by: Eve <eve@example.com>")),
        ("a stale digest", |t| t.replace("justification: Vendor certification", "justification: Changed")),
        ("a CVE added after approval", |t| {
            t.replacen("  - CVE-2026-1111\n", "  - CVE-2026-1111\n  - CVE-2026-7777\n", 1)
        }),
    ];
    for (what, edit) in cases {
        let repo = approved();
        let path = "exceptions/EXC-0001.yaml";
        repo.write(path, edit(&repo.read(path)));
        let out = repo.cmd().args(["export", "--format", "trivyignore", "--as-of", "2026-02-03"]).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{what}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("EXC-0001"), "{what}: the record is named");
        assert!(!String::from_utf8_lossy(&out.stdout).contains("CVE-2026"), "{what}: nothing exported");
        let skip = repo
            .cmd()
            .args(["export", "--format", "trivyignore", "--skip-invalid", "--as-of", "2026-02-03"])
            .output()
            .unwrap();
        assert_eq!(skip.status.code(), Some(0), "{what}");
        assert!(!String::from_utf8_lossy(&skip.stdout).contains("CVE-2026"), "{what}");
        assert!(String::from_utf8_lossy(&skip.stderr).contains("left out 1 record"), "{what}");
    }
    let repo = approved();
    let ok = stdout(&repo.exc(&["export", "--format", "trivyignore", "--as-of", "2026-02-03"]).success());
    assert!(ok.contains("CVE-2026-1111"), "{ok}");
}

/// Values from records and git identities that would command a CI runner or
/// break out of markdown, in every format.
#[test]
fn output_cannot_be_turned_against_its_reader() {
    let repo = approved();
    let evil = "x\n::add-mask::secret\n##[error]boom ##vso[task.setvariable variable=x]1 @org/team https://evil.example.com \u{202e}txt.exe";
    let path = "exceptions/EXC-0001.yaml";
    let text =
        repo.read(path).replace("title: Defer the patch", &format!("title: {}", serde_json::to_string(evil).unwrap()));
    repo.write(path, &text);
    let mut c = Command::new("git");
    c.args(["commit", "-qam", "edit"]).current_dir(repo.path()).env("HOME", repo.home.path());
    as_person(&mut c, "::error file=x:: <ann@example.com>");
    assert!(c.output().unwrap().status.success());
    let run = |args: &[&str]| String::from_utf8(repo.cmd().args(args).output().unwrap().stdout).unwrap();
    for (args, human) in [
        (&["audit"][..], true),
        (&["check", "--as-of", "2026-02-03"][..], true),
        (&["list"][..], true),
        (&["show", "EXC-0001"][..], true),
        (&["history", "EXC-0001"][..], true),
        (&["remind", "--as-of", "2026-03-30", "--format", "markdown"][..], true),
        (&["report", "--as-of", "2026-02-03", "--format", "markdown"][..], true),
        (&["export", "--format", "csv"][..], false),
        (&["check", "--format", "json", "--as-of", "2026-02-03"][..], false),
        (&["check", "--format", "sarif", "--as-of", "2026-02-03"][..], false),
        (&["check", "--format", "junit", "--as-of", "2026-02-03"][..], false),
        (&["audit", "--format", "github"][..], false),
    ] {
        let out = run(args);
        for line in out.lines() {
            let t = line.trim_start();
            assert!(
                !t.starts_with("::")
                    || args.contains(&"github") && t.starts_with("::error file=")
                    || t.starts_with("::warning file="),
                "{args:?}: a line starts a workflow command: {line}"
            );
            assert!(!line.contains("##[") && !line.to_ascii_lowercase().contains("##vso["), "{args:?}: {line}");
            if human {
                assert!(!line.contains('\u{202e}'), "{args:?}: bidi control shown raw: {line}");
            }
        }
    }
    let md = run(&["diff", "--base", "HEAD~1", "--format", "markdown"]);
    assert!(!md.contains("\n::") && !md.contains("\n# ") && !md.contains("\n##[") && !md.contains("](http"), "{md}");
    assert!(!md.contains('\u{202e}'), "bidi controls are shown escaped: {md}");
    // Every mention and link from a record sits inside a code span.
    for line in md.lines() {
        for needle in ["@org/team", "https://evil"] {
            if let Some(i) = line.find(needle) {
                let runs = line[..i].split(|c| c != '`').filter(|s| !s.is_empty()).count();
                assert!(runs % 2 == 1, "`{needle}` outside a code span: {line}");
            }
        }
    }
    let junit = run(&["check", "--format", "junit", "--as-of", "2026-02-03"]);
    roxmltree::Document::parse(&junit).expect("JUnit is well-formed");
    let sarif: Value = serde_json::from_str(&run(&["check", "--format", "sarif", "--as-of", "2026-02-03"])).unwrap();
    assert_eq!(sarif["runs"][0]["columnKind"], "unicodeCodePoints");
}

/// Attachments that are not evidence, and an inventory outside the repository.
#[test]
fn evidence_that_is_not_evidence_is_refused() {
    let repo = Repo::init();
    repo.write("exc.yaml", POLICY);
    std::os::unix::fs::symlink("/etc/passwd", repo.path().join("evidence/passwd.pdf")).unwrap();
    for (attachment, why) in [
        ("evidence/passwd.pdf", "symbolic link"),
        ("file:///etc/passwd", "not evidence"),
        ("javascript:alert(1)", "not evidence"),
        ("http://wiki.example.com/x", "not evidence"),
        ("evidence/missing.pdf", "does not exist"),
    ] {
        let out = repo
            .cmd()
            .args([
                "new",
                "--yes",
                "--type",
                "mfa-bypass",
                "--title",
                "t",
                "--justification",
                "j",
                "--risk-owner",
                "Dana Ops <dana@example.com>",
                "--asset",
                "a",
                "--attachment",
                attachment,
            ])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{attachment}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("attachment-outside-repo") && err.contains(why), "{attachment}: {err}");
    }
    repo.write("exc.yaml", format!("{POLICY}assets: {{ inventory: /etc/passwd }}\n"));
    let out = repo.exc(&["report"]).code(2);
    assert!(stderr(&out).contains("assets.inventory"), "{}", stderr(&out));
    repo.write("exc.yaml", format!("{POLICY}assets: {{ inventory: ../../etc/passwd }}\n"));
    repo.exc(&["report"]).code(2);
}

/// A CI job started in a folder with an unrelated `exceptions/` directory.
#[test]
fn a_bare_exceptions_directory_is_not_a_registry() {
    let dir = tempfile::TempDir::new().unwrap();
    std::fs::create_dir_all(dir.path().join("sub/exceptions")).unwrap();
    let out = Command::new(assert_cmd::cargo::cargo_bin!("exc"))
        .current_dir(dir.path().join("sub"))
        .env_remove("EXC_DIR")
        .args(["check"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no exc.yaml") && err.contains("--dir"), "{err}");
}

/// `--commit` checks everything first; files honour the umask; `--by` names
/// the actor or is refused; the message says what is still needed.
#[test]
fn writes_go_through_one_careful_path() {
    let repo = approved();
    repo.exc(&[
        "new",
        "--yes",
        "--id",
        "EXC-0002",
        "--as-of",
        "2026-02-05",
        "--type",
        "mfa-bypass",
        "--title",
        "t",
        "--justification",
        "j",
        "--risk-owner",
        "Dana Ops <dana@example.com>",
        "--asset",
        "a",
        "--attachment",
        "evidence/x.pdf",
    ])
    .success();
    commit(&repo, "request 2");
    let before = repo.read("exceptions/EXC-0002.yaml");
    repo.write("unrelated.txt", "x");
    repo.git(&["add", "unrelated.txt"]);
    let out = repo.exc(&["approve", "EXC-0002", "--commit", "--by", SAM, "--as-of", "2026-02-06"]).code(2);
    assert!(stderr(&out).contains("other changes are staged"), "{}", stderr(&out));
    assert_eq!(repo.read("exceptions/EXC-0002.yaml"), before, "a refused commit writes nothing");
    repo.git(&["reset", "-q", "unrelated.txt"]);

    let out =
        repo.exc(&["approve", "EXC-0002", "--by", "Dana Ops <dana@example.com>", "--as-of", "2026-02-06"]).success();
    assert!(stdout(&out).contains("Still needs: security"), "{}", stdout(&out));
    let mut c = repo.cmd();
    c.args(["approve", "EXC-0002", "--by", SAM]);
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(2), "--by someone else is refused");
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not you"));

    use std::os::unix::fs::PermissionsExt;
    for (umask, mode) in [("022", 0o644), ("077", 0o600)] {
        let dir = tempfile::TempDir::new().unwrap();
        let sh = format!("umask {umask} && exec \"$0\" init");
        let st = Command::new("sh")
            .args(["-c", &sh])
            .arg(assert_cmd::cargo::cargo_bin!("exc"))
            .current_dir(dir.path())
            .status()
            .unwrap();
        assert!(st.success());
        let got = std::fs::metadata(dir.path().join("exc.yaml")).unwrap().permissions().mode() & 0o777;
        assert_eq!(got, mode, "umask {umask}");
    }
}
