//! The one place that talks to git (through libgit2): who is acting, committing
//! one record, and reading the history of `exceptions/` in one pass.
//!
//! The history walk visits every commit once, oldest first, and skips a commit
//! whenever its `exceptions/` tree is the same as its first parent's, so only
//! commits that touch records cost a tree diff. Renames are detected only on
//! diffs that both add and delete files. No git call is made per record.

use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeZone, Utc};
mod tree;

use git2::{Delta, DiffFindOptions, ObjectType, Repository, Sort};

/// The id of a stored version of a file.
pub use git2::Oid;

/// The acting person as `Name <email>`, from the repository's git config
/// (falling back to the global config), or `None` when either is unset.
pub fn identity(dir: &Path) -> Option<String> {
    let config = match git2::Repository::discover(dir) {
        Ok(repo) => repo.config().ok()?,
        Err(_) => git2::Config::open_default().ok()?,
    };
    let name = config.get_string("user.name").ok().filter(|s| !s.trim().is_empty())?;
    let email = config.get_string("user.email").ok().filter(|s| !s.trim().is_empty())?;
    Some(format!("{} <{}>", name.trim(), email.trim()))
}

/// Commits one file, and nothing else, with `message`. Refuses when other
/// changes are already staged, so a record change never carries unrelated work.
/// Returns the new commit's short id.
pub fn commit_file(root: &Path, file: &Path, message: &str) -> Result<String, String> {
    let repo = git2::Repository::discover(root)
        .map_err(|_| format!("--commit needs a git repository, and {} is not in one", root.display()))?;
    let workdir = repo.workdir().ok_or("--commit needs a work tree, not a bare repository")?.to_path_buf();
    let workdir = std::fs::canonicalize(&workdir).unwrap_or(workdir);
    let abs = std::fs::canonicalize(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let rel = abs
        .strip_prefix(&workdir)
        .map_err(|_| format!("{} is outside the repository {}", file.display(), workdir.display()))?
        .to_path_buf();
    let mut index = repo.index().map_err(|e| e.message().to_string())?;
    let head_commit = match repo.head() {
        Ok(h) => Some(h.peel_to_commit().map_err(|e| e.message().to_string())?),
        Err(e) if e.code() == git2::ErrorCode::UnbornBranch || e.code() == git2::ErrorCode::NotFound => None,
        Err(e) => return Err(e.message().to_string()),
    };
    let head_tree = head_commit.as_ref().map(|c| c.tree()).transpose().map_err(|e| e.message().to_string())?;
    let staged =
        repo.diff_tree_to_index(head_tree.as_ref(), Some(&index), None).map_err(|e| e.message().to_string())?;
    let others: Vec<String> = staged
        .deltas()
        .filter_map(|d| d.new_file().path().or(d.old_file().path()).map(Path::to_path_buf))
        .filter(|p| *p != rel)
        .map(|p| p.display().to_string())
        .collect();
    if !others.is_empty() {
        return Err(format!(
            "other changes are staged ({}); commit or unstage them first, so this commit holds only {}",
            others.join(", "),
            rel.display()
        ));
    }
    index.add_path(&rel).map_err(|e| e.message().to_string())?;
    index.write().map_err(|e| e.message().to_string())?;
    let tree_id = index.write_tree().map_err(|e| e.message().to_string())?;
    let tree = repo.find_tree(tree_id).map_err(|e| e.message().to_string())?;
    let sig =
        repo.signature().map_err(|_| "set `git config user.name` and `git config user.email` to commit".to_string())?;
    let parents: Vec<&git2::Commit> = head_commit.iter().collect();
    let oid = repo.commit(Some("HEAD"), &sig, &sig, message, &tree, &parents).map_err(|e| e.message().to_string())?;
    Ok(oid.to_string()[..10].to_string())
}

/// The commit message for an action on a record, with machine-readable trailers.
pub fn message(action: &str, id: &str, detail: Option<&str>) -> String {
    let detail = detail.map(|d| format!(" ({d})")).unwrap_or_default();
    format!("exc: {action} {id}{detail}\n\nExc-Id: {id}\nExc-Action: {action}\n")
}

/// A commit that changed records, as the audit trail shows it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CommitInfo {
    pub id: String,
    pub author: String,
    pub committer: String,
    /// The committer date.
    pub time: DateTime<Utc>,
    pub summary: String,
    /// The `Exc-Action:` trailer, when exc made the commit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(skip)]
    tree: Oid,
}

