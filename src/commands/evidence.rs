//! `exc evidence`: one folder an auditor can take away: the register (CSV
//! and JSON), every decision with its commit and signature verdict, the
//! audit verdict, the KPIs (JSON and the dashboard), the OSCAL POA&M, the
//! policy as in force on the date, and a MANIFEST of SHA-256 sums with the
//! commit it was made from. Everything is made from that commit and the
//! date, so a second run (or the auditor's own) gives the same bytes.

use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, Utc};

use crate::context::{Context, Outcome};
use crate::error::{Error, Result};
use crate::git::{History, TrustChange};
use crate::model::measure;
use crate::model::record::Record;
use crate::model::time;
use crate::output::evidence::{self as pack, Origin};
use crate::output::export;
use crate::output::findings::{self, FindingsFormat};
use crate::output::{self, dashboard, oscal};
use crate::registry::{self, POLICY_FILE, RECORDS_DIR};

/// Write the evidence pack for an audit period.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  exc evidence --out evidence-2026-q2 --as-of 2026-07-01 --since 2026-04-01
  exc evidence --out pack                       as of today (00:00 UTC), the whole history
  cd pack && sha256sum -c MANIFEST              what an auditor runs first

The pack is made from the commit HEAD points at and the date alone: run twice, or by the
auditor on their own clone at that commit, it gives byte-identical files. A registry with
uncommitted changes is refused unless --allow-dirty (the pack then says so). An existing
folder may hold only an earlier pack's files; nothing is deleted.

Exit codes: 0 written and the history is clean, 1 written and the audit found problems
(see audit.json), 2 nothing written.")]
pub struct Args {
    /// The folder to write.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// The first day of the period under audit: decisions and flow KPIs (volume,
    /// approval time, SLA) from this day. Default: the whole history.
    #[arg(long, value_name = "DATE", value_parser = time::parse_date)]
    pub since: Option<NaiveDate>,
    /// Make the pack even though the registry differs from HEAD (the pack names the files).
    #[arg(long)]
    pub allow_dirty: bool,
    #[command(flatten)]
    pub trust: super::TrustArgs,
}

