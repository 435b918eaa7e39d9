//! The registry on disk: finding it, loading the policy and the records.
//! Writing goes through `write` (the one write path); `sources` turns a
//! finding's JSON pointer into a line and column when it is shown.
//!
//! Loading is parallel (rayon) and defensive: every file that is not a sound
//! record becomes a finding with `path:line:col`, never a panic or an abort.
//! Symbolic links are refused wherever they matter: `exc.yaml`, `exceptions/`
//! and every record.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::model::finding::{self, Code, Finding, Position};
use crate::model::inventory::{AssetBase, Inventory};
use crate::model::policy::Policy;
use crate::model::record::{Exception, Record};
use crate::model::rules;
use crate::model::signature::Verdict;
use crate::model::statement::Entry;
use crate::schema::{self, IssueKind};
use crate::yaml;

mod audit;
mod checkpoint;
mod decisions;
pub mod deliveries;
pub mod fleet;
mod inventory;
mod source;
mod sources;
mod write;

pub use checkpoint::MIN_KEY as CHECKPOINT_MIN_KEY;
pub use decisions::decision_key;
pub use source::Source;
pub use sources::Sources;
pub use write::{CommitOptions, append_policy_approval, render, set_policy_version, write_atomic, write_folder};

/// The policy file name.
pub const POLICY_FILE: &str = "exc.yaml";
/// The records directory name.
pub const RECORDS_DIR: &str = "exceptions";
/// How many record files are read, verified and checked at a time.
const LOAD_CHUNK: usize = 4096;

/// Records larger than this are refused before parsing.
pub const MAX_RECORD_BYTES: u64 = 256 * 1024;
/// The editor hint written at the top of every record.
pub const SCHEMA_COMMENT: &str = "# yaml-language-server: $schema=../schema/exception.schema.json";

/// An opened registry: its root and its policy.
#[derive(Debug)]
pub struct Registry {
    pub root: PathBuf,
    pub policy: Policy,
    /// What the rules need besides the policy (the time horizon).
    pub cx: rules::Context,
    /// The asset inventory, read the first time it is needed.
    inventory: std::sync::OnceLock<std::result::Result<Option<Inventory>, String>>,
}

/// Records loaded from disk, and what was wrong with the rest.
#[derive(Debug, Default)]
pub struct Loaded {
    pub records: Vec<Record>,
    pub findings: Vec<Finding>,
    /// Every file looked at, as shown to users, sorted.
    pub paths: Vec<String>,
}

impl Loaded {
    /// Every file looked at, with its record id when it loaded.
    pub fn files(&self) -> Vec<(String, Option<String>)> {
        let ids: std::collections::HashMap<&str, &str> =
            self.records.iter().map(|r| (r.path.as_str(), r.exception.id.as_str())).collect();
        self.paths.iter().map(|p| (p.clone(), ids.get(p.as_str()).map(|s| s.to_string()))).collect()
    }
}

/// Finds the registry root: `dir` if given, else the nearest parent of the
/// current directory holding `exc.yaml`. A bare `exceptions/` directory
/// without a policy is not taken silently: a CI job started in the wrong
/// directory must not pass on an unrelated folder.
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
    if let Some(root) = cwd.ancestors().find(|d| fs::symlink_metadata(d.join(POLICY_FILE)).is_ok()) {
        return Ok(root.to_path_buf());
    }
    match cwd.ancestors().find(|d| d.join(RECORDS_DIR).is_dir()) {
        Some(d) => Err(Error::NoRegistry(format!(
            "{} holds an {RECORDS_DIR}/ directory but no {POLICY_FILE}, so it is not taken as a registry; if it is one, run `exc init` there (it keeps the records) or pass --dir {}",
            d.display(),
            d.display()
        ))),
        None => Err(Error::NoRegistry(format!(
            "no exc registry in {} or any parent directory (looked for {POLICY_FILE}); run `exc init` to create one, or pass --dir",
            cwd.display()
        ))),
    }
}

