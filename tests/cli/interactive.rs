//! The interactive form, driven through a pseudo-terminal.

use std::time::Duration;

use expectrl::session::OsSession;
use expectrl::{Expect, Session};

use crate::harness::Repo;

const DOWN: &str = "\x1b[B";

/// `exc new ARGS` in a pseudo-terminal, with a timeout so a stuck prompt fails the test.
fn form(repo: &Repo, args: &[&str]) -> OsSession {
    let mut cmd = repo.cmd();
    cmd.arg("new").args(args).env("TERM", "xterm");
    repo.pin_clock(&mut cmd, &[&["new"][..], args].concat());
    let mut p = Session::spawn(cmd).expect("spawn exc in a pty");
    p.set_expect_timeout(Some(Duration::from_secs(20)));
    p
}

/// Flags that answer the form's title, justification and risk-owner questions.
const ANSWERED: &[&str] = &["--title", "t", "--justification", "j", "--risk-owner", "Dana Ops <dana@example.com>"];

#[test]
fn the_form_asks_validates_previews_and_writes() {
    let repo = Repo::init();
    let mut p = form(&repo, &["--as-of", "2026-11-27"]);

    p.expect("Type of exception").unwrap();
    // mfa-bypass, firewall-rule, vulnerability-deferral: two down.
    p.send(DOWN).unwrap();
    p.send(DOWN).unwrap();
    p.send("\r").unwrap();
    p.expect("Title").unwrap();
    p.send("Defer OpenSSL patch on payments\r").unwrap();
    p.expect("Justification").unwrap();
    p.send("Vendor appliance; patch voids support until Q1\r").unwrap();
    p.expect("Risk owner").unwrap();
    p.send("dana\r").unwrap();
    p.expect("Name <email>").unwrap();
    // Clear the rejected answer, then give a valid one.
    for _ in 0..4 {
        p.send("\x7f").unwrap();
    }
    p.send("Dana Ops <dana@example.com>\r").unwrap();
    p.expect("Assets affected").unwrap();
    p.send("pay-01, pay-02\r").unwrap();
    p.expect("Compensating controls").unwrap();
    p.send("WAF virtual patch\r").unwrap();
    p.expect("Findings").unwrap();
    p.send("CVE-2026-1234\r").unwrap();
    p.expect("Submit this exception?").unwrap();
    p.send(DOWN).unwrap();
    p.send("\r").unwrap();
    p.expect("at most 2027-02-25").unwrap();
    // Replace the default (the type's maximum) with a shorter span.
    for _ in 0..10 {
        p.send("\x7f").unwrap();
    }
    p.send("30d\r").unwrap();
    p.expect("expires: \"2026-12-27\"").unwrap();
    p.expect("Submit this exception?").unwrap();
    p.send("\r").unwrap();
    p.expect("Created exceptions/EXC-").unwrap();
    p.expect(expectrl::Eof).unwrap();

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
    let mut p = form(&repo, &[&flags[..], ANSWERED].concat());
    p.expect("Submit this exception?").unwrap();
    p.send(DOWN).unwrap();
    p.send(DOWN).unwrap();
    p.send("\r").unwrap();
    p.expect("nothing written").unwrap();
    p.expect(expectrl::Eof).unwrap();
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
    let mut p = form(&repo, &[&flags[..], ANSWERED].concat());
    p.expect("Evidence for the approvers").unwrap();
    p.send("evidence/vendor-letter.pdf\r").unwrap();
    p.expect("Submit this exception?").unwrap();
    p.send("\r").unwrap();
    p.expect("Created exceptions/EXC-").unwrap();
    p.expect(expectrl::Eof).unwrap();
    let files = repo.records();
    let text = repo.read(&format!("exceptions/{}", files[0]));
    assert!(text.contains("  - evidence/vendor-letter.pdf"), "{text}");
}
