//! Reading the repository for `exc reconcile` and `exc import`: every
//! scanner suppression it holds (ignore files, and inline comments in source
//! and IaC), and the findings scanners reported (Trivy, Grype and
//! osv-scanner JSON, any SARIF 2.1.0).
//!
//! The walk is ripgrep's (`ignore`): in parallel, honouring `.gitignore`,
//! each file read once, binaries skipped, and a multi-pattern search
//! (`aho-corasick`) finds the few lines worth parsing.

mod ignore_files;
mod inline;
mod results;

use std::path::Path;
use std::sync::Mutex;

use crate::error::{Error, Result};
use crate::model::reconcile::{Site, SiteKind};

pub use results::read_results;

/// Files larger than this are not source anyone annotates: skipped.
const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;

/// What the walk found.
#[derive(Debug, Default)]
pub struct Found {
    pub sites: Vec<Site>,
    /// Files read (ignore files and sources).
    pub files: usize,
    /// Ignore files that could not be read, with why.
    pub unreadable: Vec<(String, String)>,
}

/// What to look for besides the built-in patterns, and what to leave out.
#[derive(Debug, Default, Clone)]
pub struct Options {
    /// Extra inline markers: (tool, regular expression; group 1, if any, is the rule).
    pub patterns: Vec<(String, String)>,
    /// Globs of paths (relative to the root) not to look at.
    pub exclude: Vec<String>,
}

/// Every suppression under `root` (a repository's work tree), sorted by file and line.
pub fn suppressions(root: &Path, options: &Options) -> Result<Found> {
    let inline = inline::Matcher::new(&options.patterns)?;
    let found = Mutex::new(Found::default());
    let walker = ignore::WalkBuilder::new(root)
        .hidden(false)
        .git_ignore(true)
        .git_exclude(true)
        .require_git(false)
        .filter_entry(|e| e.file_name() != ".git" && !is_evidence_pack(e))
        .build_parallel();
    walker.run(|| {
        let inline = &inline;
        let found = &found;
        Box::new(move |entry| {
            let Ok(entry) = entry else { return ignore::WalkState::Continue };
            if !entry.file_type().is_some_and(|t| t.is_file()) {
                return ignore::WalkState::Continue;
            }
            let path = entry.path();
            let rel = relative(root, path);
            if options.exclude.iter().any(|g| crate::model::suppression::glob(g, &rel)) {
                return ignore::WalkState::Continue;
            }
            let name = entry.file_name().to_string_lossy();
            let sites = if let Some(format) = ignore_files::format_of(&name) {
                match read(path).map(|bytes| ignore_files::parse(format, &rel, &String::from_utf8_lossy(&bytes))) {
                    Some(Ok(sites)) => sites,
                    Some(Err(why)) => {
                        found.lock().expect("no panics hold the lock").unreadable.push((rel, why));
                        Vec::new()
                    }
                    None => Vec::new(),
                }
            } else if inline::worth_reading(&name) {
                match read(path) {
                    Some(bytes) if !is_binary(&bytes) => inline.find(&rel, &bytes),
                    _ => Vec::new(),
                }
            } else {
                return ignore::WalkState::Continue;
            };
            let mut f = found.lock().expect("no panics hold the lock");
            f.files += 1;
            f.sites.extend(sites);
            ignore::WalkState::Continue
        })
    });
    let mut found = found.into_inner().map_err(|_| Error::io(root, std::io::Error::other("the walk failed")))?;
    found.sites.sort_by(|a, b| (&a.file, a.line, a.col).cmp(&(&b.file, b.line, b.col)));
    found.unreadable.sort();
    Ok(found)
}

/// A folder `exc evidence` wrote: its MANIFEST says so. Its files quote the
/// records and the policy, and are not the repository's suppressions.
fn is_evidence_pack(e: &ignore::DirEntry) -> bool {
    let mark = crate::model::reconcile::EVIDENCE_PACK_MARK.as_bytes();
    e.file_type().is_some_and(|t| t.is_dir())
        && std::fs::read(e.path().join("MANIFEST")).is_ok_and(|b| b.starts_with(mark))
}

/// `path` relative to `root`, `/`-separated.
fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect::<Vec<_>>().join("/")
}

/// A regular file's bytes, or nothing if it is too large or unreadable.
fn read(path: &Path) -> Option<Vec<u8>> {
    let meta = std::fs::metadata(path).ok()?;
    (meta.len() <= MAX_FILE_BYTES).then(|| std::fs::read(path).ok()).flatten()
}

/// Binary files (a NUL in the first 8 KiB, as git and ripgrep judge) are skipped.
fn is_binary(bytes: &[u8]) -> bool {
    bytes[..bytes.len().min(8192)].contains(&0)
}

