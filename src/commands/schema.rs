//! `exc schema`: prints the embedded JSON Schema for records or for `exc.yaml`,
//! for editors and other tools.

use clap::ValueEnum;

use crate::context::{Context, Outcome};
use crate::error::Result;
use crate::output;
use crate::schema::{EXPORT_SCHEMA, FINDINGS_SCHEMA, POLICY_SCHEMA, RECORD_SCHEMA};

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Which {
    /// A record in exceptions/.
    Record,
    /// exc.yaml.
    Policy,
    /// The JSON that validate, check, audit and diff write with --format json.
    Findings,
    /// The register that export writes with --format json (and yaml, jsonl).
    Export,
}

/// Print a JSON Schema: for records (default), for exc.yaml, for findings reports, or for the register export.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  exc schema > schema/exception.schema.json\n  exc schema policy\n  exc schema findings\n  exc schema export"
)]
pub struct Args {
    #[arg(value_enum, default_value = "record")]
    which: Which,
}

pub fn run(_ctx: &Context, args: Args) -> Result<Outcome> {
    output::emit(match args.which {
        Which::Record => RECORD_SCHEMA,
        Which::Policy => POLICY_SCHEMA,
        Which::Findings => FINDINGS_SCHEMA,
        Which::Export => EXPORT_SCHEMA,
    })?;
    Ok(Outcome::Clean)
}
