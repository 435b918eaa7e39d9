//! `exc man`: the man page (roff), for packagers and the release archives.
//! Hidden from `--help`; `exc man > exc.1`.

use clap::CommandFactory;

use crate::context::Outcome;
use crate::error::{Error, Result};

/// Print the man page (roff).
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  exc man > exc.1 && man ./exc.1")]
pub struct Args {}

/// Renders the man page of the command line `C` (the top-level parser).
pub fn run<C: CommandFactory>(_: Args) -> Result<Outcome> {
    let mut out = Vec::new();
    clap_mangen::Man::new(C::command()).render(&mut out).map_err(|e| Error::Output(format!("the man page: {e}")))?;
    crate::output::emit(&String::from_utf8_lossy(&out))?;
    Ok(Outcome::Clean)
}
