//! The command line: global options and the subcommand list. Each subcommand
//! owns its arguments (and its output formats) in `crate::commands`.

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Parser, Subcommand};

use crate::commands;
use crate::context::{Context, Outcome};
use crate::error::Result;
use crate::model::time;
use crate::output::ColorChoice;

const EXAMPLES: &str = "\
Examples:
  exc init                                   create exc.yaml and exceptions/ here
  exc new                                    file an exception (interactive form)
  exc check --fail-on-expired                the CI gate
  exc list --status approved --expiring-within 30d
  exc show EXC-7K3Q --format json
  exc --as-of 2027-01-01 list                evaluate as of a date
  exc explain changed-after-approval         what a finding means and how to fix it

Exit codes: 0 all good, 1 findings, 2 usage, configuration or I/O error, or a refused action.";

/// The version with the commit it was built from: `0.1.0 (3f2a9c1b7d0e)`.
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("EXC_COMMIT"), ")");

/// Security exceptions as code: a git-backed registry of exceptions with
/// routing, signed approvals, expiry and an audit trail.
#[derive(Debug, Parser)]
#[command(name = "exc", version = VERSION, about, after_help = EXAMPLES, propagate_version = true)]
pub struct Cli {
    /// The registry directory (default: the nearest parent holding exc.yaml).
    #[arg(long, global = true, env = "EXC_DIR", value_name = "PATH", help_heading = "Global options")]
    pub dir: Option<PathBuf>,

    /// Evaluate dates as of this day (YYYY-MM-DD, UTC) instead of today.
    #[arg(long, global = true, value_name = "DATE", value_parser = time::parse_date, help_heading = "Global options")]
    pub as_of: Option<NaiveDate>,

    /// Colour: auto (a terminal without NO_COLOR), always or never.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, help_heading = "Global options")]
    pub color: ColorChoice,

    /// Show no progress on stderr (shown only on a terminal, outside CI, for reads that take over a second).
    #[arg(long, global = true, help_heading = "Global options")]
    pub quiet: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Init(commands::init::Args),
    New(Box<commands::new::Args>),
    Validate(commands::validate::Args),
    Check(commands::check::Args),
    List(commands::list::Args),
    Show(commands::show::Args),
    Approve(commands::approve::Args),
    Reject(commands::reject::Args),
    Recertify(commands::recertify::Args),
    Sign(commands::sign::Args),
    Retire(commands::retire::Args),
    Revoke(commands::revoke::Args),
    Expire(commands::expire::Args),
    Remind(commands::remind::Args),
    Notify(commands::notify::Args),
    Diff(commands::diff::Args),
    History(commands::history::Args),
    Audit(commands::audit::Args),
    Report(commands::report::Args),
    Export(commands::export::Args),
    Evidence(commands::evidence::Args),
    Suppress(commands::suppress::Args),
    Reconcile(commands::reconcile::Args),
    Import(commands::import::Args),
    Policy(commands::policy::Args),
    Keys(commands::keys::Args),
    Explain(commands::explain::Args),
    Schema(commands::schema::Args),
    Completions(commands::completions::Args),
    #[command(hide = true)]
    Man(commands::man::Args),
}

impl Cli {
    /// Runs the chosen command.
    pub fn run(self) -> Result<Outcome> {
        crate::output::progress::show(self.quiet);
        let ctx = Context::new(self.dir, self.as_of, self.color.enabled())?;
        match self.command {
            Command::Init(a) => commands::init::run(&ctx, a),
            Command::New(a) => commands::new::run(&ctx, *a),
            Command::Validate(a) => commands::validate::run(&ctx, a),
            Command::Check(a) => commands::check::run(&ctx, a),
            Command::List(a) => commands::list::run(&ctx, a),
            Command::Show(a) => commands::show::run(&ctx, a),
            Command::Approve(a) => commands::approve::run(&ctx, a),
            Command::Reject(a) => commands::reject::run(&ctx, a),
            Command::Recertify(a) => commands::recertify::run(&ctx, a),
            Command::Sign(a) => commands::sign::run(&ctx, a),
            Command::Retire(a) => commands::retire::run(&ctx, a),
            Command::Revoke(a) => commands::revoke::run(&ctx, a),
            Command::Expire(a) => commands::expire::run(&ctx, a),
            Command::Remind(a) => commands::remind::run(&ctx, a),
            Command::Notify(a) => commands::notify::run(&ctx, a),
            Command::Diff(a) => commands::diff::run(&ctx, a),
            Command::History(a) => commands::history::run(&ctx, a),
            Command::Audit(a) => commands::audit::run(&ctx, a),
            Command::Report(a) => commands::report::run(&ctx, a),
            Command::Export(a) => commands::export::run(&ctx, a),
            Command::Evidence(a) => commands::evidence::run(&ctx, a),
            Command::Suppress(a) => commands::suppress::run(&ctx, a),
            Command::Reconcile(a) => commands::reconcile::run(&ctx, a),
            Command::Import(a) => commands::import::run(&ctx, a),
            Command::Policy(a) => commands::policy::run(&ctx, a),
            Command::Keys(a) => commands::keys::run(&ctx, a),
            Command::Explain(a) => commands::explain::run(&ctx, a),
            Command::Schema(a) => commands::schema::run(&ctx, a),
            Command::Completions(a) => commands::completions::run::<Cli>(a),
            Command::Man(a) => commands::man::run::<Cli>(a),
        }
    }
}
