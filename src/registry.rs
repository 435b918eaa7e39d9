//! The registry on disk: finding it, loading the policy and the records, and
//! writing records back atomically.
//!
//! Loading is parallel (rayon) and defensive: every file that is not a sound
//! record becomes a finding with `path:line:col`, never a panic or an abort.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use sha2::Digest;

use crate::error::{Error, Result};
use crate::model::finding::{self, Code, Finding};
use crate::model::policy::Policy;
use crate::model::record::{Exception, Record};
use crate::model::rules;
use crate::schema::{self, IssueKind};
use crate::yaml::{self, Position};

/// The policy file name.
pub const POLICY_FILE: &str = "exc.yaml";
/// The records directory name.
pub const RECORDS_DIR: &str = "exceptions";
/// Records larger than this are refused before parsing.
pub const MAX_RECORD_BYTES: u64 = 256 * 1024;
/// The editor hint written at the top of every record.
pub const SCHEMA_COMMENT: &str = "# yaml-language-server: $schema=../schema/exception.schema.json";

/// An opened registry: its root and its policy.
#[derive(Debug)]
pub struct Registry {
    pub root: PathBuf,
    pub policy: Policy,
    /// Whether `exc.yaml` exists (else the built-in defaults apply).
    pub has_policy_file: bool,
}

/// Records loaded from disk, and what was wrong with the rest.
#[derive(Debug, Default)]
pub struct Loaded {
    pub records: Vec<Record>,
    pub findings: Vec<Finding>,
    /// How many files were looked at.
    pub files: usize,
}

/// Finds the registry root: `dir` if given, else the nearest parent of the
/// current directory holding `exc.yaml` or `exceptions/`.
pub fn discover(dir: Option<&Path>) -> Result<PathBuf> {
    if let Some(dir) = dir {
        let meta = fs::metadata(dir).map_err(|e| Error::io(dir, e))?;
        if !meta.is_dir() {
            return Err(Error::Usage(format!("--dir {}: not a directory", dir.display())));
        }
        if dir.join("HEAD").is_file() && dir.join("objects").is_dir() && !dir.join(RECORDS_DIR).exists() {
            return Err(Error::Usage(format!(
                "--dir {}: this is a bare git repository; point --dir at a work tree (a clone) instead",
                dir.display()
            )));
        }
        return Ok(normalize(&std::path::absolute(dir).map_err(|e| Error::io(dir, e))?));
    }
    let cwd = std::env::current_dir().map_err(|e| Error::io(".", e))?;
    cwd.ancestors()
        .find(|d| d.join(POLICY_FILE).is_file() || d.join(RECORDS_DIR).is_dir())
        .map(Path::to_path_buf)
        .ok_or(Error::NoRegistry(cwd))
}