/// Refuses a symbolic link at `path` (a registry's policy, records directory or record).
fn refuse_symlink(path: &Path, what: &str) -> Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => Err(Error::Refused(format!(
            "{} is a symbolic link; {what} must be a regular {} inside the registry, so that what is reviewed is what counts",
            path.display(),
            if what == "exceptions/" { "directory" } else { "file" }
        ))),
        _ => Ok(()),
    }
}

impl Registry {
    /// Opens the registry at `root`, reading and checking its policy.
    pub fn open(root: PathBuf, cx: rules::Context) -> Result<Registry> {
        let path = root.join(POLICY_FILE);
        refuse_symlink(&path, POLICY_FILE)?;
        refuse_symlink(&root.join(RECORDS_DIR), "exceptions/")?;
        let mut policy = match fs::read(&path) {
            Ok(bytes) => parse_policy(&bytes, POLICY_FILE)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Policy::default(),
            Err(e) => return Err(Error::io(&path, e)),
        };
        load_keys(&mut policy, |rel| {
            let file = inside(&root, rel)?;
            fs::read_to_string(&file).map_err(|e| e.to_string())
        })?;
        Ok(Registry { root, policy, cx, inventory: std::sync::OnceLock::new() })
    }

    pub fn records_dir(&self) -> PathBuf {
        self.root.join(RECORDS_DIR)
    }

    /// The file an id lives in.
    pub fn record_path(&self, id: &str) -> PathBuf {
        self.records_dir().join(format!("{id}.yaml"))
    }

    /// Where the registry sits in its git work tree (`security/registry/`), or
    /// "" at its root or outside git: CI annotations name files from there.
    pub fn repository_prefix(&self) -> String {
        let Some(work) = crate::git::workdir(&self.root) else { return String::new() };
        let canon = |p: &Path| fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        match canon(&self.root).strip_prefix(canon(&work)) {
            Ok(rel) if !rel.as_os_str().is_empty() => {
                let parts: Vec<String> =
                    rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
                format!("{}/", parts.join("/"))
            }
            _ => String::new(),
        }
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
        let inventory = self.inventory()?.zip(self.policy.assets.inventory.as_deref());
        let mut loaded = Loaded { paths: files.iter().map(|p| self.display_path(p)).collect(), ..Loaded::default() };
        let empty: std::sync::Arc<str> = std::sync::Arc::from("");
        for chunk in files.chunks(LOAD_CHUNK) {
            let read: Vec<std::result::Result<Record, Vec<Finding>>> =
                chunk.par_iter().map(|p| read_one(p, &self.display_path(p))).collect();
            let verdicts = self.verify_signatures(&read);
            let results: Vec<(Option<Record>, Vec<Finding>)> = read
                .into_par_iter()
                .zip(verdicts)
                .map(|(r, verdicts)| match r {
                    Ok(record) => {
                        let (record, mut findings) = check_one(record, &self.policy, self.cx, &verdicts);
                        if let Some(r) = &record {
                            findings.extend(self.evidence(r));
                            if let Some((inv, file)) = inventory {
                                findings.extend(crate::model::inventory::unknown_assets(
                                    std::slice::from_ref(r),
                                    inv,
                                    file,
                                ));
                            }
                            if !findings.is_empty() {
                                let sources = Sources::new(&self.root, std::slice::from_ref(r));
                                for f in findings.iter_mut().filter(|f| f.path == r.path) {
                                    f.position = Some(f.position(&sources));
                                }
                            }
                        }
                        (record, findings)
                    }
                    Err(findings) => (None, findings),
                })
                .collect();
            for (record, findings) in results {
                loaded.findings.extend(findings);
                loaded.records.extend(record.map(|mut r| {
                    if !keep_text {
                        r.source = empty.clone();
                    }
                    r
                }));
            }
        }
        loaded.findings.extend(rules::check_registry(&loaded.records));
        self.policy.severity.apply(&mut loaded.findings);
        if let Some(only) = only {
            let keep: Vec<String> = only.iter().map(|p| self.display_path(p)).collect();
            loaded.findings.retain(|f| keep.contains(&f.path));
            loaded.records.retain(|r| keep.contains(&r.path));
            loaded.paths = keep;
        }
        loaded.paths.sort();
        finding::sort(&mut loaded.findings);
        loaded.records.sort_by(|a, b| a.exception.id.cmp(&b.exception.id));
        Ok(loaded)
    }

