//! `exc audit --checkpoint`: going on from the last audited commit gives the
//! same answer as reading the whole history, and a checkpoint that does not
//! fit (another history, altered, another key or setting, a force-pushed
//! main) is ignored, with a note, for a full audit.

use std::process::Output;

use crate::team::{Team, typed};

const KEY: &str = "0123456789abcdef0123456789abcdef";

/// Where CI's cache keeps it: outside the work tree.
fn file(t: &Team) -> std::path::PathBuf {
    t.repo.home.path().join("cache/audit.checkpoint")
}

/// The codes of an audit's findings.
fn codes(o: &Output) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    v["findings"].as_array().unwrap().iter().map(|f| f["code"].as_str().unwrap().to_string()).collect()
}

/// `exc audit --format json` with the checkpoint (under `key`), or without one.
fn audit(t: &Team, checkpoint: Option<&str>, extra: &[&str]) -> Output {
    let mut c = t.repo.cmd();
    c.args(["audit", "--format", "json"]).args(extra);
    if let Some(key) = checkpoint {
        c.arg("--checkpoint").arg(file(t)).env("EXC_CHECKPOINT_KEY", key);
    }
    c.output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The audit through the checkpoint agrees with the full one, byte for byte
/// (and exit code); returns the checkpointed run's stderr.
fn agrees(t: &Team, extra: &[&str]) -> String {
    let resumed = audit(t, Some(KEY), extra);
    let full = audit(t, None, extra);
    assert_eq!(String::from_utf8_lossy(&resumed.stdout), String::from_utf8_lossy(&full.stdout), "{}", stderr(&resumed));
    assert_eq!(resumed.status.code(), full.status.code());
    stderr(&resumed)
}

/// A history with findings in flight: an approved record edited after
/// approval (awaiting approval again), a request by someone without a
/// role, a branch merged with --no-ff, and an approved policy change.
fn history() -> Team {
    let t = Team::new();
    t.request("EXC-0001", "other", "2026-02-01", &[]);
    t.exc("sam", "2026-02-02", &["approve", "EXC-0001"]).success();
    t.commit("sam", "2026-02-02", "approve");
    // Edited after approval, not approved again: a pending finding.
    let path = "exceptions/EXC-0001.yaml";
    t.repo.write(path, t.read(path).replace("WAF rule", "WAF rule, and a tighter one"));
    t.commit("mallory", "2026-02-03", "edit");
    t.request_as("mallory", "EXC-0002", "other", "2026-02-04", &[]);
    t.git_as("sam", "2026-02-05", &["switch", "-q", "-c", "side"]);
    t.request("EXC-0003", "other", "2026-02-05", &[]);
    t.git_as("sam", "2026-02-06", &["switch", "-q", "main"]);
    t.git_as("sam", "2026-02-06", &["merge", "-q", "--no-ff", "-m", "merge side", "side"]);
    t.approved_policy_change("policy", "2026-02-07", |t| {
        t.repo.write(
            "exc.yaml",
            t.read("exc.yaml")
                .replace("ciso: [carol@example.com]", "ciso: [carol@example.com]\n  audit: [dana@example.com]"),
        );
    });
    t
}

/// How many commits HEAD has.
fn commits(t: &Team) -> usize {
    let out =
        std::process::Command::new("git").args(["rev-list", "--count", "HEAD"]).current_dir(t.repo.path()).output();
    String::from_utf8(out.unwrap().stdout).unwrap().trim().parse().unwrap()
}

#[test]
fn going_on_after_one_and_after_fifty_commits_gives_the_full_audit() {
    let t = history();
    let first = agrees(&t, &[]);
    assert!(first.contains("checkpoint: none yet"), "{first}");
    assert!(first.contains("checkpoint: written for commit"), "{first}");
    assert!(file(&t).exists());
    let before = commits(&t);

    // One new commit: the approval the edit was waiting for.
    t.exc("priya", "2026-02-10", &["approve", "EXC-0001"]).success();
    t.commit("priya", "2026-02-10", "approve again");
    let one = agrees(&t, &[]);
    assert!(one.contains("went on from commit") && one.contains("1 new commit(s) read"), "{one}");

    // Fifty more: requests, approvals, a merge, a policy change, a rewritten
    // decision, an unreadable version and its repair.
    for i in 0..22 {
        let id = format!("EXC-1{i:03}");
        let day = format!("2026-03-{:02}", 1 + i % 28);
        t.request(&id, "other", &day, &[]);
        t.exc("sam", &day, &["approve", &id]).success();
        t.commit("sam", &day, &format!("approve {id}"));
    }
    t.git_as("ann", "2026-04-01", &["switch", "-q", "-c", "more"]);
    t.request("EXC-2000", "other", "2026-04-01", &[]);
    t.request("EXC-2001", "other", "2026-04-02", &[]);
    t.git_as("ann", "2026-04-03", &["switch", "-q", "main"]);
    t.git_as("ann", "2026-04-03", &["merge", "-q", "--no-ff", "-m", "merge more", "more"]);
    let path = "exceptions/EXC-1000.yaml";
    let approved = t.read(path);
    t.repo.write(path, format!("{approved}\tnot yaml: [\n"));
    t.commit("mallory", "2026-04-04", "wip");
    let mut e = typed(&approved);
    e.approvals[0].at -= chrono::Duration::days(1);
    t.repo.write(path, exc::yaml::to_string(&e).unwrap());
    t.commit("mallory", "2026-04-05", "backdate");
    t.approved_policy_change("policy2", "2026-04-06", |t| {
        t.repo.write(
            "exc.yaml",
            t.read("exc.yaml").replace("audit: [dana@example.com]", "audit: [dana@example.com, ann@example.com]"),
        );
    });
    assert!(commits(&t) - before >= 50, "{} new commits", commits(&t) - before);
    let fifty = agrees(&t, &[]);
    assert!(fifty.contains("went on from commit"), "{fifty}");
    let found = codes(&audit(&t, None, &[]));
    for code in ["changed-after-approval", "decision-rewritten"] {
        assert!(found.iter().any(|c| c == code), "the history's findings are there: {code}: {found:?}");
    }

    // Nothing new: nothing read, the same answer.
    let none = agrees(&t, &[]);
    assert!(none.contains("0 new commit(s) read"), "{none}");
}

#[test]
fn a_checkpoint_for_a_commit_not_in_this_history_is_ignored() {
    let t = history();
    // Another registry with the same name and setting writes its checkpoint.
    let other = history();
    assert!(audit(&other, Some(KEY), &[]).status.code().is_some());
    let foreign = std::fs::read(file(&other)).unwrap();
    std::fs::create_dir_all(file(&t).parent().unwrap()).unwrap();
    std::fs::write(file(&t), &foreign).unwrap();
    let note = agrees(&t, &[]);
    assert!(note.contains("not on this branch's first-parent line"), "{note}");

    // A checkpoint of a branch that never reached main.
    t.git_as("ann", "2026-02-20", &["switch", "-q", "-c", "topic"]);
    t.request("EXC-0100", "other", "2026-02-20", &[]);
    assert!(stderr(&audit(&t, Some(KEY), &[])).contains("written for commit"));
    t.git_as("ann", "2026-02-21", &["switch", "-q", "main"]);
    let note = agrees(&t, &[]);
    assert!(note.contains("not on this branch's first-parent line"), "{note}");
}

#[test]
fn a_tampered_checkpoint_or_one_under_another_key_is_ignored() {
    let t = history();
    let found = codes(&audit(&t, None, &[]));
    assert!(found.iter().any(|c| c == "changed-after-approval"), "{found:?}");
    audit(&t, Some(KEY), &[]);
    let genuine = std::fs::read_to_string(file(&t)).unwrap();

    // The change awaiting approval forgotten, the MAC left as it was.
    let (head, body) = genuine.split_once('\n').unwrap();
    let mut v: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_ne!(v["state"]["audit"]["pending"], serde_json::json!([]));
    v["state"]["audit"]["pending"] = serde_json::json!([]);
    std::fs::write(file(&t), format!("{head}\n{}", serde_json::to_string(&v).unwrap())).unwrap();
    let note = agrees(&t, &[]);
    assert!(note.contains("MAC does not match"), "{note}");

    // The same, MAC'd under a key the attacker made up.
    std::fs::write(file(&t), &genuine).unwrap();
    let forged = audit(&t, Some("attacker-key-attacker-key-12345"), &[]);
    assert!(stderr(&forged).contains("MAC does not match"), "{}", stderr(&forged));
    let note = agrees(&t, &[]);
    assert!(note.contains("MAC does not match"), "the attacker's file is not used: {note}");

    // Not a checkpoint at all; a key too short to be one.
    std::fs::write(file(&t), "{}").unwrap();
    assert!(agrees(&t, &[]).contains("is ignored"));
    let short = audit(&t, Some("short"), &[]);
    assert_eq!(short.status.code(), Some(2), "{}", stderr(&short));
    assert!(stderr(&short).contains("at least 16"), "{}", stderr(&short));

    // Written under another trust root: not used under this one.
    let (keys, _) = t.trust_roots();
    audit(&t, Some(KEY), &[]);
    let note = agrees(&t, &["--trust-root", &keys]);
    assert!(note.contains("another setting (trust root)"), "{note}");
}

#[test]
fn a_force_pushed_main_starts_over() {
    let t = history();
    for i in 0..3 {
        t.request(&format!("EXC-05{i:02}"), "other", "2026-03-01", &[]);
    }
    audit(&t, Some(KEY), &[]);
    // main rewritten: the last three commits replaced by one.
    t.git_as("mallory", "2026-03-02", &["reset", "-q", "--hard", "HEAD~3"]);
    t.request_as("mallory", "EXC-0600", "other", "2026-03-02", &[]);
    let note = agrees(&t, &[]);
    assert!(note.contains("not on this branch's first-parent line"), "{note}");
    assert!(note.contains("written for commit"), "{note}");
    assert!(agrees(&t, &[]).contains("0 new commit(s) read"));
}

#[test]
fn without_a_key_the_checkpoint_is_neither_read_nor_written() {
    let t = history();
    let mut c = t.repo.cmd();
    let out = c.args(["audit", "--checkpoint"]).arg(file(&t)).env_remove("EXC_CHECKPOINT_KEY").output().unwrap();
    assert!(stderr(&out).contains("EXC_CHECKPOINT_KEY is not set"), "{}", stderr(&out));
    assert!(!file(&t).exists());
}