/// What one commit did to one record file.
#[derive(Clone, Debug)]
pub struct FileChange {
    /// Index into `History::commits`.
    pub commit: usize,
    /// The file name before the change (`None` when added).
    pub old_name: Option<String>,
    /// The file name after the change (`None` when deleted).
    pub new_name: Option<String>,
    pub old_blob: Option<Oid>,
    pub new_blob: Option<Oid>,
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

/// Every change to record files, oldest first, read in one pass.
pub struct History {
    repo: Repository,
    pub commits: Vec<CommitInfo>,
    pub changes: Vec<FileChange>,
    policy_path: PathBuf,
}

/// The one walk: every commit, oldest first; a tree diff only where `exceptions/` changed.
fn walk(repo: &Repository, records_path: &Path) -> Result<(Vec<CommitInfo>, Vec<FileChange>), HistoryError> {
    let mut commits: Vec<CommitInfo> = Vec::new();
    let mut changes: Vec<FileChange> = Vec::new();
    let head = match repo.head() {
        Ok(h) => h,
        Err(e) if e.code() == git2::ErrorCode::UnbornBranch || e.code() == git2::ErrorCode::NotFound => {
            return Ok((commits, changes));
        }
        Err(e) => return Err(broken(e)),
    };
    let head = head.peel_to_commit().map_err(broken)?.id();
    // Reading objects without re-hashing each one (as git itself does) saves a
    // third of the walk; zlib still refuses a damaged object.
    git2::opts::strict_hash_verification(false);
    // The records tree of the previous commit: in a linear history it is the next
    // commit's parent's, so each tree is read once.
    let odb = repo.odb().map_err(broken)?;
    let read_tree = |t: Oid| odb.read(t).map_err(broken);
    let mut previous: Option<tree::Indexed> = None;
    let mut walk = repo.revwalk().map_err(broken)?;
    walk.push(head).map_err(broken)?;
    walk.set_sorting(Sort::TOPOLOGICAL | Sort::REVERSE).map_err(broken)?;

    let subtree = |tree: &git2::Tree| -> Option<Oid> {
        tree.get_path(records_path).ok().filter(|e| e.kind() == Some(ObjectType::Tree)).map(|e| e.id())
    };
    for oid in walk {
        let oid = oid.map_err(broken)?;
        let commit = repo.find_commit(oid).map_err(broken)?;
        let tree = commit.tree().map_err(broken)?;
        let new_sub = subtree(&tree);
        let parents: Vec<git2::Commit> = commit.parents().collect();
        let first_sub = match parents.first() {
            Some(p) => subtree(&p.tree().map_err(broken)?),
            None => None,
        };
        if new_sub == first_sub {
            continue;
        }
        // For a merge, a file that equals its version in another parent came
        // with that branch and was already counted on the branch's own commits.
        let mut other_subs = Vec::new();
        for p in parents.iter().skip(1) {
            if let Some(t) = subtree(&p.tree().map_err(broken)?) {
                other_subs.push(repo.find_tree(t).map_err(broken)?);
            }
        }
        let damaged = || HistoryError::Broken(format!("tree {} is damaged", new_sub.or(first_sub).unwrap_or(oid)));
        let old_tree = match (first_sub, previous.take()) {
            (Some(t), Some(prev)) if prev.id == t => Some(prev),
            (Some(t), _) => Some(tree::Indexed::new(t, read_tree(t)?).ok_or_else(damaged)?),
            (None, _) => None,
        };
        let new_tree = new_sub.map(|t| read_tree(t).map(|o| (t, o))).transpose()?;
        let (mut deltas, new_tree) = tree::delta(old_tree.as_ref(), new_tree).ok_or_else(damaged)?;
        if deltas.iter().any(|d| d.old_blob.is_none()) && deltas.iter().any(|d| d.new_blob.is_none()) {
            // Renames need similarity: let libgit2 work those out.
            deltas = renames(repo, first_sub, new_sub)?;
        }
        previous = new_tree;
        let index = commits.len();
        let mut any = false;
        for d in deltas {
            let in_other = |n: &str| -> Vec<Option<Oid>> {
                other_subs.iter().map(|t| t.get_path(Path::new(n)).ok().map(|e| e.id())).collect()
            };
            let from_branch = match (&d.new_name, d.new_blob, &d.old_name) {
                (Some(n), Some(b), _) => in_other(n).contains(&Some(b)),
                (None, None, Some(o)) => in_other(o).contains(&None),
                _ => false,
            };
            if from_branch {
                continue;
            }
            any = true;
            changes.push(FileChange { commit: index, ..d });
        }
        if any {
            let message = commit.message().unwrap_or("");
            let when = commit.committer().when();
            commits.push(CommitInfo {
                id: oid.to_string(),
                author: person(&commit.author()),
                committer: person(&commit.committer()),
                time: Utc.timestamp_opt(when.seconds(), 0).single().unwrap_or_default(),
                summary: commit.summary().ok().flatten().unwrap_or("").to_string(),
                action: trailer(message, "Exc-Action:"),
                tree: tree.id(),
            });
        }
    }
    Ok((commits, changes))
}

/// The changes between two records trees with renames detected (libgit2's similarity).
fn renames(repo: &Repository, old: Option<Oid>, new: Option<Oid>) -> Result<Vec<FileChange>, HistoryError> {
    let old_tree = old.map(|t| repo.find_tree(t)).transpose().map_err(broken)?;
    let new_tree = new.map(|t| repo.find_tree(t)).transpose().map_err(broken)?;
    let mut diff = repo.diff_tree_to_tree(old_tree.as_ref(), new_tree.as_ref(), None).map_err(broken)?;
    diff.find_similar(Some(DiffFindOptions::new().renames(true))).map_err(broken)?;
    let mut out = Vec::new();
    for d in diff.deltas() {
        let name = |f: git2::DiffFile| f.path().map(|p| p.to_string_lossy().into_owned());
        let (old_blob, new_blob) = match d.status() {
            Delta::Added => (None, Some(d.new_file().id())),
            Delta::Deleted => (Some(d.old_file().id()), None),
            Delta::Modified | Delta::Renamed | Delta::Copied | Delta::Typechange => {
                (Some(d.old_file().id()), Some(d.new_file().id()))
            }
            _ => continue,
        };
        let old_name = name(d.old_file()).filter(|_| old_blob.is_some());
        let new_name = name(d.new_file()).filter(|_| new_blob.is_some());
        if old_name.iter().chain(new_name.iter()).any(|n| is_record(n)) {
            out.push(FileChange { commit: 0, old_name, new_name, old_blob, new_blob });
        }
    }
    Ok(out)
}

/// Why the history cannot be read.
#[derive(Debug)]
pub enum HistoryError {
    NoRepository,
    Bare,
    Shallow,
    Broken(String),
}

impl std::fmt::Display for HistoryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HistoryError::NoRepository => f.write_str(
                "this registry is not in a git repository, so there is no history to read (history and audit need git; everything else works without it)",
            ),
            HistoryError::Bare => f.write_str("this is a bare repository; run exc in a clone with a work tree"),
            HistoryError::Shallow => f.write_str(
                "this is a shallow clone, so the history is incomplete and the answer would be wrong; fetch the full history (`git fetch --unshallow`, or `fetch-depth: 0` in GitHub Actions)",
            ),
            HistoryError::Broken(m) => write!(f, "cannot read the history: {m}"),
        }
    }
}

