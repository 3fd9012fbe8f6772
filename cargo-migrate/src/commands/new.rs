//! `cargo migrate new -m MSG [--autogenerate]`: scaffold a revision on the
//! current head, or write the SQL from the head schema to `schema.sql`.

use super::{display, single, write_new_file, Context};
use crate::cli::NewArgs;
use crate::project::Package;
use crate::scratch;
use anyhow::{bail, Context as _, Result};
use migrate_runtime::chain::NewRevision;
use migrate_runtime::model::{validate_id, validate_label, Dependency, Language, TransactionMode};
use migrate_runtime::schema::Difference;
use migrate_runtime::schema::{generate, Changes};
use migrate_runtime::sql::lint;
use migrate_runtime::Graph;

pub fn run(cx: &Context, args: NewArgs) -> Result<()> {
    let (package, graph) = cx.chain()?;
    let parents = parents(graph, args.head.as_deref())?;
    let mut new = NewRevision::new(parents, &args.message);
    if let Some(id) = args.rev_id {
        new.id = checked_new_id(graph, id)?;
    }
    new.depends_on = args.depends_on.iter().map(|d| dependency(cx, graph, d)).collect::<Result<_>>()?;
    for label in &args.branch {
        validate_label(label).with_context(|| format!("invalid branch label `{label}`"))?;
    }
    new.branches = args.branch;
    if args.no_transaction {
        new.transaction = TransactionMode::None;
    }
    if args.rust {
        new.language = Language::Rust;
    }
    let mut notes = String::new();
    let mut follow_up = None;
    if args.autogenerate {
        let changes = autogenerate(cx, package, graph, &args.rename)?;
        if changes.is_empty() {
            let text = format!(
                "no changes: the head of package `{}` matches {}\n",
                package.name,
                schema_file(package)
            );
            return cx.report(&text, &Created::nothing(&package.name));
        }
        notes = fill(&mut new, &changes);
        follow_up = split_follow_up(&mut new, &changes);
        notes += &mark_lint_findings(package, graph, &[], &mut new)?;
        if let Some(follow_up) = &mut follow_up {
            notes += &mark_lint_findings(package, graph, &[&new], follow_up)?;
        }
    }
    let path = write_new_file(package, &new.file_name(), &new.render())?;
    if args.rust && !package.bins.contains(&package.config.runner) {
        // `cargo migrate upgrade` needs it for this revision.
        notes += &format!(
            "note: package `{}` has no runner (a bin target `{}`) to run Rust revisions for `cargo migrate upgrade`: add it with `cargo migrate init --rust`\n",
            package.name, package.config.runner
        );
    }
    let mut text = format!("created {} in package `{}`\n", display(&path), package.name);
    let mut created = Created::revision(&package.name, &path, &new, &notes);
    if let Some(follow_up) = &follow_up {
        let second = write_new_file(package, &follow_up.file_name(), &follow_up.render())?;
        text += &format!(
            "created {} in package `{}` (after it, with `transaction: none`: indexes built concurrently, constraints validated)\n",
            display(&second),
            package.name
        );
        created.follow_up = Some(FollowUp { created: display(&second), id: &follow_up.id });
    }
    cx.report(&(text + &notes), &created)
}

/// PostgreSQL's safe forms that cannot run in the revision's transaction
/// ([`Changes::follow_up`]): a second revision after `new`, with
/// `transaction: none`. When `new` would be left with nothing to do, it
/// becomes that revision itself, so no empty revision is written.
fn split_follow_up(new: &mut NewRevision, changes: &Changes) -> Option<NewRevision> {
    if changes.follow_up.is_empty() {
        return None;
    }
    let upgrade = changes.follow_up.join("\n");
    let downgrade = changes.follow_up_downgrade.join("\n");
    if changes.upgrade.is_empty() && changes.downgrade.is_empty() && changes.unsupported.is_empty() {
        new.transaction = TransactionMode::None;
        (new.upgrade, new.downgrade) = (upgrade, downgrade);
        return None;
    }
    let message = format!("{} (outside a transaction)", new.message);
    let mut follow_up = NewRevision::new(vec![new.id.clone()], &message);
    follow_up.transaction = TransactionMode::None;
    (follow_up.upgrade, follow_up.downgrade) = (upgrade, downgrade);
    Some(follow_up)
}

