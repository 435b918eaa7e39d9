//! `exc new`: the request form.
//!
//! On a terminal it asks at most seven questions (type, title, justification,
//! risk owner, assets, compensating controls, and the one extra field the type
//! requires), shows a YAML preview, and asks to submit. Expiry defaults to the
//! type's maximum; the preview offers to change it. With `--yes`, or when stdin
//! is not a terminal, it never prompts: every field comes from flags.

use std::io::IsTerminal;

use chrono::NaiveDate;
use dialoguer::theme::{ColorfulTheme, SimpleTheme, Theme};
use dialoguer::{Input, Select};
use serde::Serialize;

use crate::cli::{Context, Outcome};
use crate::error::{Error, Result};
use crate::git;
use crate::model::digest;
use crate::model::finding::Finding;
use crate::model::policy::{Policy, RequiredField};
use crate::model::record::{Approval, Decision, Exception, Record, Risk, Status, Urgency, email_of};
use crate::model::rules::{self, POLICY_APPROVER};
use crate::model::time;
use crate::output::{self, Format};
use crate::registry::Registry;
use crate::schema;
use crate::yaml;

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
    /// The accountable person, as 'Name <email>'.
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
    /// A CVE or scanner rule id (repeatable).
    #[arg(long = "finding", value_name = "ID")]
    pub findings: Vec<String>,
    /// Evidence: a repository path or URL (repeatable).
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
    pub urgency: UrgencyArg,
    /// Who is asking (default: git config user.name and user.email).
    #[arg(long, value_name = "'NAME <EMAIL>'")]
    pub requester: Option<String>,
    /// Use this id instead of a generated one.
    #[arg(long, value_name = "ID")]
    pub id: Option<String>,
    /// Don't prompt or ask to confirm: take every field from flags.
    #[arg(long, short = 'y')]
    pub yes: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum UrgencyArg {
    Standard,
    Urgent,
}

/// What `new` reports about the record it wrote.
#[derive(Debug, Serialize)]
pub struct Created {
    pub id: String,
    pub path: String,
    pub status: Status,
    pub risk: Risk,
    pub expires: NaiveDate,
    pub approvals_needed: Vec<Needed>,
}

/// One role that must approve, and who holds it.
#[derive(Debug, Serialize)]
pub struct Needed {
    pub role: String,
    pub people: Vec<String>,
}

pub fn run(ctx: &Context, args: Args) -> Result<Outcome> {
    let format = Format::pick(ctx.format, &[Format::Text, Format::Json])?;
    let reg = ctx.registry()?;
    let requester = match args.requester.clone().or_else(|| git::identity(&reg.root)) {
        Some(r) => r,
        None => {
            return Err(Error::Usage(
                "who is asking? set `git config user.name` and `git config user.email`, or pass --requester 'Name <email>'"
                    .into(),
            ));
        }
    };
    let interactive = !args.yes && std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let draft = if interactive { ask(ctx, &reg.policy, args)? } else { from_flags(ctx, &reg.policy, args)? };
    let mut e = build(ctx, &reg, draft, requester)?;
    check(&reg, &e)?;

    if interactive {
        loop {
            eprintln!("\n{}", preview(&e)?);
            let choice = Select::with_theme(&*theme())
                .with_prompt("Submit this exception?")
                .items(["Submit", "Change expiry", "Cancel"])
                .default(0)
                .interact()
                .map_err(prompt_error)?;
            match choice {
                0 => break,
                1 => {
                    let max = max_expiry(&reg.policy, &e.kind, e.created_date())?;
                    e.expires = ask_expiry(e.created_date(), max)?;
                    e = rebuild_approvals(&reg.policy, e);
                }
                _ => {
                    eprintln!("Cancelled; nothing written.");
                    return Ok(Outcome::Clean);
                }
            }
        }
    }

    let path = reg.write_record(&e, true)?;
    report(&reg, &e, &reg.display_path(&path), format)?;
    Ok(Outcome::Clean)
}

