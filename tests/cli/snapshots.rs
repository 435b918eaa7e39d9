//! Whole outputs, compared with committed snapshots (insta): every format of
//! `validate`, `check`, `audit`, `diff`, `remind` and `report` on one fixed
//! registry and history, and each command's `--help`. Commit dates are pinned,
//! so commit ids are stable; temp paths are redacted.
//!
//! After an intended change: `INSTA_UPDATE=always cargo test --test cli snapshots`,
//! then read the diff of `tests/cli/snapshots/` before committing it.

use std::process::Command;

use crate::harness::Repo;

const POLICY: &str = "\
roles:
  security: [sam@example.com]
  ciso: [carol@example.com]
assets: { total: 50 }
trust: { signatures: off }
";
const SAM: &str = "Sam Okafor <sam@example.com>";
const DANA: &str = "Dana Ops <dana@example.com>";

/// Runs git with a pinned date, so commit ids do not change between runs.
fn git(repo: &Repo, date: &str, args: &[&str]) {
    let out = Command::new("git")
        .args(args)
        .current_dir(repo.path())
        .env("HOME", repo.home.path())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_DATE", date)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn commit(repo: &Repo, date: &str, who: (&str, &str), message: &str) {
    git(repo, date, &["add", "-A"]);
    let (name, email) = who;
    git(
        repo,
        date,
        &["-c", &format!("user.name={name}"), "-c", &format!("user.email={email}"), "commit", "-qm", message],
    );
}

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
        "Needed for the release",
        "--risk-owner",
        DANA,
        "--asset",
        "host-01",
        "--compensating-control",
        "Network allow-list",
        "--expires",
        expires,
    ];
    args.extend_from_slice(extra);
    repo.exc(&args).success();
}

/// A registry with a history: approvals, an expiry, a pending request, a
/// hand edit after approval on a branch, and a deleted record.
fn fixture() -> Repo {
    let repo = Repo::init();
    repo.write("exc.yaml", POLICY);
    commit(&repo, "2026-01-01T09:00:00Z", ("Carol Chen", "carol@example.com"), "policy");
    new(&repo, "EXC-000A", "firewall-rule", "2026-01-02", "2026-03-01", &[]);
    new(&repo, "EXC-000B", "mfa-bypass", "2026-01-02", "2026-03-30", &["--attachment", "https://wiki.example.com/b"]);
    new(&repo, "EXC-000C", "other", "2026-01-03", "2026-02-01", &[]);
    commit(&repo, "2026-01-03T09:00:00Z", ("Ann Lee", "ann@example.com"), "exc: request three");
    repo.exc(&["approve", "EXC-000A", "--by", SAM, "--as-of", "2026-01-04"]).success();
    commit(&repo, "2026-01-04T09:00:00Z", ("Sam Okafor", "sam@example.com"), "exc: approve EXC-000A");
    repo.exc(&["approve", "EXC-000B", "--by", SAM, "--as-of", "2026-01-05"]).success();
    commit(&repo, "2026-01-05T09:00:00Z", ("Sam Okafor", "sam@example.com"), "exc: approve EXC-000B (security)");
    // The requester moves the expiry of an approved record by hand.
    let a = repo.read("exceptions/EXC-000A.yaml");
    repo.write("exceptions/EXC-000A.yaml", a.replacen("expires: \"2026-03-01\"", "expires: \"2026-06-29\"", 1));
    commit(&repo, "2026-01-06T09:00:00Z", ("Ann Lee", "ann@example.com"), "extend EXC-000A");
    git(&repo, "2026-01-06T09:00:00Z", &["tag", "base"]);
    // A branch: a new request, and a deleted record.
    new(&repo, "EXC-000D", "vendor-access", "2026-01-07", "2026-02-01", &[]);
    std::fs::remove_file(repo.path().join("exceptions/EXC-000C.yaml")).unwrap();
    commit(&repo, "2026-01-07T09:00:00Z", ("Ann Lee", "ann@example.com"), "vendor access; drop C");
    repo
}

/// Runs exc and returns stdout with temp paths redacted.
fn run(repo: &Repo, args: &[&str]) -> String {
    let out = repo.cmd().args(args).env("COLUMNS", "100").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let root = repo.path().to_string_lossy().into_owned();
    format!("exit {}\n{}", out.status.code().unwrap_or(-1), text.replace(&root, "[REPO]"))
}

fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_prepend_module_to_snapshot(false);
    s.set_snapshot_path("snapshots");
    s.add_filter(r#""version": "[0-9.]+""#, r#""version": "[VERSION]""#);
    s.add_filter(r#""version":"[0-9.]+""#, r#""version":"[VERSION]""#);
    s.add_filter(r"\b[0-9a-f]{40}\b", "[COMMIT]");
    s.add_filter(r"\b(commit|against base|against `base`) \(?`?[0-9a-f]{10}\b", "$1 [SHORT]");
    s.add_filter(r"\(`[0-9a-f]{10}`\)", "(`[SHORT]`)");
    s.add_filter(r"\([0-9a-f]{10}\)", "([SHORT])");
    s
}

#[test]
fn finding_formats() {
    let repo = fixture();
    let _guard = settings().bind_to_scope();
    for format in ["text", "json", "github", "sarif", "junit"] {
        insta::assert_snapshot!(format!("validate-{format}"), run(&repo, &["validate", "--format", format]));
        let check = ["check", "--as-of", "2026-03-05", "--fail-on-expired", "--warn-within", "30", "--format", format];
        insta::assert_snapshot!(format!("check-{format}"), run(&repo, &check));
        insta::assert_snapshot!(format!("audit-{format}"), run(&repo, &["audit", "--format", format]));
    }
    for format in ["text", "json", "markdown"] {
        insta::assert_snapshot!(format!("diff-{format}"), run(&repo, &["diff", "--base", "base", "--format", format]));
        let remind = ["remind", "--as-of", "2026-01-20", "--within", "30d", "--format", format];
        insta::assert_snapshot!(format!("remind-{format}"), run(&repo, &remind));
    }
    for format in ["text", "json", "csv", "markdown"] {
        let report = ["report", "--as-of", "2026-03-05", "--format", format];
        insta::assert_snapshot!(format!("report-{format}"), run(&repo, &report));
    }
}

#[test]
fn help_texts() {
    let repo = Repo::new();
    let _guard = settings().bind_to_scope();
    insta::assert_snapshot!("help", run(&repo, &["--help"]));
    // Every subcommand `exc --help` lists, so a new one cannot be missed.
    let top = run(&repo, &["--help"]);
    let commands: Vec<&str> = top
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    assert!(commands.len() > 20, "{top}");
    for command in commands {
        insta::assert_snapshot!(format!("help-{command}"), run(&repo, &[command, "--help"]));
    }
    insta::assert_snapshot!("help-policy-approve", run(&repo, &["policy", "approve", "--help"]));
}
