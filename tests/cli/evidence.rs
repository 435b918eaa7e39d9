//! `exc evidence`: the pack an auditor takes away. Made twice (and on a
//! second clone) it is the same bytes; each file is what the command behind
//! it prints; decisions carry the commit that brought them; and the pack
//! refuses what would make it wrong (uncommitted changes, a folder of other
//! files) without deleting anything.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::harness::{Repo, stderr};
use crate::trail::{POLICY, be, commit_all, request};

/// Every file under `dir` (relative name, bytes), sorted.
pub fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

fn git_out(dir: &Path, args: &[&str]) -> (bool, String) {
    let o = Command::new("git").args(args).current_dir(dir).output().unwrap();
    (o.status.success(), String::from_utf8_lossy(&o.stdout).into_owned())
}

fn exc_in(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(assert_cmd::cargo_bin!("exc"))
        .current_dir(dir)
        .env_remove("EXC_DIR")
        .env_remove("EXC_TEST_CLOCK")
        .env("NO_COLOR", "1")
        .env("EXC_TRUST_ROOT", crate::sample::trust_root())
        .args(args)
        .output()
        .unwrap()
}

const PERIOD: &[&str] = &["--as-of", "2026-12-01", "--since", "2026-07-01"];

#[test]
fn the_sample_pack_is_reproducible_and_each_file_is_what_exc_says() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    if git_out(root, &["rev-parse", "--is-shallow-repository"]).1.trim() != "false" {
        eprintln!("skipped: not a full clone of the project's history");
        return;
    }
    // Two clones in folders of the same name (the POA&M names the system by it).
    let tmp = tempfile::TempDir::new().unwrap();
    let clone = |at: &str| -> PathBuf {
        let dir = tmp.path().join(at).join("registry");
        std::fs::create_dir_all(dir.parent().unwrap()).unwrap();
        let o = Command::new("git").args(["clone", "-q"]).arg(root).arg(&dir).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        dir
    };
    let (a, b) = (clone("a"), clone("b"));
    let pack = |dir: &Path, out: &Path| {
        let mut args = vec!["evidence", "--out", out.to_str().unwrap()];
        args.extend(PERIOD);
        let o = exc_in(dir, &args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    let first = tmp.path().join("first");
    pack(&a, &first);
    pack(&a, &tmp.path().join("again"));
    pack(&b, &tmp.path().join("other-clone"));
    // Over the earlier pack, in place: allowed, since it holds only pack files.
    pack(&a, &first);
    let files = tree(&first);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "MANIFEST",
            "README.txt",
            "audit.json",
            "decisions.csv",
            "decisions.json",
            "kpis.html",
            "kpis.json",
            "poam.json",
            "policy/allowed_signers",
            "policy/exc.yaml",
            "register.csv",
            "register.json"
        ]
    );
    assert!(files == tree(&tmp.path().join("again")), "a second run differs");
    assert!(files == tree(&tmp.path().join("other-clone")), "a second clone's pack differs");

    // The manifest is what sha256sum reads, and names the commit.
    let check = Command::new("sha256sum").args(["-c", "--strict", "MANIFEST"]).current_dir(&first).output().unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stdout));
    assert_eq!(String::from_utf8_lossy(&check.stdout).matches(": OK").count(), files.len() - 1);
    let head = git_out(&a, &["rev-parse", "HEAD"]).1;
    let manifest = String::from_utf8_lossy(&files[0].1).into_owned();
    assert!(manifest.contains(&format!("# commit: {}", head.trim())), "{manifest}");

    // Each file is what the command behind it prints for the same date.
    let read = |name: &str| String::from_utf8(files.iter().find(|(n, _)| n == name).unwrap().1.clone()).unwrap();
    let printed = |args: &[&str]| String::from_utf8(exc_in(&a, args).stdout).unwrap();
    assert_eq!(
        read("register.json"),
        printed(&["export", "--format", "json", "--with-history", "--as-of", "2026-12-01"])
    );
    assert_eq!(read("poam.json"), printed(&["export", "--format", "oscal-poam", "--as-of", "2026-12-01"]));
    assert_eq!(read("audit.json"), printed(&["audit", "--format", "json"]));
    let mut report = vec!["report", "--format", "json"];
    report.extend(PERIOD);
    assert_eq!(read("kpis.json"), printed(&report));
    let register: Value = serde_json::from_str(&read("register.json")).unwrap();
    assert!(
        register["records"].as_array().unwrap().iter().all(|r| r["history"].as_array().is_some_and(|h| !h.is_empty()))
    );

    // Every decision of the period, signed, with the commit that first held it.
    let decisions: Vec<Value> = serde_json::from_str(&read("decisions.json")).unwrap();
    assert!(!decisions.is_empty());
    for d in &decisions {
        assert!(d["at"].as_str().unwrap() >= "2026-07-01" && d["at"].as_str().unwrap() < "2026-12-01", "{d}");
        let by_policy = d["by"] == "policy";
        assert_eq!(d["verified"], true, "{d}");
        assert!(d["signature"] == "verifies" || by_policy, "{d}");
        let commit = d["commit"].as_str().unwrap_or_else(|| panic!("no commit: {d}"));
        let path = d["path"].as_str().unwrap();
        let at = d["at"].as_str().unwrap();
        let (ok, then) = git_out(&a, &["show", &format!("{commit}:{path}")]);
        assert!(ok && then.contains(at), "{commit} does not hold {d}");
        let (_, before) = git_out(&a, &["show", &format!("{commit}^:{path}")]);
        assert!(!before.contains(&format!("by: {}", d["by"].as_str().unwrap())) || !before.contains(at), "{d}");
    }
    let csv = read("decisions.csv");
    assert_eq!(csv.lines().count(), decisions.len() + 1);
    assert!(csv.starts_with("id,decision,role,by,at,risk,expires,signature,commit,path\n"), "{csv}");

    // The policy as in force on the date: the last commit before it that changed it.
    let readme = read("README.txt");
    let policy_commit = readme.lines().find_map(|l| l.strip_prefix("The policy files are as of commit ")).unwrap();
    let policy_commit = policy_commit.split(',').next().unwrap();
    assert_eq!(read("policy/exc.yaml"), git_out(&a, &["show", &format!("{policy_commit}:exc.yaml")]).1);
    assert!(readme.contains(&format!("git checkout {}", head.trim())), "{readme}");
}