/// The form's answers before the tool fills in the rest.
struct Draft {
    kind: String,
    title: String,
    justification: String,
    risk_owner: String,
    compensating_controls: Vec<String>,
    expires: Option<NaiveDate>,
    assets: Vec<String>,
    controls: Vec<String>,
    findings: Vec<String>,
    attachments: Vec<String>,
    migration_plan: Option<String>,
    tickets: Vec<String>,
    notes: Option<String>,
    urgency: Urgency,
    id: Option<String>,
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

fn from_flags(ctx: &Context, policy: &Policy, args: Args) -> Result<Draft> {
    let mut missing = Vec::new();
    let kind = non_empty(args.kind.clone());
    if kind.is_none() {
        missing.push("--type");
    }
    for (flag, value) in
        [("--title", &args.title), ("--justification", &args.justification), ("--risk-owner", &args.risk_owner)]
    {
        if non_empty(value.clone()).is_none() {
            missing.push(flag);
        }
    }
    if args.assets.iter().all(|a| a.trim().is_empty()) {
        missing.push("--asset");
    }
    if let Some(rule) = kind.as_deref().and_then(|k| policy.types.get(k)) {
        for f in &rule.require {
            let given = match f {
                RequiredField::CompensatingControls => !args.compensating_controls.is_empty(),
                RequiredField::Controls => true,
                RequiredField::Findings => !args.findings.is_empty(),
                RequiredField::Attachments => !args.attachments.is_empty(),
                RequiredField::MigrationPlan => non_empty(args.migration_plan.clone()).is_some(),
                RequiredField::Tickets => !args.tickets.is_empty(),
            };
            if !given {
                missing.push(flag_for(*f));
            }
        }
    }
    if !missing.is_empty() {
        let why = if args.yes { "with --yes" } else { "stdin is not a terminal, so" };
        return Err(Error::Usage(format!("{why} every field comes from flags; missing: {}", missing.join(", "))));
    }
    if !args.yes {
        return Err(Error::Usage(
            "stdin is not a terminal, so there is nobody to confirm the preview; add --yes to file it".into(),
        ));
    }
    let kind = kind.unwrap_or_default();
    let created = ctx.now().date_naive();
    let expires =
        args.expires.as_deref().map(|s| time::parse_date_or_span(s, created).map_err(Error::Usage)).transpose()?;
    Ok(Draft {
        kind,
        title: args.title.unwrap_or_default().trim().to_string(),
        justification: args.justification.unwrap_or_default().trim().to_string(),
        risk_owner: args.risk_owner.unwrap_or_default().trim().to_string(),
        compensating_controls: clean(args.compensating_controls),
        expires,
        assets: clean(args.assets),
        controls: clean(args.controls),
        findings: clean(args.findings),
        attachments: clean(args.attachments),
        migration_plan: non_empty(args.migration_plan),
        tickets: clean(args.tickets),
        notes: non_empty(args.notes),
        urgency: match args.urgency {
            UrgencyArg::Standard => Urgency::Standard,
            UrgencyArg::Urgent => Urgency::Urgent,
        },
        id: args.id,
    })
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

fn clean(items: Vec<String>) -> Vec<String> {
    items.into_iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()
}

fn split_list(s: &str) -> Vec<String> {
    s.split(',').map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect()
}

fn theme() -> Box<dyn Theme> {
    if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        Box::new(SimpleTheme)
    } else {
        Box::new(ColorfulTheme::default())
    }
}

fn prompt_error(e: dialoguer::Error) -> Error {
    Error::Prompt(format!("the form was interrupted ({e}); nothing written"))
}

/// Asks for a line of text with validation as you type.
fn ask_line(
    prompt: &str,
    default: Option<String>,
    allow_empty: bool,
    check: fn(&str) -> Option<String>,
) -> Result<String> {
    let theme = theme();
    let mut input = Input::<String>::with_theme(&*theme).with_prompt(prompt).allow_empty(allow_empty);
    if let Some(d) = default {
        input = input.default(d);
    }
    input
        .validate_with(move |s: &String| match check(s.trim()) {
            Some(msg) => Err(msg),
            None => Ok(()),
        })
        .interact_text()
        .map(|s| s.trim().to_string())
        .map_err(prompt_error)
}

/// The form never asks more than this many questions.
const MAX_QUESTIONS: usize = 7;

/// [`ask_line`], counting the question.
fn ask_line_counted(
    asked: &mut usize,
    prompt: &str,
    default: Option<String>,
    allow_empty: bool,
    check: fn(&str) -> Option<String>,
) -> Result<String> {
    *asked += 1;
    ask_line(prompt, default, allow_empty, check)
}

fn one_line(s: &str) -> Option<String> {
    if s.is_empty() {
        Some("please write something".into())
    } else if s.chars().count() > 500 {
        Some("keep it to one line (at most 500 characters)".into())
    } else {
        None
    }
}

fn person(s: &str) -> Option<String> {
    let ok = s.contains('<') && s.ends_with('>') && email_of(s).contains('@') && !s.starts_with('<');
    if ok { None } else { Some("write it as: Name <email>".into()) }
}

fn at_least_one(s: &str) -> Option<String> {
    if split_list(s).is_empty() { Some("name at least one, separated by commas".into()) } else { None }
}

fn anything(_: &str) -> Option<String> {
    None
}

fn ask(ctx: &Context, policy: &Policy, args: Args) -> Result<Draft> {
    let theme = theme();
    eprintln!("New security exception (Ctrl-C cancels; nothing is written until you submit)");
    // At most seven questions: the form's six, then what the type requires, then
    // the evidence the risk tier requires if a question is left (else the next
    // step says to add it before approval).
    let mut asked = 0usize;
    let kind = match non_empty(args.kind.clone()) {
        Some(k) => k,
        None => {
            asked += 1;
            let items: Vec<String> = policy
                .types
                .iter()
                .map(|(id, t)| format!("{} ({id}, {} risk, up to {} days)", t.title, t.default_risk, t.max_days))
                .collect();
            let i = Select::with_theme(&*theme)
                .with_prompt("Type of exception")
                .items(&items)
                .default(0)
                .interact()
                .map_err(prompt_error)?;
            policy.types.get_index(i).map(|(k, _)| k.clone()).unwrap_or_default()
        }
    };
    let rule = policy.types.get(&kind).ok_or_else(|| {
        Error::Usage(format!(
            "unknown type `{kind}`; the types are {}",
            policy.types.keys().cloned().collect::<Vec<_>>().join(", ")
        ))
    })?;
    let title = match non_empty(args.title) {
        Some(t) => t,
        None => ask_line_counted(&mut asked, "Title (one line: what is excepted)", None, false, one_line)?,
    };
    let justification = match non_empty(args.justification) {
        Some(t) => t,
        None => ask_line_counted(&mut asked, "Justification (business need and impact)", None, false, one_line)?,
    };
    let risk_owner = match non_empty(args.risk_owner) {
        Some(t) => t,
        None => {
            ask_line_counted(&mut asked, "Risk owner (Name <email>, accountable for the risk)", None, false, person)?
        }
    };
    let assets = if args.assets.is_empty() {
        split_list(&ask_line_counted(&mut asked, "Assets affected (comma-separated)", None, false, at_least_one)?)
    } else {
        clean(args.assets)
    };
    let mut compensating_controls = if args.compensating_controls.is_empty() {
        split_list(&ask_line_counted(
            &mut asked,
            "Compensating controls (comma-separated; empty if none)",
            None,
            true,
            anything,
        )?)
    } else {
        clean(args.compensating_controls)
    };
    let mut findings = clean(args.findings);
    let mut migration_plan = non_empty(args.migration_plan);
    let mut attachments = clean(args.attachments);
    let mut tickets = clean(args.tickets);
    let mut controls = clean(args.controls);
    let tier = policy.required_fields(&kind, rule.default_risk.max(rule.min_risk.unwrap_or(rule.default_risk)));
    for f in tier.iter().filter(|f| rule.require.contains(f)).chain(tier.iter().filter(|f| !rule.require.contains(f))) {
        let by_type = rule.require.contains(f);
        if !by_type && asked >= MAX_QUESTIONS {
            break;
        }
        let a = &mut asked;
        match f {
            RequiredField::Findings if findings.is_empty() => {
                findings = split_list(&ask_line_counted(
                    a,
                    "Findings (CVE or scanner ids, comma-separated)",
                    None,
                    false,
                    at_least_one,
                )?);
            }
            RequiredField::MigrationPlan if migration_plan.is_none() => {
                migration_plan =
                    Some(ask_line_counted(a, "Migration plan (how and when this goes away)", None, false, one_line)?);
            }
            RequiredField::Attachments if attachments.is_empty() => {
                let prompt = if by_type {
                    "Evidence (paths or URLs, comma-separated)"
                } else {
                    "Evidence for the approvers (paths or URLs, comma-separated)"
                };
                attachments = split_list(&ask_line_counted(a, prompt, None, false, at_least_one)?);
            }
            RequiredField::Tickets if tickets.is_empty() => {
                tickets = split_list(&ask_line_counted(a, "Tickets (comma-separated)", None, false, at_least_one)?);
            }
            RequiredField::Controls if controls.is_empty() => {
                controls = split_list(&ask_line_counted(
                    a,
                    "Controls deviated from (e.g. CIS:6.5)",
                    None,
                    false,
                    at_least_one,
                )?);
            }
            RequiredField::CompensatingControls if compensating_controls.is_empty() && by_type => {
                compensating_controls = split_list(&ask_line_counted(
                    a,
                    "Compensating controls (this type needs at least one)",
                    None,
                    false,
                    at_least_one,
                )?);
            }
            _ => {}
        }
    }
    let created = ctx.now().date_naive();
    let expires =
        args.expires.as_deref().map(|s| time::parse_date_or_span(s, created).map_err(Error::Usage)).transpose()?;
    Ok(Draft {
        kind,
        title,
        justification,
        risk_owner,
        compensating_controls,
        expires,
        assets,
        controls,
        findings,
        attachments,
        migration_plan,
        tickets,
        notes: non_empty(args.notes),
        urgency: match args.urgency {
            UrgencyArg::Standard => Urgency::Standard,
            UrgencyArg::Urgent => Urgency::Urgent,
        },
        id: args.id,
    })
}

fn ask_expiry(created: NaiveDate, max: NaiveDate) -> Result<NaiveDate> {
    let theme = theme();
    let answer = Input::<String>::with_theme(&*theme)
        .with_prompt(format!("Expires (YYYY-MM-DD or e.g. 30d; at most {max})"))
        .default(max.to_string())
        .validate_with(move |s: &String| match time::parse_date_or_span(s, created) {
            Ok(d) if d > max => Err(format!("the type allows at most {max}")),
            Ok(d) if d <= created => Err(format!("must be after {created}")),
            Ok(_) => Ok(()),
            Err(m) => Err(m),
        })
        .interact_text()
        .map_err(prompt_error)?;
    time::parse_date_or_span(&answer, created).map_err(Error::Usage)
}

fn max_expiry(policy: &Policy, kind: &str, created: NaiveDate) -> Result<NaiveDate> {
    let rule = policy.types.get(kind).ok_or_else(|| {
        Error::Usage(format!(
            "unknown type `{kind}`; the types are {}",
            policy.types.keys().cloned().collect::<Vec<_>>().join(", ")
        ))
    })?;
    Ok(time::add_days(created, rule.max_days.into()))
}

/// Fills in what the tool owns: id, status, requester, created, default
/// controls and expiry, and the automatic approval of low-risk requests.
fn build(ctx: &Context, reg: &Registry, d: Draft, requester: String) -> Result<Exception> {
    let created = ctx.now();
    let max = max_expiry(&reg.policy, &d.kind, created.date_naive())?;
    let controls = if d.controls.is_empty() {
        reg.policy.types.get(&d.kind).map(|t| t.controls.clone()).unwrap_or_default()
    } else {
        d.controls
    };
    let id = match d.id {
        Some(id) => id.trim().to_uppercase(),
        None => new_id(reg)?,
    };
    let e = Exception {
        id,
        title: d.title,
        kind: d.kind,
        status: Status::Requested,
        requester,
        risk_owner: d.risk_owner,
        created,
        urgency: d.urgency,
        expires: d.expires.unwrap_or(max),
        justification: d.justification,
        assets: d.assets,
        compensating_controls: d.compensating_controls,
        controls,
        findings: d.findings,
        attachments: d.attachments,
        migration_plan: d.migration_plan,
        tickets: d.tickets,
        notes: d.notes,
        risk: None,
        approvals: Vec::new(),
        reviews: Vec::new(),
        closed: None,
    };
    Ok(rebuild_approvals(&reg.policy, e))
}

/// A low-risk request is approved on submit, by the policy itself.
fn rebuild_approvals(policy: &Policy, mut e: Exception) -> Exception {
    e.approvals.clear();
    e.status = Status::Requested;
    e.risk = None;
    if policy.effective_risk(&e) == Risk::Low && policy.required_roles(Risk::Low).is_empty() {
        e.risk = Some(Risk::Low);
        e.status = Status::Approved;
        let digest = digest::digest(&e);
        e.approvals.push(Approval {
            by: POLICY_APPROVER.into(),
            role: POLICY_APPROVER.into(),
            at: e.created,
            decision: Decision::Approved,
            note: Some("low risk: approved on submit by policy".into()),
            digest,
        });
    }
    e
}

/// Runs the record through the same schema and rules as `validate`, so a bad
/// flag gets the same message a bad file would.
fn check(reg: &Registry, e: &Exception) -> Result<()> {
    let text = yaml::to_string(e).map_err(Error::Usage)?;
    let value = yaml::parse_value(&text).map_err(|err| Error::Usage(err.message))?;
    let mut problems: Vec<String> =
        schema::issues(schema::record(), schema::RECORD_SCHEMA, &value).into_iter().map(|i| i.message).collect();
    if problems.is_empty() {
        let record = Record::new(String::new(), e.id.clone(), e.clone(), text.into());
        problems.extend(rules::check_record(&record, &reg.policy).into_iter().map(|f: Finding| f.message));
    }
    if reg
        .record_files()?
        .iter()
        .any(|p| p.file_stem().is_some_and(|s| s.to_string_lossy().eq_ignore_ascii_case(&e.id)))
    {
        problems.push(format!("id `{}` is already taken", e.id));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::Usage(format!("the request is not valid; nothing written:\n{}", problems.join("\n"))))
    }
}

