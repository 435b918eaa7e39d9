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