/// `new` and `merge` with `--format json`: the file written, if any.
#[derive(serde::Serialize)]
pub struct Created<'a> {
    package: &'a str,
    /// The new file, relative to the package; null when autogenerate found
    /// no changes.
    created: Option<String>,
    id: Option<&'a str>,
    parents: &'a [String],
    /// What autogenerate warns of (data loss, lint findings), one per line.
    notes: Vec<&'a str>,
    /// The second revision autogenerate wrote after this one (PostgreSQL
    /// indexes built concurrently, constraints validated), if any.
    follow_up: Option<FollowUp<'a>>,
}

/// A follow-up revision file, relative to the package, and its id.
#[derive(serde::Serialize)]
pub struct FollowUp<'a> {
    created: String,
    id: &'a str,
}

impl<'a> Created<'a> {
    pub fn revision(
        package: &'a str,
        path: &std::path::Path,
        new: &'a NewRevision,
        notes: &'a str,
    ) -> Created<'a> {
        Created {
            package,
            created: Some(display(path)),
            id: Some(&new.id),
            parents: &new.parents,
            notes: notes.lines().map(str::trim).filter(|l| !l.is_empty()).collect(),
            follow_up: None,
        }
    }

    fn nothing(package: &'a str) -> Created<'a> {
        Created { package, created: None, id: None, parents: &[], notes: Vec::new(), follow_up: None }
    }
}

/// The changes from the head schema to `schema.sql`.
fn autogenerate(cx: &Context, package: &Package, graph: &Graph, renames: &[String]) -> Result<Changes> {
    if graph.heads().len() > 1 {
        bail!(
            "autogenerate needs a single head: join the heads first with `cargo migrate merge -m MSG heads`"
        );
    }
    let Some(sql) = scratch::desired_sql(package)? else {
        bail!("{} is missing or empty: declare the schema you want there", schema_file(package));
    };
    let renames = renames
        .iter()
        .map(|pair| match pair.split_once(':') {
            Some((old, new)) if !old.is_empty() && !new.is_empty() => Ok((old.to_string(), new.to_string())),
            _ => Err(anyhow::anyhow!("invalid rename `{pair}`: expected OLD:NEW")),
        })
        .collect::<Result<Vec<_>>>()?;
    // Every schema the package owns: the first's objects are written
    // with plain names, the others' qualified (see `schema::generate`).
    let schemas = &package.config.schemas;
    let scratch = scratch::scratch(package.config.dialect, cx.global.database_url(), schemas)?;
    let head = scratch::head_schema(&scratch, package, graph)?;
    let desired = scratch::desired_schema(&scratch, package, &sql)?;
    Ok(generate(&head, &desired, package.config.dialect, &renames))
}

/// Puts the generated SQL into the revision; returns the warning lines.
fn fill(new: &mut NewRevision, changes: &Changes) -> String {
    new.upgrade = section(&changes.unsupported, &changes.upgrade);
    new.downgrade = section(&changes.unsupported_downgrade, &changes.downgrade);
    let mut notes: String =
        changes.warnings.iter().chain(&changes.cautions).map(|w| format!("warning: {w}\n")).collect();
    for difference in &changes.unsupported {
        notes += &format!("warning: not generated, write by hand: {difference}\n");
    }
    for difference in &changes.unsupported_downgrade {
        notes += &format!("warning: not generated in the downgrade, write by hand: {difference}\n");
    }
    notes
}

