//! `exc validate [FILES…]`: the JSON Schema plus every semantic rule, one line
//! per problem (`path:line:col: severity[code]: message`) and a summary, or
//! the same findings as JSON, GitHub annotations, SARIF or JUnit.

use std::path::PathBuf;

use crate::context::{Context, Outcome};
use crate::error::Result;
use crate::model::finding::counts;
use crate::output::findings::{self, FindingsFormat, Run};

/// Check records against the schema and the policy.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  exc validate                         every record in exceptions/
  exc validate exceptions/EXC-7K3Q.yaml
  exc validate exc.yaml                every record, against the changed policy
  exc validate --format json

Exit codes: 0 all records valid, 1 problems found, 2 usage or I/O error (e.g. a broken exc.yaml).")]
pub struct Args {
    /// Record files to check (default: all of exceptions/). Ids are still checked
    /// for uniqueness against the whole registry. Naming exc.yaml (or its
    /// allowed_signers file) checks every record against it, as a pre-commit
    /// hook needs when only the policy changed.
    pub files: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: FindingsFormat,
}

pub fn run(ctx: &Context, args: Args) -> Result<Outcome> {
    let reg = ctx.registry()?;
    // Only records changed after approval are read again (to name the
    // fields that changed); the rest are let go as they load.
    let visit = crate::registry::Visit {
        stood: None,
        judge: &|_| Vec::new(),
        keep: &|_, findings| findings.iter().any(|f| f.code == crate::model::finding::Code::ChangedAfterApproval),
    };
    let mut loaded = reg.load_files(&args.files, &visit)?;
    reg.name_changed_fields(&mut loaded);
    let files = loaded.files();
    let (errors, _) = counts(&loaded.findings);
    let bad = files.iter().filter(|(p, _)| loaded.findings.iter().any(|f| f.is_error() && &f.path == p)).count();
    let summary = if errors == 0 {
        format!("{} record(s) checked: all valid", files.len())
    } else {
        format!("{} record(s) checked: {errors} error(s) in {bad} file(s), {} valid", files.len(), files.len() - bad)
    };
    let sources = reg.sources(&loaded.records);
    let run = Run {
        tool: "exc validate",
        files: &files,
        findings: &loaded.findings,
        summary,
        locate: &sources,
        extra: Default::default(),
        in_repository: reg.repository_prefix(),
    };
    findings::print(&run, args.format, ctx.color)?;
    Ok(Outcome::from_findings(&loaded.findings))
}
