//! One module per subcommand. Each maps its arguments to library calls and
//! renders the result; none holds logic of its own beyond that.

mod branches;
mod check;
mod completions;
mod current;
mod database;
mod diff;
mod fleet;
mod heads;
mod history;
mod import;
mod init;
mod merge;
mod new;
mod rebase;
mod rename;
mod repair;
mod reset;
mod show;
mod snapshot;
mod stamp;
mod sync;
mod upgrade;
mod walk;

use crate::cli::{ApplyOptions, Command, Format, GlobalArgs, MigrateArgs};
use crate::project::{Package, Project};
use anyhow::Result;
use migrate_runtime::chain::{package_order, PackageChain, Rev};
use migrate_runtime::{chain::target, Graph};
use std::cell::RefCell;
use std::path::Path;

/// What every command gets: the global options and the workspace.
pub struct Context {
    pub global: GlobalArgs,
    pub project: Project,
    /// `--format json` documents of the packages a command went through,
    /// printed as one document when it ends (see [`Context::document`]).
    documents: RefCell<Vec<serde_json::Value>>,
}

impl Context {
    pub fn json(&self) -> bool {
        self.global.format == Format::Json
    }

    /// Keeps `view` (with `--format json`) for the document the command
    /// prints when it ends: `view` itself, or `{"packages": [...]}` when
    /// it went through several packages. A command that fails part-way
    /// gives the documents of what it finished in its error document.
    pub fn document(&self, view: &impl serde::Serialize) -> Result<()> {
        if self.json() {
            self.documents.borrow_mut().push(serde_json::to_value(view)?);
        }
        Ok(())
    }

    /// `text` on stdout for a person; with `--format json`, `view` kept
    /// for the command's document instead.
    pub fn report(&self, text: &str, view: &impl serde::Serialize) -> Result<()> {
        match self.json() {
            true => self.document(view),
            false => {
                crate::output::print(text);
                Ok(())
            }
        }
    }

    /// `text` for a person: on stdout, or on stderr with `--format json`,
    /// where stdout holds only the document.
    pub fn tell(&self, text: &str) {
        match self.json() {
            true => crate::output::eprint(text),
            false => crate::output::print(text),
        }
    }

    /// What [`Context::document`] kept, as one document.
    fn take_documents(&self) -> Option<serde_json::Value> {
        let mut documents = self.documents.take();
        match documents.len() {
            0 => None,
            1 => documents.pop(),
            _ => Some(serde_json::json!({ "packages": documents })),
        }
    }

    /// The selected package and its validated chain.
    /// The selected package and its chain. The chain lives until the process
    /// exits and is never dropped: freeing ten thousand parsed revisions one
    /// by one costs a read command a tenth of its time, and the operating
    /// system takes the memory back at once (rustc does the same).
    pub fn chain(&self) -> Result<(&Package, &'static Graph)> {
        let package = self.project.select(self.global.package.as_deref())?;
        Ok((package, Box::leak(Box::new(package.load()?))))
    }
}

/// Runs the command; with `--format json` its document is printed when it
/// succeeds, and what it finished is handed to the error document when it
/// fails.
pub fn run(args: MigrateArgs) -> Result<(), Failure> {
    // Needs no project: it works anywhere, cargo or not.
    if let Command::Completions(completions) = &args.command {
        return completions::run(completions).map_err(Failure::from);
    }
    if args.global.database_url.len() > 1
        && !matches!(args.command, Command::Upgrade(_) | Command::Downgrade(_) | Command::Current(_))
    {
        return Err(anyhow::anyhow!(
            "`--database-url` is given {} times: only `upgrade`, `downgrade` and `current` run on several databases",
            args.global.database_url.len()
        )
        .into());
    }
    let project = project(&args.global)?;
    let cx = Context { global: args.global, project, documents: RefCell::default() };
    let outcome = dispatch(&cx, args.command);
    let finished = cx.take_documents();
    match outcome {
        Ok(()) => {
            if let Some(document) = finished {
                crate::output::print_json(&document)?;
            }
            Ok(())
        }
        Err(error) => Err(Failure { error, finished }),
    }
}

/// A command's error, and the JSON document of what it finished first.
pub struct Failure {
    pub error: anyhow::Error,
    pub finished: Option<serde_json::Value>,
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Failure {
        Failure { error, finished: None }
    }
}

