//! A new team's first month, round 2: what a team following exc's own words
//! ran into when filing, signing and reviewing, each as it was found.

use std::path::Path;
use std::process::Command;

use crate::harness::{Repo, as_person, stderr, stdout};

const SAM: &str = "Sam Okafor <sam@example.com>";
const DANA: &str = "Dana Ops <dana@example.com>";

/// A registry with people in roles and signatures off.
fn team() -> Repo {
    let repo = Repo::init();
    repo.write(
        "exc.yaml",
        "roles:\n  security: [sam@example.com]\n  ciso: [carol@example.com]\ntrust: { signatures: off }\n",
    );
    repo
}

/// `exc new --yes` with the basics answered, and `extra`.
fn file<'a>(kind: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "new",
        "--yes",
        "--type",
        kind,
        "--title",
        "CRM MFA bypass",
        "--justification",
        "Legacy CRM cannot do SAML",
        "--risk-owner",
        DANA,
        "--asset",
        "crm-01",
        "--compensating-control",
        "Office IP allow-list",
    ];
    args.extend_from_slice(extra);
    args
}

#[test]
fn someone_else_as_requester_is_refused_naming_the_requester_flag() {
    let repo = team();
    let out = repo.exc(&file("other", &["--requester", "Bob Ray <bob@example.com>"])).code(2);
    let err = stderr(&out);
    assert!(err.contains("--requester Bob Ray <bob@example.com> is not you"), "{err}");
    assert!(err.contains("a request is recorded as filed by whoever files it") && !err.contains("--by"), "{err}");
    // Confirming oneself is fine.
    repo.exc(&file("other", &["--requester", "Ann Lee <ann@example.com>"])).success();
}

#[test]
fn an_unknown_type_suggests_the_closest() {
    let repo = team();
    let err = stderr(&repo.exc(&file("mfa-bypas", &[])).code(2));
    assert!(err.contains("unknown type `mfa-bypas`; did you mean `mfa-bypass`?"), "{err}");
    let err = stderr(&repo.exc(&file("vendor", &[])).code(2));
    assert!(err.contains("did you mean `vendor-access`?"), "{err}");
    let err = stderr(&repo.exc(&file("zzzzzzzz", &[])).code(2));
    assert!(err.contains("unknown type `zzzzzzzz`; the types are mfa-bypass"), "{err}");
}

#[test]
fn keys_lists_a_persons_two_keys_on_two_rows() {
    let repo = team();
    let dir = repo.home.path().join("keys");
    std::fs::create_dir_all(&dir).unwrap();
    let mut keys = Vec::new();
    for name in ["old", "new"] {
        let out = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
            .arg(dir.join(name))
            .output()
            .unwrap();
        assert!(out.status.success());
        keys.push(std::fs::read_to_string(dir.join(format!("{name}.pub"))).unwrap().trim().to_string());
    }
    repo.write(
        "exc.yaml",
        format!(
            "roles:\n  security: [sam@example.com]\ntrust:\n  registry: first-month-tests\n  keys:\n    sam@example.com: [\"{}\", \"{}\"]\n",
            keys[0], keys[1]
        ),
    );
    let out = stdout(&repo.exc(&["keys"]).success());
    assert!(!out.contains("\\n"), "{out}");
    let rows: Vec<&str> = out.lines().filter(|l| l.contains("SHA256:")).collect();
    assert_eq!(rows.len(), 2, "{out}");
    assert!(rows[0].contains("sam@example.com") && rows[0].contains("security"), "{out}");
    assert!(!rows[1].contains("sam@example.com"), "the second key sits under the first: {out}");
}

