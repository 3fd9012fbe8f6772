//! `cargo migrate check`: every chain of the workspace (or the `-p` one)
//! parses, forms a valid graph, its cross-package dependencies resolve, it
//! has one head (unless `multiple-heads = true`, or each head is on a
//! labelled branch of its own), the lint finds no error for the package's
//! database (`migrate_runtime::sql::lint`: statements that fail in their
//! revision's transaction, operations that lock or rewrite tables), and for
//! packages with a `schema.sql` that holds statements, the head schema is
//! the one it declares (both built in scratch databases and compared with
//! `Schema::diff`). With a database URL
//! (`--database-url` or `DATABASE_URL`), the selected package's applied
//! revisions must match their files (no drift) and the live schema must be
//! the head schema; that database is only read.

use super::Context;
use crate::cli::CheckArgs;
use crate::db;
use crate::output::{paint, print, print_error, print_warning, ID};
use crate::project::Package;
use crate::scratch;
use anyhow::{bail, Context as _, Result};
use migrate_runtime::apply::{State, SyncMark};
use migrate_runtime::chain::{combine, Snapshot};
use migrate_runtime::database::{Database, DatabaseUrl};
use migrate_runtime::sql::lint;
use migrate_runtime::Graph;
use serde::Serialize;

#[derive(Serialize)]
struct PackageReport<'a> {
    package: &'a str,
    revisions: usize,
    heads: Vec<String>,
}

/// `check --format json`: the packages checked and every lint finding
/// (also when the check fails).
#[derive(Serialize)]
struct CheckReport<'a> {
    packages: Vec<PackageReport<'a>>,
    findings: Vec<FindingView<'a>>,
}

/// A lint finding shaped like a rustc / clippy JSON diagnostic.
#[derive(Serialize)]
struct FindingView<'a> {
    package: &'a str,
    revision: &'a str,
    code: &'static str,
    name: &'static str,
    level: &'static str,
    message: &'a str,
    why: &'static str,
    help: &'static str,
    spans: [SpanView; 1],
}

#[derive(Serialize)]
struct SpanView {
    file_name: String,
    line_start: usize,
    column_start: usize,
}

impl<'a> FindingView<'a> {
    fn new(package: &'a str, finding: &'a lint::Finding) -> FindingView<'a> {
        FindingView {
            package,
            revision: &finding.revision,
            code: finding.rule.code,
            name: finding.rule.name,
            level: finding.severity.as_str(),
            message: &finding.message,
            why: finding.rule.why,
            help: finding.rule.fix,
            spans: [SpanView {
                file_name: finding.at.path.to_string_lossy().replace('\\', "/"),
                line_start: finding.at.line.unwrap_or(1),
                column_start: finding.column,
            }],
        }
    }
}

pub fn run(cx: &Context, args: CheckArgs) -> Result<()> {
    let packages = cx.project.chains_or_selected(cx.global.package.as_deref())?;
    if packages.is_empty() {
        bail!("no package has a migrations folder: run `cargo migrate init`");
    }
    let (loaded, mut failures) = load_all(&packages);
    // `-p billing` still needs the chains billing's `depends-on` names.
    let whole = match cx.global.package {
        Some(_) => load_all(&cx.project.chains()).0,
        None => Vec::new(),
    };
    let cross = if whole.is_empty() { &loaded } else { &whole };
    if failures.is_empty() {
        if let Err(errors) = super::with_package_chains(cx, cross, combine) {
            failures.push(anyhow::Error::new(errors).context("the workspace's cross-package dependencies"));
        }
    }
    failures.extend(loaded.iter().filter_map(|(p, g)| check_heads(p, g)));
    let mut findings = Vec::new();
    for (package, graph) in &loaded {
        let scope = if args.all { Lint::All } else { Lint::Unshipped };
        match lint_chain(cx, package, graph, scope) {
            Ok(found) => findings.push((*package, found)),
            Err(error) => failures.push(error),
        }
    }
    if !cx.json() {
        findings.iter().for_each(|(_, found)| print_findings(found));
    }
    failures.extend(findings.iter().filter_map(|(package, found)| lint_failure(package, found)));
    if failures.is_empty() {
        failures.extend(loaded.iter().filter_map(|(p, g)| compare_schema(cx, p, g).err()));
        failures.extend(loaded.iter().flat_map(|(p, g)| compare_snapshots(cx, p, g)));
    }
    if failures.is_empty() && cx.global.database_url().is_some() {
        match live_package(cx, &loaded) {
            Some((package, graph)) => failures.extend(compare_live(cx, package, graph).err()),
            // A DATABASE_URL set for other tools must not break `check` in a
            // workspace: say what was not done instead.
            None => eprintln!(
                "note: the database was not checked: several packages have migrations; choose one with `-p`"
            ),
        }
    }
    let reports: Vec<PackageReport> = loaded
        .iter()
        .map(|(p, g)| PackageReport { package: &p.name, revisions: g.len(), heads: g.ids(&g.heads()) })
        .collect();
    if cx.json() {
        let findings = findings
            .iter()
            .flat_map(|(p, found)| found.0.iter().map(|f| FindingView::new(&p.name, f)))
            .collect();
        cx.document(&CheckReport { packages: reports, findings })?;
        return fail_with(failures);
    }
    fail_with(failures)?;
    print(&reports.iter().map(render).collect::<String>());
    Ok(())
}

