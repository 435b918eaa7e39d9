//! `exc history ID`: the audit trail of one record from git: every commit that
//! touched it, oldest first, with author, date, action and field-level changes.

use serde::Serialize;

use crate::context::{Context, Outcome};
use crate::error::{Error, Result};
use crate::model::diff::{self, FieldChange};
use crate::output::{self, Paint, TextOrJson, escape, paint};
use crate::registry;

/// Show every change to one exception.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  exc history EXC-0042
  exc history EXC-0042 --format json

Needs the full git history: in CI, fetch it (`fetch-depth: 0`).")]
pub struct Args {
    /// The exception id.
    pub id: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: TextOrJson,
}

/// One commit in a record's trail.
#[derive(Debug, Serialize)]
pub struct Entry {
    pub commit: String,
    pub author: String,
    pub committer: String,
    pub date: chrono::DateTime<chrono::Utc>,
    pub action: String,
    pub file: String,
    pub changes: Vec<FieldChange>,
}

pub fn run(ctx: &Context, args: Args) -> Result<Outcome> {
    let reg = ctx.registry()?;
    if !registry::is_plain_id(&args.id) {
        return Err(Error::Usage(format!("`{}` is not an exception id (like EXC-7K3Q)", args.id)));
    }
    let history = reg.history()?;
    let id = args.id.to_uppercase();
    let file = reg
        .record_files()?
        .into_iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .find(|n| n.rsplit_once('.').is_some_and(|(stem, _)| stem.eq_ignore_ascii_case(&id)))
        .unwrap_or_else(|| format!("{id}.yaml"));
    let changes = history.of_record(&file);
    if changes.is_empty() {
        return Err(Error::Usage(format!(
            "no exception `{id}` in {} or in its git history",
            reg.records_dir().display()
        )));
    }
    let mut entries = Vec::new();
    history.replay(
        changes,
        |text| registry::parse_version(text).map(|v| v.0),
        |commit, c, before, after| {
            let mut changes = diff::diff(before.and_then(|v| v.as_ref()), after.and_then(|v| v.as_ref()));
            if c.new_blob.is_none() {
                changes = vec![FieldChange { field: "file".into(), before: c.old_name.clone(), after: None }];
            } else if c.old_name.is_some() && c.old_name != c.new_name {
                changes.insert(
                    0,
                    FieldChange { field: "file".into(), before: c.old_name.clone(), after: c.new_name.clone() },
                );
            }
            entries.push(Entry {
                commit: commit.id.clone(),
                author: commit.author.clone(),
                committer: commit.committer.clone(),
                date: commit.time,
                action: history.action(c),
                file: c.new_name.clone().or(c.old_name.clone()).unwrap_or_default(),
                changes,
            });
            Ok(())
        },
    )?;
    if args.format == TextOrJson::Json {
        output::emit_json(&entries)?;
        return Ok(Outcome::Clean);
    }
    let c = ctx.color;
    let mut o = format!("History of {id}: {} commit(s), oldest first\n", entries.len());
    for e in &entries {
        o.push_str(&format!(
            "\n{}  {}  {}  {}\n",
            paint(&e.date.format("%Y-%m-%d %H:%M").to_string(), Paint::Bold, c),
            paint(&e.commit[..10], Paint::Yellow, c),
            escape::text(&e.action),
            escape::text(&e.author)
        ));
        if e.changes.is_empty() {
            o.push_str("    (no field changed: formatting only)\n");
        }
        for ch in &e.changes {
            o.push_str(&format!("    {}\n", escape::text(&ch.to_string())));
        }
    }
    output::emit_text(&o)?;
    Ok(Outcome::Clean)
}
