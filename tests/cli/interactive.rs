//! The interactive prompts (the form of `exc new`, the checklist of `exc
//! recertify`), driven through a pseudo-terminal; what a person would see is
//! read from a terminal emulator fed the same output.
//!
//! Keys are sent only once the program has reacted to the previous ones and
//! reads the terminal raw (its echo is off): keys typed between two reads
//! would reach the terminal's line discipline, which echoes them and takes
//! Backspace for itself.

use std::time::{Duration, Instant};

use expectrl::session::OsSession;
use expectrl::{Expect, Session};

use crate::harness::{Repo, VALID, as_person};

const DOWN: &str = "\x1b[B";
const UP: &str = "\x1b[A";
/// Ctrl-U: clears the answer up to the cursor.
const CLEAR: &str = "\x15";
const BACKSPACE: &str = "\x7f";

/// The pseudo-terminal's size: 80 columns, as many terminals open, and rows
/// enough that nothing scrolls away.
const COLS: u16 = 80;
const ROWS: u16 = 200;

/// `exc ARGS` in a pseudo-terminal, as `person` when given, with everything
/// it writes kept to be read as a terminal shows it. A stuck prompt fails
/// the test after 20 seconds.
struct Tty {
    p: OsSession,
    seen: Vec<u8>,
}

impl Tty {
    fn spawn(repo: &Repo, args: &[&str], person: Option<&str>) -> Tty {
        Tty::spawn_env(repo, args, person, &[])
    }

