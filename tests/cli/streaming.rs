//! Records and history are read a chunk at a time (read, parse, verify,
//! check, let go). Streaming must not change a byte of any output: every
//! command that prints data gives the same bytes with chunks of one, of
//! three, and the default (everything in one chunk at this size), on the
//! sample registry and on a signed registry with findings of every class.

use std::path::Path;
use std::process::Command;

use crate::team::Team;

/// The commands compared, by their arguments.
const COMMANDS: &[&[&str]] = &[
    &["validate", "--format", "json"],
    &["check", "--format", "json", "--warn-within", "30d"],
    &["check", "--format", "sarif"],
    &["list", "--format", "json"],
    &["list", "--format", "csv"],
    &["list", "--status", "requested,approved,rejected,expired"],
    &["report", "--format", "json"],
    &["report", "--format", "markdown"],
    &["report", "--trend", "quarterly", "--format", "json"],
    &["export", "--format", "csv"],
    &["export", "--format", "trivyignore", "--skip-invalid"],
    &["export", "--format", "openvex", "--skip-invalid"],
    &["remind", "--format", "json"],
    &["audit", "--format", "json"],
];

/// `exc` in `dir` with the chunk size, as of `day`.
fn run(dir: &Path, chunk: Option<&str>, day: &str, args: &[&str]) -> (Option<i32>, Vec<u8>) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_exc"));
    c.current_dir(dir).args(args).args(["--as-of", day]).env("NO_COLOR", "1").env("EXC_TEST_CLOCK", day);
    c.env_remove("EXC_CHUNK_SIZE");
    if let Some(n) = chunk {
        c.env("EXC_CHUNK_SIZE", n);
    }
    let out = c.output().unwrap();
    (out.status.code(), out.stdout)
}

/// Every file of an evidence pack, by its path in the pack.
fn pack(dir: &Path, chunk: Option<&str>, day: &str, out: &Path) -> Vec<(String, Vec<u8>)> {
    let (code, _) = run(dir, chunk, day, &["evidence", "--allow-dirty", "--out", &out.to_string_lossy()]);
    assert!(code.is_some());
    crate::evidence::tree(out)
}

fn same_bytes_whatever_the_chunk(dir: &Path, day: &str, scratch: &Path) {
    for args in COMMANDS {
        let whole = run(dir, None, day, args);
        assert!(!whole.1.is_empty() || args[0] == "export", "{args:?} printed nothing");
        for chunk in ["1", "3"] {
            assert_eq!(run(dir, Some(chunk), day, args), whole, "{args:?} with chunks of {chunk}");
        }
    }
    let whole = pack(dir, None, day, &scratch.join("whole"));
    assert!(whole.len() > 5, "{whole:?}");
    assert_eq!(pack(dir, Some("1"), day, &scratch.join("one")), whole, "the evidence pack with chunks of 1");
}

/// A signed registry: approved records (a CVE among them), one awaiting
/// approval, one edited after approval, one expired, one rejected, a file
/// that is not YAML, one the schema refuses, and one on an unknown type.
fn registry() -> Team {
    let t = Team::new();
    for i in 0..6 {
        let id = format!("EXC-00{i:02}");
        t.request(&id, "other", "2026-02-01", &[]);
        t.exc("sam", "2026-02-02", &["approve", &id]).success();
        t.commit("sam", "2026-02-02", &format!("approve {id}"));
    }
    t.request("EXC-0100", "vulnerability-deferral", "2026-02-03", &["--finding", "CVE-2026-1234 path=app/**"]);
    t.exc("sam", "2026-02-04", &["approve", "EXC-0100"]).success();
    t.commit("sam", "2026-02-04", "approve the deferral");
    t.request("EXC-0101", "other", "2026-02-05", &[]);
    t.request("EXC-0102", "other", "2026-02-05", &["--expires", "10d"]);
    t.exc("sam", "2026-02-06", &["approve", "EXC-0102"]).success();
    t.commit("sam", "2026-02-06", "approve");
    t.request("EXC-0103", "other", "2026-02-06", &[]);
    t.exc("sam", "2026-02-07", &["reject", "EXC-0103", "--reason", "no"]).success();
    t.commit("sam", "2026-02-07", "reject");
    let path = "exceptions/EXC-0001.yaml";
    t.repo.write(path, t.read(path).replace("WAF rule", "WAF rule, narrower"));
    t.repo.write("exceptions/EXC-0900.yaml", "id: EXC-0900\ntitle: [\n");
    t.repo.write("exceptions/EXC-0901.yaml", "id: EXC-0901\ntitle: 7\n");
    t.repo.write(
        "exceptions/EXC-0902.yaml",
        t.read(path).replace("EXC-0001", "EXC-0902").replace("type: other", "type: nonesuch"),
    );
    t.commit("mallory", "2026-02-08", "edits");
    t
}

#[test]
fn a_signed_registry_with_findings_of_every_class_reads_the_same_in_any_chunk() {
    let t = registry();
    same_bytes_whatever_the_chunk(t.repo.path(), "2026-02-20", t.repo.home.path());
}

#[test]
fn the_sample_registry_reads_the_same_in_any_chunk() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let scratch = tempfile::TempDir::new().unwrap();
    same_bytes_whatever_the_chunk(root, "2026-11-27", scratch.path());
}
