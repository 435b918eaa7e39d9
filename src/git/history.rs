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

pub use super::tree::FileChange;
use super::{is_record, tree};
use crate::error::{Error, Result};
use crate::progress::Stage;

/// A commit that changed records or the trust files, as the audit trail shows it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CommitInfo {
    pub id: String,
    pub author: String,
    pub committer: String,
    /// The author date: when the change was made (a rebase or a merge keeps it).
    pub time: DateTime<Utc>,
    /// When it reached the mainline: the committer date of the mainline
    /// commit that carries it (itself, or the merge that brought it in; a
    /// forge sets that date when it merges). Signing keys are judged then.
    #[serde(skip)]
    pub landed: DateTime<Utc>,
    pub summary: String,
    /// The `Exc-Action:` trailer, when exc made the commit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// On the first-parent line from HEAD (the mainline), not only on a branch merged into it.
    #[serde(skip)]
    pub mainline: bool,
    /// Audited: not the trusted start (`trust.audit_from`, or the commit of a
    /// pinned policy) nor one of its ancestors. Every commit, without a start.
    #[serde(skip)]
    pub audited: bool,
    #[serde(skip)]
    tree: Oid,
}

/// A change to what the registry trusts: the policy or its keys file, or a
/// symbolic link where the policy or the records directory should be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrustChange {
    /// `exc.yaml` or the allowed_signers file changed (their blobs after it).
    Policy { policy: Option<Oid>, signers: Option<Oid> },
    /// A path that must be a regular file or directory is a symbolic link.
    Symlink { path: String },
}

/// Every change to record files and trust files, oldest first, read in one pass.
pub struct History {
    repo: Repository,
    /// The registry's place in the repository.
    prefix: PathBuf,
    pub commits: Vec<CommitInfo>,
    pub changes: Vec<FileChange>,
    /// (commit index, what changed), in commit order.
    pub trust: Vec<(usize, TrustChange)>,
    /// The index of the commit the audit trusts as it was (its state is the
    /// start; it and its ancestors are not audited), if any.
    pub start: Option<usize>,
    from_tree: Option<Oid>,
    /// A start that was not taken: it is not on the mainline (a side commit
    /// merged in later), so the whole history is audited.
    pub refused_start: Option<String>,
    /// The commit the walk started from (HEAD, or the commit asked for).
    pub tip: Option<Oid>,
}

/// What the walk found.
#[derive(Default)]
struct Walked {
    commits: Vec<CommitInfo>,
    changes: Vec<FileChange>,
    trust: Vec<(usize, TrustChange)>,
    start: Option<usize>,
    from_tree: Option<Oid>,
    refused_start: Option<String>,
    tip: Option<Oid>,
}

/// The paths the walk follows, relative to the repository root.
struct Paths<'a> {
    records: &'a Path,
    policy: &'a Path,
    signers: Option<&'a Path>,
}

/// An entry of a tree at a path: its id and whether it is a symbolic link.
fn at_path(tree: &git2::Tree, path: &Path) -> Option<(Oid, bool)> {
    tree.get_path(path).ok().map(|e| (e.id(), e.filemode() == 0o120000))
}

/// A commit, and when it reached the mainline.
type Landing = (Oid, DateTime<Utc>);

/// The commits from HEAD back to `after` (or the first commit), in the order
/// they reached the mainline: each first-parent commit of HEAD, oldest first,
/// preceded by the commits its merge brought in (oldest first). Each commit
/// is there once, with when it landed (the committer date of the mainline
/// commit that carries it); `after` and its ancestors are left out. Two
/// walks that share a mainline commit therefore agree on everything before
/// it, which is what lets an audit resume from a checkpoint.
fn landing_order(repo: &Repository, head: Oid, after: Option<Oid>) -> Result<(Vec<Landing>, Vec<Oid>)> {
    // HEAD's first parents back to `after`: each with when it landed and,
    // for a merge, its first parent and the sides it brought in.
    let mut mainline = Vec::new();
    let mut at = Some(head);
    while let Some(oid) = at.filter(|oid| Some(*oid) != after) {
        let commit = repo.find_commit(oid).map_err(broken)?;
        let landed = Utc.timestamp_opt(commit.committer().when().seconds(), 0).single().unwrap_or_default();
        at = commit.parent_id(0).ok();
        let sides: Vec<Oid> = commit.parent_ids().skip(1).collect();
        mainline.push((oid, landed, at, sides));
    }
    let mut order = Vec::new();
    for (oid, landed, first, sides) in mainline.iter().rev() {
        if !sides.is_empty() {
            let mut side = repo.revwalk().map_err(broken)?;
            side.set_sorting(Sort::TOPOLOGICAL | Sort::REVERSE).map_err(broken)?;
            for s in sides {
                side.push(*s).map_err(broken)?;
            }
            for hidden in first.iter().chain(after.as_ref()) {
                side.hide(*hidden).map_err(broken)?;
            }
            for o in side {
                order.push((o.map_err(broken)?, *landed));
            }
        }
        order.push((*oid, *landed));
    }
    Ok((order, mainline.into_iter().map(|m| m.0).collect()))
}