/// Crockford base32 without I, L, O, U: easy to say and to type.
const ID_ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A random id such as `EXC-7K3Q`: about a million choices, so two branches
/// filing at once almost never collide, and `validate` names both files if they do.
fn new_id(reg: &Registry) -> Result<String> {
    let taken: Vec<String> =
        reg.record_files()?.iter().filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().to_uppercase())).collect();
    for _ in 0..64 {
        let mut bytes = [0u8; 4];
        getrandom::fill(&mut bytes).map_err(|e| Error::Usage(format!("no randomness for an id: {e}")))?;
        let code: String = bytes.iter().map(|b| ID_ALPHABET[(*b as usize) % 32] as char).collect();
        let id = format!("EXC-{code}");
        if !taken.contains(&id) {
            return Ok(id);
        }
    }
    Err(Error::Usage("could not find a free id; pass --id".into()))
}

fn preview(e: &Exception) -> Result<String> {
    let body = yaml::to_string(e).map_err(Error::Usage)?;
    Ok(format!("── exceptions/{}.yaml ──\n{}", e.id, output::terminal_safe(&body)))
}

fn needed(policy: &Policy, e: &Exception) -> Vec<Needed> {
    rules::missing_roles(e, policy)
        .into_iter()
        .map(|role| {
            let people = if role == crate::model::policy::RISK_OWNER {
                vec![e.risk_owner.clone()]
            } else {
                policy.roles.get(&role).cloned().unwrap_or_default()
            };
            Needed { role, people }
        })
        .collect()
}

