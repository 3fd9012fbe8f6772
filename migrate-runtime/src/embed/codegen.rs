//! The one code generator: a package's migrations folder in, the Rust
//! expression of an [`Migrations`](crate::embed::Migrations)
//! value out. `embed_migrations!` and [`crate::embed`] both call [`embed`],
//! so a chain compiles to the same code, and fails with the same messages,
//! whichever way it is embedded.
//!
//! [`embed`] reads the folder through [`crate::chain::read_folder`], validates it with the
//! same parser and graph as the CLI, lints it with the package's settings
//! (read from its `Cargo.toml` and its workspace's by
//! [`crate::chain::load_config`]: dialect, severities, `shipped`), optionally
//! applies it to an in-memory SQLite database ([`Verify::Sqlite`]), and
//! calls [`migrations`], the pure part: graph in, tokens out.
//!
//! How rustc learns about the files: the generated block starts with one
//! `const _: &str = include_str!("/absolute/path.sql");` per revision file,
//! so editing a file recompiles the crate that embeds it; the SQL itself is
//! emitted as string literals next to its checksum. The alternative, slicing
//! the `include_str!` text at offsets computed here, would store the SQL
//! once, but the checksum would then come from this read of the file and
//! the SQL from rustc's later one: a file saved in between would embed SQL
//! that does not match its checksum. Literals keep the two from one read,
//! and need no second path for files whose text the parser normalised
//! (CRLF, BOM). The unused consts cost rustc one more read of each file and
//! put nothing in the binary.

use crate::chain::config::Config;
use crate::chain::graph::Graph;
use crate::chain::load;
use crate::chain::manifest::{self, ManifestError};
use crate::chain::snapshot::Snapshot;
use crate::model::error::{ApplyError, ChainError, ChainErrors};
use crate::model::location::Location;
use crate::model::revision::{Dependency, Dialect, Language, Revision, Section, TransactionMode};
use proc_macro2::TokenStream;
use quote::quote;
use std::fmt;
use std::path::{Path, PathBuf};

/// What to embed: one package's migrations folder.
#[derive(Debug, Clone, Copy)]
pub struct Chain<'a> {
    /// The package name, stored as [`Migrations::package`](crate::embed::Migrations::package).
    pub package: &'a str,
    /// The package root, absolute (`CARGO_MANIFEST_DIR`).
    pub package_root: &'a Path,
    /// The migrations folder, relative to `package_root`.
    pub folder: &'a Path,
    pub verify: Verify,
}

/// Checks beyond the parser and the graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Verify {
    /// Parse and validate the chain only.
    #[default]
    Off,
    /// Also apply every revision's SQLite SQL up, then down, on an in-memory
    /// SQLite database, so an SQL error fails the build. Needs the `sqlite`
    /// feature. Only this package's SQL runs, so a chain whose SQL uses
    /// another package's tables (`depends-on: pkg:rev`) cannot be verified.
    Sqlite,
}

/// The generated expression, and the files it was made from.
#[derive(Debug, Clone)]
pub struct Embedded {
    /// An expression of type [`Migrations`](crate::embed::embedded::Migrations), usable in a `static`.
    pub tokens: TokenStream,
    /// Every file of the folder and its `snapshots/`, relative to the
    /// package root.
    pub files: Vec<PathBuf>,
    /// The package's `Cargo.toml` and its workspace's, absolute: the
    /// lint's settings come from them.
    pub manifests: Vec<PathBuf>,
}

/// One reason a chain cannot be embedded.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error("{at}: no such migrations folder (the path is relative to the package root, the folder of its Cargo.toml)")]
    MissingFolder { at: Location },
    #[error(transparent)]
    Chain(ChainError),
    /// A finding of error severity under the package's lint settings.
    #[error(transparent)]
    Lint(crate::sql::lint::Finding),
    /// The package's settings in `Cargo.toml` cannot be read or are wrong.
    #[error(transparent)]
    Settings(ManifestError),
    #[error("Cargo.toml: `shipped = \"{id}\"` under [package.metadata.migrate.lint] names no revision of its chain")]
    UnknownShipped { id: String },
    #[error("{error}\n  (found by {doing})")]
    Verify { error: ApplyError, doing: &'static str },
    #[error("verifying on SQLite needs SQLite at compile time: enable the `verify` feature of migrate-macros (for a build script, the `sqlite` feature of migrate-runtime)")]
    VerifyUnavailable,
}

