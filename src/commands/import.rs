//! `exc import`: brings the suppressions a repository already has under
//! governance. Every ignore-file entry and inline suppression that cites no
//! exception becomes a request (one each, or one per file and tool with
//! `--group`), keeping what it suppressed, its scope, reason and expiry, and
//! who last changed it (git blame). Importing twice files nothing new;
//! `--rewrite` cites each new id in the suppression it came from.
//!
//! From an application repository, the requests go to the central registry
//! (`--registry`): written into its clone, on a new branch there
//! (`--branch`), or as a patch to apply there (`--patch`, which works for a
//! registry fetched by URL too); each finding is scoped to the repository.

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
  exc import --registry ../security-registry --branch import/web-shop --rewrite --risk-owner …
  exc import --registry https://git.example.com/sec/registry.git --patch web-shop.patch

The requests are `requested`: they go through approval like any other. Once approved,
and cited in place (--rewrite does that), `exc reconcile` counts the suppressions as governed.
From an application repository (--registry), each finding is scoped to this repository
(`repository:`); a patch is applied in the registry's clone with `git am FILE`.")]
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
    /// Commit the requests on this new branch of the registry's work tree (started at its HEAD).
    #[arg(long, value_name = "NAME", conflicts_with_all = ["patch", "dry_run"])]
    pub branch: Option<String>,
    /// Write the requests as a patch to this file, for `git am` in the registry's repository,
    /// instead of into the registry.
    #[arg(long, value_name = "FILE", conflicts_with = "dry_run")]
    pub patch: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub registry: super::RegistryArgs,
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
    let governed = args.registry.governed(ctx)?;
    let reg = &governed.registry;
    if governed.fetched && !args.dry_run && args.patch.is_none() {
        return Err(Error::Usage(format!(
            "{} was fetched into a cache, which is no place for new requests: write them as a patch (--patch FILE, then `git am FILE` in the registry's repository), or pass the path of a clone (with --branch NAME)",
            governed.source
        )));
    }
    let loaded = reg.load_all()?;
    let root = governed.root.clone();
    let central = governed.central.then_some(governed.name.as_deref().unwrap_or("repository"));
    let options = reg.scan_options(governed.central);
    let found = scan::suppressions(&root, &options)?;
    // Not yet governed, and not imported before (the note names the site).
    let notes: Vec<&str> = loaded.records.iter().filter_map(|r| r.exception.notes.as_deref()).collect();
    let todo: Vec<&Site> = found
        .sites
        .iter()
        .filter(|s| s.cited.is_empty())
        .filter(|s| !notes.iter().any(|n| n.contains(&reconcile::import_key(s, central))))
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
        vec![governed.name.clone().unwrap_or_else(|| "repository".into())]
    } else {
        args.assets.clone()
    };
    // The person importing: git's user where they run it (in an application
    // repository, that one's configuration).
    let requester = match (args.dry_run, governed.central) {
        (true, _) => String::new(),
        (false, false) => super::actor(reg, None)?,
        (false, true) => crate::git::identity(&root).map(Ok).unwrap_or_else(|| super::actor(reg, None))?,
    };
    let created = ctx.decision_time()?;
    let today = created.date_naive();
    if let (Some(branch), false) = (&args.branch, groups.is_empty()) {
        crate::git::start_branch(&reg.root, branch)?;
    }
    let mut filed = Vec::new();
    let mut cites: BTreeMap<String, Vec<(&Site, String)>> = BTreeMap::new();
    let mut written: Vec<(String, String)> = Vec::new();
    let mut taken: std::collections::HashSet<String> = std::collections::HashSet::new();
    for sites in groups.into_values() {
        let blame: Vec<_> = sites
            .iter()
            .map(|s| crate::git::blame_line(&root, &s.file, s.line as usize).map(|(who, at)| (who, at.date_naive())))
            .collect();
        let plan = reconcile::import(sites, args.kind.as_deref(), &reg.policy, today, &blame, central);
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
            // Ids chosen in this run are taken too: a patch writes nothing until applied.
            let id = loop {
                let id = reg.new_id()?;
                if taken.insert(id.clone()) {
                    break id;
                }
            };
            let mut e =
                request::build(&reg.policy, draft, id.clone(), requester.clone(), created).map_err(Error::Usage)?;
            super::check_request(reg, &e)?;
            super::sign_request(reg, &mut e, None)?;
            if args.patch.is_some() {
                let path = format!("{}{}/{id}.yaml", reg.repository_prefix(), registry::RECORDS_DIR);
                written.push((path, registry::render(&e)?));
            } else {
                reg.save(None, &e, None)?;
                written.push((format!("{}/{id}.yaml", registry::RECORDS_DIR), String::new()));
            }
            entry.expires = Some(e.expires.to_string());
            entry.id = Some(id.clone());
            for s in &plan.sites {
                cites.entry(s.file.clone()).or_default().push((s, id.clone()));
            }
        }
        filed.push(entry);
    }
    let ids: Vec<&str> = filed.iter().filter_map(|f| f.id.as_deref()).collect();
    let message = format!(
        "exc: import {} request(s){}\n\n{}Exc-Action: request\n",
        ids.len(),
        central.map(|r| format!(" from {r}")).unwrap_or_default(),
        ids.iter().map(|id| format!("Exc-Id: {id}\n")).collect::<String>()
    );
    let mut delivered = None;
    if let (Some(branch), false) = (&args.branch, written.is_empty()) {
        let files: Vec<std::path::PathBuf> = written.iter().map(|(p, _)| reg.root.join(p)).collect();
        let files: Vec<&std::path::Path> = files.iter().map(std::path::PathBuf::as_path).collect();
        let commit = crate::git::commit(&crate::git::plan_commit_all(&reg.root, &files)?, &message, None)?;
        delivered = Some(format!(
            "committed as {commit} on branch {branch} of {}: push it and open a pull request",
            reg.root.display()
        ));
    }
    if let (Some(file), false) = (&args.patch, written.is_empty()) {
        let patch = output::patch::render(&output::patch::Patch {
            author: &requester,
            date: created,
            message: &message,
            files: &written,
        });
        registry::write_atomic(file, patch.as_bytes(), false)?;
        delivered = Some(format!(
            "wrote {}: apply it in the registry's repository with `git am {}` and open a pull request",
            file.display(),
            file.display()
        ));
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
                "exc import: {verb} {} request(s) for {} ungoverned suppression(s){}{}{}\n",
                filed.len(),
                todo.len(),
                if governed.central { format!(" in the registry {}", governed.source) } else { String::new() },
                if args.rewrite && !args.dry_run { "; each suppression now cites its request" } else { "" },
                delivered.as_deref().map(|d| format!("; {d}")).unwrap_or_default()
            ));
            output::emit_text(&text)?;
        }
    }
    Ok(Outcome::Clean)
}