fn broken(e: git2::Error) -> HistoryError {
    HistoryError::Broken(e.message().to_string())
}

fn person(sig: &git2::Signature) -> String {
    format!("{} <{}>", sig.name().unwrap_or("?"), sig.email().unwrap_or("?"))
}

fn trailer(message: &str, key: &str) -> Option<String> {
    message.lines().rev().find_map(|l| l.strip_prefix(key).map(|v| v.trim().to_string())).filter(|v| !v.is_empty())
}

fn is_record(name: &str) -> bool {
    name.ends_with(".yaml") || name.ends_with(".yml")
}

impl History {
    /// Reads the history of `<root>/exceptions` in one walk.
    pub fn read(root: &Path) -> Result<History, HistoryError> {
        let repo = match Repository::discover(root) {
            Ok(r) => r,
            Err(e) if e.code() == git2::ErrorCode::NotFound => return Err(HistoryError::NoRepository),
            Err(e) => return Err(broken(e)),
        };
        if repo.is_bare() {
            return Err(HistoryError::Bare);
        }
        if repo.is_shallow() {
            return Err(HistoryError::Shallow);
        }
        let workdir = repo.workdir().ok_or(HistoryError::Bare)?;
        let workdir = std::fs::canonicalize(workdir).unwrap_or_else(|_| workdir.to_path_buf());
        let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
        let prefix = root.strip_prefix(&workdir).unwrap_or(Path::new("")).to_path_buf();
        let records_path = prefix.join(crate::registry::RECORDS_DIR);
        let policy_path = prefix.join(crate::registry::POLICY_FILE);

        let (commits, changes) = walk(&repo, &records_path)?;
        Ok(History { repo, commits, changes, policy_path })
    }

