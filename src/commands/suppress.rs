//! `exc suppress --sarif IN`: marks the results of any scanner's SARIF 2.1.0
//! log (Semgrep, Checkov, CodeQL, Trivy, …) that an active exception covers
//! as suppressed, so GitHub code scanning shows them so; every other result
//! is left as it was. One exception then governs every SARIF-emitting tool.

use std::io::Read;

use crate::context::{Context, Outcome};
use crate::error::{Error, Result};
use crate::model::suppression;
use crate::output::{self, suppressions};
use crate::registry;

/// Mark the SARIF results an exception covers as suppressed.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  semgrep --config rules.yaml --sarif -o semgrep.sarif . && exc suppress --sarif semgrep.sarif --out semgrep.sarif
  checkov -d infra -o sarif --output-file-path . && exc suppress --sarif results_sarif.sarif > checkov.sarif
  trivy fs --format sarif . | exc suppress --sarif - > trivy.sarif

A result is covered when its rule id is a finding of a valid, approved, active exception
(a scanner's dotted rule-file prefix is allowed) and, where the finding or its assets are
scoped, its location matches. Covered results get a suppression (kind external, status
accepted) whose justification names the exception and when it lapses.")]
pub struct Args {
    /// The SARIF log to read (`-` for standard input).
    #[arg(long, value_name = "FILE")]
    pub sarif: std::path::PathBuf,
    /// Write here (atomically) instead of standard output; may be the input file.
    #[arg(long, value_name = "FILE")]
    pub out: Option<std::path::PathBuf>,
    /// Leave out exceptions with problems instead of stopping.
    #[arg(long)]
    pub skip_invalid: bool,
}

/// The largest SARIF log read (a scanner's output can be large, not unbounded).
const MAX_SARIF_BYTES: u64 = 512 * 1024 * 1024;

pub fn run(ctx: &Context, args: Args) -> Result<Outcome> {
    let text = read(&args.sarif)?;
    let shown = args.sarif.display().to_string();
    let mut doc: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        Error::Usage(format!("{}:{}:{}: not JSON: {e}", output::escape::text(&shown), e.line(), e.column()))
    })?;
    let reg = ctx.registry()?;
    let loaded = ctx.load(&reg)?;
    let Some(chosen) = super::suppressing(ctx, &reg, &loaded, args.skip_invalid) else {
        return Ok(Outcome::Findings);
    };
    let sups = suppression::suppressions(&chosen, &reg.policy);
    let marked = suppressions::annotate_sarif(&mut doc, &sups)
        .map_err(|why| Error::Usage(format!("{}: {why}", output::escape::text(&shown))))?;
    let out = output::json(&doc)?;
    match &args.out {
        Some(path) => registry::write_atomic(path, out.as_bytes(), false)?,
        None => output::emit(&out)?,
    }
    eprintln!("exc: {marked} result(s) marked as suppressed by an exception");
    Ok(Outcome::Clean)
}

fn read(path: &std::path::Path) -> Result<String> {
    let mut text = String::new();
    let too_big = || Error::Usage(format!("{}: larger than 512 MiB", path.display()));
    if path.as_os_str() == "-" {
        std::io::stdin().take(MAX_SARIF_BYTES + 1).read_to_string(&mut text).map_err(|e| Error::io("<stdin>", e))?;
    } else {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        file.take(MAX_SARIF_BYTES + 1).read_to_string(&mut text).map_err(|e| Error::io(path, e))?;
    }
    if text.len() as u64 > MAX_SARIF_BYTES {
        return Err(too_big());
    }
    Ok(text)
}
