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
    /// A file could not be written; the old one, if any, is untouched.
    #[error("cannot write {}: {reason}; nothing was changed", .path.display())]
    Write { path: PathBuf, reason: String },
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

    /// A failed write of `path`, said in words (without the temp file's name).
    pub fn write(path: impl Into<PathBuf>, source: &std::io::Error) -> Error {
        use std::io::ErrorKind;
        let reason = match source.kind() {
            ErrorKind::ReadOnlyFilesystem => "the file system is read-only".to_string(),
            ErrorKind::PermissionDenied => "permission denied (this user cannot write to the registry)".to_string(),
            ErrorKind::StorageFull => "the disk is full".to_string(),
            kind => source
                .raw_os_error()
                .map(|c| std::io::Error::from_raw_os_error(c).to_string())
                .unwrap_or_else(|| kind.to_string()),
        };
        Error::Write { path: path.into(), reason }
    }

    /// Every error exits with 2, keeping 1 for findings.
    pub fn exit_code(&self) -> u8 {
        2
    }
}

pub type Result<T> = std::result::Result<T, Error>;
