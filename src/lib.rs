//! exc: security exceptions as code.
//!
//! Each exception is one YAML file in `exceptions/`, checked against a JSON
//! Schema and the policy in `exc.yaml`; git history is the audit trail.
//!
//! Layout: `model` is the pure domain (records, policy, rules); `yaml` and
//! `schema` parse and check files; `registry` reads and writes the registry;
//! `git` talks to git; `output` renders; `commands` holds one file per
//! subcommand; `cli` ties them together.

#![warn(clippy::print_stdout)]

pub mod cli;
pub mod commands;
pub mod error;
pub mod git;
pub mod model;
pub mod output;
pub mod registry;
pub mod schema;
pub mod yaml;

use clap::Parser;

/// Parses the command line, runs the command, reports an error, and returns
/// the process exit code: 0 clean, 1 findings, 2 error.
pub fn main_exit_code() -> u8 {
    let cli = cli::Cli::parse();
    match cli.run() {
        Ok(cli::Outcome::Clean) => 0,
        Ok(cli::Outcome::Findings) => 1,
        Err(e) => {
            for (i, line) in e.to_string().lines().enumerate() {
                let prefix = if i == 0 { "exc: error: " } else { "  " };
                eprintln!("{prefix}{}", output::terminal_safe(line));
            }
            e.exit_code()
        }
    }
}
