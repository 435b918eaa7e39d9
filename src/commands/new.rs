//! `exc new`: the request form.
//!
//! On a terminal it asks at most seven questions (`crate::prompt::form`),
//! shows a YAML preview, and asks to submit; from the preview any answer can
//! be changed. Expiry defaults to the type's maximum. With `--yes`, or when
//! stdin is not a terminal, it never prompts: every field comes from flags.
//! `--commit` (or `git: { commit: true }`) commits the new record alone.

use std::path::Path;

use chrono::{DateTime, Utc};

use crate::context::{Context, Outcome};
use crate::error::{Error, Result};
use crate::model::finding::Nowhere;
use crate::model::policy::{Policy, RequiredField};
use crate::model::record::{Covered, Exception, Risk, Urgency};
use crate::model::request::{self, Draft};
use crate::model::time;
use crate::output::changed::{self, Created};
use crate::output::{self, TextOrJson, escape};
use crate::prompt::{self, Choice};
use crate::registry;

/// File a new exception.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  exc new                                   the interactive form
  exc new --yes --type vendor-access --title 'Acme support VPN' \\
      --justification 'Vendor must patch the SAN; no IAM account yet' \\
      --risk-owner 'Dana Ops <dana@example.com>' --asset san-01 \\
      --compensating-control 'Session recorded' --expires 14d

--expires takes a date (2027-03-01) or a span from today (90d, 12w, 3m); it defaults to
the longest the type allows. Without a terminal, pass every field and --yes.")]
pub struct Args {
    /// Exception type (see `types` in exc.yaml).
    #[arg(long = "type", value_name = "TYPE")]
    pub kind: Option<String>,
    /// One line saying what is excepted.
    #[arg(long)]
    pub title: Option<String>,
    /// Business need and impact.
    #[arg(long)]
    pub justification: Option<String>,
    /// The accountable person, as 'Name <email>' (not yourself).
    #[arg(long, value_name = "'NAME <EMAIL>'")]
    pub risk_owner: Option<String>,
    /// A compensating control (repeatable).
    #[arg(long = "compensating-control", value_name = "TEXT")]
    pub compensating_controls: Vec<String>,
    /// Last day of the exception: a date, or a span from today like 90d.
    #[arg(long, value_name = "DATE|SPAN")]
    pub expires: Option<String>,
    /// An affected asset (repeatable; at least one).
    #[arg(long = "asset", value_name = "ASSET")]
    pub assets: Vec<String>,
    /// A baseline control deviated from, as FRAMEWORK:ID (repeatable; default: the type's).
    #[arg(long = "control", value_name = "FRAMEWORK:ID")]
    pub controls: Vec<String>,
    /// A CVE or scanner rule id, optionally scoped: 'CVE-… purl=pkg:npm/x@1 path=app/**'
    /// (keys: purl, package, version, path, repository; repeatable).
    #[arg(long = "finding", value_name = "ID [KEY=VALUE…]", value_parser = parse_finding)]
    pub findings: Vec<Covered>,
    /// Evidence: a repository path or an https URL (repeatable).
    #[arg(long = "attachment", value_name = "PATH|URL")]
    pub attachments: Vec<String>,
    /// How and when the exception goes away.
    #[arg(long, value_name = "TEXT")]
    pub migration_plan: Option<String>,
    /// An ITSM key or URL (repeatable).
    #[arg(long = "ticket", value_name = "KEY")]
    pub tickets: Vec<String>,
    /// Free text for reviewers.
    #[arg(long)]
    pub notes: Option<String>,
    /// standard (decision in 5 days) or urgent (24 hours).
    #[arg(long, value_enum, default_value = "standard")]
    pub urgency: Urgency,
    /// Propose a higher risk tier than the type's default (never a lower one):
    /// routing starts there; the approvers decide.
    #[arg(long, value_enum, value_name = "TIER")]
    pub risk: Option<Risk>,
    /// Who is asking (default: git config user.name and user.email).
    #[arg(long, value_name = "'NAME <EMAIL>'")]
    pub requester: Option<String>,
    /// Use this id instead of a generated one.
    #[arg(long, value_name = "ID")]
    pub id: Option<String>,
    /// Don't prompt or ask to confirm: take every field from flags.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Commit the new record (also on with `git: { commit: true }`).
    #[arg(long)]
    pub commit: bool,
    /// Sign the request with this SSH key (default: git's user.signingkey with gpg.format ssh).
    #[arg(long, value_name = "FILE")]
    pub key: Option<std::path::PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: TextOrJson,
}

