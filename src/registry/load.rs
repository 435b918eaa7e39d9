//! Loading records: every file under `exceptions/` read, parsed, checked
//! against the schema and rules, and its signatures verified, a chunk at a
//! time on every core. A file that is not a sound record becomes a finding
//! at `path:line:col`, never a panic or an abort; a record's text is let go
//! once its findings are placed, unless the output quotes it.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::{POLICY_FILE, Registry, Sources, is_plain_id, normalize};
use crate::error::{Error, Result};
use crate::model::finding::{self, Code, Finding, Position};
use crate::model::policy::Policy;
use crate::model::record::{Exception, Record};
use crate::model::rules;
use crate::model::signature::Verdict;
use crate::model::statement::Entry;
use crate::schema::{self, IssueKind};
use crate::yaml;

/// Records loaded from disk, and what was wrong with the rest.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Every record that loaded, by id; under a [`Visit`], those it kept.
    pub records: Vec<Record>,
    pub findings: Vec<Finding>,
    /// Every file looked at, as shown to users, sorted.
    pub paths: Vec<String>,
    /// Each file that loaded as a record (its path as shown) and its id,
    /// whether or not the record itself was kept.
    ids: Vec<(String, String)>,
}

impl Loaded {
    /// Every file looked at, with its record id when it loaded.
    pub fn files(&self) -> Vec<(String, Option<String>)> {
        let ids: std::collections::HashMap<&str, &str> =
            self.ids.iter().map(|(path, id)| (path.as_str(), id.as_str())).collect();
        self.paths.iter().map(|p| (p.clone(), ids.get(p.as_str()).map(|s| s.to_string()))).collect()
    }
}

/// What a command asks of each record while its chunk is at hand, so that
/// it need not keep every record to the end: at 100,000 records the typed
/// records are most of the memory, and `check` and `validate` read only a
/// few of them after loading.
pub struct Visit<'a> {
    /// Judge each record as it stood at this instant (`--as-of`), if given
    /// (see `measure::as_stood`); the records kept are as they stood too.
    pub stood: Option<chrono::DateTime<chrono::Utc>>,
    /// The command's own findings for a record, with the severities it
    /// gives them (the policy's severities are not applied again); placed
    /// while the file's text is at hand.
    pub judge: &'a (dyn Fn(&Record) -> Vec<Finding> + Sync),
    /// Whether the command reads the record after loading, given the
    /// findings of its file.
    pub keep: &'a (dyn Fn(&Record, &[Finding]) -> bool + Sync),
}

/// How many record files are read, verified and checked at a time.
const LOAD_CHUNK: usize = 4096;

/// [`LOAD_CHUNK`], or `EXC_CHUNK_SIZE` where a test sets it: the output is
/// the same whatever the chunk, which the tests check with tiny chunks.
fn load_chunk() -> usize {
    crate::git::chunk_size(LOAD_CHUNK)
}

/// Records larger than this are refused before parsing.
pub const MAX_RECORD_BYTES: u64 = 256 * 1024;

