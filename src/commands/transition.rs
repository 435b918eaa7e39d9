//! What every command that changes a record shares: who is acting, writing the
//! record atomically, committing it when asked, and saying what happened.

use serde::Serialize;

use crate::cli::Context;
use crate::error::{Error, Result};
use crate::git;
use crate::model::record::{Exception, Record, Status};
use crate::model::rules;
use crate::output::{self, Format};
use crate::registry::Registry;

/// Options every changing command takes.
#[derive(Debug, Clone, clap::Args)]
pub struct Change {
    /// Commit the changed record (only that file) with an `Exc-Action` trailer.
    /// Also on when exc.yaml sets `git: { commit: true }`.
    #[arg(long)]
    pub commit: bool,
    /// Act as this person ('Name <email>') instead of git's user.name/user.email.
    #[arg(long, value_name = "'NAME <EMAIL>'")]
    pub by: Option<String>,
}

/// The acting person: `--by`, else git config.
pub fn actor(reg: &Registry, change: &Change) -> Result<String> {
    if let Some(by) = &change.by {
        if !(by.contains('<') && by.trim_end().ends_with('>') && by.contains('@')) {
            return Err(Error::Usage(format!("--by {by:?}: write it as 'Name <email>'")));
        }
        return Ok(by.trim().to_string());
    }
    git::identity(&reg.root).ok_or_else(|| {
        Error::Usage(
            "who is acting? set `git config user.name` and `git config user.email`, or pass --by 'Name <email>'".into(),
        )
    })
}

/// What a changing command reports.
#[derive(Debug, Serialize)]
pub struct Changed {
    pub id: String,
    pub action: String,
    pub status: Status,
    pub path: String,
    pub awaiting: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

/// Writes `after` over the file `before` was read from (refusing if it changed
/// meanwhile), commits it if asked, and reports.
#[allow(clippy::too_many_arguments)]
pub fn save(
    ctx: &Context,
    reg: &Registry,
    change: &Change,
    before: &Record,
    after: &Exception,
    action: &str,
    detail: Option<&str>,
    summary: &str,
) -> Result<()> {
    let format = Format::pick(ctx.format, &[Format::Text, Format::Json])?;
    let path = reg.update_record(before, after)?;
    let shown = reg.display_path(&path);
    let commit = if change.commit || reg.policy.git.commit {
        let msg = git::message(action, &after.id, detail);
        Some(
            git::commit_file(&reg.root, &path, &msg)
                .map_err(|m| Error::Git(format!("{m} (the file was written, not committed)")))?,
        )
    } else {
        None
    };
    let awaiting =
        if after.status == Status::Requested { rules::missing_roles(after, &reg.policy) } else { Vec::new() };
    let report = Changed {
        id: after.id.clone(),
        action: action.into(),
        status: after.status,
        path: shown.clone(),
        awaiting,
        commit,
    };
    if format == Format::Json {
        return output::emit(&output::json(&report)?);
    }
    let mut o = format!("{summary}\n");
    if !report.awaiting.is_empty() {
        o.push_str(&format!("Still awaiting: {}\n", report.awaiting.join(", ")));
    }
    match &report.commit {
        Some(c) => o.push_str(&format!("Committed {shown} as {c}.\n")),
        None => o.push_str(&format!("Wrote {shown}; commit it and open a pull request (or use --commit).\n")),
    }
    output::emit(&output::terminal_safe(&o))
}

/// A refusal from the lifecycle, as a usage error (exit 2).
pub fn refused(id: &str, why: String) -> Error {
    Error::Usage(format!("cannot change {id}: {why}"))
}
