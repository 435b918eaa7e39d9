//! The README, as a newcomer reads it: its walkthrough runs as written, from
//! an empty folder to a signed, merged approval. Every `sh` block between the
//! walkthrough markers runs, in order, in one shell, in a temporary folder,
//! with real git, real ssh-keygen keys and the `exc` under test first on the
//! `PATH`; each `text` block must appear in the output of the `sh` block
//! before it (`…` stands for anything within a line: dates, ids, paths). The
//! convention is in CONTRIBUTING.md.

use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap()
}

/// A fenced block: its info string (`sh`, `text`, …) and its lines.
struct Block {
    lang: String,
    body: String,
}

/// The fenced blocks of `markdown`.
fn blocks(markdown: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut open: Option<(String, String)> = None;
    for line in markdown.lines() {
        match open.as_mut() {
            None => {
                if let Some(info) = line.strip_prefix("```") {
                    open = Some((info.trim().to_string(), String::new()));
                }
            }
            Some((lang, body)) => {
                if line.trim_end() == "```" {
                    out.push(Block { lang: std::mem::take(lang), body: std::mem::take(body) });
                    open = None;
                } else {
                    body.push_str(line);
                    body.push('\n');
                }
            }
        }
    }
    out
}

/// The walkthrough: the part of the README between its two markers.
fn walkthrough(readme: &str) -> &str {
    let start = readme.find("<!-- walkthrough").expect("README.md has a `<!-- walkthrough` marker");
    let end =
        readme.find("<!-- end of walkthrough -->").expect("README.md has an `<!-- end of walkthrough -->` marker");
    assert!(start < end, "the walkthrough's end marker comes after its start");
    &readme[start..end]
}

/// Whether `line` holds the pieces of `expected` between its `…`, in order.
fn matches(expected: &str, line: &str) -> bool {
    let mut rest = line;
    for piece in expected.split('…') {
        match rest.find(piece) {
            Some(i) => rest = &rest[i + piece.len()..],
            None => return false,
        }
    }
    true
}

/// Checks that every line of `expected` matches a line of `output`, in order.
fn expect_in(expected: &str, output: &str, block: usize) {
    let lines: Vec<&str> = output.lines().collect();
    let mut at = 0;
    for want in expected.lines().filter(|l| !l.trim().is_empty()) {
        match lines[at..].iter().position(|l| matches(want, l)) {
            Some(i) => at += i + 1,
            None => panic!(
                "README walkthrough, block {block}: the output has no line like\n  {want}\n(after line {at}); it was:\n{output}"
            ),
        }
    }
}

