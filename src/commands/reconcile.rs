//! `exc reconcile`: the exceptions against the repository and the scans.
//! Every scanner suppression in the repository (ignore files, inline
//! comments) must cite an active exception that covers it; given scan
//! results, every active exception's findings must still be reported; and
//! the suppression files exc generates must be fresh.
//!
//! In an application repository governed by a registry elsewhere
//! (`--registry PATH|URL`, or `--dir` naming a registry in another
//! repository), the repository read is the one the command runs in, and a
//! finding scoped to another repository does not govern its suppressions.

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
  exc reconcile --registry https://git.example.com/sec/registry.git --ref main
                                                      an application repository, against the central registry

Looks through the repository (honouring .gitignore) for ignore files (.trivyignore,
.trivyignore.yaml, .snyk, osv-scanner.toml, .grype.yaml, .nsprc, deny.toml) and inline
suppressions (# nosec, //nolint:gosec, nosemgrep, #checkov:skip=, trivy:ignore:, # noqa: S…,
eslint-disable … security/…). Each must cite an active exception (EXC-…) that covers it.
--scan reads Trivy, Grype and osv-scanner JSON and any SARIF 2.1.0. With --registry, only that
registry's valid, approved, active records count, and a record's finding scoped to another
repository (`repository:`) does not govern this one; --trust-root pins that registry's policy
(its owners' key fingerprints: a fetched registry has no history). Exit 1 on an ungoverned or
expired suppression.")]
pub struct Args {
    /// A scanner's results (Trivy, Grype or osv-scanner JSON, or SARIF); repeatable.
    #[arg(long = "scan", value_name = "FILE")]
    pub scans: Vec<PathBuf>,
    #[command(flatten)]
    pub registry: super::RegistryArgs,
    /// With --registry: the central registry's trust root (see `exc keys --format trust-root`).
    #[command(flatten)]
    pub trust: super::TrustArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: FindingsFormat,
}

pub fn run(ctx: &Context, args: Args) -> Result<Outcome> {
    let governed = args.registry.governed(ctx)?;
    let reg = &governed.registry;
    let loaded = ctx.load(reg)?;
    let root = governed.root.clone();
    let name = governed.name.as_deref();
    let prefix = if governed.central { String::new() } else { reg.repository_prefix() };
    let options = reg.scan_options(governed.central);
    let found = scan::suppressions(&root, &options)?;
    let mut findings = reconcile::judge(&found.sites, &loaded.records, ctx.as_of, name);
    if governed.central {
        // Say how to file what nobody approved, fields filled in from the suppression.
        let assets: Vec<String> = name.map(str::to_string).into_iter().collect();
        for f in findings.iter_mut().filter(|f| f.code == Code::ShadowSuppression) {
            let Some(site) =
                found.sites.iter().find(|s| s.file == f.path && Some(s.line) == f.position.map(|p| p.line))
            else {
                continue;
            };
            if !site.cited.is_empty() {
                continue;
            }
            let plan = reconcile::import(vec![site], None, &reg.policy, ctx.as_of, &[None], name);
            f.message = format!(
                "{} cites no exception of the registry ({}): nobody approved it and it never lapses. File one {}: `{}`, then cite its id here (`exc import --registry … --rewrite` does both for every one)",
                site.rule
                    .as_deref()
                    .map(|r| format!("{} suppression of {r}", site.tool))
                    .unwrap_or_else(|| format!("{} suppression", site.tool)),
                governed.source,
                if governed.fetched { "in a clone of it" } else { "there" },
                crate::output::request::new_command(&plan, &assets, (!governed.fetched).then_some(reg.root.as_path()))
            );
        }
    }
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
        // In an application repository, only the findings scoped to it are
        // its scans' business; the registry's own repository judges all that
        // apply there.
        let judged = |f: &crate::model::record::Covered| match (governed.central, f) {
            (true, crate::model::record::Covered::Scoped(s)) => s.repository.is_some() && f.applies_in(name),
            (true, crate::model::record::Covered::Id(_)) => false,
            (false, _) => f.applies_in(name),
        };
        about_registry.extend(reconcile::stale(&loaded.records, &reported, ctx.as_of, judged));
    }
    if !governed.central {
        about_registry.extend(crate::output::stale::findings(
            &reg.policy,
            &reg.root,
            &loaded.records,
            &loaded.findings,
            ctx.as_of,
            ctx.now(),
        )?);
    } else if let Some(pinned) = args.trust.root() {
        // A central registry whose policy is not the one pinned governs nothing trustworthy.
        about_registry.extend(reg.check_root(pinned, &reg.policy, None));
    }
    for mut f in about_registry {
        f.position = Some(f.position(&sources));
        f.path =
            if governed.central { format!("{}:{}", governed.source, f.path) } else { format!("{prefix}{}", f.path) };
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
        "exc reconcile: {}{} suppression(s) ({} in ignore files, {inline} inline) in {} file(s) read: {ungoverned} ungoverned, {expired} citing no active exception{}",
        if governed.central {
            format!("{} against the registry {}: ", name.unwrap_or("this repository"), governed.source)
        } else {
            String::new()
        },
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
    extra.insert("repository".into(), json!(name));
    extra.insert("registry".into(), json!(governed.source));
    extra.insert("central".into(), json!(governed.central));
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
