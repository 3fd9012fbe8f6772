//! `cargo migrate init`: the migrations folder, the package's
//! `[package.metadata.migrate]` table and an empty desired schema.

use super::{display, Context};
use crate::cli::InitArgs;
use crate::project::{Package, STANDALONE_CONFIG};
use anyhow::{bail, Context as _, Result};
use migrate_runtime::Dialect;
use std::path::Path;

const SCHEMA_TEMPLATE: &str = "\
-- The schema the head revision should produce: plain DDL for this package's
-- dialect. `cargo migrate check` compares the two.
";

pub fn run(cx: &Context, args: InitArgs) -> Result<()> {
    let package = cx.project.select_for_init(cx.global.package.as_deref())?;
    let Some(manifest) = &package.manifest_path else {
        bail!("`init` sets up a cargo package; in standalone mode create the folder and its {STANDALONE_CONFIG} yourself");
    };
    let mut report = String::new();
    let (mut created, mut kept) = (Vec::new(), Vec::new());
    let folder = package.migrations_dir();
    let folder_name = format!("{}/", display(&package.config.folder));
    if folder.is_dir() {
        report += &format!("kept     {folder_name} (already there)\n");
        kept.push(folder_name);
    } else {
        std::fs::create_dir_all(&folder).with_context(|| format!("cannot create {}", folder.display()))?;
        report += &format!("created  {folder_name}\n");
        created.push(folder_name);
    }
    let configured = add_config(manifest, &args.dialect)?;
    if configured {
        report += "added    [package.metadata.migrate] to Cargo.toml\n";
    }
    let schema = package.root.join(&package.config.schema);
    if !schema.exists() {
        std::fs::write(&schema, SCHEMA_TEMPLATE)
            .with_context(|| format!("cannot write {}", schema.display()))?;
        report += &format!("created  {}\n", display(&package.config.schema));
        created.push(display(&package.config.schema));
    }
    if args.rust {
        let dialect = match configured {
            true => args.dialect.as_str(),
            false => dialect_name(package.config.dialect),
        };
        report += &scaffold_runner(package, manifest, dialect, &mut created)?;
    }
    report += &build_script_advice(&package.config.folder);
    report += &format!("\nNext: cargo migrate new -m \"create tables\" -p {}\n", package.name);
    let view = serde_json::json!({ "package": package.name, "created": created, "kept": kept, "config_added": configured });
    cx.report(&report, &view)
}

/// The runner `cargo migrate` builds to run Rust revisions (see
/// `migrate_runtime::runner`): one call with the embedded chain.
const RUNNER: &str = "\
//! The package's runner: `cargo migrate upgrade` builds it and runs the
//! chain's Rust revisions through it. Alone (in a container without
//! cargo), `migrate upgrade --database-url URL` does the same.

fn main() -> std::process::ExitCode {
    migrate_runtime::runner::main(&migrate_macros::embed_migrations!())
}
";

/// `src/bin/<runner>.rs` unless there, and the dependencies it calls
/// unless the manifest has them; what it did, a line each.
fn scaffold_runner(
    package: &Package,
    manifest: &Path,
    dialect: &str,
    created: &mut Vec<String>,
) -> Result<String> {
    let relative = format!("src/bin/{}.rs", package.config.runner);
    let path = package.root.join(&relative);
    let mut report = String::new();
    if path.exists() {
        report += &format!("kept     {relative} (already there)\n");
    } else {
        let folder = path.parent().unwrap_or(&package.root);
        std::fs::create_dir_all(folder).with_context(|| format!("cannot create {}", folder.display()))?;
        std::fs::write(&path, RUNNER).with_context(|| format!("cannot write {}", path.display()))?;
        report += &format!("created  {relative} (the runner of Rust revisions)\n");
        created.push(relative);
    }
    let runtime = format!(
        "migrate-runtime = {{ version = \"0.1\", default-features = false, features = [\"{dialect}\"] }}"
    );
    for (name, line) in
        [("migrate-runtime", runtime.as_str()), ("migrate-macros", "migrate-macros = \"0.1\"")]
    {
        if add_dependency(manifest, name, line)? {
            report += &format!("added    `{line}` to [dependencies]\n");
        }
    }
    Ok(report)
}

fn dialect_name(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => "sqlite",
        Dialect::Postgres => "postgres",
    }
}

/// Adds `line` under `[dependencies]` unless `name` is there already.
fn add_dependency(manifest: &Path, name: &str, line: &str) -> Result<bool> {
    let text =
        std::fs::read_to_string(manifest).with_context(|| format!("cannot read {}", manifest.display()))?;
    let parsed: toml::Table =
        toml::from_str(&text).with_context(|| format!("{} is not valid TOML", manifest.display()))?;
    if parsed.get("dependencies").and_then(|deps| deps.get(name)).is_some() {
        return Ok(false);
    }
    let text = match text.lines().position(|l| l.trim() == "[dependencies]") {
        Some(at) => {
            let mut lines: Vec<&str> = text.lines().collect();
            lines.insert(at + 1, line);
            lines.join("\n") + "\n"
        }
        None => format!("{}\n[dependencies]\n{line}\n", text.trim_end()),
    };
    std::fs::write(manifest, text).with_context(|| format!("cannot write {}", manifest.display()))?;
    Ok(true)
}

/// What embedding needs so that a new revision file rebuilds the crate:
/// the build dependency and `build.rs`, the same as the README shows.
fn build_script_advice(folder: &Path) -> String {
    let call = if folder == Path::new("migrations") {
        "migrate_runtime::embed::rerun_if_migrations_changed();".to_string()
    } else {
        format!("migrate_runtime::embed::Builder::new().folder({:?}).rerun_if_changed();", display(folder))
    };
    format!(
        "\nTo embed the chain (`embed_migrations!`) and rebuild when a revision is added, add to Cargo.toml\n\n    \
         [build-dependencies]\n    migrate-runtime = {{ version = \"0.1\", default-features = false }}\n\n\
         and to build.rs:\n\n    fn main() {{\n        {call}\n    }}\n"
    )
}

/// Appends the config table unless the manifest already has one.
fn add_config(manifest: &Path, dialect: &str) -> Result<bool> {
    let text =
        std::fs::read_to_string(manifest).with_context(|| format!("cannot read {}", manifest.display()))?;
    if text.contains("[package.metadata.migrate]") {
        return Ok(false);
    }
    let separator = if text.ends_with('\n') { "\n" } else { "\n\n" };
    let table = format!(
        "{separator}[package.metadata.migrate]\nfolder = \"migrations\"\ndialect = \"{dialect}\"\nschema = \"schema.sql\"\n"
    );
    std::fs::write(manifest, text + &table)
        .with_context(|| format!("cannot write {}", manifest.display()))?;
    Ok(true)
}
