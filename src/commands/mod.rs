//! One file per subcommand; each owns its arguments, its output formats and
//! its `run`, which parses, calls the library, and hands the result to
//! `crate::output`. The options every changing command shares live here.

pub mod approve;
pub mod audit;
pub mod check;
pub mod completions;
pub mod diff;
pub mod expire;
pub mod explain;
pub mod export;
pub mod history;
pub mod init;
pub mod list;
pub mod new;
pub mod recertify;
pub mod reject;
pub mod remind;
pub mod report;
pub mod retire;
pub mod revoke;
pub mod schema;
pub mod show;
pub mod validate;

use crate::context::{Context, Outcome};
use crate::error::{Error, Result};
use crate::model::identity::{is_person, same_person};
use crate::model::lifecycle::{Act, Action};
use crate::output::changed::{self, Changed};
use crate::output::{self, TextOrJson};
use crate::registry::Registry;

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
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: TextOrJson,
}

impl ChangeArgs {
    /// Whether to commit: `--commit`, or the policy's `git.commit`.
    pub fn commit(&self, reg: &Registry) -> bool {
        self.commit || reg.policy.git.commit
    }
}

/// The acting person: git's configured identity. `--by` may only confirm it.
pub fn actor(reg: &Registry, by: Option<&str>) -> Result<String> {
    if let Some(by) = by
        && !is_person(by)
    {
        return Err(Error::Usage(format!("--by {by:?}: write it as 'Name <email>'")));
    }
    match (crate::git::identity(&reg.root), by) {
        (Some(me), Some(by)) if !same_person(&me, by) => Err(Error::Refused(format!(
            "--by {by} is not you: git says you are {me}; a decision is recorded as made by whoever makes it"
        ))),
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
    let reg = ctx.registry()?;
    let (record, _) = reg.find(id)?;
    let actor = actor(&reg, args.by.as_deref())?;
    let act = Act { actor: &actor, at: ctx.now() };
    let (t, saved) = reg.transition(&record, &act, action, args.commit(&reg))?;
    let report = Changed {
        id: t.after.id.clone(),
        action: t.action.to_string(),
        status: t.after.status,
        path: saved.shown,
        awaiting: t.awaiting.clone(),
        commit: saved.commit,
    };
    match args.format {
        TextOrJson::Json => output::emit(&output::json(&report)?)?,
        TextOrJson::Text => output::emit_text(&changed::changed_text(&report, &changed::summary(&t, &reg.policy)))?,
    }
    Ok(Outcome::Clean)
}
