//! Fleets: `upgrade`, `downgrade` and `current` over many databases in one
//! run (a database per tenant), from `--database-urls FILE` or a repeated
//! `--database-url`. Up to `-j N` databases run at once, each on its own
//! connection and thread; a database that fails is reported and the others
//! go on. A line per database as it ends (or a bar on a terminal), a table
//! at the end, exit 1 if any failed; `--format json` lists them all.

use super::Context;
use crate::cli::{FleetArgs, GlobalArgs};
use crate::errors::{Coded, Problem};
use crate::output::{eprint, print};
use crate::project::Package;
use anyhow::{bail, Context as _, Result};
use migrate_runtime::apply::{Options, State};
use migrate_runtime::database::DatabaseUrl;
use migrate_runtime::{Direction, Graph};
use serde::Serialize;
use std::io::IsTerminal;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// What a fleet run does to each database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    Apply(Direction),
    /// `current`: reads only.
    Read,
}

/// The databases of a fleet run: the file's, then the repeated
/// `--database-url`s; `None` when the command names one database (or none).
pub fn targets(cx: &Context, args: &FleetArgs) -> Result<Option<Fleet>> {
    let mut urls = Vec::new();
    if let Some(file) = &args.database_urls {
        urls.extend(read_list(file)?);
    }
    if args.database_urls.is_none() && cx.global.database_url.len() < 2 && args.schemas.is_empty() {
        return Ok(None);
    }
    for url in &cx.global.database_url {
        urls.push(DatabaseUrl::parse(url).with_context(|| "in --database-url".to_string())?);
    }
    if urls.is_empty() && args.schemas.is_empty() {
        let file = args.database_urls.as_deref().map_or(String::new(), |f| f.display().to_string());
        bail!("{file} lists no database");
    }
    if urls.is_empty() {
        // `--schemas` alone: the schemas of the one database the command
        // would use.
        let (package, _) = cx.chain()?;
        urls.push(crate::db::url(cx, package)?);
    }
    Ok(Some(Fleet { targets: with_schemas(urls, &args.schemas)?, jobs: usize::from(args.jobs) }))
}

/// Each database, or each schema of each database (PostgreSQL only).
fn with_schemas(urls: Vec<DatabaseUrl>, schemas: &[String]) -> Result<Vec<Target>> {
    if schemas.is_empty() {
        return Ok(urls.into_iter().map(|url| Target { url, schema: None }).collect());
    }
    if let Some(url) = urls.iter().find(|url| url.dialect() != migrate_runtime::Dialect::Postgres) {
        bail!("`--schemas` is for PostgreSQL (a schema per tenant); {url} is not a PostgreSQL database");
    }
    if let Some(empty) = schemas.iter().find(|s| s.trim().is_empty()) {
        bail!("`--schemas` names an empty schema (`{empty}`): give names separated by commas");
    }
    Ok(urls
        .iter()
        .flat_map(|url| {
            schemas.iter().map(|schema| Target { url: url.clone(), schema: Some(schema.trim().to_string()) })
        })
        .collect())
}

/// One database of a fleet, or one schema of one.
pub struct Target {
    url: DatabaseUrl,
    schema: Option<String>,
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.schema {
            Some(schema) => write!(f, "{} (schema {schema})", self.url),
            None => write!(f, "{}", self.url),
        }
    }
}

/// One URL per line; blank lines and `#` comments skipped. A line that is
/// not a URL is named by file and line (never quoted: it may hold a
/// password).
fn read_list(file: &Path) -> Result<Vec<DatabaseUrl>> {
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let mut urls = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let url = DatabaseUrl::parse(line).with_context(|| format!("{}:{}", file.display(), i + 1))?;
        urls.push(url);
    }
    Ok(urls)
}

/// How one database went.
#[derive(Serialize)]
struct Outcome {
    database: String,
    /// The current revisions before and after (the same for `current`).
    from: Vec<String>,
    to: Vec<String>,
    /// Revisions applied or reverted.
    steps: usize,
    elapsed_ms: f64,
    /// `ok` or `failed`.
    result: &'static str,
    error: Option<Problem>,
}

#[derive(Serialize)]
struct FleetView<'a> {
    package: &'a str,
    databases: Vec<Outcome>,
    ok: usize,
    failed: usize,
}

/// The databases of a run and how many run at once.
pub struct Fleet {
    pub targets: Vec<Target>,
    pub jobs: usize,
}

/// Runs `job` on every database of `fleet`, `fleet.jobs` at a time.
pub fn run(
    cx: &Context,
    package: &Package,
    graph: &Graph,
    fleet: Fleet,
    job: Job,
    target: &str,
    options: &Options,
) -> Result<()> {
    let Fleet { targets, jobs } = fleet;
    let total = targets.len();
    let live = Live::new(cx, total);
    let next = AtomicUsize::new(0);
    let outcomes: Mutex<Vec<Option<Outcome>>> = Mutex::new((0..total).map(|_| None).collect());
    let global = &cx.global;
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(total).max(1) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= total || options.interrupt.is_requested() {
                    return;
                }
                let outcome = one(global, package, &targets[i], graph, target, options, job);
                live.ended(&outcome);
                outcomes.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(outcome);
            });
        }
    });
    live.finish();
    let outcomes: Vec<Outcome> =
        outcomes.into_inner().unwrap_or_else(|e| e.into_inner()).into_iter().flatten().collect();
    let failed = outcomes.iter().filter(|o| o.result == "failed").count();
    let skipped = total - outcomes.len();
    if !cx.json() && !cx.global.quiet {
        print(&table(&outcomes));
    }
    let view = FleetView { package: &package.name, ok: outcomes.len() - failed, failed, databases: outcomes };
    cx.document(&view)?;
    if skipped > 0 {
        bail!("interrupted: {skipped} of {total} databases were not started");
    }
    match failed {
        0 => Ok(()),
        n => {
            Err(Coded::new("fleet-failed", format!("{n} of {total} databases failed (listed above)")).into())
        }
    }
}

