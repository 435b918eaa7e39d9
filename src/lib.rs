//! exc: security exceptions as code.
//!
//! Each exception is one YAML file in `exceptions/`, checked against a JSON
//! Schema and the policy in `exc.yaml`; git history is the audit trail.
//!
//! Layers, from the bottom: `model` is the pure domain (records, policy,
//! routing, rules, findings); `yaml` and `schema` parse and check text;
//! `registry` reads and writes the registry (the one write path); `git` is the
//! one place that talks to git; `scan` reads a repository's scanner
//! suppressions and scanners' results; `output` is the one place that renders;
//! `commands` holds one thin file per subcommand; `cli` parses the command
//! line and dispatches; `context` is what every command runs in; `progress` carries how far a long
//! read has got from the layers that do it to the bar `output` draws.

#![warn(clippy::print_stdout)]

pub(crate) mod cli;
pub(crate) mod commands;
pub(crate) mod context;
pub(crate) mod deliver;
pub mod error;
pub(crate) mod git;
pub mod model;
pub(crate) mod output;
pub(crate) mod progress;
pub(crate) mod prompt;
pub(crate) mod registry;
pub(crate) mod scan;
pub mod schema;
pub(crate) mod sign;
pub mod yaml;

pub use git::limit_memory;
pub use registry::{parse_policy, parse_version};

use clap::Parser;

/// Whether `args` (the words after `exc`) is a command line exc accepts;
/// if not, clap's error. The examples in the documentation are checked with
/// it (`tests/cli/docs.rs`). Asking for help or the version is accepted.
pub fn parses<I, T>(args: I) -> Result<(), clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    use clap::error::ErrorKind;
    match cli::Cli::try_parse_from(std::iter::once("exc".into()).chain(args.into_iter().map(Into::into))) {
        Ok(_) => Ok(()),
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Parses the command line, runs the command, reports an error, and returns
/// the process exit code: 0 clean, 1 findings, 2 error (or a partial run).
pub fn main_exit_code() -> u8 {
    let cli = cli::Cli::parse();
    match cli.run() {
        Ok(context::Outcome::Clean) => 0,
        Ok(context::Outcome::Findings) => 1,
        Ok(context::Outcome::Partial) => 2,
        Err(e) => {
            eprint!("{}", output::error_text(&e));
            e.exit_code()
        }
    }
}
