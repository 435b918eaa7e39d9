//! The one write path. Every command that creates or changes a record goes
//! through [`Registry::save`]:
//!
//! 1. with `--commit`, everything git needs (a work tree, an identity, nothing
//!    else staged, no merge in progress) is checked before anything is written;
//! 2. a lock serialises writers, and the file must still hold what was read
//!    (a record changed meanwhile is refused, not lost);
//! 3. the new text goes to a synced temp file in the same directory, created
//!    with the process umask, then renamed over the record (a new record
//!    never replaces an existing file);
//! 4. the commit runs through git itself (hooks, `commit.gpgsign`); if it
//!    fails, the file is put back as it was.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::Digest;

use super::load::load_one;
use super::{Registry, SCHEMA_COMMENT};
use crate::error::{Error, Result};
use crate::git;
use crate::model::lifecycle::{self, Act, Action, Transition};
use crate::model::record::{Exception, Record};
use crate::model::routing::POLICY_APPROVER;
use crate::model::signature::{self, Verdict};
use crate::model::statement::{self, Entry};

/// How to sign a statement: returns the signature's stored form.
pub type Sign<'a> = &'a dyn Fn(&[u8]) -> Result<String>;

/// How to commit: with a pinned date (tests and the sample script), or now.
#[derive(Debug, Clone, Copy, Default)]
pub struct CommitOptions {
    pub date: Option<chrono::DateTime<chrono::Utc>>,
}
use crate::yaml;

/// What a save did.
#[derive(Debug)]
pub struct Saved {
    /// The path as users see it.
    pub shown: String,
    /// The new commit's id, with `--commit`.
    pub commit: Option<String>,
}

impl Registry {
    /// Whether the record `id` could be committed alone now (a work tree, an
    /// identity, nothing else staged): checked before a form asks anything,
    /// so its answers are not given in vain. Saving checks again.
    pub fn check_commit(&self, id: &str) -> Result<()> {
        git::plan_commit(&self.root, &self.record_path(id)).map(|_| ())
    }