    /// [`Tty::spawn`] with variables set (`Some`) or removed (`None`).
    fn spawn_env(repo: &Repo, args: &[&str], person: Option<&str>, env: &[(&str, Option<&str>)]) -> Tty {
        let mut cmd = repo.cmd();
        cmd.args(args).env("TERM", "xterm");
        for (k, v) in env {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        if let Some(person) = person {
            as_person(&mut cmd, person);
        }
        repo.pin_clock(&mut cmd, args);
        let mut p = Session::spawn(cmd).expect("spawn exc in a pty");
        p.get_process_mut().set_window_size(COLS, ROWS).unwrap();
        p.set_expect_timeout(Some(Duration::from_secs(20)));
        Tty { p, seen: Vec::new() }
    }

    /// `exc new ARGS`, as Ann.
    fn new_form(repo: &Repo, args: &[&str]) -> Tty {
        Tty::spawn(repo, &[&["new"][..], args].concat(), None)
    }

    /// Waits for `needle`; returns what was written since the last wait, up to it.
    fn expect(&mut self, needle: &str) -> String {
        let found = self.p.expect(needle).unwrap_or_else(|e| panic!("{needle:?}: {e}\n{}", self.screen()));
        self.seen.extend_from_slice(found.as_bytes());
        String::from_utf8_lossy(found.as_bytes()).into_owned()
    }

    /// Types `keys` at once, when the program reads keys.
    fn send(&mut self, keys: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.p.get_process().get_echo().unwrap_or(false) {
            assert!(Instant::now() < deadline, "the program never read keys\n{}", self.screen());
            std::thread::sleep(Duration::from_millis(1));
        }
        self.p.send(keys).unwrap();
    }

    /// Waits for the program to end; returns what it wrote since the last wait.
    fn end(&mut self) -> String {
        let found = self.p.expect(expectrl::Eof).unwrap();
        self.seen.extend_from_slice(found.as_bytes());
        String::from_utf8_lossy(found.as_bytes()).into_owned()
    }

    /// The screen as a terminal shows what was written up to the last wait.
    fn screen(&self) -> String {
        let size = |n: u16| std::num::NonZeroU16::new(n).unwrap();
        let mut vt = vt100::Parser::new(size(ROWS), size(COLS), 0);
        vt.process(&self.seen);
        vt.screen().contents()
    }
}

/// Flags that answer the form's title, justification and risk-owner questions.
const ANSWERED: &[&str] = &["--title", "t", "--justification", "j", "--risk-owner", "Dana Ops <dana@example.com>"];

#[test]
fn the_form_asks_validates_previews_and_writes() {
    let repo = Repo::init();
    let mut t = Tty::new_form(&repo, &["--as-of", "2026-11-27"]);

    t.expect("Type of exception");
    // mfa-bypass, firewall-rule, vulnerability-deferral: two down.
    t.send(&format!("{DOWN}{DOWN}\r"));
    t.expect("Title");
    t.send("Defer OpenSSL patch on payments\r");
    t.expect("Justification");
    t.send("Vendor appliance; patch voids support until Q1\r");
    t.expect("Risk owner");
    t.send("dana\r");
    t.expect("write it as: Name <email>");
    // Clear the refused answer, then give a valid one.
    t.send(&format!("{}Dana Ops <dana@example.com>\r", BACKSPACE.repeat(4)));
    t.expect("Assets affected");
    t.send("pay-01, pay-02\r");
    t.expect("Compensating controls");
    t.send("WAF virtual patch\r");
    t.expect("Findings");
    t.send("CVE-2026-1234\r");
    t.expect("Submit this exception?");
    t.send(&format!("{DOWN}\r"));
    t.expect("Change which answer?");
    // Expires is the last answer: up wraps to it.
    t.send(&format!("{UP}\r"));
    t.expect("at most 2027-02-25");
    // Replace the answer (the type's maximum) with a shorter span.
    t.send(&format!("{}30d\r", BACKSPACE.repeat(10)));
    t.expect("expires: \"2026-12-27\"");
    t.expect("Submit this exception?");
    t.send("\r");
    t.expect("Created exceptions/EXC-");
    t.end();

    let files = repo.records();
    assert_eq!(files.len(), 1, "{files:?}");
    let text = repo.read(&format!("exceptions/{}", files[0]));
    for needle in [
        "type: vulnerability-deferral",
        "title: Defer OpenSSL patch on payments",
        "risk_owner: Dana Ops <dana@example.com>",
        "requester: Ann Lee <ann@example.com>",
        "  - pay-02",
        "  - WAF virtual patch",
        "  - CVE-2026-1234",
        "expires: \"2026-12-27\"",
    ] {
        assert!(text.contains(needle), "{needle:?} not in:\n{text}");
    }
    repo.exc(&["validate"]).success();
}

#[test]
fn cancelling_writes_nothing() {
    let repo = Repo::init();
    let flags = ["--type", "other", "--asset", "a", "--compensating-control", "c"];
    let mut t = Tty::new_form(&repo, &[&flags[..], ANSWERED].concat());
    t.expect("Submit this exception?");
    t.send(&format!("{UP}\r"));
    t.expect("nothing written");
    t.end();
    assert!(repo.records().is_empty());
}

#[test]
fn the_form_asks_for_evidence_a_high_risk_type_needs() {
    let repo = Repo::init();
    let flags = [
        "--type",
        "mfa-bypass",
        "--asset",
        "crm-01",
        "--compensating-control",
        "IP allow-list",
        "--as-of",
        "2026-11-27",
    ];
    let mut t = Tty::new_form(&repo, &[&flags[..], ANSWERED].concat());
    t.expect("Evidence for the approvers");
    t.send("evidence/vendor-letter.pdf\r");
    t.expect("Submit this exception?");
    t.send("\r");
    t.expect("Created exceptions/EXC-");
    t.end();
    let files = repo.records();
    let text = repo.read(&format!("exceptions/{}", files[0]));
    assert!(text.contains("  - evidence/vendor-letter.pdf"), "{text}");
}

#[test]
fn an_empty_answer_is_refused_with_a_message_that_goes_once_answered() {
    let repo = Repo::init();
    let mut t = Tty::spawn(&repo, &["new", "--type", "other", "--as-of", "2026-11-27"], None);
    t.expect("Title");
    t.send("\r");
    t.expect("please write something");
    let screen = t.screen();
    assert!(screen.contains("✘ please write something"), "{screen}");
    assert_eq!(screen.matches("Title (one line").count(), 1, "{screen}");
    // Asked again: the answer is taken, and the message goes.
    t.send("Defer the patch\r");
    t.expect("Justification");
    let screen = t.screen();
    assert!(!screen.contains("please write something"), "{screen}");
    assert!(screen.contains("✔ Title (one line: what is excepted) · Defer the patch\n"), "{screen}");
    // The same for a list, with what it wants.
    t.send("Vendor appliance\r");
    t.expect("Risk owner");
    t.send("Dana Ops <dana@example.com>\r");
    t.expect("Assets");
    t.send(" , \r");
    t.expect("please write something: at least one");
    t.send(&format!("{CLEAR}pay-01\r"));
    t.expect("Compensating controls");
    let screen = t.screen();
    assert!(!screen.contains("please write something"), "{screen}");
    assert!(screen.contains("✔ Assets affected (comma-separated) · pay-01\n"), "{screen}");
}

#[test]
fn a_long_answer_wraps_and_its_question_shows_once() {
    let repo = Repo::init();
    let mut t = Tty::new_form(&repo, &["--as-of", "2026-11-27"]);
    // "Vulnerability patch deferral (vulnerability-deferral, medium risk, up to
    // 90 days)" is wider than 80 columns with its marker: shortened, not wrapped.
    t.expect("Type of exception");
    t.send(&format!("{DOWN}{DOWN}\r"));
    t.expect("Title");
    let long = "Defer the OpenSSL 3.0 patch on the payments gateway appliances and the settlement batch \
                hosts until the vendor certifies the Q1 firmware build";
    assert!(long.len() > usize::from(COLS));
    t.send(long);
    t.expect("firmware build");
    // Typing past the edge and back again unwraps cleanly too.
    t.send(&"x".repeat(30));
    t.expect(&"x".repeat(30));
    t.send(&format!("{}\r", BACKSPACE.repeat(30)));
    t.expect("Justification");
    let screen = t.screen();
    assert_eq!(screen.matches("Type of exception").count(), 1, "{screen}");
    assert_eq!(screen.matches("Title (one line").count(), 1, "{screen}");
    assert!(screen.contains("✔ Type of exception · Vulnerability patch deferral"), "{screen}");
    let unwrapped = screen.replace('\n', "");
    assert!(unwrapped.contains(&format!("✔ Title (one line: what is excepted) · {long}? Justification")), "{screen}");
    assert!(!screen.contains("xx"), "{screen}");
}

#[test]
fn any_answer_can_be_changed_at_the_preview() {
    let repo = Repo::init();
    let flags = ["--type", "other", "--asset", "a", "--compensating-control", "c", "--as-of", "2026-11-27"];
    let mut t = Tty::new_form(&repo, &[&flags[..], ANSWERED].concat());
    t.expect("Submit this exception?");
    // Change the title: asked again, starting from the answer given.
    t.send(&format!("{DOWN}\r"));
    t.expect("Change which answer?");
    t.send(&format!("{DOWN}\r"));
    t.expect("Title (one line: what is excepted) › t");
    t.send(&format!("{CLEAR}Payments WAF rule\r"));
    let preview = t.expect("Submit this exception?");
    assert!(preview.contains("title: Payments WAF rule"), "{preview}");
    // Change the type (from `other`, the last, up to vulnerability-deferral,
    // the third): what the new type requires is asked for.
    t.send(&format!("{DOWN}\r"));
    t.expect("Change which answer?");
    t.send("\r");
    t.expect("Type of exception");
    t.send(&format!("{}\r", UP.repeat(4)));
    t.expect("Findings");
    t.send("CVE-2026-1234 purl=pkg:npm/lodash@4.17.20\r");
    let preview = t.expect("Submit this exception?");
    assert!(preview.contains("type: vulnerability-deferral"), "{preview}");
    t.send("\r");
    t.expect("Created exceptions/EXC-");
    t.end();
    let text = repo.read(&format!("exceptions/{}", repo.records()[0]));
    for needle in ["type: vulnerability-deferral", "title: Payments WAF rule", "purl: pkg:npm/lodash@4.17.20"] {
        assert!(text.contains(needle), "{needle:?} not in:\n{text}");
    }
    repo.exc(&["validate"]).success();
}

#[test]
fn a_request_that_breaks_the_rules_is_fixed_at_the_preview() {
    let repo = Repo::init();
    let flags = ["--type", "mfa-bypass", "--asset", "crm-01", "--compensating-control", "IP allow-list"];
    let mut t = Tty::new_form(&repo, &[&flags[..], ANSWERED, &["--as-of", "2026-11-27"]].concat());
    t.expect("Evidence for the approvers");
    t.send("evidence/missing.pdf\r");
    let preview = t.expect("Change it?");
    assert!(preview.contains("This request cannot be filed as it is:"), "{preview}");
    assert!(preview.contains("attachment `evidence/missing.pdf` is not evidence"), "{preview}");
    // Submit is not offered: the first choice changes an answer.
    t.send("\r");
    t.expect("Change which answer?");
    // Evidence comes before the risk and the expiry, the last two.
    t.send(&format!("{UP}{UP}{UP}\r"));
    t.expect("› evidence/missing.pdf");
    t.send(&format!("{CLEAR}evidence/vendor-letter.pdf\r"));
    t.expect("Submit this exception?");
    t.send("\r");
    t.expect("Created exceptions/EXC-");
    t.end();
    let text = repo.read(&format!("exceptions/{}", repo.records()[0]));
    assert!(text.contains("  - evidence/vendor-letter.pdf") && text.contains("title: t"), "{text}");
}

const SAM: &str = "Sam Okafor <sam@example.com>";
const DANA: &str = "Dana Ops <dana@example.com>";

/// A registry with an `other` exception Ann filed on 2026-11-01 and Sam
/// (security) approved the next day; returns its id.
fn approved(repo: &Repo) -> String {
    repo.write("exc.yaml", "roles:\n  security: [sam@example.com]\ntrust: { signatures: off }\n");
    let out = repo
        .exc(
            &[
                &["new", "--yes", "--format", "json", "--as-of", "2026-11-01", "--type", "other"][..],
                ANSWERED,
                &["--asset", "host-01", "--compensating-control", "WAF rule"],
            ]
            .concat(),
        )
        .success();
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let id = v["id"].as_str().unwrap().to_string();
    repo.exc(&["approve", &id, "--by", SAM, "--as-of", "2026-11-02"]).success();
    id
}

#[test]
fn recertify_refuses_an_expiry_past_the_cap_where_it_is_given() {
    let repo = Repo::init();
    let id = approved(&repo);
    let mut t = Tty::spawn(&repo, &["recertify", &id, "--as-of", "2026-12-01"], Some(DANA));
    t.expect("still effective?");
    t.send("y");
    t.expect("still valid?");
    t.send("y");
    t.expect("better option");
    t.send("n");
    t.expect("Extend (a later expiry)");
    t.send(DOWN);
    t.send("\r");
    // 90 days from 2026-12-01.
    t.expect("at most 2027-03-01");
    t.send(&format!("{CLEAR}2027-06-01\r"));
    t.expect("type `other` allows at most 90 days from today: until 2027-03-01");
    t.send(&format!("{CLEAR}2026-12-01\r"));
    t.expect("must be after today (2026-12-01)");
    t.send(&format!("{CLEAR}60d\r"));
    t.expect("Note");
    let screen = t.screen();
    assert!(!screen.contains("must be after today") && screen.contains("✔ Expires"), "{screen}");
    t.send("WAF still blocks it\r");
    t.end();
    let text = repo.read(&format!("exceptions/{id}.yaml"));
    assert!(text.contains("expires: \"2027-01-30\""), "{text}");
    assert!(text.contains("note: WAF still blocks it"), "{text}");
}

/// A review that keeps the date is the first choice: nothing to retype.
#[test]
fn recertify_keeps_the_date_unless_asked_to_move_it() {
    let repo = Repo::init();
    let id = approved(&repo);
    let before = repo.read(&format!("exceptions/{id}.yaml"));
    let mut t = Tty::spawn(&repo, &["recertify", &id, "--as-of", "2026-12-01"], Some(DANA));
    t.expect("still effective?");
    t.send("y");
    t.expect("still valid?");
    t.send("y");
    t.expect("better option");
    t.send("n");
    t.expect("Keep the date (reviewed; still expires 2027-01-30)");
    t.send("\r");
    let asked = t.expect("Note");
    assert!(!asked.contains("Expires ("), "no date is asked for: {asked}");
    t.send("controls re-tested\r");
    let said = t.end();
    assert!(said.contains("reviewed, the date kept (expires 2027-01-30)"), "{said}");
    let after = repo.read(&format!("exceptions/{id}.yaml"));
    assert!(after.contains("decision: keep") && after.contains("status: approved"), "{after}");
    assert!(before.contains("expires: \"2027-01-30\"") && after.contains("expires: \"2027-01-30\""));
}

#[test]
fn recertify_offers_no_extension_when_the_controls_fail() {
    let repo = Repo::init();
    let id = approved(&repo);
    let mut t = Tty::spawn(&repo, &["recertify", &id, "--as-of", "2026-12-01"], Some(DANA));
    t.expect("still effective?");
    t.send("n");
    t.expect("still valid?");
    t.send("y");
    t.expect("better option");
    t.send("n");
    let said = t.expect("Decision");
    assert!(said.contains("Not offered: keep or extend (the compensating controls are not effective"), "{said}");
    t.expect("Revoke (withdraw for cause)");
    // Revoke, as the answers suggest, is the default.
    t.send("\r");
    let offered = t.expect("Note");
    assert!(!offered.contains("Extend"), "{offered}");
    assert!(offered.contains("✔ Decision · Revoke"), "{offered}");
    t.send("EDR gap\r");
    t.end();
    let text = repo.read(&format!("exceptions/{id}.yaml"));
    assert!(text.contains("status: revoked"), "{text}");
}

#[test]
fn recertify_checks_who_may_review_before_asking() {
    let repo = Repo::init();
    let id = approved(&repo);
    // Ann filed it: she may not review it, and is told so before any question.
    let mut t = Tty::spawn(&repo, &["recertify", &id, "--as-of", "2026-12-01"], None);
    let said = t.end();
    assert!(said.contains("someone else must recertify it"), "{said}");
    assert!(!said.contains("still effective?"), "{said}");
}

#[test]
fn recertify_that_fails_at_the_end_gives_back_the_answers() {
    use std::os::unix::fs::PermissionsExt;
    let repo = Repo::init();
    let id = approved(&repo);
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "registry"]);
    // Everything checks out until git's own hook turns the commit down.
    let hook = repo.write(".git/hooks/pre-commit", "#!/bin/sh\necho 'hook says no' >&2\nexit 1\n");
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut t = Tty::spawn(&repo, &["recertify", &id, "--commit", "--as-of", "2026-12-01"], Some(DANA));
    t.expect("still effective?");
    t.send("y");
    t.expect("still valid?");
    t.send("y");
    t.expect("better option");
    t.send("n");
    t.expect("Extend (a later expiry)");
    t.send(DOWN);
    t.send("\r");
    t.expect("Expires");
    t.send(&format!("{CLEAR}30d\r"));
    t.expect("Note");
    t.send("it's fine\r");
    let said = t.end();
    let again = format!(
        "exc recertify {id} --controls-effective yes --justification-valid yes --better-option no --decision extend \
         --expires 2026-12-31 --note 'it'\\''s fine' --commit"
    );
    assert!(said.contains(&again), "{said}");
    assert!(said.contains("hook says no"), "{said}");
    assert!(repo.read(&format!("exceptions/{id}.yaml")).contains("expires: \"2027-01-30\""), "unchanged");
}