pub fn run(ctx: &Context, args: Args) -> Result<Outcome> {
    if let Some(note) = ctx.acts_now()? {
        output::warn(&note);
    }
    let reg = ctx.registry()?;
    let requester = crate::commands::requester(&reg, args.requester.as_deref())?;
    let interactive = !args.yes && prompt::interactive();
    let created = ctx.decision_time()?;
    let commit = crate::commands::commit_options(args.commit || reg.policy.git.commit, ctx)?;
    let (yes, id, format, key) = (args.yes, args.id.clone(), args.format, args.key.clone());
    let draft = draft(args, created.date_naive())?;
    let id = match id {
        Some(id) => id.trim().to_uppercase(),
        None => reg.new_id()?,
    };
    let mut e = if interactive {
        if commit.is_some() {
            reg.check_commit(&id)?;
        }
        let draft = prompt::form(&reg.policy, draft, created.date_naive())?;
        match preview(&reg, draft, &id, &requester, created)? {
            Some(e) => e,
            None => {
                eprintln!("Cancelled; nothing written.");
                return Ok(Outcome::Clean);
            }
        }
    } else {
        let draft = complete(&reg.policy, draft, yes)?;
        let e = request::build(&reg.policy, draft, id, requester, created).map_err(Error::Usage)?;
        super::check_request(&reg, &e)?;
        e
    };

    super::sign_request(&reg, &mut e, key.as_deref())?;
    let message = commit.map(|c| (crate::git::message("request", &e.id, None), c.date));
    let saved = reg.save(None, &e, message.as_ref().map(|(m, d)| (m.as_str(), *d)))?;
    let report = Created {
        id: e.id.clone(),
        path: saved.shown,
        status: e.status,
        risk: crate::model::routing::tier(&e, &reg.policy),
        expires: e.expires,
        approvals_needed: request::needed(&reg.policy, &e),
        missing: request::missing_fields(&reg.policy, &e),
        uncommitted_evidence: uncommitted_evidence(&reg, &e),
        commit: saved.commit,
    };
    match format {
        TextOrJson::Json => output::emit_json(&report)?,
        TextOrJson::Text => output::emit_text(&changed::created_text(&report))?,
    }
    Ok(Outcome::Clean)
}

/// Shows the request as it would be written until it is submitted (`Some`)
/// or cancelled (`None`). Any answer can be changed; a request that breaks
/// the rules shows why, and can be changed or cancelled but not submitted.
fn preview(
    reg: &registry::Registry,
    mut draft: Draft,
    id: &str,
    requester: &str,
    created: DateTime<Utc>,
) -> Result<Option<Exception>> {
    loop {
        let e = request::build(&reg.policy, draft.clone(), id.to_string(), requester.to_string(), created)
            .map_err(Error::Usage)?;
        let problems = match super::check_request(reg, &e) {
            Ok(()) => None,
            Err(Error::Invalid { findings, .. }) => {
                let lines: Vec<String> = findings.iter().map(|f| output::finding_line(f, &Nowhere, false)).collect();
                Some(escape::guard(&lines.join("\n")).into_owned())
            }
            Err(other) => return Err(other),
        };
        let mut shown = format!("── exceptions/{}.yaml ──\n{}", e.id, escape::block(&registry::render(&e)?));
        let missing = request::missing_fields(&reg.policy, &e);
        if problems.is_none() && !missing.is_empty() {
            shown.push_str(&format!(
                "\nBefore it can be approved it needs: {}. Choose \"Change an answer\" to add it now.\n",
                missing.join(", ")
            ));
        }
        match prompt::submit(&shown, problems.as_deref())? {
            Choice::Submit => return Ok(Some(e)),
            Choice::Change => draft = prompt::change(&reg.policy, draft, created.date_naive())?,
            Choice::Cancel => return Ok(None),
        }
    }
}