    /// The text of a blob (lossy UTF-8: history may hold anything).
    pub fn text(&self, blob: Oid) -> Result<String, HistoryError> {
        let b = self.repo.find_blob(blob).map_err(broken)?;
        Ok(String::from_utf8_lossy(b.content()).into_owned())
    }

    /// The text of `exc.yaml` as of a commit, if it existed.
    pub fn policy_text(&self, commit: usize) -> Result<Option<(Oid, String)>, HistoryError> {
        let tree = self.repo.find_tree(self.commits[commit].tree).map_err(broken)?;
        match tree.get_path(&self.policy_path) {
            Ok(entry) => Ok(Some((entry.id(), self.text(entry.id())?))),
            Err(_) => Ok(None),
        }
    }

    /// The changes that touched the record now named `file_name`, oldest first,
    /// following renames back.
    pub fn of_record(&self, file_name: &str) -> Vec<&FileChange> {
        let mut names = vec![file_name.to_string()];
        let mut out = Vec::new();
        for c in self.changes.iter().rev() {
            let touches = c.new_name.as_ref().or(c.old_name.as_ref()).is_some_and(|n| names.contains(n))
                || c.old_name.as_ref().is_some_and(|n| names.contains(n));
            if touches {
                if let (Some(old), Some(new)) = (&c.old_name, &c.new_name)
                    && old != new
                    && names.contains(new)
                    && !names.contains(old)
                {
                    names.push(old.clone());
                }
                out.push(c);
            }
        }
        out.reverse();
        out
    }
}

/// The commit to compare a branch against: `rev` if given, else the merge base
/// of HEAD with the default branch (origin/HEAD, origin/main, origin/master,
/// main, master, in that order). Returns the commit id and a name for it.
pub fn base(root: &Path, rev: Option<&str>) -> Result<(Oid, String), String> {
    let repo = Repository::discover(root).map_err(|_| {
        format!("{} is not in a git repository; `exc diff` compares against a git revision", root.display())
    })?;
    let shallow_hint =
        if repo.is_shallow() { " (this is a shallow clone: fetch the base, e.g. `fetch-depth: 0`)" } else { "" };
    if let Some(rev) = rev {
        let obj = repo.revparse_single(rev).map_err(|_| format!("unknown revision `{rev}`{shallow_hint}"))?;
        let commit = obj.peel_to_commit().map_err(|e| e.message().to_string())?;
        return Ok((commit.id(), rev.to_string()));
    }
    let head = repo.head().and_then(|h| h.peel_to_commit()).map_err(|_| "HEAD has no commits yet".to_string())?;
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
            Err(_) => Err(format!("HEAD and {short} share no history{shallow_hint}; pass --base")),
        };
    }
    Err("no default branch found (origin/HEAD, origin/main, main, master); pass --base REF".into())
}

/// The record files (name, text) under `<root>/exceptions` as of `commit`.
pub fn records_at(root: &Path, commit: Oid) -> Result<Vec<(String, String)>, String> {
    let repo = Repository::discover(root).map_err(|e| e.message().to_string())?;
    let workdir = repo.workdir().ok_or("a bare repository has no work tree")?;
    let workdir = std::fs::canonicalize(workdir).unwrap_or_else(|_| workdir.to_path_buf());
    let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let dir = root.strip_prefix(&workdir).unwrap_or(Path::new("")).join(crate::registry::RECORDS_DIR);
    let tree = repo.find_commit(commit).and_then(|c| c.tree()).map_err(|e| e.message().to_string())?;
    let Ok(entry) = tree.get_path(&dir) else { return Ok(Vec::new()) };
    let sub = repo.find_tree(entry.id()).map_err(|e| e.message().to_string())?;
    let mut out = Vec::new();
    for e in sub.iter() {
        let Ok(name) = e.name() else { continue };
        if !is_record(name) || e.kind() != Some(ObjectType::Blob) {
            continue;
        }
        let blob = repo.find_blob(e.id()).map_err(|e| e.message().to_string())?;
        out.push((name.to_string(), String::from_utf8_lossy(blob.content()).into_owned()));
    }
    Ok(out)
}
