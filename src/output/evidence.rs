//! The evidence pack's own files: `README.txt`, which says what each file is
//! and how to check the pack, and `MANIFEST`, the SHA-256 of every file in
//! the format `sha256sum -c` reads, with the commit, the period and exc's
//! version as `#` lines (which `sha256sum -c` skips).

use std::fmt::Write as _;

use sha2::{Digest, Sha256};

/// What the pack was made from.
pub struct Origin<'a> {
    /// The system the registry covers.
    pub system: &'a str,
    /// The commit HEAD pointed at.
    pub commit: &'a str,
    /// Registry files that differed from that commit (only with --allow-dirty).
    pub uncommitted: &'a [String],
    pub as_of: chrono::NaiveDate,
    pub since: Option<chrono::NaiveDate>,
    /// The commit the policy file was taken from, when the history held it.
    pub policy_commit: Option<&'a str>,
    /// The audit's one-line verdict.
    pub audit: &'a str,
}

/// Each file of the pack and what it holds, in the order README.txt lists them.
pub const CONTENTS: &[(&str, &str)] = &[
    ("README.txt", "this file"),
    ("MANIFEST", "the SHA-256 of every other file, and what the pack was made from"),
    ("register.csv", "the register, one row per exception (lists joined with \"; \")"),
    (
        "register.json",
        "the register with every field as its file says it, where each record stands, and its git trail (exc schema export)",
    ),
    (
        "decisions.csv",
        "every decision in the period: who, as what role, when, the first commit that held it, and whether its signature verifies",
    ),
    ("decisions.json", "the same, as JSON"),
    (
        "audit.json",
        "exc audit over the whole history: every policy change approved, no decision rewritten, deleted or forged (exc schema findings)",
    ),
    ("kpis.json", "the KPIs against their targets, as of the date (flow KPIs from --since)"),
    ("kpis.html", "the same as a dashboard"),
    ("poam.json", "the exceptions as an OSCAL 1.1.2 plan of action and milestones"),
    ("policy/", "exc.yaml (and its allowed_signers file) as in force on the date"),
];

/// The pack's README.txt.
pub fn readme(origin: &Origin, files: &[String]) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "Security exceptions: evidence pack for {}", origin.system);
    let _ = writeln!(o);
    let _ = writeln!(o, "As of:   {} (00:00 UTC)", origin.as_of);
    match origin.since {
        Some(s) => {
            let _ = writeln!(o, "Period:  {s} to {}", origin.as_of);
        }
        None => {
            let _ = writeln!(o, "Period:  the whole history to {}", origin.as_of);
        }
    }
    let _ = writeln!(o, "Commit:  {}", origin.commit);
    if !origin.uncommitted.is_empty() {
        let _ = writeln!(
            o,
            "WARNING: made from a work tree with uncommitted changes to {} file(s): {}",
            origin.uncommitted.len(),
            origin.uncommitted.join(", ")
        );
    }
    let _ = writeln!(o, "Audit:   {}", origin.audit);
    let _ = writeln!(o, "Made by: exc {}", env!("CARGO_PKG_VERSION"));
    let _ = writeln!(o);
    let _ = writeln!(o, "Files");
    for (name, what) in CONTENTS {
        if files.iter().any(|f| f == name || (name.ends_with('/') && f.starts_with(name))) || *name == "README.txt" {
            let _ = writeln!(o, "  {name:<15} {what}");
        }
    }
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "How to check it
  1. Nothing in the pack changed:   sha256sum -c MANIFEST
  2. It is what the registry says:  in a clone of the repository,
       git checkout {commit}
       exc evidence --as-of {as_of}{since} --out /tmp/again
       diff -r . /tmp/again
     Every file is made from the commit alone, so the two are identical.
  3. The history holds up:          exc audit  (audit.json is its output; its verdict is above)
  4. The decisions are genuine:     every row of decisions.csv whose signature
     column says \"verifies\" was signed by a key the policy lists for that
     person; exc check and exc audit verify every signature again.",
        commit = origin.commit,
        as_of = origin.as_of,
        since = origin.since.map(|s| format!(" --since {s}")).unwrap_or_default(),
    );
    let _ = writeln!(o);
    match (origin.policy_commit, files.iter().any(|f| f.starts_with("policy/"))) {
        (Some(c), _) => {
            let _ = writeln!(o, "The policy files are as of commit {c}, the last change to them before the date.");
        }
        (None, true) => {
            let _ = writeln!(o, "The policy files are as of the commit trust.audit_from names.");
        }
        (None, false) => {
            let _ =
                writeln!(o, "No exc.yaml had been committed by {}: the built-in defaults applied then.", origin.as_of);
        }
    }
    o
}

/// The MANIFEST over `files` (name, content), sorted by name.
/// A writer that passes the bytes of a file of the pack on, and takes
/// their SHA-256 (as the MANIFEST lists it) as they go.
pub struct Digesting<'a> {
    inner: &'a mut dyn std::io::Write,
    hash: Sha256,
}

impl<'a> Digesting<'a> {
    pub fn new(inner: &'a mut dyn std::io::Write) -> Digesting<'a> {
        Digesting { inner, hash: Sha256::new() }
    }

    /// The SHA-256 of everything written, in hex.
    pub fn digest(self) -> String {
        hex(&self.hash.finalize())
    }
}

impl std::io::Write for Digesting<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The MANIFEST, from each file's name and digest ([`Digesting`]).
pub fn manifest(origin: &Origin, files: &[(String, String)]) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{}: check with `sha256sum -c MANIFEST` (or `shasum -a 256 -c MANIFEST`)",
        crate::model::reconcile::EVIDENCE_PACK_MARK
    );
    let _ = writeln!(o, "# system: {}", one_line(origin.system));
    let _ = writeln!(o, "# commit: {}", origin.commit);
    if !origin.uncommitted.is_empty() {
        let _ = writeln!(o, "# uncommitted: {}", one_line(&origin.uncommitted.join(", ")));
    }
    let _ = writeln!(o, "# as-of: {}", origin.as_of);
    if let Some(s) = origin.since {
        let _ = writeln!(o, "# since: {s}");
    }
    let _ = writeln!(o, "# exc: {}", env!("CARGO_PKG_VERSION"));
    let mut sorted: Vec<&(String, String)> = files.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, digest) in sorted {
        let _ = writeln!(o, "{digest}  {name}");
    }
    o
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A value on one `#` line: line breaks become spaces.
fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> Origin<'static> {
        Origin {
            system: "pay\nments",
            commit: "abc",
            uncommitted: &[],
            as_of: chrono::NaiveDate::from_ymd_opt(2026, 6, 30).unwrap(),
            since: None,
            policy_commit: None,
            audit: "clean",
        }
    }

    /// The digest of `bytes` as the pack takes it, written in two pieces.
    fn digest(bytes: &[u8]) -> String {
        let mut sink = Vec::new();
        let mut d = Digesting::new(&mut sink);
        let (a, b) = bytes.split_at(bytes.len() / 2);
        std::io::Write::write_all(&mut d, a).unwrap();
        std::io::Write::write_all(&mut d, b).unwrap();
        let digest = d.digest();
        assert_eq!(sink, bytes);
        digest
    }

    #[test]
    fn the_manifest_is_what_sha256sum_reads() {
        let m = manifest(&origin(), &[("b.json".into(), digest(b"{}")), ("a.csv".into(), digest(b""))]);
        let lines: Vec<&str> = m.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            lines,
            [
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  a.csv",
                "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a  b.json",
            ]
        );
        assert!(m.contains("# system: pay ments\n"), "{m}");
    }
}