/// A finding is checked as it is typed (a malformed advisory id is refused
/// there, not at the preview), and scoped as the flags scope it.
#[test]
fn findings_are_checked_as_typed_and_can_be_scoped() {
    let repo = Repo::init();
    let flags = ["--type", "vulnerability-deferral", "--asset", "pay-01", "--compensating-control", "WAF rule"];
    let mut t = Tty::new_form(&repo, &[&flags[..], ANSWERED, &["--as-of", "2026-11-27"]].concat());
    t.expect("scope: package= version= purl= path=");
    t.send("CVE-2026-1\r");
    t.expect("is not a CVE id (written like CVE-2026-12345)");
    t.send(&format!("{CLEAR}CVE-2026-1234 version=3.0.11\r"));
    t.expect("`version=` goes with `package=`");
    t.send(&format!(
        "{CLEAR}CVE-2026-1234 package=openssl version=3.0.11, GHSA-4xc9-8hmq-j652 purl=pkg:npm/lodash path=web/{{a,b}}/**\r"
    ));
    let preview = t.expect("Submit this exception?");
    assert!(!preview.contains("cannot be filed"), "{preview}");
    t.send("\r");
    t.expect("Created exceptions/EXC-");
    t.end();
    let text = repo.read(&format!("exceptions/{}", repo.records()[0]));
    for needle in [
        "  - id: CVE-2026-1234\n    package: openssl\n    version: \"3.0.11\"",
        "  - id: GHSA-4xc9-8hmq-j652\n    path: web/{a,b}/**\n    purl: pkg:npm/lodash",
    ] {
        assert!(text.contains(needle), "{needle:?} not in:\n{text}");
    }
    repo.exc(&["validate"]).success();
}