/// Up to and including 48 h a wait is given in hours; past it, in days.
#[test]
fn a_wait_of_exactly_48_hours_reads_48_h() {
    let repo = team();
    let mut new = repo.cmd();
    new.args(file("other", &["--id", "EXC-0001"])).env("EXC_TEST_CLOCK", "2027-03-01T00:00:00Z");
    assert!(new.output().unwrap().status.success());
    let remind = |clock: &str| {
        let mut c = repo.cmd();
        c.args(["remind", "--format", "json"]).env("EXC_TEST_CLOCK", clock);
        as_person(&mut c, SAM);
        let r: serde_json::Value = serde_json::from_slice(&c.output().unwrap().stdout).unwrap();
        r["groups"][0]["items"][0]["message"].as_str().unwrap().to_string()
    };
    assert_eq!(
        remind("2027-03-03T00:00:00Z"),
        "awaiting your approval as security for 48 h (3 days left of the 5-day SLA)"
    );
    assert_eq!(
        remind("2027-03-03T06:00:00Z"),
        "awaiting your approval as security for 2.3 days (2.8 days left of the 5-day SLA)"
    );
}

/// Runs a line exc printed for people to run, in the repository.
fn run_line(repo: &Repo, line: &str) {
    let out = Command::new("sh")
        .args(["-c", line])
        .current_dir(repo.path())
        .env("HOME", repo.home.path())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{line}: {}", String::from_utf8_lossy(&out.stderr));
}

/// `exc check` on a fresh clone of `repo` at `branch`, as CI runs it.
fn check_a_fresh_clone(repo: &Repo, branch: &str) {
    let ci = tempfile::TempDir::new().unwrap();
    let out = Command::new("git")
        .args(["clone", "-q", "-b", branch])
        .arg(repo.path())
        .arg(ci.path().join("ci"))
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", repo.home.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let check = Command::new(assert_cmd::cargo_bin!("exc"))
        .arg("check")
        .current_dir(ci.path().join("ci"))
        .env_remove("EXC_DIR")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
}

/// A team with its registry committed and its evidence files not yet.
fn team_on_main() -> Repo {
    let repo = team();
    repo.git(&["add", "exc.yaml", "schema", "exceptions"]);
    repo.git(&["commit", "-qm", "registry"]);
    repo
}

/// The `Next:` line names the evidence file with the record, so a team that
/// runs it literally pushes both, and CI on a fresh clone finds the file.
#[test]
fn following_next_literally_commits_the_evidence_and_ci_passes() {
    let repo = team_on_main();
    let out = stdout(&repo.exc(&file("mfa-bypass", &["--id", "EXC-0001", "--attachment", "evidence/x.pdf"])).success());
    assert!(out.contains("Next: open a pull request with the new file and the evidence it cites:"), "{out}");
    let line = out.lines().skip_while(|l| !l.starts_with("Next:")).nth(1).unwrap().trim();
    assert!(line.contains("git add exceptions/EXC-0001.yaml evidence/x.pdf &&"), "{line}");
    run_line(&repo, line.trim_end_matches(" && git push -u origin HEAD"));
    check_a_fresh_clone(&repo, "exc/EXC-0001");
}

/// With --commit the record is committed alone; exc says the evidence is
/// not, and how to commit it.
#[test]
fn a_committed_request_names_the_evidence_left_to_commit() {
    let repo = team_on_main();
    let args = file("mfa-bypass", &["--id", "EXC-0002", "--attachment", "evidence/letter.pdf", "--commit"]);
    let out = stdout(&repo.exc(&args).success());
    assert!(out.contains("without the evidence it cites (evidence/letter.pdf)"), "{out}");
    let line = out.lines().find(|l| l.trim_start().starts_with("git add")).unwrap().trim();
    assert_eq!(line, "git add evidence/letter.pdf && git commit -m 'exc: evidence for EXC-0002'");
    run_line(&repo, line);
    check_a_fresh_clone(&repo, "main");
    // Evidence already committed, or a URL, needs nothing more.
    let args = file("mfa-bypass", &["--id", "EXC-0003", "--attachment", "evidence/letter.pdf", "--commit"]);
    let out = stdout(&repo.exc(&args).success());
    assert!(out.contains("push it and open a pull request") && !out.contains("without the evidence"), "{out}");
}

