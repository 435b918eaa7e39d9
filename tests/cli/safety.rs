//! Nothing lost: interrupted writes leave the old file, concurrent decisions
//! never lose an approval, a read-only registry is refused clearly, and hostile
//! strings never break machine output.

use serde_json::Value;

use crate::harness::{Repo, stdout};

const POLICY: &str = "roles:\n  security: [sam@example.com]\ntrust: { signatures: off }\n";

fn high_risk_request(repo: &Repo) {
    repo.write("exc.yaml", POLICY);
    let notes = "Context for reviewers. ".repeat(80);
    repo.exc(&[
        "new",
        "--yes",
        "--id",
        "EXC-0001",
        "--as-of",
        "2026-06-01",
        "--type",
        "mfa-bypass",
        "--title",
        "Bypass",
        "--justification",
        "Needed",
        "--risk-owner",
        "Dana Ops <dana@example.com>",
        "--asset",
        "a1",
        "--attachment",
        "evidence/x.pdf",
        "--compensating-control",
        "c",
        "--notes",
        &notes,
    ])
    .success();
}

#[test]
fn an_interrupted_write_leaves_the_old_file_intact() {
    let repo = Repo::init();
    high_risk_request(&repo);
    let before = repo.read("exceptions/EXC-0001.yaml");
    assert!(before.len() > 1024);
    // A file-size limit of 1 KiB kills exc (SIGXFSZ) in the middle of writing.
    let exe = assert_cmd::cargo::cargo_bin!("exc");
    let status = std::process::Command::new("bash")
        .current_dir(repo.path())
        .env("NO_COLOR", "1")
        .env("HOME", repo.home.path())
        .args([
            "-c",
            &format!(
                "ulimit -f 1; exec '{}' approve EXC-0001 --by 'Sam <sam@example.com>' --as-of 2026-06-02",
                exe.display()
            ),
        ])
        .status()
        .unwrap();
    assert!(!status.success(), "the write should have been cut off");
    assert_eq!(repo.read("exceptions/EXC-0001.yaml"), before, "the old record is intact");
    repo.exc(&["validate"]).success();
    assert_eq!(repo.records(), ["EXC-0001.yaml"], "a leftover temp file is hidden, not a record");
}

/// Runs exc with the repository read-only. Root ignores file modes, so as root
/// the repository is bind-mounted read-only in a private mount namespace; other
/// users get the write bits taken off. `None` when neither can be arranged.
/// Acts as the person `--by` names, if any (as `Repo::exc` does).
fn by(repo: &Repo, c: &mut std::process::Command, args: &[&str]) {
    if let Some(who) = args.iter().position(|a| *a == "--by").and_then(|i| args.get(i + 1)) {
        crate::harness::as_person(c, who);
    }
    repo.pin_clock(c, args);
}

fn exc_read_only(repo: &Repo, args: &[&str]) -> Option<std::process::Output> {
    let exe = assert_cmd::cargo::cargo_bin!("exc");
    let uid = std::process::Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&uid.stdout).trim() == "0" {
        let can = std::process::Command::new("unshare").args(["--mount", "true"]).status();
        if !can.is_ok_and(|s| s.success()) {
            return None;
        }
        let dir = repo.path().to_str()?;
        let mut c = repo.wrapped("unshare");
        c.args(["--mount", "sh", "-c", r#"mount --bind -o ro "$0" "$0" && shift && exec "$@""#, dir, "_"]);
        c.arg(exe).args(args);
        by(repo, &mut c, args);
        return c.output().ok();
    }
    let chmod = |mode: &str| {
        for p in [repo.path().join("exceptions/EXC-0001.yaml"), repo.path().join("exceptions"), repo.path().into()] {
            std::process::Command::new("chmod").arg(mode).arg(p).status().unwrap();
        }
    };
    chmod("a-w");
    let mut c = repo.cmd();
    c.args(args);
    by(repo, &mut c, args);
    let out = c.output();
    chmod("u+w");
    out.ok()
}

#[test]
fn a_read_only_registry_is_refused_clearly_and_still_checks() {
    let repo = Repo::init();
    high_risk_request(&repo);
    let before = repo.read("exceptions/EXC-0001.yaml");
    let approve = ["approve", "EXC-0001", "--by", "Sam <sam@example.com>", "--as-of", "2026-06-02"];
    let Some(out) = exc_read_only(&repo, &approve) else {
        eprintln!("skipped: cannot make a read-only mount or drop write bits here");
        return;
    };
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("cannot write") && err.contains("EXC-0001.yaml"), "{err}");
    assert!(err.contains("read-only") || err.contains("permission denied"), "{err}");
    assert!(err.contains("nothing was changed") && !err.contains("panicked") && !err.contains(".exc-"), "{err}");

    let new = ["new", "--yes", "--id", "EXC-0002", "--as-of", "2026-06-01", "--type", "other", "--title", "T"];
    let out = exc_read_only(
        &repo,
        &[&new[..], &["--justification", "J", "--risk-owner", "Dana <dana@example.com>", "--asset", "a1"]].concat(),
    )
    .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("cannot write") && err.contains("EXC-0002.yaml"), "{err}");

    // Reading needs no write access: CI may check a read-only checkout.
    let out = exc_read_only(&repo, &["check", "--fail-on-expired", "--as-of", "2026-06-02"]).unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    assert_eq!(repo.read("exceptions/EXC-0001.yaml"), before, "the record is untouched");
    assert_eq!(repo.records(), ["EXC-0001.yaml"], "nothing was created");
}