impl Registry {
    /// Opens the registry at `root`, reading and checking its policy.
    pub fn open(root: PathBuf) -> Result<Registry> {
        let path = root.join(POLICY_FILE);
        let (policy, has_policy_file) = match fs::read(&path) {
            Ok(bytes) => (parse_policy(&bytes, POLICY_FILE)?, true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (Policy::default(), false),
            Err(e) => return Err(Error::io(&path, e)),
        };
        Ok(Registry { root, policy, has_policy_file })
    }

    pub fn records_dir(&self) -> PathBuf {
        self.root.join(RECORDS_DIR)
    }

    /// The file an id lives in.
    pub fn record_path(&self, id: &str) -> PathBuf {
        self.records_dir().join(format!("{id}.yaml"))
    }

    /// A path as users see it: relative to the registry root when inside it.
    pub fn display_path(&self, p: &Path) -> String {
        p.strip_prefix(&self.root).unwrap_or(p).display().to_string()
    }

    /// The record files in `exceptions/` (`*.yaml`, `*.yml`), sorted.
    pub fn record_files(&self) -> Result<Vec<PathBuf>> {
        let dir = self.records_dir();
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(&dir, e)),
        };
        let mut files = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(&dir, e))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if !name.starts_with('.') && (name.ends_with(".yaml") || name.ends_with(".yml")) {
                files.push(entry.path());
            }
        }
        // One directory: comparing the whole paths as bytes orders them by name,
        // without the cost of comparing path components.
        files.sort_unstable_by(|a, b| a.as_os_str().cmp(b.as_os_str()));
        Ok(files)
    }

    /// Loads every record in the registry.
    pub fn load_all(&self) -> Result<Loaded> {
        let files = self.record_files()?;
        Ok(self.load(&files, None))
    }

    /// Loads `files` in parallel and runs every rule over them. With `only`,
    /// findings are kept for those files alone (the rest still count for duplicates).
    pub fn load(&self, files: &[PathBuf], only: Option<&[PathBuf]>) -> Loaded {
        let results: Vec<(Option<Record>, Vec<Finding>)> =
            files.par_iter().map(|p| load_one(p, &self.display_path(p), &self.policy)).collect();
        let mut loaded = Loaded { files: files.len(), ..Loaded::default() };
        for (record, findings) in results {
            loaded.findings.extend(findings);
            loaded.records.extend(record);
        }
        loaded.findings.extend(rules::check_registry(&loaded.records));
        if let Some(only) = only {
            let keep: Vec<String> = only.iter().map(|p| self.display_path(p)).collect();
            loaded.findings.retain(|f| keep.contains(&f.path));
            loaded.records.retain(|r| keep.contains(&r.path));
            loaded.files = only.len();
        }
        finding::sort(&mut loaded.findings);
        loaded.records.sort_by(|a, b| a.exception.id.cmp(&b.exception.id));
        loaded
    }

    /// Finds one record by id (case-insensitive), loading and checking it.
    pub fn find(&self, id: &str) -> Result<(Record, Vec<Finding>)> {
        if !is_plain_id(id) {
            return Err(Error::Usage(format!("`{id}` is not an exception id (like EXC-7K3Q)")));
        }
        let path = self
            .record_files()?
            .into_iter()
            .find(|p| p.file_stem().is_some_and(|s| s.to_string_lossy().eq_ignore_ascii_case(id)))
            .ok_or_else(|| Error::UnknownId { id: id.to_string(), dir: self.records_dir() })?;
        match load_one(&path, &self.display_path(&path), &self.policy) {
            (Some(r), findings) => Ok((r, findings)),
            (None, findings) => Err(Error::Usage(format!(
                "{} cannot be read as a record:\n{}",
                self.display_path(&path),
                findings.iter().map(render_plain).collect::<Vec<_>>().join("\n")
            ))),
        }
    }

    /// Replaces a record that was read as `before` with `after`, only if the file
    /// still holds what was read: a lock file serialises writers, and a record
    /// changed meanwhile (say, by a second `exc approve`) is refused, not lost.
    /// The lock lives in the system's temp directory, keyed by the registry's
    /// path, so it never shows up in `git status` or a commit.
    pub fn update_record(&self, before: &Record, after: &Exception) -> Result<PathBuf> {
        let dir = self.records_dir();
        let key = fs::canonicalize(&dir).unwrap_or(dir);
        let hash = sha2::Sha256::digest(key.as_os_str().as_encoded_bytes());
        let name: String = hash.iter().take(12).map(|b| format!("{b:02x}")).collect();
        let lock_path = std::env::temp_dir().join(format!("exc-{name}.lock"));
        let lock = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| Error::io(&lock_path, e))?;
        lock.lock().map_err(|e| Error::io(&lock_path, e))?;
        let path = self.record_path(&before.exception.id);
        let (now, _) = load_one(&path, &before.path, &self.policy);
        if now.as_ref().map(|r| &r.exception) != Some(&before.exception) {
            return Err(Error::Usage(format!(
                "{} changed on disk while this command ran; nothing was written: run it again",
                before.path
            )));
        }
        self.write_record(after, false)
    }

    /// Writes a record to `exceptions/<id>.yaml` atomically. With `create`,
    /// refuses to replace an existing file.
    pub fn write_record(&self, e: &Exception, create: bool) -> Result<PathBuf> {
        let dir = self.records_dir();
        fs::create_dir_all(&dir).map_err(|err| Error::io(&dir, err))?;
        let path = self.record_path(&e.id);
        let body = yaml::to_string(e).map_err(|m| Error::Usage(format!("cannot write {}: {m}", e.id)))?;
        write_atomic(&path, format!("{SCHEMA_COMMENT}\n{body}").as_bytes(), create)?;
        Ok(path)
    }
}