fn head(repo: &Repo) -> String {
    git_out(repo.path(), &["rev-parse", "HEAD"]).1.trim().to_string()
}

#[test]
fn the_pack_bounds_the_period_names_forgeries_and_deletes_nothing() {
    let repo = Repo::init();
    *repo.clock.borrow_mut() = Some("2026-01-01".into());
    repo.write("exc.yaml", POLICY);
    commit_all(&repo, "policy");
    request(&repo, "2026-01-05", &["--id", "EXC-0001"]);
    be(&repo, "Sam Okafor", "sam@example.com");
    repo.exc(&["approve", "EXC-0001", "--commit", "--as-of", "2026-01-06"]).success();
    let sams = head(&repo);
    be(&repo, "Dana Ops", "dana@example.com");
    repo.exc(&["approve", "EXC-0001", "--commit", "--as-of", "2026-03-02"]).success();
    let danas = head(&repo);
    // Ann writes Sam's approval of her second request herself.
    be(&repo, "Ann Lee", "ann@example.com");
    request(&repo, "2026-03-03", &["--id", "EXC-0002"]);
    repo.exc(&["approve", "EXC-0002", "--by", "Sam Okafor <sam@example.com>", "--as-of", "2026-03-04"]).success();
    commit_all(&repo, "approve");
    let forged = head(&repo);
    // A policy change after the date of the pack.
    *repo.clock.borrow_mut() = Some("2026-05-01".into());
    repo.write("exc.yaml", format!("{POLICY}sla: {{ standard_hours: 48 }}\n"));
    commit_all(&repo, "later policy");

    let out = repo.path().join("pack");
    let made = repo.exc(&["evidence", "--out", "pack", "--as-of", "2026-04-01", "--since", "2026-02-01"]).code(1);
    assert!(stderr(&made).contains("finding(s)"), "{}", stderr(&made));
    let decisions = std::fs::read_to_string(out.join("decisions.csv")).unwrap();
    // Sam's approval of January is before the period; Dana's and the forged one are in it.
    assert!(!decisions.contains(&sams), "{decisions}");
    assert!(decisions.lines().any(|l| l.contains("Dana Ops") && l.contains(&danas)), "{decisions}");
    assert!(decisions.lines().any(|l| l.starts_with("EXC-0002,approve") && l.contains(&forged)), "{decisions}");
    let audit: Value = serde_json::from_str(&std::fs::read_to_string(out.join("audit.json")).unwrap()).unwrap();
    assert!(
        audit["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "approval-committed-by-other" && f["commit"] == forged.as_str()),
        "{audit}"
    );
    assert_eq!(std::fs::read_to_string(out.join("policy/exc.yaml")).unwrap(), POLICY);
    let kpis: Value = serde_json::from_str(&std::fs::read_to_string(out.join("kpis.json")).unwrap()).unwrap();
    assert_eq!((kpis["as_of"].as_str(), kpis["since"].as_str()), (Some("2026-04-01"), Some("2026-02-01")));

    // A folder holding anything else is refused, and keeps it.
    repo.write("pack/notes.txt", "mine");
    let refused = repo.exc(&["evidence", "--out", "pack", "--as-of", "2026-04-01"]).code(2);
    assert!(stderr(&refused).contains("notes.txt"), "{}", stderr(&refused));
    assert_eq!(repo.read("pack/notes.txt"), "mine");
    // So is a path that is a file, and --since after the date.
    repo.exc(&["evidence", "--out", "pack/notes.txt"]).code(2);
    assert_eq!(repo.read("pack/notes.txt"), "mine");
    repo.exc(&["evidence", "--out", "p2", "--as-of", "2026-04-01", "--since", "2026-05-01"]).code(2);
    // Never into the registry itself.
    for inside in ["exceptions/pack", "exceptions", "."] {
        let refused = repo.exc(&["evidence", "--out", inside, "--as-of", "2026-04-01"]).code(2);
        assert!(stderr(&refused).contains("not into it"), "{inside}: {}", stderr(&refused));
    }
    assert!(!repo.path().join("exceptions/pack").exists());
    // Uncommitted changes to the registry: refused unless allowed, and then named.
    let text = repo.read("exceptions/EXC-0001.yaml");
    repo.write("exceptions/EXC-0001.yaml", text.replace("MFA bypass", "MFA bypass (edited)"));
    let refused = repo.exc(&["evidence", "--out", "dirty", "--as-of", "2026-04-01"]).code(2);
    assert!(stderr(&refused).contains("exceptions/EXC-0001.yaml"), "{}", stderr(&refused));
    assert!(!repo.path().join("dirty").exists());
    repo.exc(&["evidence", "--out", "dirty", "--as-of", "2026-04-01", "--allow-dirty"]).code(1);
    let manifest = repo.read("dirty/MANIFEST");
    assert!(manifest.contains("# uncommitted: exceptions/EXC-0001.yaml"), "{manifest}");
    assert!(repo.read("dirty/README.txt").contains("WARNING: made from a work tree with uncommitted changes"));
    // No staging folder is left behind.
    let left: Vec<String> = std::fs::read_dir(repo.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".exc-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// A pack kept inside the repository is not read back as the repository's
/// own suppressions: the second pack's KPIs equal the first's, even when the
/// policy and a record quote a `# nosec` (the pack copies both).
#[test]
fn a_pack_inside_the_repository_does_not_count_itself() {
    let repo = Repo::init();
    *repo.clock.borrow_mut() = Some("2026-01-01".into());
    repo.write("exc.yaml", format!("{POLICY}# Reviewers: a `# nosec B105` needs an exception first.\n"));
    commit_all(&repo, "policy");
    request(&repo, "2026-01-05", &["--id", "EXC-0001", "--notes", "the code carries # nosec B105 until the fix"]);
    let kpis = |dir: &str| -> Value {
        repo.exc(&["evidence", "--out", dir, "--as-of", "2026-02-01"]).success();
        let k: Value = serde_json::from_str(&repo.read(&format!("{dir}/kpis.json"))).unwrap();
        k["kpis"].as_array().unwrap().iter().find(|k| k["key"] == "ungoverned_suppressions").unwrap()["value"].clone()
    };
    let first = kpis("pack");
    assert_eq!(kpis("pack2"), first);
    assert_eq!(kpis("pack"), first);
    // The policy's own comment is the one ungoverned suppression; the record's notes are data.
    assert_eq!(first, 1.0);
}