#[test]
fn concurrent_approvals_never_lose_one() {
    for round in 0..6 {
        let repo = Repo::init();
        high_risk_request(&repo);
        let spawn = |who: &str| {
            let mut c = repo.cmd();
            c.args(["approve", "EXC-0001", "--by", who, "--as-of", "2026-06-02"]);
            crate::harness::as_person(&mut c, who);
            c.env("EXC_TEST_CLOCK", "2026-06-02");
            c.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap()
        };
        let a = spawn("Sam <sam@example.com>");
        let b = spawn("Dana Ops <dana@example.com>");
        let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
        let text = repo.read("exceptions/EXC-0001.yaml");
        let doc = exc::yaml::parse(&text).expect("the record is still valid YAML");
        let approvals: Vec<String> = doc.value["approvals"]
            .as_array()
            .map(|a| a.iter().map(|x| x["role"].as_str().unwrap().to_string()).collect())
            .unwrap_or_default();
        for (out, role) in [(&a, "security"), (&b, "risk_owner")] {
            if out.status.success() {
                assert!(
                    approvals.contains(&role.to_string()),
                    "round {round}: {role} succeeded but is not in the file:\n{text}"
                );
            } else {
                let err = String::from_utf8_lossy(&out.stderr);
                assert!(err.contains("changed on disk while this command ran"), "round {round}: {err}");
            }
        }
        assert!(a.status.success() || b.status.success(), "round {round}: one of them must win");
        repo.exc(&["validate"]).success();
    }
}

#[test]
fn machine_output_stays_well_formed_with_hostile_strings() {
    let repo = Repo::init();
    repo.write("exc.yaml", POLICY);
    let evil = "Quote \" back\\slash <tag> & ]]> \u{1b}[31m\u{7} %0A ::error:: =cmd|' /C calc'!A0";
    repo.exc(&[
        "new",
        "--yes",
        "--id",
        "EXC-0001",
        "--as-of",
        "2026-06-01",
        "--type",
        "other",
        "--title",
        evil,
        "--justification",
        evil,
        "--risk-owner",
        "Dana Ops <dana@example.com>",
        "--asset",
        evil,
        "--expires",
        "2026-06-10",
    ])
    .success();
    repo.exc(&["approve", "EXC-0001", "--by", "Sam <sam@example.com>", "--as-of", "2026-06-02"]).success();
    let run = |args: &[&str]| {
        let out = repo.cmd().args(args).output().unwrap();
        String::from_utf8(out.stdout).expect("output is UTF-8")
    };
    let json: Value =
        serde_json::from_str(&run(&["check", "--as-of", "2026-07-01", "--fail-on-expired", "--format", "json"]))
            .unwrap();
    assert!(json["findings"][0]["message"].as_str().unwrap().contains("EXC-0001"));
    let list: Value = serde_json::from_str(&run(&["list", "--format", "json"])).unwrap();
    assert_eq!(list[0]["title"], evil, "JSON keeps the exact string");
    let _: Value = serde_json::from_str(&run(&["check", "--as-of", "2026-07-01", "--format", "sarif"])).unwrap();
    let junit = run(&["check", "--as-of", "2026-07-01", "--fail-on-expired", "--format", "junit"]);
    roxmltree::Document::parse(&junit).expect("JUnit is well-formed XML");
    let gh = run(&["check", "--as-of", "2026-07-01", "--fail-on-expired", "--format", "github"]);
    assert_eq!(
        gh.lines().filter(|l| l.starts_with("::")).count(),
        1,
        "a title cannot inject a workflow command:\n{gh}"
    );
    let jsonl = run(&["export", "--format", "jsonl"]);
    for l in jsonl.lines() {
        serde_json::from_str::<Value>(l).unwrap();
    }
    let html = run(&["report", "--as-of", "2026-06-05", "--format", "html"]);
    assert!(!html.contains("<tag>") && !html.contains('\u{1b}'), "HTML escapes everything");
    let text = run(&["list"]);
    assert!(!text.contains('\u{1b}') && !text.contains('\u{7}'), "terminal output escapes controls");
    let csv_text = run(&["export", "--format", "csv"]);
    let mut rdr = csv::Reader::from_reader(csv_text.as_bytes());
    let row = rdr.records().next().unwrap().unwrap();
    assert!(
        row.iter().all(|c| !c.starts_with('=') && !c.starts_with('+') && !c.starts_with('-') && !c.starts_with('@'))
    );
    assert!(stdout(&repo.exc(&["validate"]).success()).contains("all valid"));
}
