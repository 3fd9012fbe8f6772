//! Tests of `embed_migrations!`: chains compiled into this test binary and
//! compared with what the library loads from the same files (`embedded`),
//! trybuild UI cases for every compile error (`ui`), and the lint settings
//! of real packages built by cargo (`settings`).
//!
//! One test binary with a module per feature, so linking stays cheap.

mod embedded;
mod settings;
mod ui;