    /// Writes `after` as a new record (`before` = None) or over the record read
    /// as `before`, and commits it with `message` when given.
    pub fn save(
        &self,
        before: Option<&Record>,
        after: &Exception,
        message: Option<(&str, Option<chrono::DateTime<chrono::Utc>>)>,
    ) -> Result<Saved> {
        let path = self.record_path(&after.id);
        let shown = self.display_path(&path);
        let plan = message.map(|_| git::plan_commit(&self.root, &path)).transpose()?;
        let body = render(after)?;

        let _lock = self.lock()?;
        let previous = match fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(Error::Refused(format!("{shown} is a symbolic link; records must be regular files")));
            }
            Ok(_) => Some(fs::read(&path).map_err(|e| Error::io(&path, e))?),
            Err(_) => None,
        };
        match (before, &previous) {
            (None, Some(_)) => {
                return Err(Error::Conflict(format!("{shown} already exists; nothing was written")));
            }
            (Some(b), _) => {
                let (now, _) = load_one(&path, &b.path, &self.policy, self.cx);
                if now.as_ref().map(|r| &r.exception) != Some(&b.exception) {
                    return Err(Error::Conflict(format!(
                        "{} changed on disk while this command ran; nothing was written: run it again",
                        b.path
                    )));
                }
            }
            (None, None) => {}
        }
        fs::create_dir_all(self.records_dir()).map_err(|e| Error::io(self.records_dir(), e))?;
        write_atomic(&path, body.as_bytes(), before.is_none())?;

        let commit = match (plan, message) {
            (Some(plan), Some((message, date))) => match git::commit(&plan, message, date) {
                Ok(id) => Some(id),
                Err(e) => {
                    let undone = match &previous {
                        Some(bytes) => write_atomic(&path, bytes, false).is_ok(),
                        None => fs::remove_file(&path).is_ok(),
                    };
                    let state = if undone { "the file was put back as it was" } else { "the file was written" };
                    return Err(Error::Git(format!("{e}; {state}")));
                }
            },
            _ => None,
        };
        Ok(Saved { shown, commit })
    }

    /// Applies a lifecycle action to `record` as `act.actor`, signs the new
    /// decision when the policy requires signatures (and checks the signature
    /// verifies with a key the policy lists for the actor), then saves it (and
    /// commits it, with `commit`). A refusal changes nothing.
    pub fn transition(
        &self,
        record: &Record,
        act: &Act,
        action: Action,
        sign: Sign,
        commit: Option<&CommitOptions>,
    ) -> Result<(Transition, Saved)> {
        let id = record.exception.id.clone();
        let mut t = lifecycle::apply(&record.exception, &self.policy, act, action)
            .map_err(|why| Error::Refused(format!("cannot change {id}: {why}")))?;
        self.sign_decision(&mut t.after, t.entry, act, sign)?;
        let message = commit.map(|c| (git::message(t.action, &id, t.detail.as_deref()), c.date));
        let saved = self.save(Some(record), &t.after, message.as_ref().map(|(m, d)| (m.as_str(), *d)))?;
        Ok((t, saved))
    }

    /// Signs `entry` of `e` as `act.actor` when the policy requires it, and
    /// refuses a signature the policy would not accept.
    pub fn sign_decision(&self, e: &mut Exception, entry: Entry, act: &Act, sign: Sign) -> Result<()> {
        // The policy's own decisions (automatic approval, expiry) are checked
        // against the policy, not signed.
        if !self.policy.signatures_required() || act.actor == POLICY_APPROVER {
            return Ok(());
        }
        let bytes = statement::statements(e, self.policy.trust.registry.as_deref())
            .into_iter()
            .find(|(en, _)| *en == entry)
            .map(|(_, b)| b)
            .ok_or_else(|| Error::Refused("the decision to sign is not in the record".into()))?;
        let signature = sign(&bytes)?;
        match signature::verify(&self.policy.trust.keyring, act.actor, act.at, &bytes, Some(&signature)) {
            Verdict::Valid => {
                statement::set_signature(e, entry, signature);
                Ok(())
            }
            Verdict::UnknownKey(print) => Err(Error::Refused(format!(
                "you signed with key {print}, which the policy does not list for {}; ask the policy owners to add it (trust.keys or the allowed_signers file), or sign with your listed key; nothing was written",
                act.actor
            ))),
            Verdict::Expired { key, on } => Err(Error::Refused(format!(
                "your key {key} expired on {} (its valid-before in the policy): sign with your current key (--key, or git's user.signingkey), or ask the policy owners to list a new one; nothing was written",
                on.date_naive()
            ))),
            Verdict::Missing | Verdict::Invalid(_) => {
                Err(Error::Sign("the signature ssh-keygen made does not verify; nothing was written".into()))
            }
        }
    }

    /// One writer at a time per registry. The lock lives in the system's temp
    /// directory, keyed by the registry's path, so it never shows up in `git
    /// status` or a commit.
    fn lock(&self) -> Result<fs::File> {
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
        Ok(lock)
    }
}

/// The file text of a record: the editor's schema line, then the YAML.
pub fn render(e: &Exception) -> Result<String> {
    let body = yaml::to_string(e).map_err(|m| Error::Output(format!("{}: {m}", e.id)))?;
    Ok(format!("{SCHEMA_COMMENT}\n{body}"))
}

/// Writes `bytes` to `path` through a synced temp file in the same directory and
/// a rename, so readers see the old file or the new one, never half of one.
/// With `create`, refuses to replace an existing file. The file gets the
/// permissions the process umask allows, like any file a program creates.
pub fn write_atomic(path: &Path, bytes: &[u8], create: bool) -> Result<()> {
    write_atomic_with(path, create, &mut |w| w.write_all(bytes).map_err(|e| Error::write(path, &e)))
}

