//! The registry on disk: finding it, reading its policy and keys, and the
//! paths of its records. Its files: `load` reads the records (in parallel,
//! defensively: every file that is not a sound record becomes a finding with
//! `path:line:col`, never a panic or an abort); `history` reads git;
//! `audit` and `checkpoint` judge the whole history; `kpi` gathers what the
//! KPI report needs; `write` is the one write path; `sources` turns a
//! finding's JSON pointer into a line and column when it is shown.
//! Symbolic links are refused wherever they matter: `exc.yaml`, `exceptions/`
//! and every record.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::model::finding::{Code, Finding, Position};
use crate::model::inventory::{AssetBase, Inventory};
use crate::model::policy::Policy;
use crate::model::record::{Exception, Record};
use crate::model::rules;
use crate::schema;
use crate::yaml;

mod audit;
mod checkpoint;
mod decisions;
pub mod deliveries;
pub mod fleet;
mod history;
mod inventory;
mod kpi;
mod load;
mod source;
mod sources;
mod write;

pub use audit::Audited;
pub use checkpoint::MIN_KEY as CHECKPOINT_MIN_KEY;
pub use decisions::decision_key;
pub use kpi::KpiContext;
use load::position_at;
pub use load::{Loaded, MAX_RECORD_BYTES, Visit, parse_version, read_version};
pub use source::Source;
pub use sources::{Sources, place};
pub use write::{CommitOptions, Fill, append_policy_approval, render, set_policy_version, write_atomic, write_folder};

/// The policy file name.
pub const POLICY_FILE: &str = "exc.yaml";
/// The records directory name.
pub const RECORDS_DIR: &str = "exceptions";

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

    /// What `reconcile` and `import` look for and skip: the policy's patterns
    /// and exclusions and, in the registry's own repository, its records and
    /// schemas (a record may quote the suppression it excepts). In an
    /// application repository (`central`) the registry's folders are elsewhere.
    pub fn scan_options(&self, central: bool) -> crate::scan::Options {
        let rules = &self.policy.reconcile;
        let prefix = self.repository_prefix();
        let mut exclude = rules.exclude.clone();
        if !central {
            exclude.extend([format!("{prefix}{RECORDS_DIR}/**"), format!("{prefix}schema/**")]);
        }
        crate::scan::Options {
            patterns: rules.patterns.iter().map(|p| (p.tool.clone(), p.pattern.clone())).collect(),
            exclude,
        }
    }

    /// The system the registry covers: the policy's `name`, else the name of
    /// the repository's directory.
    pub fn system_name(&self) -> String {
        if let Some(name) = &self.policy.name {
            return name.clone();
        }
        let dir = crate::git::workdir(&self.root).unwrap_or_else(|| self.root.clone());
        dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "exc".into())
    }

    /// A path as users see it: relative to the registry root when inside it.
    pub fn display_path(&self, p: &Path) -> String {
        p.strip_prefix(&self.root).unwrap_or(p).display().to_string()
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

    /// A new request checked as `validate` checks a file, before it is
    /// signed (so its missing signature is not a problem yet): an error if
    /// anything is wrong, else what deserves a warning (a misspelt asset,
    /// easiest to fix before anyone approves it).
    pub fn check_request(&self, e: &Exception) -> Result<Vec<Finding>> {
        let findings: Vec<Finding> = self
            .check_new(e)?
            .into_iter()
            .filter(|f| !(f.code == Code::SignatureMissing && f.pointer.is_empty()))
            .collect();
        if findings.iter().any(|f| f.is_error()) {
            return Err(Error::Invalid { what: "the request is not valid".into(), findings });
        }
        Ok(findings.into_iter().filter(|f| f.code == Code::UnknownAsset).collect())
    }

    /// A random id no record has yet.
    pub fn new_id(&self) -> Result<String> {
        let taken = self.ids()?;
        for _ in 0..64 {
            let mut bytes = [0u8; 4];
            getrandom::fill(&mut bytes).map_err(|e| Error::Output(format!("no randomness for an id: {e}")))?;
            if let Some(id) = crate::model::request::id_from(bytes, &|id| taken.contains(id)) {
                return Ok(id);
            }
        }
        Err(Error::Conflict("could not find a free id; pass --id".into()))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_plain() {
        assert!(is_plain_id("EXC-7K3Q"));
        assert!(!is_plain_id("../etc"));
        assert!(!is_plain_id("a/b"));
    }
}
