//! The rough edges a new team hit in its first week, each as it was found:
//! spans where days are asked for, `active` as a status, a shortened type
//! name, the formats a command offers, the next review date, reminders in
//! days and messages that read right. Read-only commands on the sample
//! registry, pinned to its snapshot date.

use std::path::Path;
use std::process::{Command, Output};

fn sample(args: &[&str]) -> Output {
    Command::new(assert_cmd::cargo_bin!("exc"))
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")))
        .env_remove("EXC_DIR")
        .env_remove("EXC_TEST_CLOCK")
        .env("NO_COLOR", "1")
        .args(args)
        .args(["--as-of", "2026-11-27"])
        .output()
        .unwrap()
}

fn text(o: &[u8]) -> String {
    String::from_utf8_lossy(o).into_owned()
}

#[test]
fn spans_are_taken_wherever_days_are_asked_for() {
    for span in ["8", "8d", "2w", "1m"] {
        let out = sample(&["check", "--warn-within", span]);
        assert!(out.status.success(), "{span}: {}", text(&out.stderr));
        assert!(
            text(&out.stdout).contains("EXC-0011 expires on 2026-12-05 (in 8 days)"),
            "{span}: {}",
            text(&out.stdout)
        );
    }
    let out = sample(&["check", "--warn-within", "7d"]);
    assert!(!text(&out.stdout).contains("EXC-0011 expires"), "{}", text(&out.stdout));
    let out = sample(&["check", "--warn-within", "soon"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("is not a span like 30d, 2w or 3m"), "{}", text(&out.stderr));
}

#[test]
fn list_takes_active_suggests_types_and_offers_only_its_formats() {
    let active = sample(&["list", "--status", "active", "--format", "json"]);
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&active.stdout).unwrap();
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|r| r["active"] == true), "{rows:?}");
    let approved: Vec<serde_json::Value> =
        serde_json::from_slice(&sample(&["list", "--status", "approved", "--format", "json"]).stdout).unwrap();
    assert!(rows.len() <= approved.len());

    let mfa = sample(&["list", "--type", "mfa"]);
    assert!(
        text(&mfa.stderr).contains("exc.yaml has no type `mfa`; did you mean `mfa-bypass`?"),
        "{}",
        text(&mfa.stderr)
    );
    let nothing = sample(&["list", "--type", "zzz"]);
    assert!(text(&nothing.stderr).contains("exc.yaml's types: mfa-bypass"), "{}", text(&nothing.stderr));

    let xml = sample(&["list", "--format", "xml"]);
    assert_eq!(xml.status.code(), Some(2));
    assert!(text(&xml.stderr).contains("[possible values: text, json, csv]"), "{}", text(&xml.stderr));
    assert!(!text(&xml.stderr).contains("html"), "{}", text(&xml.stderr));
}

#[test]
fn show_gives_the_next_review_and_history_names_the_id_cleanly() {
    let show = text(&sample(&["show", "EXC-0002"]).stdout);
    assert!(show.contains("next review            2027-02-18 (in 83 days)"), "{show}");
    let json: serde_json::Value =
        serde_json::from_slice(&sample(&["show", "EXC-0002", "--format", "json"]).stdout).unwrap();
    assert_eq!(json["row"]["next_review"].as_str().or(json["next_review"].as_str()), Some("2027-02-18"), "{json}");
    let history = sample(&["history", "EXC-NOPE"]);
    assert_eq!(history.status.code(), Some(2));
    let err = text(&history.stderr);
    assert!(err.contains("no exception `EXC-NOPE` in ") && err.contains(" or in its git history"), "{err}");
}

#[test]
fn reminders_speak_in_days_and_markdown_keeps_code() {
    let out = text(&sample(&["remind"]).stdout);
    assert!(out.contains("awaiting your approval as ciso for 8.6 days (3.6 days over the 5-day SLA)"), "{out}");
    assert!(!out.contains(" h SLA"), "{out}");
    let md = text(&sample(&["remind", "--format", "markdown"]).stdout);
    assert!(md.contains("renew with `exc recertify EXC-0011` or let it close"), "{md}");
    assert!(!md.contains("\\`"), "{md}");
}

#[test]
fn the_version_names_its_commit_and_the_man_page_renders() {
    let v = text(&sample(&["--version"]).stdout);
    let inner =
        v.trim().strip_prefix(&format!("exc {} (", env!("CARGO_PKG_VERSION"))).and_then(|r| r.strip_suffix(')'));
    let commit = inner.unwrap_or_else(|| panic!("{v}"));
    assert!(commit == "unknown commit" || (commit.len() == 12 && commit.bytes().all(|b| b.is_ascii_hexdigit())), "{v}");
    let man = text(&sample(&["man"]).stdout);
    assert!(man.contains(".TH exc 1") && man.contains("SUBCOMMANDS") && man.contains("evidence"), "{man}");
    // Hidden from the command list.
    assert!(!text(&sample(&["--help"]).stdout).contains("\n  man "));
}