/// A tier that is approved only with evidence: the next step says so first.
#[test]
fn a_request_without_the_evidence_its_tier_needs_is_told_to_add_it() {
    let repo = team_on_main();
    let out = stdout(&repo.exc(&file("mfa-bypass", &["--id", "EXC-0004"])).success());
    assert!(out.contains("Before approval, add: attachments"), "{out}");
    assert!(
        out.contains("Next: add its evidence, which high risk needs before approval: a repository path or an https URL under `attachments:` in exceptions/EXC-0004.yaml"),
        "{out}"
    );
    let json: serde_json::Value = serde_json::from_str(&stdout(
        &repo.exc(&file("other", &["--format", "json", "--attachment", "evidence/x.pdf"])).success(),
    ))
    .unwrap();
    assert_eq!(json["uncommitted_evidence"], serde_json::json!(["evidence/x.pdf"]));
}

/// `exc new --risk`: a requester proposes a higher tier, never a lower one;
/// the record says so, routing starts there, and an edit of it voids the
/// approvals as any request edit does.
#[test]
fn a_requester_proposes_a_higher_risk_and_the_approvers_decide() {
    let repo = team();
    let err = stderr(&repo.exc(&file("other", &["--risk", "low"])).code(2));
    assert!(
        err.contains("type `other` is medium risk; a requester may propose a higher tier, never a lower one"),
        "{err}"
    );
    let out = stdout(
        &repo
            .exc(&file("other", &["--id", "EXC-0001", "--risk", "high", "--attachment", "https://wiki.example.com/e"]))
            .success(),
    );
    assert!(out.contains("Needs approval (high risk):") && out.contains("risk_owner: Dana Ops"), "{out}");
    assert!(repo.read("exceptions/EXC-0001.yaml").contains("\nproposed_risk: high\n"));
    let show = stdout(&repo.exc(&["show", "EXC-0001"]).success());
    assert!(show.contains("high (proposed by the requester, not yet assessed)"), "{show}");
    // Security alone cannot approve it: the risk owner must too.
    let approved = stdout(&repo.exc(&["approve", "EXC-0001", "--by", SAM]).success());
    assert!(approved.contains("Still needs: risk_owner"), "{approved}");
    repo.exc(&["approve", "EXC-0001", "--by", DANA]).success();
    repo.exc(&["check"]).success();
    // The proposal is part of the request: lowering it by hand voids the approvals.
    let text = repo.read("exceptions/EXC-0001.yaml").replace("proposed_risk: high\n", "");
    repo.write("exceptions/EXC-0001.yaml", text);
    let check = stdout(&repo.exc(&["check"]).code(1));
    assert!(check.contains("changed-after-approval"), "{check}");
    // A proposal below the type's tier, written by hand, is refused.
    let low = repo.read("exceptions/EXC-0001.yaml").replacen("\nexpires:", "\nproposed_risk: low\nexpires:", 1);
    repo.write("exceptions/EXC-0001.yaml", low);
    let check = stdout(&repo.exc(&["validate"]).code(1));
    assert!(check.contains("proposed_risk low is below type `other`'s medium risk"), "{check}");
}