/// Resolves `.` and `..` without touching the disk (symlinks stay as they are).
pub fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Ids are plain names: no path separators, no dots.
pub fn is_plain_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 32 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

fn render_plain(f: &Finding) -> String {
    format!("{}:{}:{}: {}", f.path, f.line, f.column, f.message)
}

/// Writes `bytes` to `path` through a synced temp file in the same directory and
/// a rename, so readers see the old file or the new one, never half of one.
pub fn write_atomic(path: &Path, bytes: &[u8], create: bool) -> Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let failed = |e: &std::io::Error| Error::write(path, e);
    let mut tmp = tempfile::Builder::new().prefix(".exc-").suffix(".tmp").tempfile_in(dir).map_err(|e| failed(&e))?;
    tmp.write_all(bytes).map_err(|e| failed(&e))?;
    tmp.as_file().sync_all().map_err(|e| failed(&e))?;
    if create {
        tmp.persist_noclobber(path).map_err(|e| failed(&e.error))?;
    } else {
        tmp.persist(path).map_err(|e| failed(&e.error))?;
    }
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Reads, parses, schema-checks and rule-checks one record file.
fn load_one(path: &Path, shown: &str, policy: &Policy) -> (Option<Record>, Vec<Finding>) {
    let fail = |code: Code, at: Position, msg: String| (None, vec![Finding::error(code, shown, at, msg)]);
    let text = match read_text(path) {
        Ok(t) => t,
        Err((at, msg)) => return fail(Code::Unreadable, at, msg),
    };
    // Fast path: values only. Positions are worked out again, with spans, only
    // for a file that has something to report.
    let value = match yaml::parse_value(&text) {
        Ok(v) => v,
        Err(e) => return fail(Code::YamlSyntax, e.position, e.message),
    };
    if !value.is_object() {
        return fail(
            Code::Schema,
            Position::START,
            "a record is a mapping of fields (`title: …`), not a single value or list".into(),
        );
    }
    let issues = schema::issues(schema::record(), schema::RECORD_SCHEMA, &value);
    if !issues.is_empty() {
        let doc = yaml::parse(&text).ok();
        let id = value.get("id").and_then(|v| v.as_str()).map(str::to_string);
        let findings = issues
            .into_iter()
            .map(|i| {
                let code = match i.kind {
                    IssueKind::UnknownField => Code::UnknownField,
                    IssueKind::InvalidDate => Code::InvalidDate,
                    IssueKind::Other => Code::Schema,
                };
                let at = doc.as_ref().map(|d| d.position(&i.pointer)).unwrap_or(Position::START);
                let mut f = Finding::error(code, shown, at, i.message);
                f.id = id.clone();
                f
            })
            .collect();
        return (None, findings);
    }
    let exception: Exception = match serde_json::from_value(value) {
        Ok(e) => e,
        Err(e) => return fail(Code::Schema, Position::START, format!("cannot read the record: {e}")),
    };
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let record = Record::new(shown.to_string(), stem, exception, text.into());
    let findings = rules::check_record(&record, policy);
    (Some(record), findings)
}