/// The requester may propose a higher risk from the preview (never a lower
/// one: only the type's tier and above are offered); the preview then says
/// what that tier needs before approval.
#[test]
fn a_higher_risk_can_be_proposed_at_the_preview() {
    let repo = Repo::init();
    let flags = ["--type", "other", "--asset", "a", "--compensating-control", "c", "--as-of", "2026-11-27"];
    let mut t = Tty::new_form(&repo, &[&flags[..], ANSWERED].concat());
    t.expect("Submit this exception?");
    t.send(&format!("{DOWN}\r"));
    t.expect("Change which answer?");
    // The risk is the last but one answer.
    t.send(&format!("{UP}{UP}\r"));
    t.expect("the approvers decide");
    t.expect("critical");
    let screen = t.screen();
    assert!(screen.contains("medium (the type's default; approved by security)"), "{screen}");
    assert!(!screen.contains("low ("), "a lower tier is not offered: {screen}");
    t.send(&format!("{DOWN}\r"));
    let preview = t.expect("Submit this exception?");
    assert!(preview.contains("proposed_risk: high"), "{preview}");
    // High risk needs evidence: the form says so, and how to add it now.
    assert!(
        preview.contains("Before it can be approved it needs: attachments. Choose \"Change an answer\""),
        "{preview}"
    );
    t.send("\r");
    t.expect("Created exceptions/EXC-");
    t.end();
    let text = repo.read(&format!("exceptions/{}", repo.records()[0]));
    assert!(text.contains("\nproposed_risk: high\n"), "{text}");
}