/// Every reason a chain cannot be embedded, one per line. Never empty.
#[derive(Debug)]
pub struct EmbedErrors(pub Vec<EmbedError>);

impl fmt::Display for EmbedErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::model::error::write_lines(f, &self.0)
    }
}

impl std::error::Error for EmbedErrors {}

impl From<EmbedError> for EmbedErrors {
    fn from(error: EmbedError) -> EmbedErrors {
        EmbedErrors(vec![error])
    }
}

impl From<ChainErrors> for EmbedErrors {
    fn from(errors: ChainErrors) -> EmbedErrors {
        EmbedErrors(errors.0.into_iter().map(EmbedError::Chain).collect())
    }
}

/// Reads, validates (and with [`Verify::Sqlite`] applies) a migrations
/// folder, and generates its [`Migrations`](crate::embed::embedded::Migrations) expression. Reports every
/// problem the parser and the graph find at once.
///
/// Cross-package `depends-on` (`pkg:rev`) is checked for syntax only: one
/// package cannot see the others' chains. `cargo migrate check` checks them
/// across the workspace.
pub fn embed(chain: &Chain<'_>) -> Result<Embedded, EmbedErrors> {
    if !chain.package_root.join(chain.folder).is_dir() {
        return Err(EmbedError::MissingFolder { at: Location::file(chain.folder) }.into());
    }
    let mut files = load::read_folder(chain.package_root, chain.folder)?;
    let snapshot_files = load::read_snapshots(chain.package_root, chain.folder)?;
    let graph = load::build_graph(&files)?.with_snapshots(load::parse_snapshots(&snapshot_files)?);
    files.extend(snapshot_files);
    let settings = manifest::load_config(chain.package_root).map_err(EmbedError::Settings)?;
    lint(&graph, &settings.config)?;
    if chain.verify == Verify::Sqlite {
        verify_sqlite(&graph)?;
    }
    let history_table = &settings.config.history_table;
    let tokens =
        migrations(&graph, chain.package, history_table, chain.package_root).map_err(EmbedError::Chain)?;
    let tokens = track_manifests(tokens, &settings.manifests);
    let files = files.into_iter().map(|file| file.path).collect();
    Ok(Embedded { tokens, files, manifests: settings.manifests })
}

/// `cargo migrate check`'s lint, as it runs by default: every rule for the
/// package's database with its severities, on the revisions after its
/// `shipped` one. Each error is an [`EmbedError::Lint`]; warnings are
/// dropped (a proc-macro cannot warn on stable Rust).
fn lint(graph: &Graph, config: &Config) -> Result<(), EmbedErrors> {
    use crate::sql::lint::{self, Settings};
    // The keys were checked when the manifest was parsed.
    let settings = Settings::for_dialect(config.dialect).configure(&config.lint).map_err(|unknown| {
        let message = unknown.to_string();
        EmbedError::Settings(ManifestError::Invalid { at: Location::file("Cargo.toml"), message })
    })?;
    let mut findings = match lint::check(graph.revisions(), &settings) {
        Ok(findings) | Err(findings) => findings,
    };
    let deployed = match config.lint_shipped.as_deref() {
        Some(id) => graph.find(id).map(|rev| graph.ancestors(&[rev])),
        None => Some(graph.ancestors(&[])),
    };
    let deployed = deployed
        .ok_or_else(|| EmbedError::UnknownShipped { id: config.lint_shipped.clone().unwrap_or_default() })?;
    findings.drop_deployed(graph, &deployed);
    let errors: Vec<EmbedError> = findings.errors().cloned().map(EmbedError::Lint).collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(EmbedErrors(errors))
    }
}

