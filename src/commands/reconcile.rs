//! `exc reconcile`: the exceptions against the repository and the scans.
//! Every scanner suppression in the repository (ignore files, inline
//! comments) must cite an active exception that covers it; given scan
//! results, every active exception's findings must still be reported; and
//! the suppression files exc generates must be fresh.

use std::path::PathBuf;

use serde_json::json;

use crate::context::{Context, Outcome};
use crate::error::Result;
use crate::model::finding::{self, Code, Finding};
use crate::model::reconcile::{self, SiteKind};
use crate::output::findings::{self as report, FindingsFormat, Run};
use crate::scan;

/// Find suppressions nobody approved, and exceptions the scans no longer need.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  exc reconcile                                       suppressions in the repository
  exc reconcile --scan trivy.json --scan semgrep.sarif  and exceptions the scans no longer need
  exc reconcile --format github                       annotations in a pull request

Looks through the repository (honouring .gitignore) for ignore files (.trivyignore,
.trivyignore.yaml, .snyk, osv-scanner.toml, .grype.yaml, .nsprc, deny.toml) and inline
suppressions (# nosec, //nolint:gosec, nosemgrep, #checkov:skip=, trivy:ignore:, # noqa: S…,
eslint-disable … security/…). Each must cite an active exception (EXC-…) that covers it.
--scan reads Trivy, Grype and osv-scanner JSON and any SARIF 2.1.0. Exit 1 on an ungoverned
or expired suppression.")]
pub struct Args {
    /// A scanner's results (Trivy, Grype or osv-scanner JSON, or SARIF); repeatable.
    #[arg(long = "scan", value_name = "FILE")]
    pub scans: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: FindingsFormat,
}

pub fn run(ctx: &Context, args: Args) -> Result<Outcome> {
    let reg = ctx.registry()?;
    let loaded = ctx.load(&reg)?;
    let root = crate::git::workdir(&reg.root).unwrap_or_else(|| reg.root.clone());
    let prefix = reg.repository_prefix();
    let options = super::scan_options(&reg);
    let found = scan::suppressions(&root, &options)?;
    let mut findings = reconcile::judge(&found.sites, &loaded.records, ctx.as_of);
    for (file, why) in &found.unreadable {
        findings.push(Finding::new(
            Code::ShadowSuppression,
            file,
            "",
            format!("this ignore file cannot be read ({why}): none of its entries can be shown to be governed"),
        ));
    }
    // Findings about the registry's own files: resolve where they point, then
    // name them from the repository root like the rest.
    let sources = reg.sources(&loaded.records);
    let mut about_registry = Vec::new();
    if !args.scans.is_empty() {
        let mut reported = Vec::new();
        for path in &args.scans {
            reported.extend(scan::read_results(path)?);
        }
        about_registry.extend(reconcile::stale(&loaded.records, &reported, ctx.as_of));
    }
    about_registry.extend(super::stale_suppressions(ctx, &reg, &loaded)?);
    for mut f in about_registry {
        f.position = Some(f.position(&sources));
        f.path = format!("{prefix}{}", f.path);
        findings.push(f);
    }
    reg.policy.severity.apply(&mut findings);
    findings.retain(|f| f.severity != finding::Severity::Allow);
    finding::sort(&mut findings);

    let inline = found.sites.iter().filter(|s| s.kind == SiteKind::Inline).count();
    let ungoverned = findings.iter().filter(|f| f.code == Code::ShadowSuppression).count();
    let expired = findings.iter().filter(|f| f.code == Code::ExpiredSuppression).count();
    let stale = findings.iter().filter(|f| f.code == Code::StaleException).count();
    let summary = format!(
        "exc reconcile: {} suppression(s) ({} in ignore files, {inline} inline) in {} file(s) read: {ungoverned} ungoverned, {expired} citing no active exception{}",
        found.sites.len(),
        found.sites.len() - inline,
        found.files,
        if args.scans.is_empty() {
            String::new()
        } else {
            format!("; {stale} exception finding(s) the {} scan(s) no longer report", args.scans.len())
        }
    );
    let mut files: Vec<(String, Option<String>)> = findings.iter().map(|f| (f.path.clone(), f.id.clone())).collect();
    files.sort();
    files.dedup();
    let mut extra = serde_json::Map::new();
    extra.insert("suppressions".into(), json!(found.sites));
    let run = Run {
        tool: "exc reconcile",
        files: &files,
        findings: &findings,
        summary,
        locate: &sources,
        extra,
        in_repository: String::new(),
    };
    report::print(&run, args.format, ctx.color)?;
    Ok(Outcome::from_findings(&findings))
}
