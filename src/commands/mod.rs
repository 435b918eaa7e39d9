//! One file per subcommand; each owns its arguments, its output formats and
//! its `run`, which parses, calls the library, and hands the result to
//! `crate::output`. The options every changing command shares live here.

pub mod approve;
pub mod audit;
pub mod check;
pub mod completions;
pub mod diff;
pub mod evidence;
pub mod expire;
pub mod explain;
pub mod export;
pub mod history;
pub mod import;
pub mod init;
pub mod keys;
pub mod list;
pub mod man;
pub mod new;
pub mod notify;
pub mod policy;
pub mod recertify;
pub mod reconcile;
pub mod reject;
pub mod remind;
pub mod report;
pub mod retire;
pub mod revoke;
pub mod schema;
pub mod show;
pub mod sign;
pub mod suppress;
pub mod validate;

use std::collections::HashMap;

use crate::context::{Context, Outcome};
use crate::error::{Error, Result};
use crate::model::identity::{is_person, same_person};
use crate::model::lifecycle::{Act, Action};
use crate::output::changed::{self, Changed};
use crate::output::{self, TextOrJson};
use crate::registry::{CommitOptions, Registry};
use crate::sign::Signer;

/// Options every command that changes a record takes.
#[derive(Debug, Clone, clap::Args)]
pub struct ChangeArgs {
    /// Commit the changed record (only that file) with `Exc-Id`/`Exc-Action`
    /// trailers, through git (hooks and commit signing apply). Also on when
    /// exc.yaml sets `git: { commit: true }`.
    #[arg(long)]
    pub commit: bool,
    /// Say who you are ('Name <email>'); refused unless it is git's user.name/user.email.
    #[arg(long, value_name = "'NAME <EMAIL>'")]
    pub by: Option<String>,
    /// Sign with this SSH key (default: git's user.signingkey with gpg.format ssh).
    #[arg(long, value_name = "FILE")]
    pub key: Option<std::path::PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: TextOrJson,
}

/// The root of trust pinned outside the repository, for the commands that
/// judge trust (`check`, `audit`, `evidence`, `diff`).
#[derive(Debug, Clone, clap::Args)]
pub struct TrustArgs {
    /// The trust root pinned outside the repository: the policy owners' key
    /// fingerprints (SHA256:…, comma-separated) or a trusted policy's digest
    /// (sha256:…); `exc keys --format trust-root` prints both. Without it, the
    /// first policy (or the one at trust.audit_from) is trusted on first use.
    #[arg(long, env = "EXC_TRUST_ROOT", value_name = "ROOT", value_parser = parse_root)]
    pub trust_root: Option<Pin>,
}

/// A `--trust-root` value: empty (an unset CI input or variable) pins nothing.
#[derive(Debug, Clone)]
pub struct Pin(Option<crate::model::trust_root::TrustRoot>);

fn parse_root(s: &str) -> std::result::Result<Pin, String> {
    if s.trim().is_empty() {
        return Ok(Pin(None));
    }
    s.parse().map(|r| Pin(Some(r)))
}

impl TrustArgs {
    /// The pinned root, if any.
    pub fn root(&self) -> Option<&crate::model::trust_root::TrustRoot> {
        self.trust_root.as_ref().and_then(|p| p.0.as_ref())
    }
}

impl ChangeArgs {
    /// How to commit, if at all: `--commit`, or the policy's `git.commit`.
    pub fn commit(&self, ctx: &Context, reg: &Registry) -> Result<Option<CommitOptions>> {
        commit_options(self.commit || reg.policy.git.commit, ctx)
    }
}

/// How to commit, when asked to: dated now, or at `EXC_TEST_CLOCK` when set.
pub fn commit_options(commit: bool, ctx: &Context) -> Result<Option<CommitOptions>> {
    if !commit {
        return Ok(None);
    }
    let pinned = std::env::var_os("EXC_TEST_CLOCK").is_some_and(|v| !v.is_empty());
    Ok(Some(CommitOptions { date: if pinned { Some(ctx.decision_time()?) } else { None } }))
}

/// Signs with the person's key, found the first time a signature is needed.
pub fn signer(reg: &Registry, key: Option<&std::path::Path>) -> impl Fn(&[u8]) -> Result<String> {
    let root = reg.root.clone();
    let key = key.map(std::path::Path::to_path_buf);
    let found = std::cell::OnceCell::new();
    move |bytes: &[u8]| {
        let s: &Signer = match found.get() {
            Some(s) => s,
            None => {
                let s = Signer::find(&root, key.as_deref())?;
                found.get_or_init(|| s)
            }
        };
        s.sign(bytes)
    }
}

