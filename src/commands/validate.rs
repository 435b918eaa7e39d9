//! `exc validate [FILES…]`: the JSON Schema plus every semantic rule, one line
//! per problem (`path:line:col: message`) and a summary.

use std::path::PathBuf;

use serde::Serialize;

use crate::cli::{Context, Outcome};
use crate::error::{Error, Result};
use crate::model::finding::{Finding, Severity};
use crate::output::{self, Format};
use crate::registry::{self, Loaded, Registry};

/// Check records against the schema and the policy.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  exc validate                         every record in exceptions/
  exc validate exceptions/EXC-7K3Q.yaml
  exc validate --format json

Exit codes: 0 all records valid, 1 problems found, 2 usage or I/O error (e.g. a broken exc.yaml).")]
pub struct Args {
    /// Record files to check (default: all of exceptions/). Ids are still checked
    /// for uniqueness against the whole registry.
    pub files: Vec<PathBuf>,
}

/// The JSON shape of a validation run.
#[derive(Debug, Serialize)]
pub struct Report<'a> {
    pub files: usize,
    pub valid: usize,
    pub errors: usize,
    pub warnings: usize,
    pub findings: &'a [Finding],
}

pub fn run(ctx: &Context, args: Args) -> Result<Outcome> {
    let format = Format::pick(ctx.format, &[Format::Text, Format::Json])?;
    let reg = ctx.registry()?;
    let loaded = load(&reg, &args.files)?;
    print(&loaded, format, ctx.color)
}

/// Loads the registry, or the given files checked against the whole registry.
pub fn load(reg: &Registry, files: &[PathBuf]) -> Result<Loaded> {
    if files.is_empty() {
        return reg.load_all();
    }
    let cwd = std::env::current_dir().map_err(|e| Error::io(".", e))?;
    let mut given = Vec::new();
    for f in files {
        let abs = if f.is_absolute() { f.clone() } else { cwd.join(f) };
        if std::fs::symlink_metadata(&abs).is_err() {
            return Err(Error::Usage(format!("{}: no such file", f.display())));
        }
        given.push(registry::normalize(&abs));
    }
    let mut all: Vec<PathBuf> =
        reg.record_files()?.into_iter().map(|p| registry::normalize(&absolute(&cwd, &p))).collect();
    for g in &given {
        if !all.contains(g) {
            all.push(g.clone());
        }
    }
    Ok(reg.load(&all, Some(&given)))
}

fn absolute(cwd: &std::path::Path, p: &std::path::Path) -> PathBuf {
    if p.is_absolute() { p.to_path_buf() } else { cwd.join(p) }
}

fn print(loaded: &Loaded, format: Format, color: bool) -> Result<Outcome> {
    let errors = loaded.findings.iter().filter(|f| f.severity == Severity::Error).count();
    let warnings = loaded.findings.len() - errors;
    let mut bad_files: Vec<&str> =
        loaded.findings.iter().filter(|f| f.severity == Severity::Error).map(|f| f.path.as_str()).collect();
    bad_files.dedup();
    let valid = loaded.files.saturating_sub(bad_files.len());
    match format {
        Format::Json => output::emit(&output::json(&Report {
            files: loaded.files,
            valid,
            errors,
            warnings,
            findings: &loaded.findings,
        })?)?,
        _ => {
            let mut out = String::new();
            for f in &loaded.findings {
                out.push_str(&output::finding_line(f, color));
                out.push('\n');
            }
            let summary = if errors == 0 {
                output::paint(&format!("{} record(s) checked: all valid", loaded.files), output::Paint::Green, color)
            } else {
                output::paint(
                    &format!(
                        "{} record(s) checked: {errors} error(s) in {} file(s), {valid} valid",
                        loaded.files,
                        bad_files.len()
                    ),
                    output::Paint::Red,
                    color,
                )
            };
            out.push_str(&summary);
            out.push('\n');
            output::emit(&out)?;
        }
    }
    Ok(if errors > 0 { Outcome::Findings } else { Outcome::Clean })
}