/// Lints the generated revision after the chain (and `earlier`, the
/// revisions written before it in this run), for the package's database:
/// each statement that breaks a rule gets a `-- lint:` comment above it,
/// naming the rule and the safe way, and a warning line. The generator
/// writes the safe form where there is one (see [`Changes::follow_up`]);
/// what remains (a `NOT NULL` column to backfill, a type change, a drop or
/// rename) is for the author to weigh: an allowance or another revision.
fn mark_lint_findings(
    package: &Package,
    graph: &Graph,
    earlier: &[&NewRevision],
    new: &mut NewRevision,
) -> Result<String> {
    let parse = |new: &NewRevision| {
        let path = package.config.folder.join(new.file_name());
        migrate_runtime::chain::parse_revision(&path, &new.render())
    };
    let earlier = earlier.iter().map(|new| parse(new)).collect::<Result<Vec<_>, _>>()?;
    let revision = parse(new)?;
    let Some(first_line) = revision.upgrade.first().map(|s| s.first_line) else { return Ok(String::new()) };
    let settings = package.lint_settings()?;
    let chain = graph.revisions().iter().chain(&earlier).chain([&revision]);
    let findings = match lint::check(chain, &settings) {
        Ok(findings) | Err(findings) => findings,
    };
    let mut lines: Vec<String> = new.upgrade.lines().map(str::to_string).collect();
    let ours: Vec<&lint::Finding> = findings.0.iter().filter(|f| f.revision == new.id).collect();
    // The upgrade's findings are marked: a transaction rule may also find
    // something in the generated downgrade, which is printed only.
    let end = first_line + lines.len();
    let marked: Vec<(usize, &lint::Finding)> = ours
        .iter()
        .filter_map(|f| Some((f.at.line.filter(|l| (first_line..end).contains(l))? - first_line, *f)))
        .collect();
    let mut notes = String::new();
    // Bottom up, so earlier insertions do not move later lines.
    for (index, finding) in marked.into_iter().rev() {
        let comment = format!("-- lint {}: {}: {}", finding.rule.code, finding.message, finding.rule.fix);
        lines.insert(index, comment);
    }
    for finding in ours {
        notes += &format!("warning: {} {}: {}\n", finding.rule.code, finding.message, finding.rule.fix);
    }
    new.upgrade = lines.join("\n");
    Ok(notes)
}

/// A section's SQL, led by a comment for each difference left to the user.
fn section(by_hand: &[Difference], statements: &[String]) -> String {
    let notes = by_hand.iter().map(|d| format!("-- not generated, write by hand: {d}"));
    notes.chain(statements.iter().cloned()).collect::<Vec<_>>().join("\n")
}

fn schema_file(package: &Package) -> String {
    display(&package.config.schema)
}

/// The new revision's parent: `--head` (`base`: none, a new base), else the
/// single head (none for an empty chain).
fn parents(graph: &Graph, head: Option<&str>) -> Result<Vec<String>> {
    match head.map(str::trim) {
        Some("base") => return Ok(Vec::new()),
        Some(head) => return Ok(vec![graph.revision(single(graph, head)?).id.clone()]),
        None => {}
    }
    let heads = graph.heads();
    if heads.len() > 1 {
        bail!(
            "several heads ({}): pass `--head REV`, or join them first with `cargo migrate merge -m MSG heads`",
            graph.ids(&heads).join(", ")
        );
    }
    Ok(graph.ids(&heads))
}

/// An id given with `--rev-id`: valid, and not already taken.
pub fn checked_new_id(graph: &Graph, id: String) -> Result<String> {
    validate_id(&id).with_context(|| format!("invalid revision id `{id}`"))?;
    if let Some(rev) = graph.find(&id) {
        bail!("revision `{id}` already exists: {}", graph.revision(rev).location);
    }
    Ok(id)
}

/// `REV` (this package) or `PACKAGE:REV`, resolved to a full id.
fn dependency(cx: &Context, graph: &Graph, text: &str) -> Result<Dependency> {
    let own = cx.project.select(cx.global.package.as_deref())?;
    match text.split_once(':').filter(|(name, _)| *name != own.name) {
        None => {
            let rev = text.rsplit(':').next().unwrap_or(text);
            Ok(Dependency { package: None, id: graph.revision(single(graph, rev)?).id.clone() })
        }
        Some((name, rev)) => {
            let other = cx.project.select(Some(name))?.load()?;
            let id = other.revision(single(&other, rev)?).id.clone();
            Ok(Dependency { package: Some(name.to_string()), id })
        }
    }
}
