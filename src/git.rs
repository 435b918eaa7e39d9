//! The one place that talks to git (through libgit2).
//!
//! For now: who is acting (user.name / user.email). History, commits and
//! audit build on this module.

use std::path::Path;

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
