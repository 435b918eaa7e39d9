//! Git faults and hostile files: each gets a clear message and the right exit
//! code, never a panic or a hang.

use crate::harness::{Repo, VALID, stderr, stdout};

fn committed_registry() -> Repo {
    let repo = Repo::init();
    repo.write("exceptions/EXC-0001.yaml", VALID);
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "one record"]);
    repo
}

#[test]
fn detached_head_and_an_empty_repository_work() {
    let repo = committed_registry();
    repo.git(&["checkout", "-q", "--detach"]);
    assert!(stdout(&repo.exc(&["audit"]).success()).contains("1 commit(s)"));
    repo.exc(&["history", "EXC-0001"]).success();

    let empty = Repo::init();
    empty.write("exceptions/EXC-0001.yaml", VALID);
    let out = empty.exc(&["history", "EXC-0001"]).code(2);
    assert!(
        stderr(&out).contains("no exception `EXC-0001` in ") && stderr(&out).contains("or in its git history"),
        "{}",
        stderr(&out)
    );
    empty.exc(&["validate"]).success();
}

#[test]
fn a_bare_repository_as_dir_is_refused_clearly() {
    let repo = committed_registry();
    let bare = tempfile::TempDir::new().unwrap();
    let st = std::process::Command::new("git")
        .args(["clone", "-q", "--bare", repo.path().to_str().unwrap(), bare.path().to_str().unwrap()])
        .status()
        .unwrap();
    assert!(st.success());
    let out = repo.exc(&["--dir", bare.path().to_str().unwrap(), "validate"]).code(2);
    assert!(stderr(&out).contains("bare git repository"), "{}", stderr(&out));
}

#[test]
fn a_corrupt_object_is_an_error_not_a_panic() {
    let repo = committed_registry();
    let text = repo.read("exceptions/EXC-0001.yaml");
    repo.write("exceptions/EXC-0001.yaml", text.replace("Legacy CRM", "Old CRM"));
    repo.git(&["commit", "-qam", "edit"]);
    // Overwrite the loose object of the first version of the record.
    let blob = std::process::Command::new("git")
        .args(["rev-parse", "HEAD~1:exceptions/EXC-0001.yaml"])
        .current_dir(repo.path())
        .output()
        .unwrap();
    let blob = String::from_utf8_lossy(&blob.stdout).trim().to_string();
    let path = repo.path().join(".git/objects").join(&blob[..2]).join(&blob[2..]);
    let mut perms = std::fs::metadata(&path).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&path, perms).unwrap();
    std::fs::write(&path, b"garbage").unwrap();
    for cmd in [&["audit"][..], &["history", "EXC-0001"]] {
        let out = repo.exc(cmd).code(2);
        let err = stderr(&out);
        assert!(err.starts_with("exc: error: ") && !err.contains("panicked"), "{err}");
    }
    repo.exc(&["check"]).success();
}

#[test]
fn conflict_markers_are_named() {
    let repo = Repo::init();
    let conflicted = VALID.replace(
        "expires: \"2027-01-15\"\n",
        "<<<<<<< HEAD\nexpires: \"2027-01-15\"\n=======\nexpires: \"2027-01-20\"\n>>>>>>> feature\n",
    );
    repo.write("exceptions/EXC-0001.yaml", conflicted);
    let out = stdout(&repo.exc(&["validate"]).code(1));
    assert!(out.contains("exceptions/EXC-0001.yaml:9:1: error[yaml-syntax]: unresolved merge conflict"), "{out}");
}

/// Every file under `tests/corpus/bad/`, plus the ones too big to commit, each
/// alone in a registry: `validate` and `check` answer 1, name the file, and end quickly.
#[test]
fn the_bad_input_corpus_is_answered_cleanly() {
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/bad");
    let mut cases: Vec<(String, Vec<u8>)> = std::fs::read_dir(&corpus)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect();
    cases.sort();
    assert!(cases.len() >= 12, "corpus has {} files", cases.len());
    let big = format!("{VALID}notes: \"{}\"\n", "x".repeat(50 * 1024 * 1024));
    cases.push(("huge-50mb.yaml".into(), big.into_bytes()));
    let list = format!("id: EXC-0001\nassets:\n{}", "  - a\n".repeat(1_000_000));
    cases.push(("list-1e6-items.yaml".into(), list.into_bytes()));
    let deep = format!("{}x{}", "[".repeat(10_000), "]".repeat(10_000));
    cases.push(("nesting-10000.yaml".into(), deep.into_bytes()));
    for (name, bytes) in cases {
        let repo = Repo::init();
        let file = format!("exceptions/{}", name.replace(".yaml", "").to_uppercase().replace('_', "-") + ".yaml");
        repo.write(&file, &bytes);
        for cmd in ["validate", "check"] {
            let out = repo.cmd().args([cmd]).output().unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{name} ({cmd}): {text}{err}");
            assert!(text.contains(&file), "{name} ({cmd}) does not name the file:\n{text}");
            assert!(!err.contains("panicked"), "{name}: {err}");
        }
    }
}

#[test]
fn a_symlink_out_of_the_registry_is_refused() {
    let repo = Repo::init();
    let outside = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(outside.path(), VALID).unwrap();
    std::os::unix::fs::symlink(outside.path(), repo.path().join("exceptions/EXC-0001.yaml")).unwrap();
    let out = stdout(&repo.exc(&["validate"]).code(1));
    assert!(out.contains("exceptions/EXC-0001.yaml:1:1: error[unreadable]: is a symbolic link"), "{out}");
}

#[test]
fn a_broken_policy_is_exit_2_with_its_position() {
    let repo = Repo::init();
    repo.write("exc.yaml", "types:\n  other: { title: Other, max_days: -3 }\n");
    let out = repo.exc(&["check"]).code(2);
    assert!(stderr(&out).contains("exc.yaml:2:"), "{}", stderr(&out));
    repo.write("exc.yaml", "roles: [a, b\n");
    let out = repo.exc(&["validate"]).code(2);
    assert!(stderr(&out).contains("exc.yaml:"), "{}", stderr(&out));
    repo.write("exc.yaml", "a: &a [*a]\n");
    repo.exc(&["list"]).code(2);
}
