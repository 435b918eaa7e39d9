//! The pure domain model: records, policy, findings, digests and the rules over them.
//! Nothing in here touches the disk, git or the terminal.

pub mod audit;
pub mod diff;
pub mod digest;
pub mod finding;
pub mod gate;
pub mod kpi;
pub mod lifecycle;
pub mod policy;
pub mod record;
pub mod remind;
pub mod rules;
pub mod suggest;
pub mod time;