/// One failure as it is; several printed, then one error counting them
/// (whose JSON document lists the problems of each).
fn fail_with(mut failures: Vec<anyhow::Error>) -> Result<()> {
    match failures.len() {
        0 => Ok(()),
        1 => Err(failures.remove(0)),
        _ => {
            failures.iter().for_each(print_error);
            Err(crate::errors::Several(failures).into())
        }
    }
}

/// The package whose history a database URL is checked against: `-p`, else
/// the only chain, else the package the current folder is in.
fn live_package<'a>(cx: &Context, loaded: &'a [(&'a Package, Graph)]) -> Option<(&'a Package, &'a Graph)> {
    let wanted = match (&cx.global.package, loaded) {
        (Some(name), _) => name.clone(),
        (None, [only]) => only.0.name.clone(),
        (None, _) => cx.project.select(None).ok()?.name.clone(),
    };
    loaded.iter().find(|(p, _)| p.name == wanted).map(|(p, g)| (*p, g))
}

fn load_all<'a>(packages: &[&'a Package]) -> (Vec<(&'a Package, Graph)>, Vec<anyhow::Error>) {
    let mut loaded = Vec::new();
    let mut failures = Vec::new();
    for &package in packages {
        match package.load() {
            Ok(graph) => loaded.push((package, graph)),
            Err(error) => failures.push(error),
        }
    }
    (loaded, failures)
}

/// Several heads, unless `multiple-heads = true` or each is on a labelled
/// branch of its own: prints each unplanned head as an `error:` line and
/// returns one error naming the heads and the merge that joins them.
fn check_heads(package: &Package, graph: &Graph) -> Option<anyhow::Error> {
    if package.config.multiple_heads {
        return None;
    }
    let findings = graph.check_heads().err()?;
    for finding in findings.iter() {
        print_error(&anyhow::anyhow!("{finding}"));
    }
    let heads = graph.ids(&graph.heads());
    Some(anyhow::anyhow!(
        "package `{}` has {} heads ({}): join them with `cargo migrate merge {} -m \"...\"`, give each branch a label of its own (`-- branch: NAME`), or allow several heads with `multiple-heads = true` under `[package.metadata.migrate]`",
        package.name,
        heads.len(),
        heads.join(", "),
        heads.join(" ")
    ))
}

/// Which revisions `check` lints.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Lint {
    /// Every revision (`--all`).
    All,
    /// Those not applied anywhere yet: after the package's `shipped` one,
    /// and not applied in the database `check` is given.
    Unshipped,
}