impl Registry {
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
        self.load(&files, None)
    }

    /// Loads `files` in parallel and runs every rule over them. With `only`,
    /// findings are kept for those files alone (the rest still count for
    /// duplicates). An inventory the policy names but that cannot be read is
    /// an error.
    pub fn load(&self, files: &[PathBuf], only: Option<&[PathBuf]>) -> Result<Loaded> {
        self.load_with(files, only, false)
    }

    /// [`Registry::load`], keeping each record's text when `keep_text` (for
    /// output that quotes the file as written). Files are read, parsed,
    /// their signatures verified (in batches, on every core) and checked a
    /// chunk at a time; each record's findings get their positions while its
    /// text is at hand, and the text is let go after its chunk, so memory
    /// holds the typed records, never every file's text or every statement.
    pub fn load_with(&self, files: &[PathBuf], only: Option<&[PathBuf]>, keep_text: bool) -> Result<Loaded> {
        self.load_visiting(files, only, keep_text, None)
    }

    /// [`Registry::load_with`], asking `visit` of each record as it loads
    /// (none: every record is kept as its file says).
    fn load_visiting(
        &self,
        files: &[PathBuf],
        only: Option<&[PathBuf]>,
        keep_text: bool,
        visit: Option<&Visit>,
    ) -> Result<Loaded> {
        let inventory = self.inventory()?.zip(self.policy.assets.inventory.as_deref());
        let mut loaded = Loaded {
            paths: files.iter().map(|p| self.display_path(p)).collect(),
            // One allocation of the right size: growing by doubling would
            // hold the old and the new array at once (about 130 MB at
            // 100,000 records, twice what the records need).
            records: Vec::with_capacity(if visit.is_some() { 0 } else { files.len() }),
            ids: Vec::with_capacity(files.len()),
            ..Loaded::default()
        };
        let mut judged = Vec::new();
        let empty: std::sync::Arc<str> = std::sync::Arc::from("");
        let mut done = 0;
        for chunk in files.chunks(load_chunk()) {
            done += chunk.len();
            crate::progress::report(crate::progress::Stage::Records, done, files.len());
            let read: Vec<std::result::Result<Record, Vec<Finding>>> =
                chunk.par_iter().map(|p| read_one(p, &self.display_path(p))).collect();
            let verdicts = self.verify_signatures(&read);
            // What became of each file: its path and id when it loaded, the
            // record when kept, its findings and the command's own.
            type Judged = (Option<(String, String)>, Option<Record>, Vec<Finding>, Vec<Finding>);
            let results: Vec<Judged> = read
                .into_par_iter()
                .zip(verdicts)
                .map(|(r, verdicts)| match r {
                    Ok(record) => {
                        let (record, mut findings) = check_one(record, &self.policy, self.cx, &verdicts);
                        let Some(mut r) = record else { return (None, None, findings, Vec::new()) };
                        findings.extend(self.evidence(&r));
                        if let Some((inv, file)) = inventory {
                            findings.extend(crate::model::inventory::unknown_assets(
                                std::slice::from_ref(&r),
                                inv,
                                file,
                            ));
                        }
                        let mut own = Vec::new();
                        if let Some(v) = visit {
                            if let Some(now) = v.stood {
                                r = crate::model::measure::as_stood(r, &self.policy, now);
                            }
                            own = (v.judge)(&r);
                        }
                        if !findings.is_empty() || !own.is_empty() {
                            let sources = Sources::new(&self.root, std::slice::from_ref(&r));
                            for f in findings.iter_mut().chain(own.iter_mut()).filter(|f| f.path == r.path) {
                                f.position = Some(f.position(&sources));
                            }
                        }
                        let kept = visit.is_none_or(|v| (v.keep)(&r, &findings));
                        let id = (r.path.clone(), r.exception.id.clone());
                        (Some(id), Some(r).filter(|_| kept), findings, own)
                    }
                    Err(findings) => (None, None, findings, Vec::new()),
                })
                .collect();
            for (id, record, findings, own) in results {
                loaded.ids.extend(id);
                loaded.findings.extend(findings);
                judged.extend(own);
                loaded.records.extend(record.map(|mut r| {
                    if !keep_text {
                        r.source = empty.clone();
                    }
                    r
                }));
            }
        }
        loaded.findings.extend(rules::check_registry(&loaded.ids));
        self.policy.severity.apply(&mut loaded.findings);
        loaded.findings.extend(judged);
        if let Some(only) = only {
            let keep: Vec<String> = only.iter().map(|p| self.display_path(p)).collect();
            loaded.findings.retain(|f| keep.contains(&f.path));
            loaded.records.retain(|r| keep.contains(&r.path));
            loaded.ids.retain(|(path, _)| keep.contains(path));
            loaded.paths = keep;
        }
        loaded.paths.sort();
        finding::sort(&mut loaded.findings);
        // Paths are unique, so this order is total, and the same as a stable
        // sort by id of records read in path order, without its buffer.
        loaded.records.sort_unstable_by(|a, b| (&a.exception.id, &a.path).cmp(&(&b.exception.id, &b.path)));
        Ok(loaded)
    }

    /// Loads the given record files (relative to the current directory), checked
    /// against the whole registry (ids stay unique across it); all of them when
    /// none is given. Each record is given to `visit` as it loads.
    pub fn load_files(&self, files: &[PathBuf], visit: &Visit) -> Result<Loaded> {
        let visit = Some(visit);
        let everything = || self.load_visiting(&self.record_files()?, None, false, visit);
        if files.is_empty() {
            return everything();
        }
        let cwd = std::env::current_dir().map_err(|e| Error::io(".", e))?;
        let absolute = |p: &Path| if p.is_absolute() { p.to_path_buf() } else { cwd.join(p) };
        // The policy (or its keys file) among the files means it changed: every
        // record is judged again (the policy itself was read on opening).
        let root = normalize(&absolute(&self.root));
        let trust_files: Vec<PathBuf> = std::iter::once(POLICY_FILE)
            .chain(self.policy.trust.allowed_signers.as_deref())
            .map(|f| normalize(&root.join(f)))
            .collect();
        let mut given = Vec::new();
        for f in files {
            let abs = absolute(f);
            if fs::symlink_metadata(&abs).is_err() {
                return Err(Error::Usage(format!("{}: no such file", f.display())));
            }
            let abs = normalize(&abs);
            if trust_files.contains(&abs) {
                return everything();
            }
            given.push(abs);
        }
        let mut all: Vec<PathBuf> = self.record_files()?.into_iter().map(|p| normalize(&absolute(&p))).collect();
        for g in &given {
            if !all.contains(g) {
                all.push(g.clone());
            }
        }
        self.load_visiting(&all, Some(&given), false, visit)
    }

    /// For records changed after approval, finds in the history the version the
    /// approval saw and names the request fields that differ since. Without
    /// usable history the findings stay as they are (checks never need history).
    pub fn name_changed_fields(&self, loaded: &mut Loaded) {
        if !loaded.findings.iter().any(|f| f.code == Code::ChangedAfterApproval) {
            return;
        }
        let Ok(history) = self.history() else { return };
        for f in loaded.findings.iter_mut().filter(|f| f.code == Code::ChangedAfterApproval) {
            let Some(record) = loaded.records.iter().find(|r| r.path == f.path) else { continue };
            let e = &record.exception;
            let approved: Vec<(&str, chrono::NaiveDate)> =
                e.approvals.iter().map(|a| (a.digest.as_str(), a.expires)).collect();
            let Some(file) = Path::new(&record.path).file_name().map(|n| n.to_string_lossy().into_owned()) else {
                continue;
            };
            let mut seen = None;
            let _ = history.replay(
                history.of_record(&file),
                |text| parse_version(text).and_then(|v| v.1),
                |_, _, _, after| {
                    if let Some(old) = after.and_then(|a| a.as_ref())
                        && approved.contains(&(crate::model::digest::digest(old).as_str(), old.expires))
                    {
                        seen = Some(old.clone());
                    }
                    Ok(())
                },
            );
            if let Some(old) = seen {
                use crate::model::digest::{changed_fields, request_fields};
                let fields = changed_fields(&request_fields(&old), &request_fields(e));
                if !fields.is_empty() {
                    f.message.push_str(&format!("; changed since: {}", fields.join(", ")));
                }
            }
        }
    }

    /// Attachments that name a repository path must name a regular file
    /// inside the repository, reached without a symbolic link.
    pub(super) fn evidence(&self, r: &Record) -> Vec<Finding> {
        let e = &r.exception;
        e.attachments
            .iter()
            .enumerate()
            .filter(|(_, a)| !a.contains("://") && crate::model::record::is_contained(a))
            .filter_map(|(i, a)| {
                let why = self.inside(a).err()?;
                Some(
                    Finding::new(
                        Code::AttachmentOutsideRepo,
                        &r.path,
                        &format!("/attachments/{i}"),
                        format!("attachment `{a}` is not evidence: it {why}"),
                    )
                    .with_id(&e.id),
                )
            })
            .collect()
    }

    /// Every decision's signature verdict, record by record, checked all at
    /// once (Ed25519 in batches, in parallel): the cost of signatures in `check`.
    fn verify_signatures(
        &self,
        read: &[std::result::Result<Record, Vec<Finding>>],
    ) -> Vec<std::collections::BTreeMap<Entry, Verdict>> {
        use crate::model::{routing, signature, statement};
        let jobs: Vec<Vec<(Entry, Vec<u8>)>> = read
            .par_iter()
            .map(|r| r.as_ref().map(|r| routing::signature_jobs(&r.exception, &self.policy)).unwrap_or_default())
            .collect();
        let mut flat = Vec::new();
        for (r, js) in read.iter().zip(&jobs) {
            let Ok(r) = r else { continue };
            for (entry, bytes) in js {
                let (signer, at) = statement::maker(&r.exception, *entry).unwrap_or(("", chrono::DateTime::UNIX_EPOCH));
                flat.push(signature::Job {
                    signer,
                    at,
                    landed: None,
                    statement: bytes,
                    signature: statement::signature_of(&r.exception, *entry),
                });
            }
        }
        let mut verdicts = signature::verify_all(&self.policy.trust.keyring, &flat).into_iter();
        jobs.iter()
            .map(|js| js.iter().map(|(entry, _)| (*entry, verdicts.next().unwrap_or(Verdict::Missing))).collect())
            .collect()
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
        match load_one(&path, &self.display_path(&path), &self.policy, self.cx) {
            (Some(r), mut findings) => {
                self.policy.severity.apply(&mut findings);
                Ok((r, findings))
            }
            (None, findings) => Err(Error::Invalid {
                what: format!("{} cannot be read as a record", self.display_path(&path)),
                findings,
            }),
        }
    }
}

