//! `cargo migrate import --from sqlx|diesel|refinery|alembic [PATH]
//! [--adopt]`: another tool's migrations folder written as revision files
//! into the package's empty migrations folder, and with `--adopt` the
//! revisions its history table shows as applied stamped, as `stamp`
//! records them. Alembic's Python revisions are read through Alembic itself
//! (`crate::alembic`).

use super::{display, write_new_file, Context};
use crate::alembic::Alembic;
use crate::cli::{ImportArgs, ImportFrom};
use crate::db;
use crate::output::{paint, ID};
use crate::project::Package;
use anyhow::{bail, Context as _, Result};
use migrate_runtime::chain::{self, Adoption, Imported, Source};
use migrate_runtime::database::{Database, DatabaseUrl};
use std::path::Path;

pub fn run(cx: &Context, args: ImportArgs) -> Result<()> {
    let package = cx.project.select_for_init(cx.global.package.as_deref())?;
    let Some(source) = source(args.from) else { return run_alembic(cx, package, &args) };
    let folder = args.path.as_deref().unwrap_or(Path::new("migrations"));
    refuse_own_folder(package, source.name(), folder)?;
    let files = chain::read_tree(folder)?;
    let imported = chain::import(source, folder, &files)?;
    // The database is read before any file is written, so a refused
    // adoption leaves the folder as it was.
    let adopting = if args.adopt { Some(read_history(cx, package, source, &imported)?) } else { None };
    let created = write(cx, package, source.name(), folder, &imported)?;
    let stamped = match &adopting {
        Some(adopting) => stamp(cx, package, source, adopting)?,
        None => Vec::new(),
    };
    let database = adopting.map(|a| a.url.to_string());
    cx.document(&ImportView { package: &package.name, source: source.name(), created, database, stamped })
}

/// `import --format json`: the files written and the revisions stamped.
#[derive(serde::Serialize)]
struct ImportView<'a> {
    package: &'a str,
    source: &'a str,
    /// The revision files written, relative to the package (empty when the
    /// folder held them already).
    created: Vec<String>,
    /// With `--adopt`, the database adopted (password hidden).
    database: Option<String>,
    /// The revisions `--adopt` recorded as applied.
    stamped: Vec<String>,
}

/// `--from alembic`: the project's revisions through Alembic's offline
/// mode, for the package's dialect; with `--adopt`, each head
/// `alembic_version` holds stamped.
fn run_alembic(cx: &Context, package: &Package, args: &ImportArgs) -> Result<()> {
    let folder = args.path.as_deref().unwrap_or(Path::new("."));
    refuse_own_folder(package, "alembic", folder)?;
    let alembic = Alembic::find(folder, package.config.dialect)?;
    let imported = chain::import_alembic(&alembic.revisions()?)?;
    let adopting = match args.adopt {
        true => {
            let url = db::url(cx, package)?;
            let database = db::open(&url)?;
            let rows = database
                .query_rows(&chain::alembic_history_sql())
                .context("cannot read Alembic's history table `alembic_version` (is this the database Alembic migrated?)")?;
            Some((chain::alembic_adoption(&imported, &rows)?, database, url))
        }
        false => None,
    };
    let created = write(cx, package, "alembic", folder, &imported)?;
    let mut view = ImportView {
        package: &package.name,
        source: "alembic",
        created,
        database: None,
        stamped: Vec::new(),
    };
    if let Some((heads, database, url)) = adopting {
        cx.tell(&format!("database {url}\nalembic_version: at {}\n", heads.join(", ")));
        let graph = package.load()?;
        for head in &heads {
            for step in database.stamp(&graph, &db::options(package), head)? {
                cx.tell(&format!("stamped {}  {}\n", paint(ID, &step.revision), step.message));
                view.stamped.push(step.revision);
            }
        }
        view.database = Some(url.to_string());
    }
    cx.document(&view)
}

/// The database and what its history of the source tool shows as applied.
struct Adopting {
    database: Database,
    url: DatabaseUrl,
    adoption: Adoption,
}

/// The SQL tool `from` names; `None` for Alembic, read another way.
fn source(from: ImportFrom) -> Option<Source> {
    match from {
        ImportFrom::Sqlx => Some(Source::Sqlx),
        ImportFrom::Diesel => Some(Source::Diesel),
        ImportFrom::Refinery => Some(Source::Refinery),
        ImportFrom::Alembic => None,
    }
}

/// The converted files cannot share the folder with their sources: the
/// loader would read the sources as broken revisions.
fn refuse_own_folder(package: &Package, source: &str, folder: &Path) -> Result<()> {
    let same = match (folder.canonicalize(), package.migrations_dir().canonicalize()) {
        (Ok(given), Ok(own)) => given == own,
        _ => false,
    };
    if same {
        bail!(
            "{folder} is package `{}`'s migrations folder, where the revision files go: move the {source} \
             files elsewhere first (`git mv {folder} {folder}.{source}`) and import from there",
            package.name,
            folder = display(folder),
        );
    }
    Ok(())
}

