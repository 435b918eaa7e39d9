//! `exc export`: the register for auditors and BI tools (CSV, JSON, JSON Lines,
//! YAML; `--with-history` adds the git trail), and scanner suppression files
//! made only from valid, approved, active exceptions (Trivy, Snyk,
//! osv-scanner, Grype, better-npm-audit, OpenVEX); `--all` writes every one
//! exc.yaml lists. `--repository NAME` writes one application repository's
//! suppressions alone, and `--registry` reads a registry elsewhere, so an
//! application repository's CI can write its own files from the central one.

use crate::context::{Context, Outcome};
use crate::error::{Error, Result};
use crate::model::measure;
use crate::model::suppression::{self, Suppression};
use crate::output;
use crate::output::export::{self, ExportFormat};
use crate::registry;

/// Export the register, or scanner suppressions.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  exc export --format csv > register.csv                  opens safely in a spreadsheet
  exc export --format jsonl --with-history > register.jsonl
  exc export --format trivyignore --out .trivyignore.yaml suppressions that lapse by themselves
  exc export --format snyk --out .snyk
  exc export --all                                        every suppression file exc.yaml lists (nightly)
  exc export --all --registry https://git.example.com/sec/registry.git
                                                          in an application repository: its own files, at its root

Suppressions come only from the findings of valid, approved, active records. If such a
record has any problem, the export stops (exit 1) and names it; --skip-invalid exports
the rest and says what it left out. With nothing to suppress, each format is written
as a valid, empty file. Scope a format cannot carry is named on standard error.
With --repository (or --registry, from an application repository), a finding scoped to
another repository is left out; findings that name none apply in every repository.")]
pub struct Args {
    /// Add each record's git trail (commit, date, author, action).
    #[arg(long)]
    pub with_history: bool,
    /// Write to this file (atomically) instead of standard output; with --all, a directory;
    /// with --format csv, a directory gets register.csv and approvals.csv (one row per decision).
    #[arg(long, value_name = "PATH")]
    pub out: Option<std::path::PathBuf>,
    /// For suppressions: leave out records with findings instead of stopping.
    #[arg(long)]
    pub skip_invalid: bool,
    /// Write every suppression file `exports:` in exc.yaml lists (all of them if none),
    /// each under its usual name, into --out (default: the registry root).
    #[arg(long, conflicts_with_all = ["format", "with_history"])]
    pub all: bool,
    #[command(flatten)]
    pub registry: super::RegistryArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: ExportFormat,
}

pub fn run(ctx: &Context, args: Args) -> Result<Outcome> {
    let governed = args.registry.governed(ctx)?;
    let reg = &governed.registry;
    // The structured formats quote each file as written.
    let quotes = matches!(args.format, ExportFormat::Json | ExportFormat::Jsonl | ExportFormat::Yaml);
    let suppresses = args.all || args.format.suppresses();
    let loaded = if suppresses {
        // Only the records that would hide findings are kept past loading.
        ctx.load_keeping(reg, &|r, _| suppression::claims(r, ctx.as_of, ctx.now()))?
    } else if quotes {
        ctx.load_with_text(reg)?
    } else {
        ctx.load(reg)?
    };
    if suppresses {
        let Some(chosen) = super::suppressing(ctx, reg, &loaded, args.skip_invalid) else {
            return Ok(Outcome::Findings);
        };
        let mut sups = suppression::suppressions(&chosen, &reg.policy);
        // One application repository's own: named, or the one this runs in.
        let named = args.registry.repository.clone().filter(|n| !n.trim().is_empty());
        let only = named.or(if governed.central { governed.name.clone() } else { None });
        if let Some(name) = &only {
            sups = suppression::in_repository(sups, name);
        }
        if args.all {
            let home = if governed.central { governed.root.clone() } else { reg.root.clone() };
            let dir = args.out.clone().unwrap_or(home);
            for format in export::configured(&reg.policy)? {
                let written = write_one(format, &sups)?;
                let name = format.file_name().unwrap_or_default();
                registry::write_atomic(&dir.join(name), written.as_bytes(), false)?;
                eprintln!("Wrote {}", output::escape::text(&dir.join(name).display().to_string()));
            }
            return Ok(Outcome::Clean);
        }
        let written = write_one(args.format, &sups)?;
        return emit(&args.out, &written);
    }
    if !loaded.findings.is_empty() {
        output::warn(&format!("{} problem(s) in the records; `exc validate` lists them", loaded.findings.len()));
    }
    let trails = match args.with_history {
        true => Some(super::trails(&reg.history().map_err(|e| Error::Git(format!("--with-history: {e}")))?)),
        false => None,
    };
    let records: Vec<&crate::model::record::Record> =
        loaded.records.iter().filter(|r| measure::exists(&r.exception, ctx.now())).collect();
    if args.format == ExportFormat::OscalPoam {
        let system = reg.system_name();
        let exceptions: Vec<&crate::model::record::Exception> = records.iter().map(|r| &r.exception).collect();
        return emit(&args.out, &crate::output::oscal::poam(&exceptions, &reg.policy, &system)?);
    }
    if args.format != ExportFormat::Csv {
        let items = records.iter().map(|r| export::item(r, &reg.policy, ctx.as_of, trails.as_ref()));
        return emit(&args.out, &export::structured(items, args.format, ctx.as_of)?);
    }
    let rows: Vec<export::Row> =
        records.iter().map(|r| export::row(r, &reg.policy, ctx.as_of, trails.as_ref())).collect();
    let register = export::register(&rows)?;
    // Into a directory: the register and one row per decision.
    if let Some(dir) = args.out.as_ref().filter(|p| p.is_dir()) {
        registry::write_atomic(&dir.join("register.csv"), register.as_bytes(), false)?;
        registry::write_atomic(
            &dir.join("approvals.csv"),
            export::decisions_csv(&export::decisions(&records, &reg.policy, None), false)?.as_bytes(),
            false,
        )?;
        eprintln!("Wrote {} (register.csv, approvals.csv)", output::escape::text(&dir.display().to_string()));
        return Ok(Outcome::Clean);
    }
    emit(&args.out, &register)
}

/// One suppression file, with the scope it could not carry warned about.
fn write_one(format: ExportFormat, sups: &[Suppression]) -> Result<String> {
    let written = export::suppressions(format, sups)?;
    for note in &written.notes {
        output::warn(&format!("{}: {note}", format.name()));
    }
    Ok(written.text)
}

fn emit(out: &Option<std::path::PathBuf>, text: &str) -> Result<Outcome> {
    match out {
        Some(path) => {
            registry::write_atomic(path, text.as_bytes(), false)?;
            eprintln!("Wrote {}", output::escape::text(&path.display().to_string()));
        }
        None => output::emit(text)?,
    }
    Ok(Outcome::Clean)
}