/// Commits everything in `repo`, dated `day` (noon UTC).
fn commit_on(repo: &Repo, day: &str, message: &str) {
    let date = format!("{day}T12:00:00Z");
    for args in [&["add", "-A"][..], &["commit", "-qm", message][..]] {
        let out = Command::new("git")
            .args(args)
            .current_dir(repo.path())
            .env("HOME", repo.home.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
}

/// A registry with a year of history: requests filed and approved, each
/// committed on its day, over four quarters.
fn a_year_of_history() -> Repo {
    let repo = team();
    repo.write(
        "exc.yaml",
        "roles:\n  security: [sam@example.com]\ntrust: { signatures: off }\nassets: { total: 200 }\n",
    );
    commit_on(&repo, "2026-01-05", "policy");
    let steps: [(&str, &str, &str); 6] = [
        ("EXC-0001", "2026-01-10", "2026-01-11"),
        ("EXC-0002", "2026-02-10", "2026-02-14"),
        ("EXC-0003", "2026-04-10", "2026-04-11"),
        ("EXC-0004", "2026-05-10", "2026-05-20"),
        ("EXC-0005", "2026-07-10", "2026-07-11"),
        ("EXC-0006", "2026-10-10", "2026-10-12"),
    ];
    for (id, filed, approved) in steps {
        let mut args = file("firewall-rule", &["--id", id, "--asset"]);
        args.push(id);
        args.extend(["--as-of", filed]);
        repo.exc(&args).success();
        commit_on(&repo, filed, "request");
        repo.exc(&["approve", id, "--by", SAM, "--as-of", approved]).success();
        commit_on(&repo, approved, "approve");
    }
    repo
}

/// `report --trend quarterly --format html`: the dashboard, with each main
/// KPI at each quarter end as a line chart beside its target and a table,
/// opened in headless Chromium as the dashboard is (no script, no console
/// error, nothing scrolling sideways on a desktop or a phone).
#[test]
fn the_dashboard_charts_the_quarterly_trend() {
    let repo = a_year_of_history();
    let out = repo.path().join("trend.html");
    let args = ["report", "--trend", "quarterly", "--format", "html", "--as-of", "2026-12-01", "--out"];
    repo.exc(&[&args[..], &[out.to_str().unwrap()]].concat()).success();
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.contains("Key indicators") && html.contains("Needs action"), "the whole dashboard");
    let trend = html.split("<h2>Quarter by quarter</h2>").nth(1).expect("a trend section");
    let trend = trend.split("<h2>").next().unwrap();
    assert!(html.find("Key indicators") < html.find("Quarter by quarter"));
    assert_eq!(trend.matches("<svg").count(), 8, "active, and the seven main KPIs");
    assert!(trend.matches("<polyline").count() >= 8, "each a line across the quarters");
    for q in ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"] {
        assert!(trend.contains(&format!("<th>{q}</th>")), "{q} in the table");
    }
    // Active at each quarter end (a firewall rule lasts 180 days): 2, 4, then
    // 3 (the first two expired) and, on 2026-12-01, 2.
    let active_row = trend.split("<td>Active exceptions</td>").nth(1).unwrap().split("</tr>").next().unwrap();
    let active: Vec<&str> =
        active_row.split("<td class=\"n\">").skip(1).map(|c| c.split('<').next().unwrap()).collect();
    assert!(active.ends_with(&["2", "4", "3", "2"]), "{active:?}");
    assert!(trend.contains("target ≤ 48 h"), "each chart beside its target");
    assert!(!html.contains("<script"), "no script");

    // Without --trend, the dashboard is as it was.
    let plain = repo.path().join("plain.html");
    repo.exc(&["report", "--format", "html", "--as-of", "2026-12-01", "--out", plain.to_str().unwrap()]).success();
    assert!(!std::fs::read_to_string(&plain).unwrap().contains("Quarter by quarter"));

    let Some(chromium) =
        ["chromium", "chromium-browser", "google-chrome"].into_iter().find(|c| crate::report::which(c))
    else {
        assert!(std::env::var_os("CI").is_none(), "CI must install chromium for the dashboard test");
        eprintln!("skipping the browser half: no chromium on this machine");
        return;
    };
    let profile = tempfile::TempDir::new().unwrap();
    let browse = |args: &[&str], url: &Path| {
        let out = Command::new(chromium)
            .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"])
            .args(["--disable-background-networking", "--disable-component-update", "--disable-sync"])
            .args(["--enable-logging=stderr", "--v=0"])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(args)
            .arg(format!("file://{}", url.display()))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        out
    };
    let dom = browse(&["--dump-dom"], &out);
    let dom_text = String::from_utf8_lossy(&dom.stdout);
    assert!(dom_text.contains("Quarter by quarter") && dom_text.contains("<polyline"), "rendered");
    let log = String::from_utf8_lossy(&dom.stderr);
    let console: Vec<&str> = log.lines().filter(|l| l.contains("CONSOLE") || l.contains("Refused to")).collect();
    assert!(console.is_empty(), "console errors: {console:?}");
    let shot = repo.path().join("trend.png");
    browse(&["--window-size=1280,2400", &format!("--screenshot={}", shot.display())], &out);
    let png = std::fs::read(&shot).unwrap();
    assert!(png.starts_with(b"\x89PNG") && png.len() > 20_000, "screenshot of {} bytes", png.len());

    let frames = repo.path().join("widths.html");
    std::fs::write(&frames, crate::report::measuring_frames(&html, crate::report::WIDTHS)).unwrap();
    let dom = browse(&["--window-size=1700,1800", "--virtual-time-budget=2000", "--dump-dom"], &frames);
    let dom_text = String::from_utf8_lossy(&dom.stdout);
    let measured = dom_text.split("data-widths=\"").nth(1).and_then(|m| m.split('"').next()).unwrap_or_default();
    let widths: Vec<Vec<u32>> =
        measured.split(' ').map(|m| m.split(':').filter_map(|n| n.parse().ok()).collect()).collect();
    assert_eq!(widths.len(), crate::report::WIDTHS.len(), "measured: {measured:?}");
    for w in widths {
        assert!(
            w.len() == 3 && w[2] <= w[0] && w[1] <= w[2],
            "at {} px the page is {} px wide (view {} px)",
            w[0],
            w[1],
            w[2]
        );
    }
}