/// `tokens` behind one `include_bytes!` per manifest, so rustc rebuilds
/// the crate when a setting changes, as it does for a revision file.
fn track_manifests(tokens: TokenStream, manifests: &[PathBuf]) -> TokenStream {
    let tracked = manifests.iter().map(|path| {
        let path = path.to_string_lossy();
        quote!(
            const _: &[u8] = ::core::include_bytes!(#path);
        )
    });
    quote!({ #(#tracked)* #tokens })
}

/// The expression of a [`Migrations`](crate::embed::embedded::Migrations) value holding `graph`, whose
/// revision paths are relative to `package_root`; an error when a
/// section's SQL, kept in its file, cannot be read.
pub fn migrations(
    graph: &Graph,
    package: &str,
    history_table: &str,
    package_root: &Path,
) -> Result<TokenStream, ChainError> {
    let paths = graph.revisions().iter().map(|r| &r.location.path);
    let tracked = paths.chain(graph.snapshots().iter().map(|s| &s.location.path)).map(|path| {
        let absolute = package_root.join(path);
        let absolute = absolute.to_string_lossy();
        quote!(
            const _: &str = ::core::include_str!(#absolute);
        )
    });
    let revisions = graph.revisions().iter().map(revision).collect::<Result<Vec<_>, _>>()?;
    let modules = graph.revisions().iter().filter(|r| r.is_rust()).map(|r| rust_module(r, package_root));
    let snapshots = graph.snapshots().iter().map(snapshot);
    // Short names inside the block keep the output small for large chains;
    // the `use` of `None`/`Some` also shields it from user items so named.
    Ok(quote! {{
        #[allow(unused_imports)]
        use ::core::option::Option::{None, Some};
        #[allow(unused_imports)]
        use ::migrate_runtime::embed::{
            EmbeddedDependency as D, EmbeddedRevision as R, EmbeddedSection as S, EmbeddedSnapshot, Migrations,
        };
        #[allow(unused_imports)]
        use ::migrate_runtime::model::{Dialect, Language, TransactionMode};
        #(#tracked)*
        #(#modules)*
        Migrations { package: #package, history_table: #history_table, revisions: &[#(#revisions),*], snapshots: &[#(#snapshots),*] }
    }})
}

fn revision(revision: &Revision) -> Result<TokenStream, ChainError> {
    let Revision { id, parents, message, branches, .. } = revision;
    let depends_on = revision.depends_on.iter().map(dependency);
    let created = option(revision.created.as_ref().map(|created| quote!(#created)));
    let transaction = match revision.transaction {
        TransactionMode::Single => quote!(TransactionMode::Single),
        TransactionMode::None => quote!(TransactionMode::None),
    };
    let language = match revision.language {
        Language::Sql => quote!(Language::Sql),
        Language::Rust => quote!(Language::Rust),
    };
    let upgrade = sections(revision, &revision.upgrade)?;
    let downgrade = option(revision.downgrade.as_deref().map(|s| sections(revision, s)).transpose()?);
    let code = option(revision.is_rust().then(|| rust_code(revision)));
    let path = Location::file(&revision.location.path).to_string();
    let line = revision.location.line.unwrap_or(1);
    Ok(quote! {
        R {
            id: #id, parents: &[#(#parents),*], depends_on: &[#(#depends_on),*], message: #message,
            created: #created, branches: &[#(#branches),*], transaction: #transaction, language: #language,
            upgrade: #upgrade, downgrade: #downgrade, path: #path, line: #line, code: #code,
        }
    })
}

fn snapshot(snapshot: &Snapshot) -> TokenStream {
    let Snapshot { revision, chain_checksum, sql, .. } = snapshot;
    let dialect = dialect(snapshot.dialect);
    let path = Location::file(&snapshot.location.path).to_string();
    let line = snapshot.location.line.unwrap_or(1);
    quote! {
        EmbeddedSnapshot {
            revision: #revision, dialect: #dialect, chain_checksum: #chain_checksum, sql: #sql, path: #path,
            line: #line,
        }
    }
}

fn dialect(dialect: Dialect) -> TokenStream {
    match dialect {
        Dialect::Sqlite => quote!(Dialect::Sqlite),
        Dialect::Postgres => quote!(Dialect::Postgres),
    }
}

fn dependency(dependency: &Dependency) -> TokenStream {
    let package = option(dependency.package.as_ref().map(|package| quote!(#package)));
    let id = &dependency.id;
    quote!(D { package: #package, id: #id })
}

/// A Rust revision's file as a module of the block (`#[path]`, so rustc
/// reads it, reports its errors at its lines, and rebuilds when it
/// changes), and a wrapper per function that boxes its future, so each is
/// a [`DataFn`](crate::data::DataFn). A function of the wrong signature is
/// a type error at the wrapper's call.
fn rust_module(revision: &Revision, package_root: &Path) -> TokenStream {
    let absolute = package_root.join(&revision.location.path);
    // The file itself, not a link to it: rustc names it in its messages.
    let absolute = std::fs::canonicalize(&absolute).unwrap_or(absolute);
    let absolute = absolute.to_string_lossy();
    let module = rust_ident("revision", revision);
    let wrapper = |function: &str| {
        let name = rust_ident(function, revision);
        let function = proc_macro2::Ident::new(function, proc_macro2::Span::call_site());
        quote! {
            fn #name<'a, 'b>(
                db: &'a mut ::migrate_runtime::data::Handle<'b>,
            ) -> ::migrate_runtime::data::DataFuture<'a> {
                ::std::boxed::Box::pin(#module::#function(db))
            }
        }
    };
    let upgrade = wrapper("upgrade");
    let downgrade = revision.downgrade.is_some().then(|| wrapper("downgrade"));
    quote! {
        #[path = #absolute]
        #[allow(clippy::all, dead_code)]
        mod #module;
        #upgrade
        #downgrade
    }
}

/// The `RustCode` value naming [`rust_module`]'s wrappers.
fn rust_code(revision: &Revision) -> TokenStream {
    let upgrade = rust_ident("upgrade", revision);
    let downgrade = option(revision.downgrade.is_some().then(|| {
        let name = rust_ident("downgrade", revision);
        quote!(#name)
    }));
    quote!(::migrate_runtime::data::RustCode { upgrade: #upgrade, downgrade: #downgrade })
}

fn rust_ident(kind: &str, revision: &Revision) -> proc_macro2::Ident {
    proc_macro2::Ident::new(&format!("__migrate_{kind}_{}", revision.id), proc_macro2::Span::call_site())
}

/// The sections as literals; a Rust revision's hold only their checksum
/// (its code is compiled in, not kept as text).
fn sections(revision: &Revision, sections: &[Section]) -> Result<TokenStream, ChainError> {
    let sections = sections.iter().map(|section| {
        let Section { first_line, checksum, .. } = section;
        let sql = if revision.is_rust() { std::borrow::Cow::Borrowed("") } else { section.sql()? };
        let sql = sql.as_ref();
        let dialect = option(section.dialect.map(dialect));
        Ok(quote!(S { dialect: #dialect, sql: #sql, first_line: #first_line, checksum: #checksum }))
    });
    let sections = sections.collect::<Result<Vec<_>, ChainError>>()?;
    Ok(quote!(&[#(#sections),*]))
}

fn option(value: Option<TokenStream>) -> TokenStream {
    match value {
        Some(value) => quote!(Some(#value)),
        None => quote!(None),
    }
}

/// Every revision up and down again on an in-memory SQLite database
/// ([`crate::sqlite::verify`]); an error names the file, line and statement.
#[cfg(feature = "sqlite")]
fn verify_sqlite(graph: &Graph) -> Result<(), EmbedErrors> {
    use crate::sqlite::verify::{run_up_and_down, Leg};
    run_up_and_down(graph).map_err(|(leg, error)| {
        let doing = match leg {
            Leg::Open => "opening an in-memory SQLite database",
            Leg::Up => "applying every revision on an in-memory SQLite database",
            Leg::Down => "reverting every revision on an in-memory SQLite database",
        };
        EmbedErrors::from(EmbedError::Verify { error: *error, doing })
    })
}

#[cfg(not(feature = "sqlite"))]
fn verify_sqlite(_: &Graph) -> Result<(), EmbedErrors> {
    Err(EmbedError::VerifyUnavailable.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("Cargo.toml"), "[package]\nname = \"demo\"\n\n[workspace]\n").unwrap();
        fs::create_dir(dir.path().join("migrations")).unwrap();
        for (name, text) in files {
            fs::write(dir.path().join("migrations").join(name), text).unwrap();
        }
        dir
    }

    fn embed_in(dir: &Path, verify: Verify) -> Result<Embedded, EmbedErrors> {
        embed(&Chain { package: "demo", package_root: dir, folder: "migrations".as_ref(), verify })
    }

    const GOOD: &str = "-- revision: a1b2\n-- message: m\n-- migrate:upgrade\nCREATE TABLE t (id INTEGER);\n-- migrate:downgrade\nDROP TABLE t;\n";

    #[test]
    fn every_problem_of_the_folder_is_reported() {
        let dir = folder(&[
            ("a1b2_x.sql", "-- revision: a1b2\n-- author: me\n-- migrate:upgrade\nSELECT 1;\n"),
            ("c3d4_y.sql", "-- revision: ffff\n-- migrate:upgrade\nSELECT 1;\n"),
            ("notes.txt", "hello"),
        ]);
        let errors = embed_in(dir.path(), Verify::Off).unwrap_err().to_string();
        let expected = [
            "migrations/a1b2_x.sql:2: unknown header key `author` (known keys: revision, revises, message, created, depends-on, branch, transaction)",
            "migrations/c3d4_y.sql:1: header says revision `ffff` but the file name starts with `c3d4`: rename the file to `ffff_<slug>.sql` or correct the header",
            "migrations/notes.txt: not a revision file: expected a name like `3f2a9c1b7d4e_add_users.sql` or `3f2a9c1b7d4e_split_names.rs` (keep other files out of the migrations folder)",
        ];
        assert_eq!(errors, expected.join("\n"));
    }

    #[test]
    fn a_missing_folder_is_named_as_given() {
        let dir = tempfile::tempdir().unwrap();
        let chain =
            Chain { package: "p", package_root: dir.path(), folder: "db/up".as_ref(), verify: Verify::Off };
        let error = embed(&chain).unwrap_err().to_string();
        assert!(error.starts_with("db/up: no such migrations folder"), "{error}");
    }

    #[test]
    fn the_output_tracks_every_file_by_absolute_path() {
        let dir = folder(&[("a1b2_x.sql", GOOD)]);
        let embedded = embed_in(dir.path(), Verify::Off).unwrap();
        let absolute = dir.path().join("migrations/a1b2_x.sql");
        let code = embedded.tokens.to_string();
        assert!(code.contains(&format!("include_str ! ({:?})", absolute.to_string_lossy())), "{code}");
        assert_eq!(embedded.files, [PathBuf::from("migrations/a1b2_x.sql")]);
    }

    #[test]
    fn snapshots_are_embedded_and_tracked() {
        let dir = folder(&[("a1b2_x.sql", GOOD)]);
        fs::create_dir(dir.path().join("migrations/snapshots")).unwrap();
        let snapshot = "-- snapshot: a1b2\n-- dialect: sqlite\n-- chain-checksum: c0ffee\n\nCREATE TABLE t (id INTEGER);\n";
        fs::write(dir.path().join("migrations/snapshots/a1b2.sql"), snapshot).unwrap();
        let embedded = embed_in(dir.path(), Verify::Off).unwrap();
        let code = embedded.tokens.to_string();
        assert!(code.contains("EmbeddedSnapshot { revision : \"a1b2\""), "{code}");
        assert!(code.contains("path : \"migrations/snapshots/a1b2.sql\" , line : 4"), "{code}");
        let files = [PathBuf::from("migrations/a1b2_x.sql"), PathBuf::from("migrations/snapshots/a1b2.sql")];
        assert_eq!(embedded.files, files);
    }

    const TABLE: &str = "-- revision: a1b2\n-- migrate:upgrade\nCREATE TABLE t (id bigint);\n-- migrate:downgrade\nDROP TABLE t;\n";
    const INDEX: &str = "-- revision: c3d4\n-- revises: a1b2\n-- migrate:upgrade\nCREATE INDEX t_id ON t (id);\n-- migrate:downgrade\nDROP INDEX t_id;\n";

    /// The chain TABLE then INDEX in a package whose `Cargo.toml` ends with
    /// `settings`; the errors, one per line, or "".
    fn lint_errors(settings: &str, index: &str) -> String {
        let dir = folder(&[("a1b2_t.sql", TABLE), ("c3d4_i.sql", index)]);
        let manifest = format!("[package]\nname = \"demo\"\n\n[workspace]\n\n{settings}");
        fs::write(dir.path().join("Cargo.toml"), manifest).unwrap();
        embed_in(dir.path(), Verify::Off).err().map(|e| e.to_string()).unwrap_or_default()
    }

    #[test]
    fn the_package_settings_choose_what_fails_the_build() {
        let postgres = "[package.metadata.migrate]\ndialect = \"postgres\"\n";
        let error = lint_errors(postgres, INDEX);
        assert!(error.starts_with("migrations/c3d4_i.sql:4:1: M101 `CREATE INDEX` on `t`"), "{error}");
        assert_eq!(error.lines().count(), 1, "{error}");
        // SQLite, the default dialect, has no such rule.
        assert_eq!(lint_errors("", INDEX), "");
        let warning =
            format!("{postgres}\n[package.metadata.migrate.lint]\nindex-not-concurrent = \"warning\"\n");
        assert_eq!(lint_errors(&warning, INDEX), "");
        let shipped = format!("{postgres}\n[package.metadata.migrate.lint]\nshipped = \"c3d4\"\n");
        assert_eq!(lint_errors(&shipped, INDEX), "");
        let allowed =
            INDEX.replace("-- migrate:upgrade", "-- lint: allow M101 \"t is empty\"\n-- migrate:upgrade");
        assert_eq!(lint_errors(postgres, &allowed), "");
    }

    #[test]
    fn bad_settings_fail_the_build_naming_cargo_toml() {
        let unknown = "[package.metadata.migrate.lint]\nshipped = \"ffff\"\n";
        let expected = "Cargo.toml: `shipped = \"ffff\"` under [package.metadata.migrate.lint] names no revision of its chain";
        assert_eq!(lint_errors(unknown, INDEX), expected);
        let bad = "[package.metadata.migrate.lint]\nM101 = \"fatal\"\n";
        let expected = "Cargo.toml:6: unknown variant `fatal`, expected one of `off`, `warning`, `error`";
        assert_eq!(lint_errors(bad, INDEX), expected);
    }

    #[test]
    fn the_output_tracks_the_manifest() {
        let dir = folder(&[("a1b2_x.sql", GOOD)]);
        let embedded = embed_in(dir.path(), Verify::Off).unwrap();
        let manifest = dir.path().join("Cargo.toml");
        let code = embedded.tokens.to_string();
        assert!(code.contains(&format!("include_bytes ! ({:?})", manifest.to_string_lossy())), "{code}");
        assert_eq!(embedded.manifests, [manifest]);
    }

    #[test]
    fn the_chain_carries_the_history_table_its_settings_name() {
        let dir = folder(&[("a1b2_x.sql", GOOD)]);
        let code = embed_in(dir.path(), Verify::Off).unwrap().tokens.to_string();
        assert!(code.contains(r#"history_table : "migrate_history""#), "{code}");
        let manifest = "[package]\nname = \"demo\"\n\n[workspace]\n\n[package.metadata.migrate]\nhistory-table = \"app_revisions\"\n";
        fs::write(dir.path().join("Cargo.toml"), manifest).unwrap();
        let code = embed_in(dir.path(), Verify::Off).unwrap().tokens.to_string();
        assert!(code.contains(r#"history_table : "app_revisions""#), "{code}");
    }

    #[cfg(feature = "sqlite")]
    fn verify_error(files: &[(&str, &str)]) -> String {
        let dir = folder(files);
        embed_in(dir.path(), Verify::Sqlite).err().map(|e| e.to_string()).unwrap_or_default()
    }

    #[cfg(feature = "sqlite")]
    #[test]
    fn verify_names_the_failing_statement_in_either_direction() {
        let typo = "-- revision: e5f6\n-- revises: a1b2\n-- migrate:upgrade\nSELECT 1;\nCRATE TABLE v (id INTEGER);\n";
        let expected = "migrations/e5f6_z.sql:5: revision `e5f6` failed: near \"CRATE\": syntax error\n  \
                        in statement: CRATE TABLE v (id INTEGER)\n  \
                        (found by applying every revision on an in-memory SQLite database)";
        assert_eq!(verify_error(&[("a1b2_x.sql", GOOD), ("e5f6_z.sql", typo)]), expected);
        let twice = GOOD.replace("DROP TABLE t;", "DROP TABLE t;\nDROP TABLE t;");
        let expected = "migrations/a1b2_x.sql:7: revision `a1b2` failed: no such table: t\n  \
                        in statement: DROP TABLE t\n  \
                        (found by reverting every revision on an in-memory SQLite database)";
        assert_eq!(verify_error(&[("a1b2_x.sql", &twice)]), expected);
    }

    #[cfg(feature = "sqlite")]
    #[test]
    fn verify_stops_reverting_at_an_irreversible_revision() {
        let twice = GOOD.replace("DROP TABLE t;", "DROP TABLE t;\nDROP TABLE t;");
        let irreversible =
            "-- revision: c3d4\n-- revises: a1b2\n-- migrate:upgrade\nCREATE TABLE u (id INTEGER);\n";
        assert_eq!(verify_error(&[("a1b2_x.sql", &twice), ("c3d4_y.sql", irreversible)]), "");
    }
}
