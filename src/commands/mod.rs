//! One file per subcommand; each owns its arguments and its `run`.

pub mod completions;
pub mod init;
pub mod list;
pub mod new;
pub mod schema;
pub mod show;
pub mod validate;