/// A rehearsal: the commands that read look ahead with `--as-of`, and a
/// command that decides says it acts now, not on the day given.
#[test]
fn a_team_rehearses_the_coming_quarter() {
    let repo = a_year_of_history();
    let ahead = |args: &[&str]| {
        let mut c = repo.cmd();
        c.args(args).env("EXC_TEST_CLOCK", "2026-12-01");
        c.output().unwrap()
    };
    // EXC-0006 (filed 2026-10-10, a 180-day firewall rule) expires on 2027-04-08.
    let check = ahead(&["check", "--as-of", "2027-04-09", "--fail-on-expired"]);
    assert_eq!(check.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&check.stdout).contains("EXC-0006 expired on 2027-04-08"));
    let remind = ahead(&["remind", "--as-of", "2027-03-30", "--within", "14d"]);
    assert!(String::from_utf8_lossy(&remind.stdout).contains(": expires on 2027-04-08 (in 9 days)"));
    let report: serde_json::Value =
        serde_json::from_slice(&ahead(&["report", "--as-of", "2027-04-09", "--format", "json"]).stdout).unwrap();
    assert_eq!(report["active"], 0);
    let expire = ahead(&["expire", "--as-of", "2027-04-09", "--format", "json"]);
    assert!(String::from_utf8_lossy(&expire.stdout).contains("EXC-0006"));
    assert!(ahead(&["expire", "--apply", "--as-of", "2027-04-09"]).status.code() == Some(2));
    // Deciding acts now, and says so.
    let mut c = repo.cmd();
    c.args(["retire", "EXC-0006", "--reason", "Rehearsed", "--as-of", "2027-04-01"])
        .env("EXC_TEST_CLOCK", "2026-12-01");
    as_person(&mut c, DANA);
    let out = c.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--as-of 2027-04-01 does not date a change: this one is made now, on 2026-12-01"), "{err}");
    assert!(repo.read("exceptions/EXC-0006.yaml").contains("at: \"2026-12-01T00:00:00Z\""));
}
