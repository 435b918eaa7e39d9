//! The one place that talks to git: who is acting, committing one record
//! (`commit`), reading the history of `exceptions/` in one pass and replaying
//! it (`history`), and reading a base revision for `diff` and `check --base`.
//! libgit2 reads; commits go through git itself, so hooks and commit signing
//! apply.

use std::path::Path;

use git2::{ObjectType, Repository};

use crate::error::{Error, Result};

mod commit;
mod history;
pub mod log_ref;
mod remote;
mod tree;

pub use commit::{commit, message, plan_commit, plan_commit_all, start_branch};
pub use git2::Oid;
pub use history::{History, TrustChange, chunk_size, on_mainline};
pub use remote::{fetch, is_url};

/// The acting person as `Name <email>`, as git would name a commit's author:
/// `GIT_AUTHOR_NAME`/`GIT_AUTHOR_EMAIL` when set, else the repository's git
/// config (falling back to the global config); `None` when either is unset.
pub fn identity(dir: &Path) -> Option<String> {
    let env = |k: &str| std::env::var(k).ok().filter(|s| !s.trim().is_empty());
    if let (Some(name), Some(email)) = (env("GIT_AUTHOR_NAME"), env("GIT_AUTHOR_EMAIL")) {
        return Some(format!("{} <{}>", name.trim(), email.trim()));
    }
    let config = match git2::Repository::discover(dir) {
        Ok(repo) => repo.config().ok()?,
        Err(_) => git2::Config::open_default().ok()?,
    };
    let name = config.get_string("user.name").ok().filter(|s| !s.trim().is_empty())?;
    let email = config.get_string("user.email").ok().filter(|s| !s.trim().is_empty())?;
    Some(format!("{} <{}>", name.trim(), email.trim()))
}

/// Bounds libgit2's process-wide memory. By default it keeps up to 8 GB of pack
/// files mapped, in 1 GB windows, and every page a history walk reads stays
/// resident; its object cache holds up to 256 MB of commits and small trees, which
/// a walk that reads each object about once does not need. With 8 MB windows, at
/// most 32 MB mapped and no cache, `exc audit` over 10,000 records and 28,000
/// commits peaks near 120 MB instead of 330 MB, in the same time.
///
/// Call it once, first thing in `main`, before the process starts any thread.
pub fn limit_memory() {
    #[allow(unsafe_code)]
    // SAFETY: these write plain C globals in libgit2 without synchronization; git2
    // asks that they be set before any thread is spawned, and `main` calls this
    // before anything else runs. A failure only leaves libgit2's defaults.
    unsafe {
        let _ = git2::opts::set_mwindow_size(8 << 20);
        let _ = git2::opts::set_mwindow_mapped_limit(32 << 20);
    }
    git2::opts::enable_caching(false);
}

