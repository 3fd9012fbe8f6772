//! End-to-end tests: the built `cargo-migrate` binary, run as a real process
//! on temporary copies of the projects in `fixtures/`.

mod apply;
mod autogen;
mod broken;
mod concurrency;
mod data;
mod deploy;
mod downgrade;
mod embed;
mod fleet;
mod formats;
mod fresh;
mod graph;
mod import;
mod json;
mod pooler;
mod postgres;
mod progress;
mod read;
mod reliability;
mod scaffold;
mod sections;
mod startup;
mod support;
mod sync;
mod usage;
mod walk;
mod workspace;
