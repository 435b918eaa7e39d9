//! Fetching a registry that lives in another repository: a shallow copy of
//! one ref, kept in a cache folder and fetched again on each use.
//!
//! This goes through git itself, as committing does: libgit2 is built here
//! without network transports, and git has the user's credentials (a
//! credential helper, an SSH agent, `url.<base>.insteadOf`). Local paths and
//! `file://` URLs work the same way. git never prompts: a registry that needs
//! credentials nobody configured fails with git's own message.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::error::{Error, Result};

/// Whether `source` reads as a git URL rather than a path on this machine:
/// `scheme://…`, or scp-like `user@host:path`.
pub fn is_url(source: &str) -> bool {
    if source.contains("://") {
        return true;
    }
    match source.split_once(':') {
        Some((host, _)) => host.contains('@') && !host.contains('/'),
        None => false,
    }
}

/// Makes `into` a shallow copy of `rev` (a branch, a tag, or a commit the
/// server lets clients fetch; the remote's default branch without one) of the
/// repository at `url`, and returns the commit it checked out. The first
/// call clones; later calls fetch only what changed and check it out again,
/// discarding anything written into the copy meanwhile.
pub fn fetch(url: &str, rev: Option<&str>, into: &Path) -> Result<String> {
    if url.starts_with('-') || url.chars().any(char::is_control) {
        return Err(Error::Usage(format!("{url:?} is not a repository URL or path")));
    }
    if let Some(r) = rev
        && (r.is_empty() || r.starts_with('-') || r.chars().any(|c| c.is_control() || c.is_whitespace()))
    {
        return Err(Error::Usage(format!("{r:?} is not a git ref")));
    }
    if !into.join(".git").is_dir() {
        std::fs::create_dir_all(into).map_err(|e| Error::io(into, e))?;
        git(into, &["init", "-q"])?;
    }
    // The URL may have changed in the fleet file since the copy was made.
    let _ = git(into, &["remote", "remove", "origin"]);
    git(into, &["remote", "add", "origin", url])?;
    let wanted = rev.unwrap_or("HEAD");
    git(into, &["fetch", "-q", "--depth", "1", "--no-tags", "--no-recurse-submodules", "origin", wanted]).map_err(
        |e| match e {
            Error::Git(why) => Error::Git(format!("cannot fetch {wanted} from {url}: {why}")),
            other => other,
        },
    )?;
    git(into, &["checkout", "-q", "--force", "--detach", "FETCH_HEAD"])?;
    git(into, &["clean", "-q", "-d", "-x", "--force"])?;
    Ok(git(into, &["rev-parse", "HEAD"])?.trim().to_string())
}

/// Runs git in `dir` without a terminal, and returns its standard output.
fn git(dir: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::Git(format!("cannot run git: {e}")))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        let why = String::from_utf8_lossy(&out.stderr);
        // git's first fatal or error line says why; the advice after it does not.
        let lines: Vec<&str> = why.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        let why = lines
            .iter()
            .find(|l| l.starts_with("fatal:") || l.starts_with("error:"))
            .or(lines.first())
            .map(|l| l.to_string())
            .unwrap_or_default();
        Err(Error::Git(if why.is_empty() { format!("git {} failed", args.join(" ")) } else { why }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_paths() {
        for url in ["https://git.example.com/sec/registry.git", "file:///srv/registry", "git@github.com:org/reg.git"] {
            assert!(is_url(url), "{url}");
        }
        for path in ["../registry", "/srv/registry", "C:/registry", "registry:old"] {
            assert!(!is_url(path), "{path}");
        }
    }
}
