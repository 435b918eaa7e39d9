//! `exc export`: the register for auditors and BI tools (CSV, JSON, JSON Lines,
//! YAML; `--with-history` adds the git trail), and scanner suppressions made
//! only from valid, approved, active exceptions: Trivy's `.trivyignore.yaml`
//! (with `expired_at`) and an OpenVEX document.

use std::collections::HashMap;

use crate::context::{Context, Outcome};
use crate::error::{Error, Result};
use crate::model::measure;
use crate::model::record::{Exception, Record, Status};
use crate::output;
use crate::output::export::{self, ExportFormat, Trail};
use crate::registry::{self, Registry};

/// The type whose findings become scanner suppressions.
const DEFERRAL: &str = "vulnerability-deferral";

/// Export the register, or scanner suppressions.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  exc export --format csv > register.csv                  opens safely in a spreadsheet
  exc export --format jsonl --with-history > register.jsonl
  exc export --format trivyignore --out .trivyignore.yaml suppressions that lapse by themselves
  exc export --format openvex --out exc.openvex.json

Suppressions come only from valid, approved, active vulnerability-deferral records with
findings. If such a record has any finding, the export stops (exit 1) and names it;
--skip-invalid exports the rest and says what it left out.")]
pub struct Args {
    /// Add each record's git trail (commit, date, author, action).
    #[arg(long)]
    pub with_history: bool,
    /// Write to this file (atomically) instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<std::path::PathBuf>,
    /// For suppressions: leave out records with findings instead of stopping.
    #[arg(long)]
    pub skip_invalid: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: ExportFormat,
}

pub fn run(ctx: &Context, args: Args) -> Result<Outcome> {
    let reg = ctx.registry()?;
    let loaded = reg.load_all()?;
    let text = if args.format.suppresses() {
        // Only valid, approved, active deferrals suppress anything. A record
        // that says approved but whose approvals do not stand would have; it
        // is named below, with its findings.
        let claims = |r: &Record| {
            (r.exception.status == Status::Approved || r.unverified)
                && r.exception.expires >= ctx.as_of
                && measure::exists(&r.exception, ctx.now())
        };
        let candidates: Vec<&Record> = loaded
            .records
            .iter()
            .filter(|r| r.exception.kind == DEFERRAL && claims(r) && !r.exception.findings.is_empty())
            .collect();
        let (clean, flawed): (Vec<&Record>, Vec<&Record>) =
            candidates.into_iter().partition(|r| !loaded.findings.iter().any(|f| f.path == r.path));
        if !flawed.is_empty() {
            let found: Vec<_> =
                loaded.findings.iter().filter(|f| flawed.iter().any(|r| r.path == f.path)).cloned().collect();
            let sources = reg.sources(&loaded.records);
            let ids: Vec<&str> = flawed.iter().map(|r| r.exception.id.as_str()).collect();
            for f in &found {
                eprintln!("{}", output::escape::guard(&output::finding_line(f, &sources, false)));
            }
            if !args.skip_invalid {
                eprintln!(
                    "exc: {} record(s) that would suppress findings have problems ({}); nothing was exported. Fix them, or pass --skip-invalid to export the rest.",
                    ids.len(),
                    ids.join(", ")
                );
                return Ok(Outcome::Findings);
            }
            output::warn(&format!("left out {} record(s) with problems: {}", ids.len(), ids.join(", ")));
        }
        let mut records: Vec<&Exception> = clean.iter().map(|r| &r.exception).collect();
        records.sort_by(|a, b| (a.expires, &a.id).cmp(&(b.expires, &b.id)));
        match args.format {
            ExportFormat::Trivyignore => export::trivyignore(&records, ctx.as_of)?,
            _ => export::openvex(&records, ctx.as_of, ctx.now())?,
        }
    } else {
        if !loaded.findings.is_empty() {
            output::warn(&format!("{} problem(s) in the records; `exc validate` lists them", loaded.findings.len()));
        }
        let trails = if args.with_history { Some(trails(&reg)?) } else { None };
        let rows: Vec<export::Row> = loaded
            .records
            .iter()
            .filter(|r| measure::exists(&r.exception, ctx.now()))
            .map(|r| export::row(r, &reg.policy, ctx.as_of, trails.as_ref()))
            .collect();
        export::register(&rows, args.format)?
    };
    match &args.out {
        Some(path) => {
            registry::write_atomic(path, text.as_bytes(), false)?;
            eprintln!("Wrote {}", output::escape::text(&path.display().to_string()));
        }
        None => output::emit(&text)?,
    }
    Ok(Outcome::Clean)
}

/// Every record file's trail, keyed by its latest file name.
fn trails(reg: &Registry) -> Result<HashMap<String, Vec<Trail>>> {
    let history = reg.history().map_err(|e| Error::Git(format!("--with-history: {e}")))?;
    Ok(history
        .trails()
        .into_iter()
        .map(|(name, changes)| {
            let trail = changes
                .into_iter()
                .map(|c| {
                    let commit = &history.commits[c.commit];
                    Trail {
                        commit: commit.id.clone(),
                        date: export::ts(commit.time),
                        author: commit.author.clone(),
                        action: history.action(c),
                    }
                })
                .collect();
            (name, trail)
        })
        .collect())
}