/// Reads, parses, schema-checks and rule-checks one record file.
pub(super) fn load_one(
    path: &Path,
    shown: &str,
    policy: &Policy,
    cx: rules::Context,
) -> (Option<Record>, Vec<Finding>) {
    match read_one(path, shown) {
        Ok(record) => {
            let verdicts = crate::model::routing::verdicts_of(&record.exception, policy);
            check_one(record, policy, cx, &verdicts)
        }
        Err(findings) => (None, findings),
    }
}

/// The rules over a read record, given its signatures' verdicts. A record
/// whose approvals do not stand counts as requested, whatever it says.
fn check_one(
    mut record: Record,
    policy: &Policy,
    cx: rules::Context,
    verdicts: &std::collections::BTreeMap<Entry, Verdict>,
) -> (Option<Record>, Vec<Finding>) {
    use crate::model::routing;
    let standing = routing::standing_with(&record.exception, policy, verdicts);
    let completions = routing::completions(&record.exception, policy, verdicts);
    let (findings, standing) = rules::check_record_with(&record, policy, cx, standing);
    if record.exception.status == crate::model::record::Status::Approved && !standing.complete() {
        record.exception.status = crate::model::record::Status::Requested;
        record.unverified = true;
    }
    record.route = Some(crate::model::record::Route { tier: standing.tier, awaiting: standing.missing, completions });
    (Some(record), findings)
}