/// The acting person: git's configured identity. `--by` may only confirm it.
pub fn actor(reg: &Registry, by: Option<&str>) -> Result<String> {
    person(reg, by, "--by", "a decision is recorded as made by whoever makes it")
}

/// The person filing a request: git's configured identity. `--requester`
/// may only confirm it.
pub fn requester(reg: &Registry, given: Option<&str>) -> Result<String> {
    person(reg, given, "--requester", "a request is recorded as filed by whoever files it")
}

/// Git's configured identity, which `flag` may only confirm (`why` says why).
fn person(reg: &Registry, by: Option<&str>, flag: &str, why: &str) -> Result<String> {
    if let Some(by) = by
        && !is_person(by)
    {
        return Err(Error::Usage(format!("{flag} {by:?}: write it as 'Name <email>'")));
    }
    match (crate::git::identity(&reg.root), by) {
        (Some(me), Some(by)) if !same_person(&me, by) => {
            Err(Error::Refused(format!("{flag} {by} is not you: git says you are {me}; {why}")))
        }
        (Some(me), _) => Ok(me),
        (None, Some(by)) => Ok(by.trim().to_string()),
        (None, None) => {
            Err(Error::Usage("who is acting? set `git config user.name` and `git config user.email`".into()))
        }
    }
}

/// The skeleton of every lifecycle command: find the record, apply the
/// action as the actor, save (and commit) it, and say what happened.
pub fn transition(ctx: &Context, args: &ChangeArgs, id: &str, action: Action) -> Result<Outcome> {
    if let Some(note) = ctx.acts_now()? {
        output::warn(&note);
    }
    let reg = ctx.registry()?;
    let (record, _) = reg.find(id)?;
    let actor = actor(&reg, args.by.as_deref())?;
    let act = Act { actor: &actor, at: ctx.decision_time()? };
    let sign = signer(&reg, args.key.as_deref());
    let commit = args.commit(ctx, &reg)?;
    let (t, saved) = reg.transition(&record, &act, action, &sign, commit.as_ref())?;
    let report = Changed {
        id: t.after.id.clone(),
        action: t.action.to_string(),
        status: t.after.status,
        path: saved.shown,
        awaiting: t.awaiting.clone(),
        commit: saved.commit,
    };
    match args.format {
        TextOrJson::Json => output::emit_json(&report)?,
        TextOrJson::Text => output::emit_text(&changed::changed_text(&report, &changed::summary(&t, &reg.policy)))?,
    }
    Ok(Outcome::Clean)
}

/// The records whose findings scanners may hide as of the context's date.
/// A record that would but has problems is named with them on standard
/// error; then, unless `skip_invalid`, nothing is chosen (the caller exits 1).
pub fn suppressing<'a>(
    ctx: &Context,
    reg: &Registry,
    loaded: &'a crate::registry::Loaded,
    skip_invalid: bool,
) -> Option<Vec<&'a crate::model::record::Exception>> {
    let chosen = crate::model::suppression::eligible(&loaded.records, &loaded.findings, ctx.as_of, ctx.now());
    if !chosen.flawed.is_empty() {
        let ids: Vec<&str> = chosen.flawed.iter().map(|r| r.exception.id.as_str()).collect();
        let sources = reg.sources(&loaded.records);
        for f in loaded.findings.iter().filter(|f| chosen.flawed.iter().any(|r| r.path == f.path)) {
            eprintln!("{}", output::escape::guard(&output::finding_line(f, &sources, false)));
        }
        if !skip_invalid {
            eprintln!(
                "exc: {} record(s) that would suppress findings have problems ({}); nothing was exported. Fix them, or pass --skip-invalid to leave them out.",
                ids.len(),
                ids.join(", ")
            );
            return None;
        }
        output::warn(&format!("left out {} record(s) with problems: {}", ids.len(), ids.join(", ")));
    }
    Some(chosen.clean)
}

/// The request goes through the same schema and rules as `validate`, so a bad
/// flag gets the same finding a bad file would (see [`Registry::check_request`]);
/// what only deserves a warning is shown.
pub fn check_request(reg: &Registry, e: &crate::model::record::Exception) -> Result<()> {
    for w in reg.check_request(e)? {
        output::warn(&w.message);
    }
    Ok(())
}

