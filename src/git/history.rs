//! The history of the records, read in one pass, and the one replay of it
//! that every command uses (`audit`, `history`, `report --trend`, `export
//! --with-history`, `validate`).
//!
//! The walk visits every commit once, oldest first, and skips a commit
//! whenever its `exceptions/` tree is the same as its first parent's, so only
//! commits that touch records cost a tree diff. Renames are detected only on
//! diffs that both add and delete files. No git call is made per record.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeZone, Utc};
use git2::{Delta, DiffFindOptions, ObjectType, Oid, Repository, Sort};
use rayon::prelude::*;

use super::{is_record, tree};
use crate::error::{Error, Result};

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

/// Every change to record files, oldest first, read in one pass.
pub struct History {
    repo: Repository,
    pub commits: Vec<CommitInfo>,
    pub changes: Vec<FileChange>,
    policy_path: PathBuf,
}

/// The one walk: every commit, oldest first; a tree diff only where `exceptions/` changed.
fn walk(repo: &Repository, records_path: &Path) -> Result<(Vec<CommitInfo>, Vec<FileChange>)> {
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
        let damaged = || damaged(format!("tree {} is damaged", new_sub.or(first_sub).unwrap_or(oid)));
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
fn renames(repo: &Repository, old: Option<Oid>, new: Option<Oid>) -> Result<Vec<FileChange>> {
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

const NO_REPOSITORY: &str = "this registry is not in a git repository, so there is no history to read (history and audit need git; everything else works without it)";
const BARE: &str = "this is a bare repository; run exc in a clone with a work tree";
const SHALLOW: &str = "this is a shallow clone, so the history is incomplete and the answer would be wrong; fetch the full history (`git fetch --unshallow`, or `fetch-depth: 0` in GitHub Actions)";

fn broken(e: git2::Error) -> Error {
    Error::Git(format!("cannot read the history: {}", e.message()))
}

fn damaged(what: String) -> Error {
    Error::Git(format!("cannot read the history: {what}"))
}

fn person(sig: &git2::Signature) -> String {
    format!("{} <{}>", sig.name().unwrap_or("?"), sig.email().unwrap_or("?"))
}

fn trailer(message: &str, key: &str) -> Option<String> {
    message.lines().rev().find_map(|l| l.strip_prefix(key).map(|v| v.trim().to_string())).filter(|v| !v.is_empty())
}

impl History {
    /// Reads the history of the records directory `<root>/<records>` in one
    /// walk, keeping track of the policy file `<root>/<policy>`.
    pub fn read(root: &Path, records: &str, policy: &str) -> Result<History> {
        let repo = match Repository::discover(root) {
            Ok(r) => r,
            Err(e) if e.code() == git2::ErrorCode::NotFound => return Err(Error::Git(NO_REPOSITORY.into())),
            Err(e) => return Err(broken(e)),
        };
        if repo.is_bare() {
            return Err(Error::Git(BARE.into()));
        }
        if repo.is_shallow() {
            return Err(Error::Git(SHALLOW.into()));
        }
        let workdir = repo.workdir().ok_or_else(|| Error::Git(BARE.into()))?;
        let workdir = std::fs::canonicalize(workdir).unwrap_or_else(|_| workdir.to_path_buf());
        let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
        let prefix = root.strip_prefix(&workdir).unwrap_or(Path::new("")).to_path_buf();
        let records_path = prefix.join(records);
        let policy_path = prefix.join(policy);

        let (commits, changes) = walk(&repo, &records_path)?;
        Ok(History { repo, commits, changes, policy_path })
    }

    /// The text of a blob (lossy UTF-8: history may hold anything).
    pub fn text(&self, blob: Oid) -> Result<String> {
        let b = self.repo.find_blob(blob).map_err(broken)?;
        Ok(String::from_utf8_lossy(b.content()).into_owned())
    }

    /// The text of `exc.yaml` as of a commit, if it existed.
    pub fn policy_text(&self, commit: usize) -> Result<Option<(Oid, String)>> {
        let tree = self.repo.find_tree(self.commits[commit].tree).map_err(broken)?;
        match tree.get_path(&self.policy_path) {
            Ok(entry) => Ok(Some((entry.id(), self.text(entry.id())?))),
            Err(_) => Ok(None),
        }
    }

    /// The one replay: visits `changes` in order with each version parsed by
    /// `parse`. Versions are read and parsed a chunk at a time, in parallel,
    /// and let go after the chunk, so memory stays flat however long the
    /// history is. Each blob is parsed once per chunk.
    pub fn replay<'h, T: Send>(
        &self,
        changes: impl IntoIterator<Item = &'h FileChange>,
        parse: impl Fn(&str) -> T + Sync,
        mut visit: impl FnMut(&CommitInfo, &FileChange, Option<&T>, Option<&T>) -> Result<()>,
    ) -> Result<()> {
        let changes: Vec<&FileChange> = changes.into_iter().collect();
        for chunk in changes.chunks(4096) {
            let mut blobs: Vec<Oid> = chunk.iter().flat_map(|c| [c.old_blob, c.new_blob]).flatten().collect();
            blobs.sort();
            blobs.dedup();
            let texts: Vec<(Oid, String)> =
                blobs.iter().map(|b| self.text(*b).map(|t| (*b, t))).collect::<Result<_>>()?;
            let parsed: HashMap<Oid, T> = texts.into_par_iter().map(|(b, t)| (b, parse(&t))).collect();
            for c in chunk {
                let version = |b: Option<Oid>| b.and_then(|b| parsed.get(&b));
                visit(&self.commits[c.commit], c, version(c.old_blob), version(c.new_blob))?;
            }
        }
        Ok(())
    }

    /// Every record file's trail (the changes that touched it, in order), from
    /// one pass; a renamed record's trail moves with it to its latest name.
    pub fn trails(&self) -> HashMap<String, Vec<&FileChange>> {
        let mut out: HashMap<String, Vec<&FileChange>> = HashMap::new();
        for c in &self.changes {
            if let (Some(old), Some(new)) = (&c.old_name, &c.new_name)
                && old != new
            {
                let trail = out.remove(old).unwrap_or_default();
                out.insert(new.clone(), trail);
            }
            let name = c.new_name.clone().or(c.old_name.clone()).unwrap_or_default();
            out.entry(name).or_default().push(c);
        }
        out
    }

    /// What a change did: the commit's `Exc-Action:` trailer, else add, delete or edit.
    pub fn action(&self, c: &FileChange) -> String {
        self.commits[c.commit].action.clone().unwrap_or_else(|| {
            match (c.old_blob, c.new_blob) {
                (None, _) => "add",
                (_, None) => "delete",
                _ => "edit",
            }
            .to_string()
        })
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