/// The repository files `e` cites as evidence that git does not hold as
/// they are (all of them outside git, or before the first commit).
fn uncommitted_evidence(reg: &registry::Registry, e: &Exception) -> Vec<String> {
    let files: Vec<&str> = e.attachments.iter().map(String::as_str).filter(|a| !a.contains("://")).collect();
    if files.is_empty() {
        return Vec::new();
    }
    match crate::git::head_state(&reg.root, &files) {
        Ok((_, changed)) => {
            let same = |a: &str, b: &str| registry::normalize(Path::new(a)) == registry::normalize(Path::new(b));
            files.into_iter().filter(|f| changed.iter().any(|c| same(c, f))).map(str::to_string).collect()
        }
        Err(_) => files.into_iter().map(str::to_string).collect(),
    }
}

/// The flags as a draft: trimmed, empty answers dropped.
fn draft(args: Args, today: chrono::NaiveDate) -> Result<Draft> {
    let text = |s: Option<String>| s.map(|s| s.trim().to_string()).unwrap_or_default();
    let list = |v: Vec<String>| v.into_iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
    let expires =
        args.expires.as_deref().map(|s| time::parse_date_or_span(s, today).map_err(Error::Usage)).transpose()?;
    Ok(Draft {
        kind: text(args.kind),
        title: text(args.title),
        justification: text(args.justification),
        risk_owner: text(args.risk_owner),
        compensating_controls: list(args.compensating_controls),
        expires,
        assets: list(args.assets),
        controls: list(args.controls),
        findings: args.findings,
        attachments: list(args.attachments),
        migration_plan: args.migration_plan.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()),
        tickets: list(args.tickets),
        notes: args.notes.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()),
        urgency: args.urgency,
        risk: args.risk,
    })
}

/// Without a terminal, every field must come from flags, and `--yes` confirms.
fn complete(policy: &Policy, d: Draft, yes: bool) -> Result<Draft> {
    let mut missing = Vec::new();
    for (flag, empty) in [
        ("--type", d.kind.is_empty()),
        ("--title", d.title.is_empty()),
        ("--justification", d.justification.is_empty()),
        ("--risk-owner", d.risk_owner.is_empty()),
        ("--asset", d.assets.is_empty()),
    ] {
        if empty {
            missing.push(flag);
        }
    }
    if let Some(rule) = policy.types.get(&d.kind) {
        missing.extend(rule.require.iter().filter(|f| !d.has(**f)).map(|f| flag_for(*f)));
    }
    if !missing.is_empty() {
        let why = if yes { "with --yes" } else { "stdin is not a terminal, so" };
        return Err(Error::Usage(format!("{why} every field comes from flags; missing: {}", missing.join(", "))));
    }
    if !yes {
        return Err(Error::Usage(
            "stdin is not a terminal, so there is nobody to confirm the preview; add --yes to file it".into(),
        ));
    }
    Ok(d)
}

fn flag_for(f: RequiredField) -> &'static str {
    match f {
        RequiredField::CompensatingControls => "--compensating-control",
        RequiredField::Controls => "--control",
        RequiredField::Findings => "--finding",
        RequiredField::Attachments => "--attachment",
        RequiredField::MigrationPlan => "--migration-plan",
        RequiredField::Tickets => "--ticket",
    }
}

/// `--finding 'CVE-… purl=… path=…'`.
fn parse_finding(text: &str) -> std::result::Result<Covered, String> {
    text.parse()
}