/// A git config value as git would read it for `dir` (the repository's
/// config, then the global one).
pub fn config(dir: &Path, key: &str) -> Option<String> {
    let config = match Repository::discover(dir) {
        Ok(repo) => repo.config().ok()?,
        Err(_) => git2::Config::open_default().ok()?,
    };
    config.get_string(key).ok().map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// The work tree of the repository holding `dir`, if there is one.
pub fn workdir(dir: &Path) -> Option<std::path::PathBuf> {
    Repository::discover(dir).ok()?.workdir().map(Path::to_path_buf)
}

/// The name of the repository whose work tree is `root`, as a forge names
/// it: the last part of the `origin` remote's URL without `.git`
/// (`git@host:org/web-shop.git` is `web-shop`), else the work tree's folder
/// name. `None` outside git and without a folder name.
pub fn repository_name(root: &Path) -> Option<String> {
    let from_origin = Repository::discover(root).ok().and_then(|repo| {
        let remote = repo.find_remote("origin").ok()?;
        let url = remote.url().ok()?.trim_end_matches('/').to_string();
        let last = url.rsplit(['/', ':']).next()?;
        let name = last.strip_suffix(".git").unwrap_or(last);
        (!name.is_empty()).then(|| name.to_string())
    });
    from_origin.or_else(|| {
        let top = workdir(root).unwrap_or_else(|| root.to_path_buf());
        let top = std::fs::canonicalize(&top).unwrap_or(top);
        top.file_name().map(|n| n.to_string_lossy().into_owned())
    })
}

/// Who last changed line `line` (1-based) of `file` (relative to the work
/// tree holding `root`), and when, as `git blame` says; none outside git or
/// for a line not committed yet.
pub fn blame_line(root: &Path, file: &str, line: usize) -> Option<(String, chrono::DateTime<chrono::Utc>)> {
    let repo = Repository::discover(root).ok()?;
    let blame = repo.blame_file(Path::new(file), None).ok()?;
    let hunk = blame.get_line(line)?;
    if hunk.final_commit_id().is_zero() {
        return None;
    }
    let who = hunk.final_signature()?;
    let name = who.name().unwrap_or("unknown");
    let email = who.email().unwrap_or("unknown");
    let when = chrono::DateTime::from_timestamp(who.when().seconds(), 0)?;
    Some((format!("{name} <{email}>"), when))
}

fn is_record(name: &str) -> bool {
    name.ends_with(".yaml") || name.ends_with(".yml")
}

fn failed(e: git2::Error) -> Error {
    Error::Git(e.message().to_string())
}

/// The commit to compare a branch against: `rev` if given, else the merge base
/// of HEAD with the default branch (origin/HEAD, origin/main, origin/master,
/// main, master, in that order). Returns the commit id and a name for it.
pub fn base(root: &Path, rev: Option<&str>) -> Result<(Oid, String)> {
    let repo = Repository::discover(root)
        .map_err(|_| Error::Git(format!("{} is not in a git repository; a base revision needs git", root.display())))?;
    let shallow_hint =
        if repo.is_shallow() { " (this is a shallow clone: fetch the base, e.g. `fetch-depth: 0`)" } else { "" };
    if let Some(rev) = rev {
        let obj =
            repo.revparse_single(rev).map_err(|_| Error::Git(format!("unknown revision `{rev}`{shallow_hint}")))?;
        let commit = obj.peel_to_commit().map_err(failed)?;
        return Ok((commit.id(), rev.to_string()));
    }
    let head =
        repo.head().and_then(|h| h.peel_to_commit()).map_err(|_| Error::Git("HEAD has no commits yet".into()))?;
    for name in [
        "refs/remotes/origin/HEAD",
        "refs/remotes/origin/main",
        "refs/remotes/origin/master",
        "refs/heads/main",
        "refs/heads/master",
    ] {
        let Ok(reference) = repo.find_reference(name) else { continue };
        let Ok(target) = reference.resolve().and_then(|r| r.peel_to_commit()) else { continue };
        let short = name.trim_start_matches("refs/heads/").trim_start_matches("refs/remotes/").to_string();
        return match repo.merge_base(head.id(), target.id()) {
            Ok(base) => Ok((base, format!("merge base with {short}"))),
            Err(_) => Err(Error::Git(format!("HEAD and {short} share no history{shallow_hint}; pass --base"))),
        };
    }
    Err(Error::Git("no default branch found (origin/HEAD, origin/main, main, master); pass --base REF".into()))
}

/// Where `root` sits in the repository's work tree ("" at its top).
fn in_repository(repo: &Repository, root: &Path) -> Result<std::path::PathBuf> {
    let workdir = repo.workdir().ok_or_else(|| Error::Git("a bare repository has no work tree".into()))?;
    let workdir = std::fs::canonicalize(workdir).unwrap_or_else(|_| workdir.to_path_buf());
    let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    Ok(root.strip_prefix(&workdir).unwrap_or(Path::new("")).to_path_buf())
}

/// The commit HEAD points at, and which of `paths` (relative to `root`;
/// directories included whole) differ from it in the work tree or the
/// index: changed, added, deleted or untracked files, named relative to `root`.
pub fn head_state(root: &Path, paths: &[&str]) -> Result<(String, Vec<String>)> {
    let repo =
        Repository::discover(root).map_err(|_| Error::Git(format!("{} is not in a git repository", root.display())))?;
    let head = repo
        .head()
        .and_then(|h| h.peel_to_commit())
        .map_err(|_| Error::Git("HEAD has no commits yet: commit the registry first".into()))?;
    let prefix = in_repository(&repo, root)?;
    let mut options = git2::StatusOptions::new();
    options.include_untracked(true).recurse_untracked_dirs(true).include_ignored(false);
    for p in paths {
        options.pathspec(prefix.join(p).to_string_lossy().into_owned());
    }
    let statuses = repo.statuses(Some(&mut options)).map_err(failed)?;
    let mut changed: Vec<String> = statuses
        .iter()
        .filter(|s| s.status() != git2::Status::CURRENT && !s.status().contains(git2::Status::IGNORED))
        .map(|s| {
            let p = String::from_utf8_lossy(s.path_bytes()).into_owned();
            Path::new(&p).strip_prefix(&prefix).map(|r| r.display().to_string()).unwrap_or(p.clone())
        })
        .collect();
    changed.sort();
    Ok((head.id().to_string(), changed))
}

/// The text of `<root>/<rel>` as of `commit`, if it was a regular file there.
pub fn file_at(root: &Path, commit: Oid, rel: &str) -> Result<Option<String>> {
    let repo = Repository::discover(root).map_err(failed)?;
    let path = in_repository(&repo, root)?.join(rel);
    let tree = repo.find_commit(commit).and_then(|c| c.tree()).map_err(failed)?;
    match tree.get_path(&path) {
        Ok(e) if e.kind() == Some(ObjectType::Blob) && e.filemode() != 0o120000 => {
            let blob = repo.find_blob(e.id()).map_err(failed)?;
            Ok(Some(String::from_utf8_lossy(blob.content()).into_owned()))
        }
        _ => Ok(None),
    }
}

/// The record files (name, text) in `<root>/<records>` as of `commit`.
pub fn records_at(root: &Path, records: &str, commit: Oid) -> Result<Vec<(String, String)>> {
    let repo = Repository::discover(root).map_err(failed)?;
    let dir = in_repository(&repo, root)?.join(records);
    let tree = repo.find_commit(commit).and_then(|c| c.tree()).map_err(failed)?;
    let Ok(entry) = tree.get_path(&dir) else { return Ok(Vec::new()) };
    let sub = repo.find_tree(entry.id()).map_err(failed)?;
    let mut out = Vec::new();
    for e in sub.iter() {
        let Ok(name) = e.name() else { continue };
        if !is_record(name) || e.kind() != Some(ObjectType::Blob) {
            continue;
        }
        let blob = repo.find_blob(e.id()).map_err(failed)?;
        out.push((name.to_string(), String::from_utf8_lossy(blob.content()).into_owned()));
    }
    Ok(out)
}