/// The exception ids cited in `text` (`EXC-7K3Q`, any case), upper-cased.
/// The entries of a suppression file exc writes (by its name), each with its
/// line and what it hides; `None` for a file that is not an ignore file.
pub fn entries(name: &str, text: &str) -> Option<Vec<crate::model::reconcile::Site>> {
    let format = ignore_files::format_of(name)?;
    ignore_files::parse(format, name, text).ok()
}

pub fn cited(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(at) = find_exc(&bytes[i..]) {
        let start = i + at;
        let after = &bytes[start + 4..];
        let len = after.iter().take_while(|b| b.is_ascii_alphanumeric()).count();
        let boundary = start == 0 || !bytes[start - 1].is_ascii_alphanumeric();
        if boundary && (4..=12).contains(&len) {
            let id = format!("EXC-{}", String::from_utf8_lossy(&after[..len]).to_ascii_uppercase());
            if !out.contains(&id) {
                out.push(id);
            }
        }
        i = start + 4;
    }
    out
}

fn find_exc(bytes: &[u8]) -> Option<usize> {
    bytes.windows(4).position(|w| w.eq_ignore_ascii_case(b"EXC-"))
}

/// `text` (the file holding `sites`) with each site citing its new
/// exception id (`(site, id)`): in the comment on its line (a trailing
/// comment is added to an ignore file's entry), or, for the JSON `.nsprc`,
/// in the entry's notes.
pub fn cite(text: &str, edits: &[(&Site, &str)]) -> String {
    if edits.iter().any(|(s, _)| s.tool == "better-npm-audit") {
        if let Ok(mut doc) = serde_json::from_str::<serde_json::Value>(text) {
            for (s, id) in edits {
                if let Some(entry) = s.rule.as_deref().and_then(|r| doc.get_mut(r)).and_then(|e| e.as_object_mut()) {
                    let old = entry.get("notes").and_then(|n| n.as_str()).unwrap_or("").to_string();
                    let notes = if old.is_empty() { id.to_string() } else { format!("{id}: {old}") };
                    entry.insert("notes".into(), serde_json::Value::String(notes));
                }
            }
            return serde_json::to_string_pretty(&doc).map(|t| t + "\n").unwrap_or_else(|_| text.to_string());
        }
        return text.to_string();
    }
    let mut lines: Vec<String> = text.split('\n').map(String::from).collect();
    for (s, id) in edits {
        let Some(line) = lines.get_mut(s.line as usize - 1) else { continue };
        let cr = line.ends_with('\r');
        let body = line.trim_end_matches('\r').trim_end().to_string();
        let cited = if let Some(open) = ["*/", "-->"].iter().find(|end| body.ends_with(**end)) {
            format!("{} {id} {open}", body[..body.len() - open.len()].trim_end())
        } else if s.kind == SiteKind::Inline || body.contains('#') {
            format!("{body} {id}")
        } else {
            format!("{body} # {id}")
        };
        *line = if cr { format!("{cited}\r") } else { cited };
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exception_ids_are_found_in_any_case() {
        assert_eq!(cited("# nosec B101 EXC-7K3Q, exc-00ab1"), vec!["EXC-7K3Q", "EXC-00AB1"]);
        assert_eq!(cited("NOTEXC-1234 EXC-12 EXC-ABCD"), vec!["EXC-ABCD"]);
        assert!(cited("no ids").is_empty());
    }

    #[test]
    fn citing_an_id_in_place() {
        let site = |file: &str, line: u32, kind: SiteKind, tool: &str, rule: &str| Site {
            file: file.into(),
            line,
            col: 1,
            kind,
            tool: tool.into(),
            rule: Some(rule.into()),
            cited: vec![],
            reason: None,
            expires: None,
            package: None,
            scope: None,
        };
        let a = site("a.py", 2, SiteKind::Inline, "bandit", "B101");
        assert_eq!(cite("x\ny = 1  # nosec B101\n", &[(&a, "EXC-AAAA")]), "x\ny = 1  # nosec B101 EXC-AAAA\n");
        let b = site("a.js", 1, SiteKind::Inline, "eslint", "security/x");
        assert_eq!(
            cite("f(); /* eslint-disable-line security/x */\r\n", &[(&b, "EXC-AAAA")]),
            "f(); /* eslint-disable-line security/x EXC-AAAA */\r\n"
        );
        let c = site(".trivyignore", 1, SiteKind::IgnoreFile, "trivy", "CVE-1");
        assert_eq!(cite("CVE-1\n", &[(&c, "EXC-AAAA")]), "CVE-1 # EXC-AAAA\n");
        let d = site(".nsprc", 2, SiteKind::IgnoreFile, "better-npm-audit", "1096");
        let json = cite("{\n  \"1096\": { \"active\": true, \"notes\": \"dev only\" }\n}\n", &[(&d, "EXC-AAAA")]);
        assert!(json.contains("\"notes\": \"EXC-AAAA: dev only\""), "{json}");
    }
}
