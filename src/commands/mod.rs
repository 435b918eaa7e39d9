//! One file per subcommand; each owns its arguments and its `run`.

pub mod approve;
pub mod audit;
pub mod check;
pub mod completions;
pub mod diff;
pub mod expire;
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
pub mod transition;
pub mod validate;
