//! Committing one record through git itself, so the repository's hooks run and
//! `commit.gpgsign` / `gpg.format` apply: protected branches that require
//! signed commits accept what exc commits.
//!
//! [`plan_commit`] checks everything before the record is written; [`commit`]
//! then stages and commits that one file.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{Error, Result};

/// A commit that can go ahead: the work tree and the files, relative to it.
#[derive(Debug, Clone)]
pub struct CommitPlan {
    workdir: PathBuf,
    files: Vec<PathBuf>,
}

/// The commit message for an action on a record, with machine-readable trailers.
pub fn message(action: &str, id: &str, detail: Option<&str>) -> String {
    let detail = detail.map(|d| format!(" ({d})")).unwrap_or_default();
    format!("exc: {action} {id}{detail}\n\nExc-Id: {id}\nExc-Action: {action}\n")
}

/// Checks that `file` can be committed alone: a work tree, an identity, no
/// merge in progress, and nothing else staged. Nothing is changed.
pub fn plan_commit(root: &Path, file: &Path) -> Result<CommitPlan> {
    plan_commit_all(root, &[file])
}

/// [`plan_commit`] for several files committed together (the policy and its keys file).
pub fn plan_commit_all(root: &Path, files: &[&Path]) -> Result<CommitPlan> {
    let top = git(root, &["rev-parse", "--show-toplevel"])
        .map_err(|_| Error::Git(format!("--commit needs a git work tree, and {} is not in one", root.display())))?;
    let workdir = PathBuf::from(top.trim_end_matches(['\n', '\r']));
    let workdir = std::fs::canonicalize(&workdir).unwrap_or(workdir);
    git(&workdir, &["var", "GIT_COMMITTER_IDENT"])
        .map_err(|_| Error::Git("set `git config user.name` and `git config user.email` to commit".into()))?;
    if git(&workdir, &["rev-parse", "-q", "--verify", "MERGE_HEAD"]).is_ok() {
        return Err(Error::Git("a merge is in progress; finish it before committing a record".into()));
    }
    let mut rels = Vec::new();
    for file in files {
        let dir = file.parent().map(|d| std::fs::canonicalize(d).unwrap_or_else(|_| d.to_path_buf()));
        let abs = dir.zip(file.file_name()).map(|(d, n)| d.join(n)).unwrap_or_else(|| file.to_path_buf());
        let rel = abs
            .strip_prefix(&workdir)
            .map_err(|_| Error::Git(format!("{} is outside the repository {}", file.display(), workdir.display())))?
            .to_path_buf();
        rels.push(rel);
    }
    let staged = git(&workdir, &["diff", "--cached", "--name-only", "-z"])?;
    let others: Vec<&str> =
        staged.split('\0').filter(|p| !p.is_empty() && !rels.iter().any(|r| Path::new(p) == r)).collect();
    if !others.is_empty() {
        let names: Vec<String> = rels.iter().map(|r| r.display().to_string()).collect();
        return Err(Error::Git(format!(
            "other changes are staged ({}); commit or unstage them first, so this commit holds only {}",
            others.join(", "),
            names.join(" and ")
        )));
    }
    Ok(CommitPlan { workdir, files: rels })
}

/// Stages and commits the planned files with `message` (dated `date`, when
/// given). Returns the new commit's short id.
pub fn commit(plan: &CommitPlan, message: &str, date: Option<chrono::DateTime<chrono::Utc>>) -> Result<String> {
    let files: Vec<String> = plan.files.iter().map(|f| f.to_string_lossy().into_owned()).collect();
    let mut add = vec!["add", "--"];
    add.extend(files.iter().map(String::as_str));
    git(&plan.workdir, &add)?;
    let mut args = vec!["commit", "-q", "-F", "-", "--"];
    args.extend(files.iter().map(String::as_str));
    let mut command = Command::new("git");
    if let Some(d) = date {
        let d = d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        command.env("GIT_AUTHOR_DATE", &d).env("GIT_COMMITTER_DATE", &d);
    }
    let mut child = command
        .args(&args)
        .current_dir(&plan.workdir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::Git(format!("cannot run git: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(message.as_bytes()).map_err(|e| Error::Git(format!("cannot write to git: {e}")))?;
    }
    let out = child.wait_with_output().map_err(|e| Error::Git(format!("cannot run git: {e}")))?;
    if !out.status.success() {
        // Leave the index as it was: the record is no longer staged.
        let mut reset = vec!["reset", "-q", "--"];
        reset.extend(files.iter().map(String::as_str));
        let _ = git(&plan.workdir, &reset);
        let why = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err(Error::Git(format!(
            "the commit failed{}",
            if why.is_empty() { String::new() } else { format!(": {why}") }
        )));
    }
    let id = git(&plan.workdir, &["rev-parse", "--short=10", "HEAD"])?;
    Ok(id.trim().to_string())
}

/// Starts branch `name` at HEAD in the work tree holding `root` and switches
/// to it, as `git switch -c` does (an existing branch is refused by git).
pub fn start_branch(root: &Path, name: &str) -> Result<()> {
    if name.starts_with('-') || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::Usage(format!("{name:?} is not a branch name")));
    }
    git(root, &["check-ref-format", "--branch", name])
        .map_err(|_| Error::Usage(format!("`{name}` is not a branch name")))?;
    let staged = git(root, &["diff", "--cached", "--name-only"])?;
    if !staged.trim().is_empty() {
        return Err(Error::Git(format!(
            "{} has staged changes; commit or unstage them first, so the branch holds only the new requests",
            root.display()
        )));
    }
    git(root, &["switch", "-q", "-c", name]).map(|_| ())
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
        Err(Error::Git(String::from_utf8_lossy(&out.stderr).trim().to_string()))
    }
}