/// How many items a streaming read takes at a time: `default`, or
/// `EXC_CHUNK_SIZE` where a test sets it (streaming must not change a byte
/// of any output, whatever the chunk; the tests check with tiny chunks).
pub fn chunk_size(default: usize) -> usize {
    std::env::var("EXC_CHUNK_SIZE").ok().and_then(|v| v.parse().ok()).filter(|n| *n > 0).unwrap_or(default)
}

/// Whether `commit` is HEAD or one of its first parents (the mainline of
/// the repository that holds `root`), walking back from HEAD.
pub fn on_mainline(root: &Path, commit: Oid) -> Result<bool> {
    let repo = Repository::discover(root).map_err(broken)?;
    let mut at = repo.head().ok().and_then(|h| h.peel_to_commit().ok()).map(|c| c.id());
    while let Some(oid) = at {
        if oid == commit {
            return Ok(true);
        }
        at = repo.find_commit(oid).map_err(broken)?.parent_id(0).ok();
    }
    Ok(false)
}

/// The one walk: every commit (after `after`, when resuming) in landing
/// order; a tree diff only where `exceptions/` changed.
fn walk(repo: &Repository, paths: &Paths, from: Option<Oid>, at: Option<Oid>, after: Option<Oid>) -> Result<Walked> {
    let mut h = Walked::default();
    let head = match at {
        Some(commit) => commit,
        None => match repo.head() {
            Ok(h) => h.peel_to_commit().map_err(broken)?.id(),
            Err(e) if e.code() == git2::ErrorCode::UnbornBranch || e.code() == git2::ErrorCode::NotFound => {
                return Ok(h);
            }
            Err(e) => return Err(broken(e)),
        },
    };
    h.tip = Some(head);
    // The mainline: HEAD and its first parents.
    let (order, mainline) = landing_order(repo, head, after)?;
    let mainline: std::collections::HashSet<Oid> = mainline.into_iter().collect();
    // The trusted start must be on the mainline; it and every ancestor of it
    // are trusted as they were, and everything else is audited (a commit
    // merged in later from a side branch included, wherever the walk meets it).
    let (from, trusted) = match from {
        Some(f) if !mainline.contains(&f) => {
            h.refused_start = Some(f.to_string());
            (None, std::collections::HashSet::new())
        }
        Some(f) => (Some(f), ancestors(repo, f)?),
        None => (None, std::collections::HashSet::new()),
    };
    // Reading objects without re-hashing each one (as git itself does) saves a
    // third of the walk; zlib still refuses a damaged object.
    git2::opts::strict_hash_verification(false);
    // The records tree of the previous commit: in a linear history it is the next
    // commit's parent's, so each tree is read once.
    let trees = tree::Reader::new(repo).map_err(broken)?;
    let mut previous: Option<tree::Indexed> = None;

    let subtree = |tree: &git2::Tree| -> Option<Oid> {
        tree.get_path(paths.records).ok().filter(|e| e.kind() == Some(ObjectType::Tree)).map(|e| e.id())
    };
    let trust_of = |tree: &git2::Tree| (at_path(tree, paths.policy), paths.signers.and_then(|p| at_path(tree, p)));
    let total = order.len();
    for (done, (oid, landed)) in order.into_iter().enumerate() {
        crate::progress::report(Stage::Commits, done + 1, total);
        let commit = repo.find_commit(oid).map_err(broken)?;
        let tree = commit.tree().map_err(broken)?;
        if Some(oid) == from {
            h.start = Some(h.commits.len());
            h.from_tree = Some(tree.id());
        }
        let parents: Vec<git2::Commit> = commit.parents().collect();
        let parent_trees: Vec<git2::Tree> =
            parents.iter().map(|p| p.tree()).collect::<std::result::Result<_, _>>().map_err(broken)?;
        let new_sub = subtree(&tree);
        let first_sub = parent_trees.first().and_then(&subtree);
        let index = h.commits.len();
        let mut touched = false;

        // The trust files, and symbolic links where directories or files belong.
        let trust = trust_of(&tree);
        if parent_trees.first().map(&trust_of) != Some(trust) {
            let (policy, signers) = trust;
            h.trust.push((index, TrustChange::Policy { policy: policy.map(|p| p.0), signers: signers.map(|s| s.0) }));
            touched = true;
            for (path, entry) in [(paths.policy, policy), (paths.signers.unwrap_or(paths.policy), signers)] {
                if entry.is_some_and(|(_, link)| link) {
                    h.trust.push((index, TrustChange::Symlink { path: path.display().to_string() }));
                }
            }
        }
        if let Some((_, true)) = at_path(&tree, paths.records)
            && parent_trees.first().and_then(|t| at_path(t, paths.records)) != at_path(&tree, paths.records)
        {
            h.trust.push((index, TrustChange::Symlink { path: paths.records.display().to_string() }));
            touched = true;
        }

        let deltas = if parents.len() > 1 {
            merge_changes(repo, &trees, &commit, &parent_trees, new_sub, &subtree)?
        } else if new_sub == first_sub {
            Vec::new()
        } else {
            let damaged = || damaged(format!("tree {} is damaged", new_sub.or(first_sub).unwrap_or(oid)));
            let old_tree = match (first_sub, previous.take()) {
                (Some(t), Some(prev)) if prev.id == t => Some(prev),
                (Some(t), _) => Some(tree::Indexed::new(t, trees.read(t).map_err(broken)?).ok_or_else(damaged)?),
                (None, _) => None,
            };
            let new_tree = new_sub.map(|t| trees.read(t).map(|o| (t, o))).transpose().map_err(broken)?;
            let (mut deltas, new_tree) = tree::delta(old_tree.as_ref(), new_tree).ok_or_else(damaged)?;
            if deltas.iter().any(|d| d.old_blob.is_none()) && deltas.iter().any(|d| d.new_blob.is_none()) {
                // Renames need similarity: let libgit2 work those out.
                deltas = renames(repo, first_sub, new_sub)?;
            }
            previous = new_tree;
            deltas
        };
        for d in deltas {
            touched = true;
            h.changes.push(FileChange { commit: index, ..d });
        }
        if touched || Some(oid) == from {
            let message = commit.message().unwrap_or("");
            let when = commit.author().when();
            h.commits.push(CommitInfo {
                id: oid.to_string(),
                author: person(&commit.author()),
                committer: person(&commit.committer()),
                time: Utc.timestamp_opt(when.seconds(), 0).single().unwrap_or_default(),
                landed,
                audited: !trusted.contains(&oid),
                summary: commit.summary().ok().flatten().unwrap_or("").to_string(),
                action: trailer(message, "Exc-Action:"),
                mainline: mainline.contains(&oid),
                tree: tree.id(),
            });
        }
    }
    Ok(h)
}

