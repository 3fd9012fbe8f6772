//! `embed_migrations!`: validates a package's revision chain at compile
//! time and embeds it, so a broken chain is a compile error that names the
//! file, and an application migrates at start-up with no files on disk.
//!
//! This crate is a thin shell: it parses the macro input, then calls
//! [`migrate_runtime::embed::codegen::embed`], the code generator build scripts
//! use too, and turns its errors into `compile_error!`s.

mod input;

use proc_macro::TokenStream;

/// Embeds the revision chain of a migrations folder as a
/// `migrate_runtime::embed::Migrations` value, usable in a `static`.
///
/// ```ignore
/// use migrate_runtime::embed::Migrations;
///
/// static MIGRATIONS: Migrations = migrate_macros::embed_migrations!();
/// static OTHER: Migrations = migrate_macros::embed_migrations!("db/migrations");
/// static CHECKED: Migrations = migrate_macros::embed_migrations!(verify = "sqlite");
/// ```
///
/// - The folder defaults to `migrations` and is always relative to the
///   package root (`CARGO_MANIFEST_DIR`), never the current directory. It
///   is not taken from `[package.metadata.migrate]`: pass the folder.
/// - Every problem `cargo migrate check` finds in the chain (file names,
///   headers, sections, duplicate ids, unknown parents and dependencies,
///   cycles) is a compile error naming the file and line, all of them in
///   one build, pointing at the macro call or its path.
/// - The lint runs as `check` runs it, with the package's settings read
///   from its `Cargo.toml` and its workspace's (`dialect`, `lint`
///   severities, `shipped`; see `migrate_runtime::chain::load_config` for
///   how the workspace's manifest is found, without `cargo metadata`):
///   each finding of error severity is a compile error with the rule's
///   code. Warnings are dropped (a proc-macro cannot warn on stable Rust;
///   `cargo migrate check` prints them). Wrong settings are a compile
///   error naming `Cargo.toml`, and both manifests are tracked with
///   `include_bytes!`, so changing a setting rebuilds.
/// - Cross-package `depends-on: pkg:rev` is checked for syntax only: one
///   package cannot see another's chain at compile time. `cargo migrate
///   check` validates it across the workspace, and applying stops with an
///   error while the other package's revision is missing.
/// - Several heads are not an error: embedding asks for no single head, and
///   a branched chain is valid. `upgrade("head")` refuses it at run time,
///   with the hint to merge; `upgrade("heads")` applies every branch.
/// - `verify = "sqlite"` also applies every revision's SQLite SQL up, then
///   down (stopping at an irreversible revision), on an in-memory SQLite
///   database, so an SQL error is a compile error naming the file and line.
///   It needs this crate's `verify` feature, which compiles SQLite for the
///   host; only the package's own SQL runs, so a chain using another
///   package's tables cannot be verified.
/// - Each file is tracked with `include_str!`, so editing one recompiles.
///   Adding or removing a file is seen only through a build script: call
///   `migrate_runtime::embed::rerun_if_migrations_changed()` in `build.rs`.
/// - The expansion names `::migrate_runtime`: depend on it directly.
#[proc_macro]
pub fn embed_migrations(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as input::Input);
    input.expand().unwrap_or_else(input::into_compile_errors).into()
}