/// Lints the chain for the package's database with its settings; the
/// findings on revisions up to the package's `shipped` one, and on those
/// the given database has applied, are dropped for [`Lint::Unshipped`]
/// (the schema is still followed through them): a revision that already
/// ran cannot be made safer by editing it.
fn lint_chain(cx: &Context, package: &Package, graph: &Graph, scope: Lint) -> Result<lint::Findings> {
    let context = || format!("package `{}`", package.name);
    let settings = package.lint_settings()?;
    let mut findings = match lint::check(graph.revisions(), &settings) {
        Ok(findings) | Err(findings) => findings,
    };
    let mut deployed = match &package.config.lint_shipped {
        // Checked with `--all` too: a wrong id is a mistake either way.
        Some(shipped) => match graph.find(shipped) {
            Some(rev) => graph.ancestors(&[rev]),
            None => bail!("{}: `shipped = \"{shipped}\"` under [package.metadata.migrate.lint] names no revision of its chain", context()),
        },
        None => graph.ancestors(&[]),
    };
    if scope == Lint::All {
        return Ok(findings);
    }
    if cx.global.database_url().is_some() {
        let applied = applied_in_database(cx, package, graph)?;
        deployed = graph.ancestors(&applied);
    }
    findings.drop_deployed(graph, &deployed);
    Ok(findings)
}

/// The revisions the given database has applied for `package`, with what
/// the `shipped` setting names: none when its SQLite file does not exist.
fn applied_in_database(
    cx: &Context,
    package: &Package,
    graph: &Graph,
) -> Result<Vec<migrate_runtime::chain::Rev>> {
    let mut revs = super::current::revisions(cx, package, graph)?;
    if let Some(rev) = package.config.lint_shipped.as_deref().and_then(|id| graph.find(id)) {
        revs.push(rev);
    }
    Ok(revs)
}

/// Each finding as an `error:` or `warning:` line
/// (`file:line:column CODE message: the safe way`).
fn print_findings(findings: &lint::Findings) {
    for finding in &findings.0 {
        match finding.severity {
            lint::Severity::Error => print_error(&anyhow::anyhow!("{finding}")),
            _ => print_warning(&finding.to_string()),
        }
    }
}

/// One error for the package when any finding is an error.
fn lint_failure(package: &Package, findings: &lint::Findings) -> Option<anyhow::Error> {
    let n = findings.errors().count();
    let statements = match n {
        0 => return None,
        1 => "1 statement breaks".to_string(),
        n => format!("{n} statements break"),
    };
    Some(anyhow::anyhow!(
        "package `{}`: {statements} a lint rule (allow one in a revision with `-- lint: allow CODE \"why\"`, or change its severity under `[package.metadata.migrate.lint]`)",
        package.name
    ))
}

/// `schema.sql` against the head schema; an error listing the differences.
fn compare_schema(cx: &Context, package: &Package, graph: &Graph) -> Result<()> {
    let Some(sql) = scratch::desired_sql(package)? else {
        // Not an error (a package may keep no desired schema), but never
        // silent: the comparison the README promises did not happen.
        eprintln!(
            "note: package `{}`: {} is missing or holds no statement, so the head schema was not compared with a desired one",
            package.name,
            package.config.schema.display()
        );
        return Ok(());
    };
    let scratch =
        scratch::scratch(package.config.dialect, cx.global.database_url(), &package.config.schemas)?;
    let head = scratch::head_schema(&scratch, package, graph)?;
    let differences = head.diff(&scratch::desired_schema(&scratch, package, &sql)?);
    if differences.is_empty() {
        return Ok(());
    }
    let lines: String = differences.iter().map(|d| format!("\n  {d}")).collect();
    bail!(
        "package `{}`: {} differs from the head schema (write a revision, e.g. `cargo migrate new -m MSG --autogenerate`):{lines}",
        package.name,
        package.config.schema.display()
    )
}

