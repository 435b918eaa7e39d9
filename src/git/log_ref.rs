//! A ref beside the branches that holds files, for the delivery log of
//! `exc notify` (by default `refs/exc/notify`): each change is a commit
//! that adds files, so `git log -p refs/exc/notify` is its audit trail.
//!
//! Writers never overwrite each other. The local ref moves only from the
//! commit a writer read to one on top of it (a compare-and-swap under git's
//! ref lock); the remote's moves only by a fast-forward push, which the
//! remote refuses when another writer got there first. Either way the loser
//! is told [`Moved`], reads again and retries. Two histories that went
//! apart (a push that failed and a run elsewhere) join by a merge whose
//! tree is the union of both: writers only add files with names of their own.
//!
//! Objects are written with libgit2; fetch and push go through git itself,
//! so the remote's credentials and URL rewriting apply.

use std::path::Path;
use std::process::{Command, Stdio};

use git2::{Oid, Repository, Signature, Time};

use super::failed;
use crate::error::{Error, Result};

/// Another writer moved the ref first: read it again and retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Moved;

fn open(root: &Path) -> Result<Repository> {
    Repository::discover(root).map_err(|_| {
        Error::Git(format!("{} is not in a git repository; the delivery log lives in a git ref", root.display()))
    })
}

/// Whether the repository holding `root` has a remote called `name`.
pub fn has_remote(root: &Path, name: &str) -> bool {
    open(root).is_ok_and(|repo| repo.find_remote(name).is_ok())
}

/// The commit `name` points at, if the ref exists.
pub fn tip(root: &Path, name: &str) -> Result<Option<Oid>> {
    let repo = open(root)?;
    match repo.find_reference(name) {
        Ok(r) => Ok(Some(r.peel_to_commit().map_err(failed)?.id())),
        Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
        Err(e) => Err(failed(e)),
    }
}

/// Every file in the tree of `commit` (path with `/`, contents).
pub fn files(root: &Path, commit: Oid) -> Result<Vec<(String, Vec<u8>)>> {
    let repo = open(root)?;
    let tree = repo.find_commit(commit).and_then(|c| c.tree()).map_err(failed)?;
    let mut out = Vec::new();
    let mut error = None;
    tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
        if entry.kind() == Some(git2::ObjectType::Blob) {
            match repo.find_blob(entry.id()) {
                Ok(b) => out.push((format!("{dir}{}", entry.name().unwrap_or_default()), b.content().to_vec())),
                Err(e) => {
                    error = Some(e);
                    return git2::TreeWalkResult::Abort;
                }
            }
        }
        git2::TreeWalkResult::Ok
    })
    .map_err(failed)?;
    match error {
        Some(e) => Err(failed(e)),
        None => Ok(out),
    }
}

/// Whether `a` is `b` or one of its ancestors.
pub fn contains(root: &Path, a: Oid, b: Oid) -> Result<bool> {
    let repo = open(root)?;
    Ok(a == b || repo.graph_descendant_of(b, a).map_err(failed)?)
}

fn signature(repo: &Repository, at: chrono::DateTime<chrono::Utc>) -> Result<Signature<'static>> {
    let time = Time::new(at.timestamp(), 0);
    let (name, email) = match repo.signature() {
        Ok(s) => (s.name().unwrap_or("exc").to_string(), s.email().unwrap_or("exc@localhost").to_string()),
        Err(_) => ("exc notify".to_string(), "exc@localhost".to_string()),
    };
    Signature::new(&name, &email, &time).map_err(failed)
}

/// A tree holding the files of `base` (if any) and `add` (top-level names
/// only); a name `add` shares with `base` keeps `base`'s file.
fn tree_with(repo: &Repository, base: Option<&git2::Tree>, add: &[(String, Vec<u8>)]) -> Result<Oid> {
    let mut builder = repo.treebuilder(base).map_err(failed)?;
    for (name, bytes) in add {
        if name.contains('/') || name.is_empty() {
            return Err(Error::Git(format!("`{name}` is not a file name for the log")));
        }
        if builder.get(name).map_err(failed)?.is_some() {
            continue;
        }
        let blob = repo.blob(bytes).map_err(failed)?;
        builder.insert(name, blob, 0o100644).map_err(failed)?;
    }
    builder.write().map_err(failed)
}