/// Progress shows on a terminal (here from the first report, where it would
/// wait a second) and is cleared when the read ends; never with `--quiet`,
/// nor where `CI` is set.
#[test]
fn progress_shows_on_a_terminal_and_is_cleared() {
    let repo = Repo::init();
    for i in 1..=3 {
        repo.write(&format!("exceptions/EXC-000{i}.yaml"), VALID.replace("EXC-0001", &format!("EXC-000{i}")));
        repo.git(&["add", "-A"]);
        repo.git(&["commit", "-qm", &format!("record {i}")]);
    }
    let cases: [(&[&str], Option<&str>, bool); 3] =
        [(&["audit"], None, true), (&["audit", "--quiet"], None, false), (&["audit"], Some("true"), false)];
    for (args, ci, shown) in cases {
        let env = [("EXC_PROGRESS_AFTER_MS", Some("0")), ("CI", ci)];
        let mut t = Tty::spawn_env(&repo, args, None, &env);
        let written = t.end();
        assert_eq!(written.contains("commits read"), shown, "{args:?} CI={ci:?}: {written:?}");
        assert!(!t.screen().contains("commits read"), "the bar is cleared: {}", t.screen());
        assert!(t.screen().contains("the history"), "the audit's verdict: {}", t.screen());
    }
}