/// Reads a record file as text, refusing what is not a small regular UTF-8 file.
fn read_text(path: &Path) -> std::result::Result<String, (Position, String)> {
    let start = Position::START;
    let meta = fs::symlink_metadata(path).map_err(|e| (start, format!("cannot read: {e}")))?;
    if meta.file_type().is_symlink() {
        return Err((start, "is a symbolic link; records must be regular files inside the registry".into()));
    }
    if meta.is_dir() {
        return Err((start, "is a directory, not a record file".into()));
    }
    if !meta.is_file() {
        return Err((start, "is not a regular file".into()));
    }
    if meta.len() > MAX_RECORD_BYTES {
        return Err((
            start,
            format!(
                "is {} bytes; records are capped at {} KiB and this one was not parsed",
                meta.len(),
                MAX_RECORD_BYTES / 1024
            ),
        ));
    }
    // Read at most one byte over the cap, in case the file grew since it was looked at.
    let mut bytes = Vec::with_capacity(meta.len() as usize + 1);
    fs::File::open(path)
        .and_then(|f| f.take(MAX_RECORD_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| (start, format!("cannot read: {e}")))?;
    if bytes.len() as u64 > MAX_RECORD_BYTES {
        return Err((start, format!("grew past the {} KiB cap while it was read", MAX_RECORD_BYTES / 1024)));
    }
    if bytes.contains(&0)
        && let Some(i) = bytes.iter().position(|b| *b == 0)
    {
        return Err((position_at(&bytes, i), "contains a NUL byte; records are plain text".into()));
    }
    String::from_utf8(bytes).map_err(|e| {
        let i = e.utf8_error().valid_up_to();
        (position_at(e.as_bytes(), i), "is not valid UTF-8 text; save it as UTF-8".into())
    })
}

/// The line and column of byte `offset` (columns count characters).
fn position_at(bytes: &[u8], offset: usize) -> Position {
    let before = &bytes[..offset.min(bytes.len())];
    let line = before.iter().filter(|b| **b == b'\n').count() as u32 + 1;
    let line_start = before.iter().rposition(|b| *b == b'\n').map(|i| i + 1).unwrap_or(0);
    let col = String::from_utf8_lossy(&before[line_start..]).chars().count() as u32 + 1;
    Position { line, col }
}

/// Parses and checks `exc.yaml`; every problem is `path:line:col: message`.
pub fn parse_policy(bytes: &[u8], shown: &str) -> Result<Policy> {
    let line = |at: Position, msg: &str| format!("{shown}:{}:{}: {msg}", at.line, at.col);
    let text = std::str::from_utf8(bytes)
        .map_err(|e| Error::Policy(vec![line(position_at(bytes, e.valid_up_to()), "not valid UTF-8 text")]))?;
    let doc = match yaml::parse(text) {
        Ok(d) => d,
        Err(e) if e.message == "the file is empty" => return Ok(Policy::default()),
        Err(e) => return Err(Error::Policy(vec![line(e.position, &e.message)])),
    };
    if !doc.value.is_object() {
        return Err(Error::Policy(vec![line(
            Position::START,
            "the policy is a mapping of sections (roles:, types:, …)",
        )]));
    }
    let issues = schema::issues(schema::policy(), schema::POLICY_SCHEMA, &doc.value);
    if !issues.is_empty() {
        return Err(Error::Policy(issues.iter().map(|i| line(doc.position(&i.pointer), &i.message)).collect()));
    }
    let policy: Policy = serde_json::from_value(doc.value.clone())
        .map_err(|e| Error::Policy(vec![line(Position::START, &e.to_string())]))?;
    let problems = policy.problems();
    if !problems.is_empty() {
        return Err(Error::Policy(problems.iter().map(|p| line(doc.position(&p.pointer), &p.message)).collect()));
    }
    Ok(policy)
}

/// Parses one historical version of a record leniently: the YAML as values,
/// and the typed record when it still reads as one. `None` when not YAML at all.
pub fn parse_version(text: &str) -> Option<(serde_json::Value, Option<Exception>)> {
    let value = yaml::parse_value(text).ok()?;
    let typed = serde_json::from_value(value.clone()).ok();
    Some((value, typed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_of_bytes() {
        assert_eq!(position_at(b"ab\ncd\xffe", 5), Position { line: 2, col: 3 });
    }

    #[test]
    fn ids_are_plain() {
        assert!(is_plain_id("EXC-7K3Q"));
        assert!(!is_plain_id("../etc"));
        assert!(!is_plain_id("a/b"));
    }
}