/// Signs the request with the requester's key where signatures are
/// required: always where the policy lists keys (the request is then the
/// requester's own, signed word), else when a key is at hand.
pub fn sign_request(
    reg: &Registry,
    e: &mut crate::model::record::Exception,
    key: Option<&std::path::Path>,
) -> Result<()> {
    let policy = &reg.policy;
    if !policy.signatures_required() {
        return Ok(());
    }
    let required = crate::model::routing::requests_signed(policy);
    let signer = match crate::sign::Signer::find(&reg.root, key) {
        Ok(s) => s,
        Err(Error::Sign(why)) if required => {
            return Err(Error::Sign(format!(
                "{why}. Where decisions are signed, requests are signed by their requester too; nothing was written"
            )));
        }
        Err(e) if required => return Err(e),
        Err(_) => return Ok(()),
    };
    e.signature = Some(signer.sign(&crate::model::statement::request_statement(e, policy.trust.registry.as_deref()))?);
    match crate::model::routing::request_signed(e, policy) {
        crate::model::signature::Verdict::Valid => Ok(()),
        _ if !required => {
            e.signature = None;
            output::warn("the request is not signed: your key is not one the policy lists for you");
            Ok(())
        }
        v => Err(Error::Refused(format!(
            "the request is {}; requests are signed by their requester with a key the policy lists. Nothing was written",
            v.describe(&e.requester)
        ))),
    }
}

/// Which registry governs the repository `reconcile`, `import` and `export`
/// work on, when it lives elsewhere.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct RegistryArgs {
    /// The registry that governs this repository, when it lives in another one: its folder,
    /// or a git URL (fetched shallowly into a cache and fetched again on every run).
    #[arg(long, env = "EXC_REGISTRY", value_name = "PATH|URL")]
    pub registry: Option<String>,
    /// The branch, tag or commit of --registry to read (default: its default branch).
    #[arg(long = "ref", env = "EXC_REGISTRY_REF", value_name = "REF")]
    pub rev: Option<String>,
    /// This repository's name, as records' findings scope it with `repository:`
    /// (default: the name of its `origin` remote, else of its folder).
    #[arg(long, value_name = "NAME")]
    pub repository: Option<String>,
}

impl RegistryArgs {
    /// The repository the command runs in, and the registry that governs it.
    /// An empty value (a CI variable set to "") counts as not given.
    pub fn governed(&self, ctx: &Context) -> Result<crate::context::Governed> {
        fn given(v: &Option<String>) -> Option<&str> {
            v.as_deref().map(str::trim).filter(|v| !v.is_empty())
        }
        ctx.governed(given(&self.registry), given(&self.rev), given(&self.repository))
    }
}

/// Every record file's trail, keyed by its latest file name.
pub fn trails(history: &crate::git::History) -> HashMap<String, Vec<crate::output::export::Trail>> {
    history
        .trails()
        .into_iter()
        .map(|(name, changes)| {
            let trail = changes
                .into_iter()
                .map(|c| {
                    let commit = &history.commits[c.commit];
                    crate::output::export::Trail {
                        commit: commit.id.clone(),
                        date: crate::output::timestamp(commit.time),
                        author: commit.author.clone(),
                        action: history.action(c),
                    }
                })
                .collect();
            (name, trail)
        })
        .collect()
}

/// The KPI report as of the context's date (see [`Registry::kpi_report`]),
/// with what was left out warned about.
pub fn kpi_report(
    ctx: &Context,
    reg: &Registry,
    loaded: &crate::registry::Loaded,
    since: Option<chrono::NaiveDate>,
    history: Option<&crate::git::History>,
) -> Result<crate::model::kpi::Report> {
    let (report, warnings) = reg.kpi_report(loaded, ctx.as_of, ctx.now(), since, history)?;
    for w in warnings {
        output::warn(&w);
    }
    Ok(report)
}

/// The audit's verdict as findings output renders it (`exc audit`, and the
/// evidence pack's audit.json), its findings placed first: tens of
/// thousands of them over as many files, on every core.
pub fn audit_run<T>(
    reg: &Registry,
    audited: &mut crate::registry::Audited,
    render: impl FnOnce(&crate::output::findings::Run) -> T,
) -> T {
    crate::registry::place(&reg.root, &mut audited.findings);
    let files: Vec<(String, Option<String>)> = audited.files.iter().map(|p| (p.clone(), None)).collect();
    let sources = reg.sources(&[]);
    render(&crate::output::findings::Run {
        tool: "exc audit",
        files: &files,
        findings: &audited.findings,
        summary: audited.summary(),
        locate: &sources,
        extra: audited.extra(),
        in_repository: reg.repository_prefix(),
    })
}