/// A commit and every ancestor of it.
fn ancestors(repo: &Repository, of: Oid) -> Result<std::collections::HashSet<Oid>> {
    let mut walk = repo.revwalk().map_err(broken)?;
    walk.push(of).map_err(broken)?;
    walk.map(|o| o.map_err(broken)).collect()
}

/// What a merge commit itself did to the records, as git's own three-way
/// merge sees it: a file whose result is what merging would have produced
/// came from a branch (and was audited on the branch's commits); any other
/// result, including one that differs from both parents or drops a change
/// made on a side, is a change made by the merge, judged from what the merge
/// should have produced (from the first parent where the sides conflicted).
fn merge_changes(
    repo: &Repository,
    trees: &tree::Reader,
    commit: &git2::Commit,
    parent_trees: &[git2::Tree],
    result: Option<Oid>,
    subtree: &dyn Fn(&git2::Tree) -> Option<Oid>,
) -> Result<Vec<FileChange>> {
    let names = |t: Option<Oid>| -> Result<HashMap<String, (Oid, bool)>> {
        let Some(t) = t else { return Ok(HashMap::new()) };
        let data = trees.read(t).map_err(broken)?;
        let entries = tree::records(&data).ok_or_else(|| damaged(format!("tree {t} is damaged")))?;
        Ok(entries.into_iter().map(|(n, id, link)| (n, (id, link))).collect())
    };
    let mine = names(parent_trees.first().and_then(subtree))?;
    let merged = names(result)?;
    // The other sides, each with its merge base against the mainline.
    let first = commit.parent_id(0).map_err(broken)?;
    let mut sides = Vec::new();
    for (k, t) in parent_trees.iter().enumerate().skip(1) {
        let theirs = commit.parent_id(k).map_err(broken)?;
        let base = match repo.merge_base(first, theirs) {
            Ok(b) => names(subtree(&repo.find_commit(b).map_err(broken)?.tree().map_err(broken)?))?,
            Err(_) => HashMap::new(),
        };
        sides.push((base, names(subtree(t))?));
    }
    let mut all: std::collections::BTreeSet<&String> = mine.keys().chain(merged.keys()).collect();
    for (base, theirs) in &sides {
        all.extend(base.keys().chain(theirs.keys()));
    }
    let id = |m: &HashMap<String, (Oid, bool)>, n: &str| m.get(n).map(|x| x.0);
    let mut out = Vec::new();
    for name in all {
        // What git's merge would produce: start from the mainline, take each
        // side's change where the mainline left the file as it was at the base.
        let mut expected = Some(id(&mine, name));
        for (base, theirs) in &sides {
            let (b, t) = (id(base, name), id(theirs, name));
            expected = match expected {
                Some(e) if e == b => Some(t),
                Some(e) if t == b || t == e => Some(e),
                _ => None,
            };
        }
        let got = id(&merged, name);
        if expected == Some(got) {
            continue;
        }
        let from = expected.unwrap_or(id(&mine, name));
        if from == got {
            continue;
        }
        out.push(FileChange {
            commit: 0,
            old_name: from.map(|_| name.clone()),
            new_name: got.map(|_| name.clone()),
            old_blob: from,
            new_blob: got,
            link: merged.get(name).is_some_and(|x| x.1),
        });
    }
    Ok(out)
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
            let link = new_blob.is_some() && d.new_file().mode() == git2::FileMode::Link;
            out.push(FileChange { commit: 0, old_name, new_name, old_blob, new_blob, link });
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
    /// walk, keeping track of the policy file `<root>/<policy>` and the keys
    /// file `<root>/<signers>`: as of commit `at` (its history, its
    /// first-parent line as the mainline), or HEAD without one. With
    /// `after` (a mainline commit already audited), only what came after it.
    pub fn read_at(
        root: &Path,
        records: &str,
        policy: &str,
        signers: Option<&str>,
        from: Option<&str>,
        at: Option<Oid>,
        after: Option<Oid>,
    ) -> Result<History> {
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
        let signers_path = signers.map(|s| prefix.join(s));
        let paths = Paths { records: &records_path, policy: &policy_path, signers: signers_path.as_deref() };
        let from = match from {
            Some(rev) => Some(
                repo.revparse_single(rev)
                    .and_then(|o| o.peel_to_commit())
                    .map_err(|_| Error::Git(format!("trust.audit_from: no commit `{rev}` in this repository")))?
                    .id(),
            ),
            None => None,
        };
        let w = walk(&repo, &paths, from, at, after)?;
        if from.is_some() && w.from_tree.is_none() && w.refused_start.is_none() {
            return Err(Error::Git("trust.audit_from names a commit that is not in the history of HEAD".into()));
        }
        Ok(History {
            repo,
            prefix,
            commits: w.commits,
            changes: w.changes,
            trust: w.trust,
            start: w.start,
            from_tree: w.from_tree,
            refused_start: w.refused_start,
            tip: w.tip,
        })
    }

    /// Trusts commit `index` (a mainline commit that touched the trust
    /// files) and its ancestors as they were, and audits everything else.
    pub fn start_after(&mut self, index: usize) -> Result<()> {
        let oid = Oid::from_str(&self.commits[index].id).map_err(broken)?;
        let trusted = ancestors(&self.repo, oid)?;
        for c in &mut self.commits {
            c.audited = Oid::from_str(&c.id).is_ok_and(|o| !trusted.contains(&o));
        }
        self.start = Some(index);
        self.from_tree = Some(self.commits[index].tree);
        Ok(())
    }

    /// The text of a file (relative to the registry root) as of any commit
    /// by id, read or not by this walk.
    pub fn file_at_id(&self, commit: Oid, path: &str) -> Result<Option<String>> {
        let tree = self.repo.find_commit(commit).and_then(|c| c.tree()).map_err(broken)?;
        self.file_in(tree.id(), path)
    }

    /// Whether commit `index` is audited (see [`CommitInfo::audited`]).
    pub fn audited(&self, index: usize) -> bool {
        self.commits[index].audited
    }

    /// The text of a blob (lossy UTF-8: history may hold anything).
    pub fn text(&self, blob: Oid) -> Result<String> {
        let b = self.repo.find_blob(blob).map_err(broken)?;
        Ok(String::from_utf8_lossy(b.content()).into_owned())
    }

    /// The text of a file (relative to the registry root) as of the commit the
    /// audit starts from, if it was there as a regular file.
    pub fn file_at_start(&self, path: &str) -> Result<Option<String>> {
        match self.from_tree {
            Some(t) => self.file_in(t, path),
            None => Ok(None),
        }
    }

    /// The text of a file (relative to the registry root) as of a commit, if
    /// it was there as a regular file.
    pub fn file_at(&self, commit: usize, path: &str) -> Result<Option<String>> {
        self.file_in(self.commits[commit].tree, path)
    }

    fn file_in(&self, tree: Oid, path: &str) -> Result<Option<String>> {
        let tree = self.repo.find_tree(tree).map_err(broken)?;
        match tree.get_path(&self.prefix.join(path)) {
            Ok(entry) if entry.kind() == Some(ObjectType::Blob) && entry.filemode() != 0o120000 => {
                Ok(Some(self.text(entry.id())?))
            }
            _ => Ok(None),
        }
    }

    /// The one replay: visits `changes` in order with each version parsed by
    /// `parse`. Versions are read and parsed a chunk at a time, in parallel,
    /// and let go after the chunk, so memory stays flat however long the
    /// history is. Each blob is parsed once per chunk.
    pub fn replay<'h, T: Send + Sync>(
        &self,
        changes: impl IntoIterator<Item = &'h FileChange>,
        parse: impl Fn(&str) -> T + Sync,
        visit: impl FnMut(&CommitInfo, &FileChange, Option<&T>, Option<&T>) -> Result<()>,
    ) -> Result<()> {
        self.replay_chunks(changes, parse, |_| {}, visit)
    }

    /// [`History::replay`], with `chunk` called on each chunk's parsed
    /// versions before they are visited (to do work on all of them at once,
    /// in parallel: checking their signatures in batches, say). Blobs are
    /// read on every core, each thread with its own handle on the repository.
    pub fn replay_chunks<'h, T: Send + Sync>(
        &self,
        changes: impl IntoIterator<Item = &'h FileChange>,
        parse: impl Fn(&str) -> T + Sync,
        chunk_hook: impl Fn(&[&T]),
        mut visit: impl FnMut(&CommitInfo, &FileChange, Option<&T>, Option<&T>) -> Result<()>,
    ) -> Result<()> {
        let changes: Vec<&FileChange> = changes.into_iter().collect();
        let path = self.repo.path().to_path_buf();
        let mut done = 0;
        for chunk in changes.chunks(chunk_size(4096)) {
            let mut blobs: Vec<Oid> = chunk.iter().flat_map(|c| [c.old_blob, c.new_blob]).flatten().collect();
            blobs.sort();
            blobs.dedup();
            let parsed: HashMap<Oid, T> = blobs
                .par_iter()
                .map_init(
                    || Repository::open(&path).ok(),
                    |repo, b| -> Result<(Oid, T)> {
                        let blob = match repo {
                            Some(r) => r.find_blob(*b).map_err(broken)?,
                            None => return Err(Error::Git(format!("cannot open {}", path.display()))),
                        };
                        Ok((*b, parse(&String::from_utf8_lossy(blob.content()))))
                    },
                )
                .collect::<Result<_>>()?;
            chunk_hook(&parsed.values().collect::<Vec<_>>());
            for c in chunk {
                let version = |b: Option<Oid>| b.and_then(|b| parsed.get(&b));
                visit(&self.commits[c.commit], c, version(c.old_blob), version(c.new_blob))?;
                done += 1;
                crate::progress::report(Stage::Changes, done, changes.len());
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