/// The shell that runs the walkthrough, with a clean environment: a home of
/// its own (no global git config, no agent), `exc` first on the `PATH`, and
/// the clock pinned (exc's, and git's commit dates).
fn shell(dir: &Path, home: &Path) -> Command {
    let exc = PathBuf::from(assert_cmd::cargo_bin!("exc"));
    let path = std::env::join_paths(
        std::iter::once(exc.parent().unwrap().to_path_buf())
            .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
    )
    .unwrap();
    let now = "2026-12-01T09:00:00Z";
    let mut c = Command::new("sh");
    c.current_dir(dir)
        .env("PATH", path)
        .env("HOME", home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", home.join("gitconfig"))
        .env("NO_COLOR", "1")
        .env("EXC_TEST_CLOCK", now)
        .env("GIT_AUTHOR_DATE", now)
        .env("GIT_COMMITTER_DATE", now);
    for var in [
        "EXC_DIR",
        "EXC_TRUST_ROOT",
        "EXC_REGISTRY",
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
        "GIT_DIR",
        "GIT_WORK_TREE",
        "SSH_AUTH_SOCK",
    ] {
        c.env_remove(var);
    }
    c
}

#[test]
fn the_readme_walkthrough_takes_an_empty_folder_to_a_signed_merged_approval() {
    let readme = readme();
    let blocks = blocks(walkthrough(&readme));
    let shell_blocks: Vec<&Block> = blocks.iter().filter(|b| b.lang == "sh").collect();
    let all: String = shell_blocks.iter().map(|b| b.body.as_str()).collect();
    for step in ["exc init --owner", "exc new", "exc approve", "git merge", "exc check", "exc audit"] {
        assert!(all.contains(step), "the walkthrough no longer runs `{step}`");
    }

    // One script: each block announces itself, so the output can be split by block.
    let mut script = String::from("set -eu\nexec 2>&1\n");
    for (n, b) in shell_blocks.iter().enumerate() {
        script.push_str(&format!("echo '@@ block {n} @@'\n{}", b.body));
    }
    let dir = TempDir::new().unwrap();
    let home = TempDir::new().unwrap();
    let out = shell(dir.path(), home.path()).args(["-c", &script]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "the README walkthrough failed (the last `@@ block N @@` is where):\n{text}");

    // Each `text` block against the output of the `sh` block before it.
    let outputs: Vec<&str> = text.split("@@ block ").skip(1).map(|s| s.split_once(" @@\n").unwrap().1).collect();
    assert_eq!(outputs.len(), shell_blocks.len(), "{text}");
    let mut last = None;
    let mut checked = 0;
    for b in &blocks {
        match b.lang.as_str() {
            "sh" => last = Some(last.map_or(0, |n| n + 1)),
            "text" => {
                let n = last.expect("a `text` block follows an `sh` block in the walkthrough");
                expect_in(&b.body, outputs[n], n);
                checked += 1;
            }
            _ => {}
        }
    }
    assert!(checked >= 4, "the walkthrough shows what its commands print");

    // Where the story ends: main holds the approved record, signed by both people.
    let carol = dir.path().join("exc-tour/carol");
    let record = std::fs::read_to_string(carol.join("exceptions/EXC-0001.yaml")).unwrap();
    assert!(record.contains("status: approved"), "{record}");
    assert_eq!(record.matches("signature: ").count(), 2, "Ann's request and Carol's approval are signed: {record}");
    let git = |args: &[&str]| {
        let out = shell(&carol, home.path()).arg("-c").arg(format!("git {}", args.join(" "))).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(git(&["log", "--merges", "--format=%s", "origin/main"]).contains("Merge exc/netserv-vpn"));
    assert!(git(&["status", "--porcelain"]).is_empty(), "the walkthrough leaves nothing uncommitted");
    for args in [&["check", "--format", "json"][..], &["audit", "--format", "json"][..]] {
        let out = shell(&carol, home.path()).arg("-c").arg(format!("exc {}", args.join(" "))).output().unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(out.status.success(), "exc {args:?}: {v}");
        assert_eq!(v["findings"].as_array().map(Vec::len), Some(0), "exc {args:?}: {v}");
    }
}

/// CI (`.ci/run`) runs the test command the README names, and a newcomer
/// starts from the set-up section near the top: it keeps its two commands.
#[test]
fn the_readme_keeps_its_set_up_commands_near_the_top() {
    let readme = readme();
    let setup = readme.find("\n## Set-up\n").expect("README.md has a `## Set-up` section");
    let walkthrough = readme.find("\n## Walkthrough").expect("README.md has a `## Walkthrough` section");
    assert!(setup < walkthrough, "Set-up comes before the walkthrough");
    assert_eq!(readme[..setup].matches("\n## ").count(), 0, "Set-up is the first section");
    let first = blocks(&readme[setup..]).into_iter().next().unwrap();
    assert_eq!(first.lang, "sh");
    let commands: Vec<&str> = first.body.lines().map(|l| l.split('#').next().unwrap().trim()).collect();
    assert_eq!(commands, ["cargo run --release -- list", "cargo test"], "{}", first.body);
}

#[test]
fn an_ellipsis_stands_for_anything_within_a_line() {
    assert!(matches(
        "Created … (EXC-0001, expires …)",
        "Created exceptions/EXC-0001.yaml (EXC-0001, expires 2026-12-15)"
    ));
    assert!(matches("… the history is clean", "3 commit(s): the history is clean"));
    assert!(!matches("expires … (", "expires 2026-12-15"));
    expect_in("a\n\nc …\n", "a\nb\nc d\n", 0);
    let unordered = std::panic::catch_unwind(|| expect_in("c\na\n", "a\nc\n", 0));
    assert!(unordered.is_err(), "lines are matched in order");
}
