//! `exc completions SHELL`: shell completion scripts.

use clap::CommandFactory;
use clap_complete::Shell;

use crate::context::Outcome;
use crate::error::Result;

/// Print a shell completion script.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  exc completions bash > ~/.local/share/bash-completion/completions/exc\n  exc completions zsh > ~/.zfunc/_exc\n  exc completions fish > ~/.config/fish/completions/exc.fish"
)]
pub struct Args {
    shell: Shell,
}

/// Prints the completions for the command line `C` (the top-level parser).
pub fn run<C: CommandFactory>(args: Args) -> Result<Outcome> {
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut C::command(), "exc", &mut out);
    crate::output::emit(&String::from_utf8_lossy(&out))?;
    Ok(Outcome::Clean)
}