/// One database: opened, run, read back. Every error is caught here, so
/// one database's failure never stops the others.
fn one(
    global: &GlobalArgs,
    package: &Package,
    fleet_target: &Target,
    graph: &Graph,
    target: &str,
    options: &Options,
    job: Job,
) -> Outcome {
    let started = Instant::now();
    let mut from = Vec::new();
    let mut steps = 0;
    let Target { url, schema } = fleet_target;
    let options = &Options { schema: schema.clone(), ..options.clone() };
    let connector = || match schema {
        Some(schema) => crate::db::connector().search_path(schema),
        None => crate::db::connector(),
    };
    let result = (|| -> Result<Vec<String>> {
        let database = match job {
            Job::Read => match connector().open_read_only(url)? {
                Some(database) => database,
                None => return Ok(Vec::new()),
            },
            Job::Apply(_) => connector().open(url)?,
        };
        if let (Some(schema), Job::Apply(Direction::Upgrade)) = (schema, job) {
            // A new tenant's schema is made on its first upgrade.
            migrate_runtime::database::create_schema(&database, schema)?;
        }
        from = current(graph, database.applied(graph, options)?);
        let mut count = |_: &migrate_runtime::apply::Step| steps += 1;
        let Job::Apply(direction) = job else { return Ok(from.clone()) };
        // Through the package's runner when the plan holds Rust revisions.
        let run = crate::runner::Run { package, graph, url, options, target, direction };
        crate::runner::apply(global, &run, &database, &mut count)?;
        Ok(current(graph, database.applied(graph, options)?))
    })();
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    let database = fleet_target.to_string();
    match result {
        Ok(to) => Outcome { database, from, to, steps, elapsed_ms, result: "ok", error: None },
        Err(error) => {
            let error = Some(crate::errors::summary(&error));
            Outcome { database, to: from.clone(), from, steps, elapsed_ms, result: "failed", error }
        }
    }
}

fn current(graph: &Graph, rows: Vec<migrate_runtime::apply::AppliedRevision>) -> Vec<String> {
    let state = State::new(graph, rows);
    state.graph().ids(&state.current())
}

fn revisions(ids: &[String]) -> String {
    match ids {
        [] => "<base>".to_string(),
        ids => ids.join(","),
    }
}

/// The final table: database, from, to, time, result.
fn table(outcomes: &[Outcome]) -> String {
    let width = outcomes.iter().map(|o| o.database.len()).max().unwrap_or(8).max(8);
    let mut out = format!("\n{:width$}  {:14}  {:14}  {:>9}  result\n", "database", "from", "to", "time");
    for o in outcomes {
        let result = match &o.error {
            None => format!("ok ({} step{})", o.steps, if o.steps == 1 { "" } else { "s" }),
            Some(error) => format!("FAILED: {}", error.message.lines().next().unwrap_or_default()),
        };
        out += &format!(
            "{:width$}  {:14}  {:14}  {:>6.0} ms  {result}\n",
            o.database,
            revisions(&o.from),
            revisions(&o.to),
            o.elapsed_ms
        );
    }
    let failed = outcomes.iter().filter(|o| o.error.is_some()).count();
    out + &format!("{} databases: {} ok, {failed} failed\n", outcomes.len(), outcomes.len() - failed)
}

/// The live summary: a line per database as it ends, or a bar on a
/// terminal; nothing with `-q` or `--format json`.
struct Live {
    bar: Option<indicatif::ProgressBar>,
    lines: bool,
    total: usize,
    ended: AtomicUsize,
    failed: AtomicUsize,
}

impl Live {
    fn new(cx: &Context, total: usize) -> Live {
        let quiet = cx.global.quiet || cx.json();
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::new(total as u64);
            if let Ok(style) =
                indicatif::ProgressStyle::with_template("{elapsed:>4} [{bar:30}] {pos}/{len} databases {msg}")
            {
                bar.set_style(style.progress_chars("=> "));
            }
            bar
        });
        Live {
            lines: !quiet && bar.is_none(),
            bar,
            total,
            ended: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
        }
    }

    fn ended(&self, outcome: &Outcome) {
        let k = self.ended.fetch_add(1, Ordering::SeqCst) + 1;
        let failed = match outcome.error {
            Some(_) => self.failed.fetch_add(1, Ordering::SeqCst) + 1,
            None => self.failed.load(Ordering::SeqCst),
        };
        if let Some(bar) = &self.bar {
            bar.set_position(k as u64);
            bar.set_message(format!("({failed} failed)"));
        }
        if self.lines {
            let what = match &outcome.error {
                None => format!("ok      {} -> {}", revisions(&outcome.from), revisions(&outcome.to)),
                Some(error) => format!("FAILED  {}", error.message.lines().next().unwrap_or_default()),
            };
            eprint(&format!(
                "[{k}/{}] {}  {what}  ({:.0} ms)\n",
                self.total, outcome.database, outcome.elapsed_ms
            ));
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