    /// Loads the given record files (relative to the current directory), checked
    /// against the whole registry (ids stay unique across it); all of them when
    /// none is given.
    pub fn load_files(&self, files: &[PathBuf]) -> Result<Loaded> {
        if files.is_empty() {
            return self.load_all();
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
                return self.load_all();
            }
            given.push(abs);
        }
        let mut all: Vec<PathBuf> = self.record_files()?.into_iter().map(|p| normalize(&absolute(&p))).collect();
        for g in &given {
            if !all.contains(g) {
                all.push(g.clone());
            }
        }
        self.load(&all, Some(&given))
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
    fn evidence(&self, r: &Record) -> Vec<Finding> {
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

    /// The history of the records and the policy, read in one walk.
    pub fn history(&self) -> Result<crate::git::History> {
        self.history_from(self.policy.trust.audit_from.as_deref())
    }

    /// The history, its audited part starting after `from` (a commit), or
    /// from the first commit.
    pub fn history_from(&self, from: Option<&str>) -> Result<crate::git::History> {
        self.history_of(from, None)
    }

    /// The history as of commit `at` (HEAD without one), its audited part
    /// starting after `from`.
    pub fn history_of(&self, from: Option<&str>, at: Option<crate::git::Oid>) -> Result<crate::git::History> {
        crate::git::History::read_at(
            &self.root,
            RECORDS_DIR,
            POLICY_FILE,
            self.policy.trust.allowed_signers.as_deref(),
            from,
            at,
            None,
        )
    }

    /// The history after `commit` (a mainline commit already audited): what
    /// an audit resuming from a checkpoint reads.
    pub fn history_after(&self, commit: crate::git::Oid) -> Result<crate::git::History> {
        crate::git::History::read_at(
            &self.root,
            RECORDS_DIR,
            POLICY_FILE,
            self.policy.trust.allowed_signers.as_deref(),
            None,
            None,
            Some(commit),
        )
    }

    /// When each wanted version of a record first appeared: for (record path,
    /// request digest), the author time of the first commit whose version of
    /// that file has that digest. Reads the history once, and only the
    /// wanted files' versions. Versions the history does not hold are left out.
    pub fn edit_times(
        &self,
        wanted: &[(String, String)],
    ) -> Result<std::collections::HashMap<(String, String), chrono::DateTime<chrono::Utc>>> {
        if wanted.is_empty() {
            return Ok(std::collections::HashMap::new());
        }
        self.edit_times_in(&self.history()?, wanted)
    }

    /// [`Registry::edit_times`] from a history already read.
    pub fn edit_times_in(
        &self,
        history: &crate::git::History,
        wanted: &[(String, String)],
    ) -> Result<std::collections::HashMap<(String, String), chrono::DateTime<chrono::Utc>>> {
        let mut out = std::collections::HashMap::new();
        if wanted.is_empty() {
            return Ok(out);
        }
        let trails = history.trails();
        let prefix = format!("{RECORDS_DIR}/");
        let changes = wanted
            .iter()
            .filter_map(|(path, _)| trails.get(path.strip_prefix(&prefix).unwrap_or(path)))
            .flatten()
            .copied();
        history.replay(
            changes,
            |text| parse_version(text).and_then(|v| v.1).map(|e| crate::model::digest::digest(&e)),
            |commit, change, _, after| {
                let name = change.new_name.as_deref().unwrap_or("");
                if let Some(Some(digest)) = after {
                    let key = (format!("{prefix}{name}"), digest.clone());
                    if wanted.contains(&key) {
                        out.entry(key).or_insert(commit.time);
                    }
                }
                Ok(())
            },
        )?;
        Ok(out)
    }

    /// The policy at a commit, with the keys of that commit's allowed_signers
    /// file; the built-in defaults where there was no `exc.yaml`.
    pub fn policy_at(&self, commit: crate::git::Oid) -> Result<Policy> {
        let read = |rel: &str| crate::git::file_at(&self.root, commit, rel);
        let mut p = match read(POLICY_FILE)? {
            Some(text) => parse_policy(text.as_bytes(), POLICY_FILE)?,
            None => Policy::default(),
        };
        load_keys(&mut p, |rel| read(rel).map_err(|e| e.to_string())?.ok_or_else(|| "not in that commit".into()))?;
        Ok(p)
    }

    /// Judges this branch against the base: a policy change counts only when
    /// the base policy's owners approved it (otherwise the base policy is put
    /// in force here, and a `policy-unapproved` finding says so); and no record
    /// the base holds may be deleted, reopened, renamed, or have its decisions
    /// rewritten. Every decision the branch adds is judged strictly: signed
    /// by a key the policy lists for its maker that is valid now (a key that
    /// retired signs nothing new, whatever date it writes). Returns the
    /// findings; `self.policy` is then the policy to judge by.
    pub fn against_base(
        &mut self,
        commit: crate::git::Oid,
        name: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<Finding>> {
        let mut out = Vec::new();
        let base = self.policy_at(commit)?;
        let bounds = crate::model::policy::Bounds { not_before: None, not_after: Some(now), landed: Some(now) };
        let change = base.judge_change(&self.policy, &bounds);
        if !change.approved() {
            let why =
                if change.problems.is_empty() { String::new() } else { format!("; {}", change.problems.join("; ")) };
            out.push(Finding::new(
                Code::PolicyUnapproved,
                POLICY_FILE,
                "",
                format!(
                    "exc.yaml changes the policy at {name} without the approval of its owners (still needed: {}){why}; records are judged by the policy at {name}",
                    change.missing.join(", ")
                ),
            ));
            self.policy = base;
        }
        let at_base: std::collections::HashMap<String, String> = self.records_at(commit)?.into_iter().collect();
        for path in self.record_files()? {
            let Some(file) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else { continue };
            let Some((_, Some(after))) = read_version(&path) else { continue };
            let before = at_base.get(&file).and_then(|t| parse_version(t)).and_then(|v| v.1);
            let shown = format!("{RECORDS_DIR}/{file}");
            out.extend(crate::model::audit::new_decisions(&shown, before.as_ref(), &after, &self.policy, now));
        }
        for (file, text) in at_base {
            let Some(before) = parse_version(&text).and_then(|v| v.1) else { continue };
            let path = self.records_dir().join(&file);
            let shown = format!("{RECORDS_DIR}/{file}");
            let now = if fs::symlink_metadata(&path).is_err() { None } else { Some(read_version(&path)) };
            let after = match &now {
                None => crate::model::audit::Version::Absent,
                Some(Some((_, Some(e)))) => crate::model::audit::Version::Record(e),
                Some(_) => crate::model::audit::Version::Unreadable,
            };
            out.extend(crate::model::audit::compare_to_base(&shown, &before, after));
        }
        Ok(out)
    }

    /// The records (file name, text) as of a commit.
    pub fn records_at(&self, commit: crate::git::Oid) -> Result<Vec<(String, String)>> {
        crate::git::records_at(&self.root, RECORDS_DIR, commit)
    }

    /// The asset inventory `assets.inventory` names (a file inside the
    /// repository, not a link), read once; none without one.
    pub fn inventory(&self) -> Result<Option<&Inventory>> {
        let Some(file) = &self.policy.assets.inventory else { return Ok(None) };
        let read = self.inventory.get_or_init(|| {
            let path = self.inside(file)?;
            inventory::read(&path, &self.policy.assets.columns)
                .map(Some)
                .map_err(|why| format!("{}: {why}", path.display()))
        });
        match read {
            Ok(inv) => Ok(inv.as_ref()),
            Err(why) => Err(Error::Refused(format!("assets.inventory `{file}`: {why}"))),
        }
    }

    /// What "% of assets excepted" divides by: the inventory, else `assets.total`.
    pub fn asset_base(&self) -> Result<AssetBase<'_>> {
        Ok(match (self.inventory()?, self.policy.assets.total) {
            (Some(inv), _) => AssetBase::Inventory(inv),
            (None, Some(n)) => AssetBase::Total(n),
            (None, None) => AssetBase::Unknown,
        })
    }

    /// A path relative to the registry, resolved (see [`inside`]).
    pub fn inside(&self, rel: &str) -> std::result::Result<PathBuf, String> {
        inside(&self.root, rel)
    }

    /// The ids in use (file names without extension, upper case).
    pub fn ids(&self) -> Result<std::collections::HashSet<String>> {
        Ok(self
            .record_files()?
            .iter()
            .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().to_uppercase()))
            .collect())
    }

    /// The findings a new record would get from `validate`: the schema and
    /// every rule, and its id against the ids in use.
    pub fn check_new(&self, e: &Exception) -> Result<Vec<Finding>> {
        let text = render(e)?;
        let shown = format!("{RECORDS_DIR}/{}.yaml", e.id);
        let value = yaml::parse_value(&text).map_err(|err| Error::Output(err.message))?;
        let mut findings: Vec<Finding> = schema::issues(schema::record(), schema::RECORD_SCHEMA, &value)
            .into_iter()
            .map(|i| Finding::new(Code::Schema, &shown, &i.pointer, i.message))
            .collect();
        if findings.is_empty() {
            let record = Record::new(shown.clone(), e.id.clone(), e.clone(), text.into());
            findings.extend(rules::check_record(&record, &self.policy, self.cx).0);
            if let (Some(inv), Some(file)) = (self.inventory()?, &self.policy.assets.inventory) {
                findings.extend(crate::model::inventory::unknown_assets(std::slice::from_ref(&record), inv, file));
            }
        }
        findings.extend(self.evidence(&Record::new(shown.clone(), e.id.clone(), e.clone(), "".into())));
        if self.ids()?.contains(&e.id.to_uppercase()) {
            findings.push(Finding::new(Code::DuplicateId, &shown, "/id", format!("id `{}` is already taken", e.id)));
        }
        self.policy.severity.apply(&mut findings);
        Ok(findings)
    }

    /// The texts of loaded records, for turning findings' pointers into positions.
    pub fn sources<'a>(&'a self, records: &'a [Record]) -> Sources<'a> {
        Sources::new(&self.root, records)
    }
}

