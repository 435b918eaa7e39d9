//! The pure domain model: records, policy, routing, findings, digests and the
//! rules over them. Nothing in here touches the disk, git, the terminal or
//! the YAML parser.

pub mod advisory;
pub mod audit;
pub mod delivery;
pub mod diff;
pub mod digest;
pub mod event;
pub mod event_kind;
pub mod finding;
pub mod fleet;
pub mod gate;
pub mod glob;
pub mod identity;
pub mod inventory;
pub mod kpi;
pub mod lifecycle;
pub mod measure;
pub mod notify;
pub mod policy;
pub mod policy_change;
pub mod reconcile;
pub mod record;
pub mod remind;
pub mod request;
pub mod review;
pub mod routing;
pub mod rules;
pub mod signature;
pub mod statement;
pub mod suggest;
pub mod suppression;
#[cfg(test)]
pub(crate) mod testkit;
pub mod time;
pub mod trust_root;