/// Each snapshot against its chain: the chain checksum it recorded, then
/// its schema against the one replaying the revisions up to it builds
/// (both in scratch databases). Every snapshot is checked; each failure
/// names its file.
fn compare_snapshots(cx: &Context, package: &Package, graph: &Graph) -> Vec<anyhow::Error> {
    if graph.snapshots().is_empty() {
        return Vec::new();
    }
    let dialect = package.config.dialect;
    let scratch = match scratch::scratch(dialect, cx.global.database_url(), &package.config.schemas) {
        Ok(scratch) => scratch,
        Err(error) => return vec![error],
    };
    let check = |snapshot: &Snapshot| -> Result<()> {
        snapshot.verify(graph, dialect)?;
        let replayed = scratch.schema_at(graph, &db::options(package), &snapshot.revision)?;
        let written = scratch
            .sql_schema(&snapshot.sql, &package.config.history_table)
            .with_context(|| format!("{}: the snapshot does not run", snapshot.file()))?;
        let differences = replayed.diff(&written);
        if differences.is_empty() {
            return Ok(());
        }
        let lines: String = differences.iter().map(|d| format!("\n  {d}")).collect();
        bail!(
            "{}: the snapshot's schema differs from the one the revisions up to `{}` build (differences go from the revisions to the snapshot; write it again with `cargo migrate snapshot {}`):{lines}",
            snapshot.file(),
            snapshot.revision,
            snapshot.revision
        )
    };
    let failures = graph.snapshots().iter().filter_map(|snapshot| check(snapshot).err());
    failures.map(|error| error.context(format!("package `{}`", package.name))).collect()
}

/// The live database against the chain: drift of applied revisions, then
/// its schema against the head schema. Only reads that database.
fn compare_live(cx: &Context, package: &Package, graph: &Graph) -> Result<()> {
    let url = db::url(cx, package)?;
    let Some(database) = db::open_read_only(&url)? else {
        bail!("database {url} does not exist");
    };
    let options = db::options(package);
    if let Some(mark) = database.synced(&options)? {
        return compare_synced(cx, package, &database, &url, &mark);
    }
    let rows = database.applied(graph, &options)?;
    let pending = super::diff::pending(graph, &rows);
    let state = State::new(graph, rows);
    let mut problems: Vec<String> = state.ensure_clean().err().iter().map(crate::hint::with_hint).collect();
    problems.extend(state.drift(database.dialect()).iter().map(crate::hint::with_hint));
    // A database behind its head is no fault (its revisions are pending,
    // not wrong), and its schema differs from the head's by what they do:
    // said, not listed as differences.
    match pending.as_slice() {
        [] => {
            let (differences, _) = super::diff::live_differences(cx, package, graph, &database)?;
            problems.extend(differences.iter().map(|d| format!("schema: {d}")));
        }
        pending => print_warning(&format!("{}; its schema was not compared", super::diff::behind(pending))),
    }
    if problems.is_empty() {
        return Ok(());
    }
    let lines: String = problems.iter().map(|p| format!("\n  {p}")).collect();
    bail!("package `{}`: database {url} does not match the revisions:{lines}", package.name)
}

/// A synced database against `schema.sql`, what it was synced to: its
/// history says nothing of the revisions, so they are not compared.
fn compare_synced(
    cx: &Context,
    package: &Package,
    database: &Database,
    url: &DatabaseUrl,
    mark: &SyncMark,
) -> Result<()> {
    let file = package.config.schema.display();
    let (desired, schemas) =
        scratch::first_schema_desired(package, database.dialect(), cx.global.database_url())?;
    let differences = database.schema_in(&package.config.history_table, &schemas)?.diff(&desired);
    if differences.is_empty() {
        print_warning(&format!(
            "database {url} was synced to {} at {}: compared with {file}, not with the revisions (`upgrade` refuses it until `cargo migrate reset` or `cargo migrate stamp REV`)",
            mark.source, mark.synced_at
        ));
        return Ok(());
    }
    let lines: String = differences.iter().map(|d| format!("\n  {d}")).collect();
    bail!(
        "package `{}`: database {url}, synced to {} at {}, differs from {file} (run `cargo migrate sync` again):{lines}",
        package.name,
        mark.source,
        mark.synced_at
    )
}

fn render(report: &PackageReport) -> String {
    let heads: Vec<String> = report.heads.iter().map(|h| paint(ID, h)).collect();
    let heads = match heads.len() {
        0 => "no revisions yet".to_string(),
        1 => format!("head {}", heads[0]),
        // Several heads pass only when deliberate: nothing to join.
        _ => format!("heads {}", heads.join(", ")),
    };
    format!("ok: package `{}`: {} revisions, {heads}\n", report.package, report.revisions)
}
