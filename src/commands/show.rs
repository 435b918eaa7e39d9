//! `exc show ID`: one record, with what is derived from it (days left, who must
//! still approve) and any problems with it.

use clap::ValueEnum;

use crate::context::{Context, Outcome};
use crate::error::Result;
use crate::output::{self, record};

/// Show one exception.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  exc show EXC-7K3Q
  exc show EXC-7K3Q --format json | jq .awaiting

Exit codes: 0 the record is valid, 1 it has problems (shown, and in the JSON's `findings`).")]
pub struct Args {
    /// The exception id, e.g. EXC-7K3Q.
    pub id: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: ShowFormat,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ShowFormat {
    #[default]
    Text,
    Json,
    /// The record file as exc writes it.
    Yaml,
}

pub fn run(ctx: &Context, args: Args) -> Result<Outcome> {
    let reg = ctx.registry()?;
    let (rec, findings) = ctx.find(&reg, &args.id)?;
    let row = record::Row::new(&rec, &reg.policy, ctx.as_of);
    let records = [rec.clone()];
    let sources = reg.sources(&records);
    match args.format {
        ShowFormat::Json => output::emit(&record::detail_json(&row, &findings, &sources)?)?,
        ShowFormat::Yaml => output::emit(&crate::registry::render(&rec.exception)?)?,
        ShowFormat::Text => {
            let type_title = reg.policy.types.get(&rec.exception.kind).map(|t| t.title.as_str());
            output::emit_text(&record::show(&row, type_title, &findings, &sources, ctx.as_of, ctx.color))?
        }
    }
    Ok(Outcome::from_findings(&findings))
}
