//! `exc validate [FILES…]`: the JSON Schema plus every semantic rule, one line
//! per problem (`path:line:col: message`) and a summary.

use std::path::PathBuf;

use serde::Serialize;

use crate::cli::{Context, Outcome};
use crate::error::{Error, Result};
use crate::git::History;
use crate::model::digest;
use crate::model::finding::{Code, Finding, Severity};
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
    let mut loaded = load(&reg, &args.files)?;
    name_changed_fields(&reg, &mut loaded);
    print(&loaded, format, ctx.color)
}

/// For records changed after approval, finds in git the version the approval
/// saw and names the request fields that differ. Without usable history the
/// finding stays as it is (validate never needs history).
fn name_changed_fields(reg: &Registry, loaded: &mut Loaded) {
    if !loaded.findings.iter().any(|f| f.code == Code::ChangedAfterApproval) {
        return;
    }
    let Ok(history) = History::read(&reg.root) else { return };
    for f in loaded.findings.iter_mut().filter(|f| f.code == Code::ChangedAfterApproval) {
        let Some(record) = loaded.records.iter().find(|r| r.path == f.path) else { continue };
        let e = &record.exception;
        let approved: Vec<&str> = e.approvals.iter().map(|a| a.digest.as_str()).collect();
        let file = std::path::Path::new(&record.path).file_name().map(|n| n.to_string_lossy().into_owned());
        let Some(file) = file else { continue };
        let seen = history.of_record(&file).into_iter().rev().filter_map(|c| c.new_blob).find_map(|b| {
            let old = registry::parse_version(&history.text(b).ok()?)?.1?;
            approved.contains(&digest::digest(&old).as_str()).then_some(old)
        });
        if let Some(old) = seen {
            let fields = digest::changed_fields(&digest::request_fields(&old), &digest::request_fields(e));
            if !fields.is_empty() {
                f.message.push_str(&format!("; changed since: {}", fields.join(", ")));
            }
        }
    }
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