/// Adds `add` on top of `expected` (the tip that was read; `None` when the
/// ref did not exist) as one commit, and moves the ref to it only if it
/// still points at `expected`.
pub fn append(
    root: &Path,
    name: &str,
    expected: Option<Oid>,
    add: &[(String, Vec<u8>)],
    message: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<std::result::Result<Oid, Moved>> {
    let repo = open(root)?;
    let parent = expected.map(|o| repo.find_commit(o)).transpose().map_err(failed)?;
    let base = parent.as_ref().map(|c| c.tree()).transpose().map_err(failed)?;
    let tree = repo.find_tree(tree_with(&repo, base.as_ref(), add)?).map_err(failed)?;
    let sig = signature(&repo, at)?;
    let parents: Vec<&git2::Commit> = parent.iter().collect();
    let commit = repo.commit(None, &sig, &sig, message, &tree, &parents).map_err(failed)?;
    move_ref(&repo, name, expected, commit, message)
}

/// Moves `name` from `expected` to `to`, atomically.
fn move_ref(
    repo: &Repository,
    name: &str,
    expected: Option<Oid>,
    to: Oid,
    message: &str,
) -> Result<std::result::Result<Oid, Moved>> {
    let done = match expected {
        Some(old) => repo.reference_matching(name, to, true, old, message).map(|_| ()),
        None => repo.reference(name, to, false, message).map(|_| ()),
    };
    match done {
        Ok(()) => Ok(Ok(to)),
        Err(e) if matches!(e.code(), git2::ErrorCode::Modified | git2::ErrorCode::Exists | git2::ErrorCode::Locked) => {
            Ok(Err(Moved))
        }
        Err(e) => Err(failed(e)),
    }
}

/// Joins two histories of the log: a commit with both as parents whose tree
/// holds the files of both. The ref moves to it only if it still points at `ours`.
pub fn join(
    root: &Path,
    name: &str,
    ours: Oid,
    theirs: Oid,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<std::result::Result<Oid, Moved>> {
    let repo = open(root)?;
    let (a, b) = (repo.find_commit(ours).map_err(failed)?, repo.find_commit(theirs).map_err(failed)?);
    let theirs_files = files(root, theirs)?;
    let tree = repo.find_tree(tree_with(&repo, Some(&a.tree().map_err(failed)?), &theirs_files)?).map_err(failed)?;
    let sig = signature(&repo, at)?;
    let message = "exc notify: join the delivery log's histories";
    let commit = repo.commit(None, &sig, &sig, message, &tree, &[&a, &b]).map_err(failed)?;
    move_ref(&repo, name, Some(ours), commit, message)
}

/// Sets the local ref to `to` if it points at `expected` (a fast-forward to
/// what the remote holds).
pub fn advance(root: &Path, name: &str, expected: Option<Oid>, to: Oid) -> Result<std::result::Result<Oid, Moved>> {
    let repo = open(root)?;
    move_ref(&repo, name, expected, to, "exc notify: the remote's delivery log")
}

/// Fetches `name` from `remote` into a ref of its own (`refs/exc/remotes/<remote>/…`)
/// and returns the commit the remote holds, or `None` when it has none yet.
pub fn fetch(root: &Path, remote: &str, name: &str) -> Result<Option<Oid>> {
    let listed = git(root, &["ls-remote", "--refs", remote, name])?;
    if !listed.lines().any(|l| l.split('\t').nth(1) == Some(name)) {
        return Ok(None);
    }
    let tracking = tracking(remote, name);
    git(root, &["fetch", "--quiet", "--no-tags", "--no-write-fetch-head", remote, &format!("+{name}:{tracking}")])?;
    tip(root, &tracking)
}

fn tracking(remote: &str, name: &str) -> String {
    let rest = name.strip_prefix("refs/").unwrap_or(name);
    format!("refs/exc/remotes/{remote}/{}", rest.replace('/', "-"))
}

/// Pushes `commit` to `name` on `remote` as a fast-forward; `Moved` when the
/// remote refused it because its ref moved meanwhile.
pub fn push(root: &Path, remote: &str, name: &str, commit: Oid) -> Result<std::result::Result<(), Moved>> {
    let spec = format!("{commit}:{name}");
    let out = Command::new("git")
        .args(["push", "--porcelain", "--quiet", remote, &spec])
        .current_dir(root)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::Git(format!("cannot run git: {e}")))?;
    if out.status.success() {
        return Ok(Ok(()));
    }
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    // Refused as not a fast-forward, or the remote's ref moved between its
    // check and its lock (another push won the race): read again and retry.
    let raced = ["[rejected]", "non-fast-forward", "fetch first", "failed to update ref", "cannot lock ref"];
    if text.lines().any(|l| l.starts_with('!')) && raced.iter().any(|r| text.contains(r)) {
        return Ok(Err(Moved));
    }
    Err(Error::Git(format!("push of {name} to {remote} failed: {}", text.trim())))
}

/// Runs git in `dir` and returns its standard output.
fn git(dir: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::Git(format!("cannot run git: {e}")))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(Error::Git(format!("git {}: {}", args.first().unwrap_or(&""), String::from_utf8_lossy(&out.stderr).trim())))
    }
}

/// Takes back a commit this process published locally but could not push:
/// the ref returns from `from` to `to` (or goes away), if nobody moved it since.
pub fn set_back(root: &Path, name: &str, from: Oid, to: Option<Oid>) -> Result<()> {
    let repo = open(root)?;
    match to {
        Some(t) => {
            let _ = repo.reference_matching(name, t, true, from, "exc notify: the push was refused");
        }
        None => {
            if let Ok(mut r) = repo.find_reference(name)
                && r.target() == Some(from)
            {
                r.delete().map_err(failed)?;
            }
        }
    }
    Ok(())
}