/// Writes the files into an empty migrations folder; a folder holding
/// exactly these files already is left as it is.
fn write(
    cx: &Context,
    package: &Package,
    source: &str,
    folder: &Path,
    imported: &[Imported],
) -> Result<Vec<String>> {
    let own = &package.config.folder;
    let existing =
        if package.has_migrations() { chain::read_folder(&package.root, own)? } else { Vec::new() };
    if !existing.is_empty() {
        already_there(cx, package, &existing, imported)?;
        return Ok(Vec::new());
    }
    let dir = package.migrations_dir();
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    cx.tell(&format!(
        "importing {} {source} migration(s) from {} into package `{}`\n",
        imported.len(),
        display(folder),
        package.name
    ));
    let mut created = Vec::new();
    for one in imported {
        let path = write_new_file(package, &one.file_name, &one.text)?;
        let from: Vec<String> = one.from.iter().map(|p| display(p)).collect();
        cx.tell(&format!("created {}  (from {})\n", display(&path), from.join(", ")));
        created.push(display(&path));
    }
    Ok(created)
}

/// Nothing to do when the folder holds exactly what import writes;
/// anything else is refused, naming the first file that differs.
fn already_there(
    cx: &Context,
    package: &Package,
    existing: &[chain::SourceFile],
    imported: &[Imported],
) -> Result<()> {
    let name = |file: &chain::SourceFile| file.path.file_name().map(|n| n.to_string_lossy().into_owned());
    // By name, not position: an Alembic graph is imported bases first, not
    // in file-name order.
    let same = existing.len() == imported.len()
        && imported.iter().all(|new| {
            existing
                .iter()
                .any(|old| name(old).as_deref() == Some(new.file_name.as_str()) && old.text == new.text)
        });
    if same {
        cx.tell(&format!(
            "{} already holds these revisions: nothing written\n",
            display(&package.config.folder)
        ));
        return Ok(());
    }
    let differing = existing
        .iter()
        .find(|old| {
            !imported.iter().any(|new| name(old).as_deref() == Some(&new.file_name) && old.text == new.text)
        })
        .or(existing.first())
        .map_or_else(String::new, |file| format!(" (such as {})", display(&file.path)));
    bail!(
        "{} already holds revision files{differing}: import writes into an empty migrations folder",
        display(&package.config.folder)
    )
}

/// Reads the source tool's history table and checks it against the folder.
fn read_history(cx: &Context, package: &Package, source: Source, imported: &[Imported]) -> Result<Adopting> {
    let url = db::url(cx, package)?;
    let database = db::open(&url)?;
    let rows = history_rows(&database, source)?;
    let adoption = chain::adoption(source, imported, &rows)?;
    Ok(Adopting { database, url, adoption })
}

/// Stamps the revisions the source tool's history table shows as applied.
/// Returns the ids it stamped.
fn stamp(cx: &Context, package: &Package, source: Source, adopting: &Adopting) -> Result<Vec<String>> {
    let Adopting { database, url, adoption } = adopting;
    cx.tell(&format!("database {url}\n"));
    cx.tell(&format!("{}: {}\n", source.history_table(), verification(source, adoption)));
    let Some(target) = &adoption.stamp else { return Ok(Vec::new()) };
    let graph = package.load()?;
    let steps = database.stamp(&graph, &db::options(package), target)?;
    for step in &steps {
        cx.tell(&format!("stamped {}  {}\n", paint(ID, &step.revision), step.message));
    }
    Ok(steps.into_iter().map(|step| step.revision).collect())
}

fn history_rows(database: &Database, source: Source) -> Result<Vec<chain::HistoryRow>> {
    let sql = source.history_sql(database.dialect());
    database.query_rows(&sql).with_context(|| {
        format!(
            "cannot read {source}'s history table `{}` (is this the database {source} migrated?)",
            source.history_table()
        )
    })
}

/// `2 applied, contents verified by checksum`, or why they were not.
fn verification(source: Source, adoption: &Adoption) -> String {
    let applied = format!("{} applied", adoption.applied);
    match (adoption.applied, adoption.verified) {
        (0, _) => applied,
        (all, verified) if all == verified => {
            format!("{applied}, each file checked against {source}'s checksum")
        }
        _ if source == Source::Diesel => {
            format!("{applied}; diesel keeps no checksums, so the contents were not verified")
        }
        (_, verified) => {
            format!("{applied}; {verified} checked against {source}'s checksum, the others not verified")
        }
    }
}