fn dispatch(cx: &Context, command: Command) -> Result<()> {
    match command {
        Command::Init(args) => init::run(cx, args),
        Command::New(args) => new::run(cx, args),
        Command::Rename(args) => rename::run(cx, args),
        Command::History(args) => history::run(cx, args),
        Command::Heads => heads::run(cx),
        Command::Branches => branches::run(cx),
        Command::Show(args) => show::run(cx, args),
        Command::Merge(args) => merge::run(cx, args),
        Command::Rebase(args) => rebase::run(cx, args),
        Command::Check(args) => check::run(cx, args),
        Command::Diff => diff::run(cx),
        Command::Upgrade(args) => {
            let apply = ApplyOptions {
                sql: args.script.sql,
                dialect: args.script.dialect,
                rust_as_comment: args.script.rust_as_comment,
                baseline: args.baseline,
                ..args.apply
            };
            let scope = upgrade::Scope::new(cx, args.workspace, &args.fleet)?;
            upgrade::run(cx, &args.target, scope, apply, migrate_runtime::Direction::Upgrade)
        }
        Command::Downgrade(args) => {
            let apply = ApplyOptions {
                sql: args.script.sql,
                dialect: args.script.dialect,
                rust_as_comment: args.script.rust_as_comment,
                ..args.apply
            };
            let scope = upgrade::Scope::new(cx, args.workspace, &args.fleet)?;
            upgrade::run(cx, &args.target, scope, apply, migrate_runtime::Direction::Downgrade)
        }
        Command::Stamp(args) => stamp::run(cx, args),
        Command::Current(args) => current::run(cx, args),
        Command::Repair(args) => repair::run(cx, args),
        Command::Walk(args) => walk::run(cx, args),
        Command::Snapshot(args) => snapshot::run(cx, args),
        Command::Reset(args) => reset::run(cx, args),
        Command::Sync(args) => sync::run(cx, args),
        Command::Database(args) => database::run(cx, args),
        Command::Import(args) => import::run(cx, args),
        Command::Completions(args) => completions::run(&args),
    }
}

/// Every package with migrations and its validated chain, in an order in
/// which each package's cross-package `depends-on` are met by the packages
/// before it.
pub fn workspace_order(cx: &Context) -> Result<Vec<(&Package, Graph)>> {
    let mut loaded: Vec<(&Package, Graph)> =
        cx.project.chains().into_iter().map(|p| Ok((p, p.load()?))).collect::<Result<_>>()?;
    let order: Vec<String> = with_package_chains(cx, &loaded, |chains| {
        package_order(chains).map(|order| order.into_iter().map(str::to_string).collect())
    })?;
    loaded.sort_by_key(|(p, _)| order.iter().position(|name| *name == p.name));
    Ok(loaded)
}

/// Calls `body` with `loaded` as the library's workspace functions take
/// chains: each with its package's folder relative to the workspace, so
/// their errors name the file of the right package.
pub fn with_package_chains<T>(
    cx: &Context,
    loaded: &[(&Package, Graph)],
    body: impl FnOnce(&[PackageChain<'_>]) -> T,
) -> T {
    let dirs: Vec<_> = loaded.iter().map(|(p, _)| p.dir_in(&cx.project.workspace_root)).collect();
    let chains: Vec<PackageChain> = loaded
        .iter()
        .zip(&dirs)
        .map(|((p, g), dir)| PackageChain { package: &p.name, dir, graph: g })
        .collect();
    body(&chains)
}

/// The cargo workspace, or the one folder of standalone mode.
fn project(global: &GlobalArgs) -> Result<Project> {
    let mut project = match &global.migrations_dir {
        Some(folder) => {
            Project::standalone(folder, global.package.as_deref(), global.history_table.as_deref())?
        }
        None => Project::discover(global.manifest_path.as_deref())?,
    };
    if let Some(table) = &global.history_table {
        project.packages.iter_mut().for_each(|p| p.config.history_table = table.clone());
    }
    Ok(project)
}

/// Resolves a target that must name exactly one revision.
pub fn single(graph: &Graph, text: &str) -> Result<Rev> {
    match target::resolve(graph, text, &[])?.as_slice() {
        [one] => Ok(*one),
        [] => anyhow::bail!("`{text}` names no revision (it is the state before the first one)"),
        several => anyhow::bail!("`{text}` names several revisions: {}", graph.ids(several).join(", ")),
    }
}

/// Writes a new revision file, refusing to overwrite one.
pub fn write_new_file(package: &Package, name: &str, text: &str) -> Result<std::path::PathBuf> {
    use anyhow::Context as _;
    let relative = package.config.folder.join(name);
    let path = package.file(&relative);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    std::io::Write::write_all(&mut file, text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(relative)
}

/// `migrations/x.sql` with forward slashes.
pub fn display(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}
