//! Where a registry comes from: a folder on this machine, read as it is, or
//! one ref of a git repository, fetched shallowly into a cache folder
//! (`git::fetch`) and read from there. `exc reconcile`, `import` and
//! `export` take one with `--registry`; a fleet file lists several.
//!
//! The cache is `$EXC_CACHE_DIR`, else `$XDG_CACHE_HOME/exc`, else
//! `~/.cache/exc`: one folder per URL and ref under `registries/`. Every use
//! fetches the ref again (only what changed), so a gate never judges by a
//! stale copy; deleting the folder only costs the next run a full fetch.

use std::path::{Path, PathBuf};

use sha2::Digest;

use super::{POLICY_FILE, RECORDS_DIR, Registry};
use crate::error::{Error, Result};
use crate::model::rules;

/// A registry to read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A registry folder on this machine (usually a work tree), read as it is.
    Path(PathBuf),
    /// A git repository (a URL, or the path of a repository on this
    /// machine), one ref of it (its default branch without one), and the
    /// registry's folder inside it (its root without one).
    Git { url: String, rev: Option<String>, dir: Option<String> },
}

impl Source {
    /// Reads `--registry`'s value: a URL, a bare repository or any source
    /// given with a ref is fetched; any other path is read in place.
    /// Relative paths are taken from `base`.
    pub fn parse(text: &str, rev: Option<&str>, dir: Option<&str>, base: &Path) -> Result<Source> {
        let text = text.trim();
        if text.is_empty() {
            return Err(Error::Usage("the registry's path or URL is empty".into()));
        }
        if let Some(d) = dir
            && !crate::model::record::is_contained(d)
        {
            return Err(Error::Usage(format!(
                "`{d}`: the registry's folder must be a relative path inside its repository"
            )));
        }
        let is_url = crate::git::is_url(text);
        let path = if is_url { PathBuf::new() } else { super::normalize(&base.join(text)) };
        let bare = !is_url && path.join("HEAD").is_file() && path.join("objects").is_dir();
        if is_url || bare || rev.is_some() {
            let url = if is_url { text.to_string() } else { path.to_string_lossy().into_owned() };
            return Ok(Source::Git { url, rev: rev.map(str::to_string), dir: dir.map(str::to_string) });
        }
        Ok(Source::Path(match dir {
            Some(d) => path.join(d),
            None => path,
        }))
    }

    /// How users name it: the path, or `URL@ref` (and `//folder`).
    pub fn describe(&self) -> String {
        match self {
            Source::Path(p) => p.display().to_string(),
            Source::Git { url, rev, dir } => format!(
                "{url}{}{}",
                rev.as_deref().map(|r| format!("@{r}")).unwrap_or_default(),
                dir.as_deref().map(|d| format!("//{d}")).unwrap_or_default()
            ),
        }
    }

    /// The registry's folder on this machine: the path, or the cached copy
    /// fetched again now.
    pub fn root(&self) -> Result<PathBuf> {
        match self {
            Source::Path(p) => Ok(p.clone()),
            Source::Git { url, rev, dir } => {
                let copy = cache_dir()?.join("registries").join(cache_key(url, rev.as_deref()));
                std::fs::create_dir_all(copy.parent().unwrap_or(&copy)).map_err(|e| Error::io(&copy, e))?;
                // One fetch at a time per copy, across processes too.
                let lock_path = copy.with_extension("lock");
                let lock = std::fs::OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(&lock_path)
                    .map_err(|e| Error::io(&lock_path, e))?;
                lock.lock().map_err(|e| Error::io(&lock_path, e))?;
                crate::git::fetch(url, rev.as_deref(), &copy)?;
                Ok(match dir {
                    Some(d) => copy.join(d),
                    None => copy,
                })
            }
        }
    }

    /// Opens the registry: its policy and keys, read from its folder (after
    /// fetching it). A folder with no `exc.yaml` and no `exceptions/` is
    /// not a registry, and saying so beats judging by an empty one.
    pub fn open(&self, cx: rules::Context) -> Result<Registry> {
        let root = self.root()?;
        let meta = std::fs::metadata(&root).map_err(|e| Error::io(&root, e))?;
        if !meta.is_dir() {
            return Err(Error::Usage(format!("{}: not a directory", root.display())));
        }
        if std::fs::symlink_metadata(root.join(POLICY_FILE)).is_err()
            && std::fs::symlink_metadata(root.join(RECORDS_DIR)).is_err()
        {
            return Err(Error::NoRegistry(format!(
                "{} holds no {POLICY_FILE} and no {RECORDS_DIR}/: it is not an exc registry",
                self.describe()
            )));
        }
        Registry::open(root, cx)
    }
}

/// The cache folder: `$EXC_CACHE_DIR`, else `$XDG_CACHE_HOME/exc`, else
/// `$HOME/.cache/exc`.
pub fn cache_dir() -> Result<PathBuf> {
    let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(d) = var("EXC_CACHE_DIR") {
        return Ok(d);
    }
    if let Some(d) = var("XDG_CACHE_HOME").filter(|d| d.is_absolute()) {
        return Ok(d.join("exc"));
    }
    match var("HOME") {
        Some(home) => Ok(home.join(".cache").join("exc")),
        None => Err(Error::Usage(
            "no cache folder for fetched registries: set EXC_CACHE_DIR (or XDG_CACHE_HOME or HOME)".into(),
        )),
    }
}

/// The cached copy's folder name: a readable slug of the URL's last part and
/// a hash of the URL and the ref, so each (URL, ref) has its own copy.
fn cache_key(url: &str, rev: Option<&str>) -> String {
    let last = url.trim_end_matches('/').rsplit(['/', ':', '\\']).next().unwrap_or("registry");
    let slug: String = last
        .trim_end_matches(".git")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
        .take(40)
        .collect();
    let hash = sha2::Sha256::digest(format!("{url}\n{}\n", rev.unwrap_or("")).as_bytes());
    let hex: String = hash.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("{}-{hex}", if slug.is_empty() { "registry" } else { &slug })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_paths_unless_fetched() {
        let base = Path::new("/srv/app");
        assert_eq!(Source::parse("../reg", None, None, base).unwrap(), Source::Path("/srv/reg".into()));
        assert_eq!(
            Source::parse("../reg", Some("main"), None, base).unwrap(),
            Source::Git { url: "/srv/reg".into(), rev: Some("main".into()), dir: None }
        );
        assert_eq!(
            Source::parse("https://git.example.com/sec/reg.git", None, Some("security"), base).unwrap(),
            Source::Git { url: "https://git.example.com/sec/reg.git".into(), rev: None, dir: Some("security".into()) }
        );
        assert!(Source::parse("../reg", None, Some("../up"), base).is_err());
    }

    #[test]
    fn each_url_and_ref_has_its_own_copy() {
        let a = cache_key("https://git.example.com/sec/registry.git", Some("main"));
        assert!(a.starts_with("registry-"), "{a}");
        assert_ne!(a, cache_key("https://git.example.com/sec/registry.git", Some("v1")));
        assert_ne!(a, cache_key("https://git.example.com/other/registry.git", Some("main")));
    }
}
