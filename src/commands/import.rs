//! `exc import`: brings the suppressions a repository already has under
//! governance. Every ignore-file entry and inline suppression that cites no
//! exception becomes a request (one each, or one per file and tool with
//! `--group`), keeping what it suppressed, its scope, reason and expiry, and
//! who last changed it (git blame). Importing twice files nothing new;
//! `--rewrite` cites each new id in the suppression it came from.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::context::{Context, Outcome};
use crate::error::{Error, Result};
use crate::model::reconcile::{self, Site};
use crate::model::request::{self, Draft};
use crate::output::{self, TextOrJson};
use crate::registry;
use crate::scan;

/// Turn the repository's ungoverned suppressions into exception requests.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  exc import --dry-run                                     what it would file
  exc import --risk-owner 'Dana Ops <dana@example.com>' --rewrite
  exc import --group --asset payments-api --risk-owner 'Dana Ops <dana@example.com>'

The requests are `requested`: they go through approval like any other. Once approved,
and cited in place (--rewrite does that), `exc reconcile` counts the suppressions as governed.")]
pub struct Args {
    /// Show what would be filed; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// One request per file and tool (with all its rules), not one per suppression.
    #[arg(long)]
    pub group: bool,
    /// Cite each new request's id in the suppression it came from.
    #[arg(long)]
    pub rewrite: bool,
    /// Who owns the risk of the imported requests.
    #[arg(long, value_name = "'NAME <EMAIL>'")]
    pub risk_owner: Option<String>,
    /// The asset they except (repeatable; default: the repository's name).
    #[arg(long = "asset", value_name = "NAME")]
    pub assets: Vec<String>,
    /// Their type (default: vulnerability-deferral for vulnerability ids, else other).
    #[arg(long = "type", value_name = "TYPE")]
    pub kind: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: TextOrJson,
}

/// One request filed (or that would be).
#[derive(Debug, Serialize)]
struct Filed {
    id: Option<String>,
    title: String,
    sites: Vec<String>,
    findings: Vec<String>,
    expires: Option<String>,
}

pub fn run(ctx: &Context, args: Args) -> Result<Outcome> {
    let reg = ctx.registry()?;
    let loaded = reg.load_all()?;
    let root = crate::git::workdir(&reg.root).unwrap_or_else(|| reg.root.clone());
    let options = super::scan_options(&reg);
    let found = scan::suppressions(&root, &options)?;
    // Not yet governed, and not imported before (the note names the site).
    let notes: Vec<&str> = loaded.records.iter().filter_map(|r| r.exception.notes.as_deref()).collect();
    let todo: Vec<&Site> = found
        .sites
        .iter()
        .filter(|s| s.cited.is_empty())
        .filter(|s| !notes.iter().any(|n| n.contains(&reconcile::import_key(s))))
        .collect();
    let mut groups: BTreeMap<(String, String, usize), Vec<&Site>> = BTreeMap::new();
    for (i, s) in todo.iter().enumerate() {
        let key =
            if args.group { (s.file.clone(), s.tool.clone(), 0) } else { (s.file.clone(), s.tool.clone(), i + 1) };
        groups.entry(key).or_default().push(s);
    }
    let risk_owner = match (&args.risk_owner, args.dry_run || groups.is_empty()) {
        (Some(o), _) => o.trim().to_string(),
        (None, true) => String::new(),
        (None, false) => return Err(Error::Usage("who owns the risk? pass --risk-owner 'Name <email>'".into())),
    };
    let assets = if args.assets.is_empty() {
        vec![root.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "repository".into())]
    } else {
        args.assets.clone()
    };
    let requester = if args.dry_run { String::new() } else { super::actor(&reg, None)? };
    let created = ctx.decision_time()?;
    let today = created.date_naive();
    let mut filed = Vec::new();
    let mut cites: BTreeMap<String, Vec<(&Site, String)>> = BTreeMap::new();
    for sites in groups.into_values() {
        let blame: Vec<_> = sites
            .iter()
            .map(|s| crate::git::blame_line(&root, &s.file, s.line as usize).map(|(who, at)| (who, at.date_naive())))
            .collect();
        let plan = reconcile::import(sites, args.kind.as_deref(), &reg.policy, today, &blame);
        let mut entry = Filed {
            id: None,
            title: plan.title.clone(),
            sites: plan.sites.iter().map(|s| format!("{}:{}", s.file, s.line)).collect(),
            findings: plan.findings.iter().map(ToString::to_string).collect(),
            expires: plan.expires.map(|d| d.to_string()),
        };
        if !args.dry_run {
            let draft = Draft {
                kind: plan.kind.clone(),
                title: plan.title.clone(),
                justification: plan.justification.clone(),
                risk_owner: risk_owner.clone(),
                expires: plan.expires,
                assets: assets.clone(),
                findings: plan.findings.clone(),
                notes: Some(plan.notes.clone()),
                ..Draft::default()
            };
            let id = super::new_id(&reg)?;
            let mut e =
                request::build(&reg.policy, draft, id.clone(), requester.clone(), created).map_err(Error::Usage)?;
            super::check_request(&reg, &e)?;
            super::sign_request(&reg, &mut e, None)?;
            reg.save(None, &e, None)?;
            entry.expires = Some(e.expires.to_string());
            entry.id = Some(id.clone());
            for s in &plan.sites {
                cites.entry(s.file.clone()).or_default().push((s, id.clone()));
            }
        }
        filed.push(entry);
    }
    if args.rewrite && !args.dry_run {
        for (file, edits) in &cites {
            let path = root.join(file);
            let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
            let edits: Vec<(&Site, &str)> = edits.iter().map(|(s, id)| (*s, id.as_str())).collect();
            registry::write_atomic(&path, scan::cite(&text, &edits).as_bytes(), false)?;
        }
    }
    match args.format {
        TextOrJson::Json => output::emit_json(&filed)?,
        TextOrJson::Text => {
            let mut text = String::new();
            for f in &filed {
                let id = f.id.as_deref().unwrap_or("(dry run)");
                text.push_str(&format!(
                    "{id}  {}  [{}]  from {}\n",
                    f.title,
                    f.findings.join(", "),
                    f.sites.join(", ")
                ));
            }
            let verb = if args.dry_run { "would file" } else { "filed" };
            text.push_str(&format!(
                "exc import: {verb} {} request(s) for {} ungoverned suppression(s){}\n",
                filed.len(),
                todo.len(),
                if args.rewrite && !args.dry_run { "; each suppression now cites its request" } else { "" }
            ));
            output::emit_text(&text)?;
        }
    }
    Ok(Outcome::Clean)
}
