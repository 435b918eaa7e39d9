//! `exc man`: the man page (roff), for packagers and the release archives, or
//! the command reference in markdown (`docs/commands.md`). Hidden from `--help`.

use clap::CommandFactory;

use crate::context::Outcome;
use crate::error::{Error, Result};
use crate::output;

/// Print the man page (roff), or the command reference (markdown).
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  exc man > exc.1 && man ./exc.1\n  exc man --format markdown > docs/commands.md")]
pub struct Args {
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    format: ManFormat,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
enum ManFormat {
    /// The man page.
    #[default]
    Roff,
    /// Every command's --help on one page, with an index.
    Markdown,
}

/// Renders the reference of the command line `C` (the top-level parser).
pub fn run<C: CommandFactory>(args: Args) -> Result<Outcome> {
    match args.format {
        ManFormat::Roff => {
            let mut out = Vec::new();
            clap_mangen::Man::new(C::command())
                .render(&mut out)
                .map_err(|e| Error::Output(format!("the man page: {e}")))?;
            output::emit(&String::from_utf8_lossy(&out))?;
        }
        ManFormat::Markdown => output::emit(&output::reference::markdown(C::command()))?,
    }
    Ok(Outcome::Clean)
}