pub fn run(ctx: &Context, args: Args) -> Result<Outcome> {
    // Evidence is as of a date, 00:00 UTC (today's unless --as-of), never the clock.
    let ctx = &Context::new(ctx.dir.clone(), Some(ctx.as_of), false)?;
    let now = ctx.now();
    if let Some(since) = args.since.filter(|s| *s > ctx.as_of) {
        return Err(Error::Usage(format!("--since {since} is after the date of the pack ({})", ctx.as_of)));
    }
    let reg = ctx.registry()?;
    let out = crate::registry::normalize(&std::env::current_dir().map_err(|e| Error::io(".", e))?.join(&args.out));
    if out.starts_with(crate::registry::normalize(&reg.records_dir())) || out == crate::registry::normalize(&reg.root) {
        return Err(Error::Usage(format!(
            "--out {}: the pack goes beside the registry, not into it",
            output::escape::text(&args.out.display().to_string())
        )));
    }
    let signers = reg.policy.trust.allowed_signers.clone();
    let mut tracked = vec![RECORDS_DIR, POLICY_FILE];
    tracked.extend(signers.as_deref());
    let (commit, uncommitted) = crate::git::head_state(&reg.root, &tracked)?;
    if !uncommitted.is_empty() && !args.allow_dirty {
        return Err(Error::Refused(format!(
            "the registry differs from commit {} ({}): evidence is made from a commit; commit the changes, or pass --allow-dirty and the pack will say so",
            short(&commit),
            uncommitted.join(", ")
        )));
    }
    // The audit's start (a pinned root, or trust on first use) decides the history read.
    let start = reg.audit_start(args.trust.root())?;
    let (mut audited, history) = reg.audit_started(start)?;
    let loaded = ctx.load_with_text(&reg)?;
    if !loaded.findings.is_empty() {
        output::warn(&format!("{} problem(s) in the records; `exc validate` lists them", loaded.findings.len()));
    }
    let records: Vec<&Record> = loaded.records.iter().filter(|r| measure::exists(&r.exception, now)).collect();
    let policy = &reg.policy;
    let system = reg.system_name();
    let audit_line = audited.summary();
    // The policy as in force on the date.
    let (policy_commit, policy_files) = policy_as_of(&history, now, signers.as_deref())?;
    let origin = Origin {
        system: &system,
        commit: &commit,
        uncommitted: &uncommitted,
        as_of: ctx.as_of,
        since: args.since,
        policy_commit: policy_commit.as_deref(),
        audit: &audit_line,
    };
    let mut listed: Vec<String> = [
        "register.csv",
        "register.json",
        "decisions.csv",
        "decisions.json",
        "audit.json",
        "kpis.json",
        "kpis.html",
        "poam.json",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    listed.extend(policy_files.iter().map(|(name, _)| format!("policy/{name}")));
    let mut names = vec!["README.txt".to_string()];
    names.extend(listed.iter().cloned());
    names.push("MANIFEST".into());

    // Each file is written as soon as it is made, and let go: only its
    // digest waits for the MANIFEST.
    registry::write_folder(&args.out, &names, |put| {
        let mut digests: Vec<(String, String)> = Vec::new();
        // A file streamed into the pack, its digest taken on the way.
        let mut stream = |name: &str, write: registry::Fill| -> Result<()> {
            let mut digest = String::new();
            put(name, &mut |w| {
                let mut digesting = pack::Digesting::new(w);
                write(&mut digesting)?;
                digest = digesting.digest();
                Ok(())
            })?;
            digests.push((name.to_string(), digest));
            Ok(())
        };
        file(&mut stream, "README.txt", pack::readme(&origin, &listed).into_bytes())?;

        // The register.
        let rows: Vec<export::Row> = records.iter().map(|r| export::row(r, policy, ctx.as_of, None)).collect();
        file(&mut stream, "register.csv", export::register(&rows)?.into_bytes())?;
        drop(rows);
        let trails = super::trails(&history);
        let items = records.iter().map(|r| export::item(r, policy, ctx.as_of, Some(&trails)));
        stream("register.json", &mut |w| export::register_json_to(w, items.clone(), ctx.as_of))?;
        drop(trails);

        // Every decision in the period, with the commit that brought it.
        let commits = reg.decision_commits(&history)?;
        let commit_of = |r: &Record, entry| {
            registry::decision_key(&r.path, &r.exception, entry).and_then(|k| commits.get(&k).cloned())
        };
        let from = args.since.map(measure::instant);
        let decisions: Vec<export::DecisionRow> = export::decisions(&records, policy, Some(&commit_of))
            .into_iter()
            .filter(|d| from.is_none_or(|f| d.time >= f) && d.time <= now)
            .collect();
        file(&mut stream, "decisions.csv", export::decisions_csv(&decisions, true)?.into_bytes())?;
        file(&mut stream, "decisions.json", output::json(&decisions)?.into_bytes())?;
        drop(decisions);

        // The audit verdict over the whole history.
        let audit = super::audit_run(&reg, &mut audited, |run| findings::render(run, FindingsFormat::Json, false))?;
        file(&mut stream, "audit.json", audit.into_bytes())?;

        // The KPIs and the plan of action.
        // An earlier pack in the repository is not read as suppressions (`scan` skips it).
        let report = super::kpi_report(ctx, &reg, &loaded, args.since, Some(&history))?;
        file(&mut stream, "kpis.json", output::json(&report)?.into_bytes())?;
        file(&mut stream, "kpis.html", dashboard::render(&report).into_bytes())?;
        let exceptions: Vec<&crate::model::record::Exception> = records.iter().map(|r| &r.exception).collect();
        stream("poam.json", &mut |w| oscal::poam_to(w, &exceptions, policy, &system))?;
        for (name, text) in &policy_files {
            file(&mut stream, &format!("policy/{name}"), text.clone().into_bytes())?;
        }
        let manifest = pack::manifest(&origin, &digests);
        put("MANIFEST", &mut |w| w.write_all(manifest.as_bytes()).map_err(|e| Error::io("MANIFEST", e)))
    })?;
    eprintln!(
        "Wrote {}: {} files from commit {}, as of {}; {}",
        output::escape::text(&args.out.display().to_string()),
        names.len(),
        short(&commit),
        ctx.as_of,
        audit_line
    );
    Ok(Outcome::from_findings(&audited.findings))
}

/// Puts `bytes` into the pack as `name` through `stream`.
fn file(stream: &mut dyn FnMut(&str, registry::Fill) -> Result<()>, name: &str, bytes: Vec<u8>) -> Result<()> {
    stream(name, &mut |w| w.write_all(&bytes).map_err(|e| Error::io(name, e)))
}

/// The policy files as of `now`: from the last commit at or before it that
/// changed them (its id, and each file's name and text). None when no
/// policy had been committed by then (the built-in defaults applied).
fn policy_as_of(
    history: &History,
    now: DateTime<Utc>,
    signers: Option<&str>,
) -> Result<(Option<String>, Vec<PackFile>)> {
    let last = history
        .trust
        .iter()
        .filter(|(c, ev)| matches!(ev, TrustChange::Policy { .. }) && history.commits[*c].time <= now)
        .map(|(c, _)| *c)
        .next_back();
    let read = |path: &str| match last {
        Some(c) => history.file_at(c, path),
        None => history.file_at_start(path),
    };
    let mut out = Vec::new();
    for path in std::iter::once(POLICY_FILE).chain(signers) {
        if let Some(text) = read(path)? {
            let name = std::path::Path::new(path).file_name().map(|n| n.to_string_lossy().into_owned());
            out.push((name.unwrap_or_else(|| path.to_string()), text));
        }
    }
    Ok((last.map(|c| history.commits[c].id.clone()), out))
}

/// A file of the pack: its name and text.
type PackFile = (String, String);

fn short(commit: &str) -> &str {
    commit.get(..12).unwrap_or(commit)
}