/// [`write_atomic`], the bytes written by `write` as they are made (through
/// a buffer), so a large file is never held whole in memory. If `write`
/// fails, nothing is left behind.
pub fn write_atomic_with(path: &Path, create: bool, write: Fill) -> Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let failed = |e: &std::io::Error| Error::write(path, e);
    let (tmp_path, file) = temp_file(dir).map_err(|e| failed(&e))?;
    let cleanup = |e: std::io::Error| {
        let _ = fs::remove_file(&tmp_path);
        failed(&e)
    };
    let mut buffered = std::io::BufWriter::with_capacity(64 * 1024, file);
    if let Err(e) = write(&mut buffered) {
        let _ = fs::remove_file(&tmp_path);
        return Err(e);
    }
    let file = buffered.into_inner().map_err(|e| cleanup(e.into_error()))?;
    file.sync_all().map_err(cleanup)?;
    drop(file);
    if create {
        // A hard link fails if the name exists: no clobbering, no race.
        fs::hard_link(&tmp_path, path).map_err(|e| {
            let _ = fs::remove_file(&tmp_path);
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                Error::Conflict(format!("{} already exists; nothing was written", path.display()))
            } else {
                failed(&e)
            }
        })?;
        let _ = fs::remove_file(&tmp_path);
    } else {
        fs::rename(&tmp_path, path).map_err(cleanup)?;
    }
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// A new, empty temp file in `dir`, created with mode 0666 minus the umask.
fn temp_file(dir: &Path) -> std::io::Result<(PathBuf, fs::File)> {
    let mut last = None;
    for _ in 0..16 {
        let mut random = [0u8; 6];
        getrandom::fill(&mut random).map_err(|e| std::io::Error::other(e.to_string()))?;
        let name: String = random.iter().map(|b| format!("{b:02x}")).collect();
        let path = dir.join(format!(".exc-{name}.tmp"));
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o666);
        match options.open(&path) {
            Ok(f) => return Ok((path, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no free temp file name")))
}

/// Appends an approval to `exc.yaml` as text, keeping its comments and
/// layout: under a last `approvals:` section, or in a new one at the end.
pub fn append_policy_approval(text: &str, approval: &crate::model::policy::PolicyApproval) -> Result<String> {
    let top_keys: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .filter_map(|(i, l)| {
            let key = l.split(':').next()?;
            (!l.starts_with([' ', '\t', '#', '-']) && l.contains(':') && !key.is_empty() && !key.contains(' '))
                .then_some((i, key))
        })
        .collect();
    let item = yaml::to_string(&[approval]).map_err(Error::Output)?;
    let item: String = item.lines().map(|l| format!("  {l}\n")).collect();
    let mut out = text.to_string();
    if !out.ends_with('\n') && !out.is_empty() {
        out.push('\n');
    }
    match top_keys.iter().position(|(_, k)| *k == "approvals") {
        None => out.push_str(&format!(
            "\n# Signed approvals of this policy (`exc policy approve`). Keep this section last.\napprovals:\n{item}"
        )),
        Some(i) if i + 1 == top_keys.len() => out.push_str(&item),
        Some(_) => {
            return Err(Error::Refused(
                "exc.yaml has an `approvals:` section that is not the last one; move it to the end of the file".into(),
            ));
        }
    }
    Ok(out)
}

/// Sets the policy's top-level `version:` in exc.yaml's text, in place when
/// it is there, else on a line of its own before the first section, so the
/// rest of the file (comments, order) stays as it was.
pub fn set_policy_version(text: &str, version: u64) -> String {
    let line = format!("version: {version}");
    let mut out: Vec<String> = Vec::new();
    let mut done = false;
    for l in text.lines() {
        let top = !l.starts_with([' ', '\t', '#', '-']) && l.contains(':');
        if !done && top && l.split(':').next().is_some_and(|k| k.trim() == "version") {
            out.push(line.clone());
            done = true;
            continue;
        }
        out.push(l.to_string());
    }
    if !done {
        let first = out.iter().position(|l| !l.starts_with([' ', '\t', '#', '-']) && l.contains(':'));
        let at = first.unwrap_or(out.len());
        out.insert(at, format!("{line}    # grows with every approved change (exc policy approve)"));
    }
    let mut s = out.join("\n");
    if text.ends_with('\n') || text.is_empty() {
        s.push('\n');
    }
    s
}

/// What writes a file's bytes, as they are made.
pub type Fill<'a> = &'a mut dyn FnMut(&mut dyn Write) -> Result<()>;

/// Where [`write_folder`]'s filler puts each file: its name, and what
/// writes its bytes.
pub type Put<'a> = dyn FnMut(&str, Fill) -> Result<()> + 'a;

/// Writes a folder of files named `names` (relative, `/`-separated): `fill`
/// is given where to put each one as it is made, so none waits in memory for
/// the others. A new folder is built beside it and renamed into place, so it
/// appears whole or not at all. An existing folder may hold only these
/// names, which are replaced one by one, atomically; anything else there is
/// refused, and nothing is ever deleted.
pub fn write_folder(dir: &Path, names: &[String], fill: impl FnOnce(&mut Put) -> Result<()>) -> Result<()> {
    let write_all = |into: &Path| -> Result<()> {
        let mut put = |name: &str, write: Fill| -> Result<()> {
            if !names.iter().any(|n| n == name) {
                return Err(Error::Usage(format!("{name} is not one of the files this folder was to hold")));
            }
            let path = into.join(name);
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent).map_err(|e| Error::write(parent, &e))?;
            }
            write_atomic_with(&path, false, write)
        };
        fill(&mut put)
    };
    match fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let parent = dir.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
            fs::create_dir_all(parent).map_err(|e| Error::write(parent, &e))?;
            // A sibling made with create_dir takes the umask's mode, as the folder should.
            let staged = staging_dir(parent).map_err(|e| Error::write(parent, &e))?;
            if let Err(e) = write_all(&staged) {
                let _ = fs::remove_dir_all(&staged);
                return Err(e);
            }
            fs::rename(&staged, dir).map_err(|e| {
                let _ = fs::remove_dir_all(&staged);
                Error::write(dir, &e)
            })
        }
        Err(e) => Err(Error::write(dir, &e)),
        Ok(m) if !m.is_dir() => {
            Err(Error::Refused(format!("{} exists and is not a folder; nothing was written", dir.display())))
        }
        Ok(_) => {
            let mut foreign = Vec::new();
            let mut stack = vec![(dir.to_path_buf(), String::new())];
            while let Some((at, rel)) = stack.pop() {
                for entry in fs::read_dir(&at).map_err(|e| Error::write(&at, &e))? {
                    let entry = entry.map_err(|e| Error::write(&at, &e))?;
                    let name = format!("{rel}{}", entry.file_name().to_string_lossy());
                    let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
                    if is_dir && names.iter().any(|f| f.starts_with(&format!("{name}/"))) {
                        stack.push((entry.path(), format!("{name}/")));
                    } else if is_dir || !names.contains(&name) {
                        foreign.push(name);
                    }
                }
            }
            if !foreign.is_empty() {
                foreign.sort();
                return Err(Error::Refused(format!(
                    "{} holds files this would not write ({}); exc does not delete or mix them: choose a new or empty folder",
                    dir.display(),
                    foreign.join(", ")
                )));
            }
            write_all(dir)
        }
    }
}

/// A new, empty folder in `dir` with a name nobody uses.
fn staging_dir(dir: &Path) -> std::io::Result<PathBuf> {
    for _ in 0..16 {
        let mut random = [0u8; 6];
        getrandom::fill(&mut random).map_err(|e| std::io::Error::other(e.to_string()))?;
        let name: String = random.iter().map(|b| format!("{b:02x}")).collect();
        let path = dir.join(format!(".exc-{name}.tmp"));
        match fs::create_dir(&path) {
            Ok(()) => return Ok(path),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("no free folder name"))
}
