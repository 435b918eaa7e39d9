//! `exc schema`: prints the embedded JSON Schema for records or for `exc.yaml`,
//! for editors and other tools.

use clap::ValueEnum;

use crate::cli::{Context, Outcome};
use crate::error::Result;
use crate::output::{self, Format};
use crate::schema::{POLICY_SCHEMA, RECORD_SCHEMA};

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Which {
    Record,
    Policy,
}

/// Print the JSON Schema for records (default) or for exc.yaml.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  exc schema > schema/exception.schema.json\n  exc schema policy")]
pub struct Args {
    #[arg(value_enum, default_value = "record")]
    which: Which,
}

pub fn run(ctx: &Context, args: Args) -> Result<Outcome> {
    Format::pick(ctx.format, &[Format::Json, Format::Text])?;
    output::emit(match args.which {
        Which::Record => RECORD_SCHEMA,
        Which::Policy => POLICY_SCHEMA,
    })?;
    Ok(Outcome::Clean)
}