fn report(reg: &Registry, e: &Exception, path: &str, format: Format) -> Result<()> {
    let risk = reg.policy.effective_risk(e);
    let approvals_needed = needed(&reg.policy, e);
    if format == Format::Json {
        return output::emit(&output::json(&Created {
            id: e.id.clone(),
            path: path.to_string(),
            status: e.status,
            risk,
            expires: e.expires,
            approvals_needed,
        })?);
    }
    let mut o = format!("Created {path} ({}, expires {})\n", e.id, e.expires);
    if e.status == Status::Approved {
        o.push_str("Low risk: approved on submit by policy.\n");
    } else {
        o.push_str(&format!("Needs approval ({risk} risk):\n"));
        for n in &approvals_needed {
            let who = if n.people.is_empty() {
                "nobody holds this role yet: add people to exc.yaml".to_string()
            } else {
                n.people.join(", ")
            };
            o.push_str(&format!("  - {}: {}\n", n.role, output::terminal_safe(&who)));
        }
        let missing: Vec<&str> = reg
            .policy
            .required_fields(&e.kind, risk)
            .into_iter()
            .filter(|f| !f.is_present(e))
            .map(|f| f.as_str())
            .collect();
        if !missing.is_empty() {
            o.push_str(&format!("Before approval, add: {}\n", missing.join(", ")));
        }
    }
    o.push_str(&format!(
        "Next: open a pull request with the new file:\n  git switch -c exc/{id} && git add {path} && git commit -m 'exc: request {id}' && git push -u origin HEAD\n",
        id = e.id
    ));
    output::emit(&o)
}
