//! Errors: when the tool itself cannot do its job (exit code 2).
//!
//! Problems found *in* records are findings (`crate::model::finding`), not errors.

use std::path::PathBuf;

/// Why a command could not run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command line asked for something impossible.
    #[error("{0}")]
    Usage(String),
    /// No `exc.yaml` or `exceptions/` here or above.
    #[error(
        "no exc registry found in {} or any parent directory (looked for exc.yaml or exceptions/); run `exc init` to create one, or pass --dir",
        .0.display()
    )]
    NoRegistry(PathBuf),
    /// `exc.yaml` is broken; each line is `path:line:col: message`.
    #[error("invalid policy:\n{}", .0.join("\n"))]
    Policy(Vec<String>),
    /// A record id that is not in the registry.
    #[error("no exception `{id}` in {}", .dir.display())]
    UnknownId { id: String, dir: PathBuf },
    /// A file or directory could not be read or written.
    #[error("{}: {source}", .path.display())]
    Io { path: PathBuf, source: std::io::Error },
    /// Git could not answer.
    #[error("git: {0}")]
    Git(String),
    /// Writing to a terminal prompt failed or was interrupted.
    #[error("{0}")]
    Prompt(String),
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io { path: path.into(), source }
    }

    /// Every error exits with 2, keeping 1 for findings.
    pub fn exit_code(&self) -> u8 {
        2
    }
}

pub type Result<T> = std::result::Result<T, Error>;
