//! End-to-end tests: the real `exc` binary on real git repositories in temp dirs.

mod adoption;
mod as_of;
mod bad_input;
mod blindspots;
mod consumers;
mod definitions;
mod differential;
mod evidence;
mod faults;
mod first_month;
mod fleet;
mod forgery;
mod gate;
mod harness;
mod integrations;
mod interactive;
mod lifecycle;
mod reconcile;
mod registry;
mod report;
mod safety;
mod sample;
mod snapshots;
mod team;
mod trail;
mod trust;
