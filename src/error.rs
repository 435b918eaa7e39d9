//! Errors: when the tool itself cannot do its job. Every error exits with 2,
//! keeping 1 for findings.
//!
//! Problems found *in* records are findings (`crate::model::finding`), not errors.

use std::path::PathBuf;

use crate::model::finding::Finding;

/// Why a command could not run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command line asks for something impossible.
    #[error("{0}")]
    Usage(String),
    /// The action is not allowed: the lifecycle, routing, separation of duties
    /// or the policy forbids it. Nothing was changed.
    #[error("{0}")]
    Refused(String),
    /// Someone else changed the file meanwhile, or the id is taken. Nothing was changed.
    #[error("{0}")]
    Conflict(String),
    /// No registry here or above.
    #[error("{0}")]
    NoRegistry(String),
    /// A record id that is not in the registry.
    #[error("no exception `{id}` in {}", .dir.display())]
    UnknownId { id: String, dir: PathBuf },
    /// `exc.yaml` is broken; each finding names where.
    #[error("invalid policy ({} problem(s))", .0.len())]
    Policy(Vec<Finding>),
    /// What the command would write breaks the rules; nothing was written.
    #[error("{what}; nothing was written")]
    Invalid { what: String, findings: Vec<Finding> },
    /// A file or directory could not be read or written.
    #[error("{}: {source}", .path.display())]
    Io { path: PathBuf, source: std::io::Error },
    /// A file could not be written; the old one, if any, is untouched.
    #[error("cannot write {}: {reason}; nothing was changed", .path.display())]
    Write { path: PathBuf, reason: String },
    /// Git could not answer, or refused.
    #[error("git: {0}")]
    Git(String),
    /// A decision could not be signed.
    #[error("cannot sign: {0}")]
    Sign(String),
    /// Writing to a terminal prompt failed or was interrupted.
    #[error("{0}")]
    Prompt(String),
    /// Output could not be produced (serialisation).
    #[error("cannot write the output: {0}")]
    Output(String),
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

    /// The findings behind the error, for those that carry some.
    pub fn findings(&self) -> &[Finding] {
        match self {
            Error::Policy(f) | Error::Invalid { findings: f, .. } => f,
            _ => &[],
        }
    }

    /// Every error exits with 2, keeping 1 for findings.
    pub fn exit_code(&self) -> u8 {
        2
    }
}

pub type Result<T> = std::result::Result<T, Error>;