/// Reads, parses and schema-checks one record file: the record, or why not.
fn read_one(path: &Path, shown: &str) -> std::result::Result<Record, Vec<Finding>> {
    let fail = |code: Code, at: Position, msg: String| Err(vec![Finding::at(code, shown, at, msg)]);
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
        // Positions need the file parsed again with spans: once, here, since
        // an unloaded record's text is not kept.
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
                let mut f = Finding::new(code, shown, &i.pointer, i.message);
                f.position = Some(doc.as_ref().map(|d| d.position(&i.pointer)).unwrap_or(Position::START));
                f.id = id.clone();
                f
            })
            .collect();
        return Err(findings);
    }
    let exception: Exception = match serde_json::from_value(value) {
        Ok(e) => e,
        Err(e) => return fail(Code::Schema, Position::START, format!("cannot read the record: {e}")),
    };
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    Ok(Record::new(shown.to_string(), stem, exception, text.into()))
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
    if bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]) {
        return Err((
            start,
            "is UTF-16 (it starts with a UTF-16 byte-order mark); exc reads UTF-8: save it as UTF-8".into(),
        ));
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
pub(super) fn position_at(bytes: &[u8], offset: usize) -> Position {
    let before = &bytes[..offset.min(bytes.len())];
    let line = before.iter().filter(|b| **b == b'\n').count() as u32 + 1;
    let line_start = before.iter().rposition(|b| *b == b'\n').map(|i| i + 1).unwrap_or(0);
    let col = String::from_utf8_lossy(&before[line_start..]).chars().count() as u32 + 1;
    Position { line, col }
}

/// Parses one historical version of a record leniently: the YAML as values,
/// and the typed record when it still reads as one. `None` when not YAML at all.
pub fn parse_version(text: &str) -> Option<(serde_json::Value, Option<Exception>)> {
    let value = yaml::parse_value(text).ok()?;
    let typed = serde_json::from_value(value.clone()).ok();
    Some((value, typed))
}

/// Reads a file in `exceptions/` leniently, with the same checks as loading
/// (a small regular UTF-8 file, no symbolic link): `None` when it is not one.
pub fn read_version(path: &Path) -> Option<(serde_json::Value, Option<Exception>)> {
    parse_version(&read_text(path).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_of_bytes() {
        assert_eq!(position_at(b"ab\ncd\xffe", 5), Position { line: 2, col: 3 });
    }
}