/// A path relative to the registry root, resolved: it must stay inside the
/// registry's repository (or the registry, without git), exist, and be a
/// regular file with no symbolic link on the way.
pub fn inside(root: &Path, rel: &str) -> std::result::Result<PathBuf, String> {
    if !crate::model::record::is_contained(rel) {
        return Err("must be a relative path inside the repository".into());
    }
    let top = crate::git::workdir(root).unwrap_or_else(|| root.to_path_buf());
    let mut path = root.to_path_buf();
    for part in Path::new(rel).components() {
        path.push(part);
        match fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_symlink() => return Err("goes through a symbolic link".into()),
            Ok(_) => {}
            Err(_) => return Err("does not exist".into()),
        }
    }
    let real = fs::canonicalize(&path).map_err(|e| e.to_string())?;
    let top = fs::canonicalize(&top).unwrap_or(top);
    if !real.starts_with(&top) {
        return Err("lies outside the repository".into());
    }
    if !fs::metadata(&real).map(|m| m.is_file()).unwrap_or(false) {
        return Err("is not a regular file".into());
    }
    Ok(real)
}

/// Fills in the policy's keyring: its inline keys and the allowed_signers
/// file it names, read through `read` (the work tree, or a commit).
pub fn load_keys(policy: &mut Policy, read: impl Fn(&str) -> std::result::Result<String, String>) -> Result<()> {
    let file = policy.trust.allowed_signers.clone();
    let text = match &file {
        Some(rel) => Some(read(rel).map_err(|why| {
            Error::Policy(vec![Finding::new(
                Code::PolicyInvalid,
                POLICY_FILE,
                "/trust/allowed_signers",
                format!("trust.allowed_signers `{rel}`: {why}"),
            )])
        })?),
        None => None,
    };
    let problems = policy.load_keys(text.as_deref());
    if problems.is_empty() {
        return Ok(());
    }
    Err(Error::Policy(
        problems
            .into_iter()
            .map(|p| match (&file, p.line) {
                (Some(rel), line) if line > 0 => {
                    Finding::at(Code::PolicyInvalid, rel, Position { line: line as u32, col: 1 }, p.message)
                }
                _ => Finding::new(Code::PolicyInvalid, POLICY_FILE, "/trust", p.message),
            })
            .collect(),
    ))
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

/// Reads, parses, schema-checks and rule-checks one record file.
fn load_one(path: &Path, shown: &str, policy: &Policy, cx: rules::Context) -> (Option<Record>, Vec<Finding>) {
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
fn position_at(bytes: &[u8], offset: usize) -> Position {
    let before = &bytes[..offset.min(bytes.len())];
    let line = before.iter().filter(|b| **b == b'\n').count() as u32 + 1;
    let line_start = before.iter().rposition(|b| *b == b'\n').map(|i| i + 1).unwrap_or(0);
    let col = String::from_utf8_lossy(&before[line_start..]).chars().count() as u32 + 1;
    Position { line, col }
}

/// Parses and checks `exc.yaml`; every problem is a `policy-invalid` finding
/// with its position.
pub fn parse_policy(bytes: &[u8], shown: &str) -> Result<Policy> {
    let problem = |at: Position, msg: &str| Finding::at(Code::PolicyInvalid, shown, at, msg.to_string());
    let text = std::str::from_utf8(bytes)
        .map_err(|e| Error::Policy(vec![problem(position_at(bytes, e.valid_up_to()), "not valid UTF-8 text")]))?;
    let doc = match yaml::parse(text) {
        Ok(d) => d,
        Err(e) if e.message == "the file is empty" => return Ok(Policy::default()),
        Err(e) => return Err(Error::Policy(vec![problem(e.position, &e.message)])),
    };
    if !doc.value.is_object() {
        return Err(Error::Policy(vec![problem(
            Position::START,
            "the policy is a mapping of sections (roles:, types:, …)",
        )]));
    }
    let issues = schema::issues(schema::policy(), schema::POLICY_SCHEMA, &doc.value);
    if !issues.is_empty() {
        return Err(Error::Policy(issues.iter().map(|i| problem(doc.position(&i.pointer), &i.message)).collect()));
    }
    let policy: Policy = serde_json::from_value(doc.value.clone())
        .map_err(|e| Error::Policy(vec![problem(Position::START, &e.to_string())]))?;
    let problems = policy.problems();
    if !problems.is_empty() {
        return Err(Error::Policy(problems.iter().map(|p| problem(doc.position(&p.pointer), &p.message)).collect()));
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

    #[test]
    fn ids_are_plain() {
        assert!(is_plain_id("EXC-7K3Q"));
        assert!(!is_plain_id("../etc"));
        assert!(!is_plain_id("a/b"));
    }
}
