//! The one hand-off of a live `upgrade`/`downgrade` (a package's, each of
//! a workspace's, `reset`'s, each database of a fleet's): a plan of SQL
//! revisions runs here; a plan with Rust revisions, whose code exists only
//! in a program that embeds the chain, runs in the package's runner (see
//! `migrate_runtime::runner`), built with cargo and spoken to over pipes.
//! Its messages become the same progress, steps and errors as a run here,
//! so the commands cannot tell the two apart.
//!
//! Signals: the runner gets its own process group, so a terminal's Ctrl-C
//! reaches this process only; the first signal's request is passed on as
//! a line on the runner's stdin (its revision rolls back and it answers
//! `interrupted`), and a second ends this process at once, which closes
//! that stdin, which stops the runner at its safe point too.

use crate::cli::GlobalArgs;
use crate::commands::display;
use crate::project::Package;
use anyhow::{bail, Context as _, Result};
use migrate_runtime::apply::{Event, Options, Step};
use migrate_runtime::database::{Database, DatabaseUrl};
use migrate_runtime::runner::{self as protocol, Command, Failure, Message, Request, WireOptions};
use migrate_runtime::{ApplyError, Direction, Graph, Revision};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One live run of `package`'s chain to `target`.
pub struct Run<'a> {
    pub package: &'a Package,
    pub graph: &'a Graph,
    pub url: &'a DatabaseUrl,
    pub options: &'a Options,
    pub target: &'a str,
    pub direction: Direction,
}

/// Runs `run` where its revisions' code is: here, unless the plan holds a
/// Rust revision, which the library refuses before anything runs; then in
/// the package's runner. `on_step` hears each revision that finished.
pub fn apply(
    global: &GlobalArgs,
    run: &Run,
    database: &Database,
    on_step: &mut dyn FnMut(&Step),
) -> Result<()> {
    let mut finished = 0;
    let mut counted = |step: &Step| {
        finished += 1;
        on_step(step);
    };
    let ran = match run.direction {
        Direction::Upgrade => database.upgrade(run.graph, run.options, run.target, &mut counted),
        Direction::Downgrade => database.downgrade(run.graph, run.options, run.target, &mut counted),
    };
    let refused = match ran {
        Ok(_) => return Ok(()),
        // Only a refusal before anything ran: the runner resolves the
        // target (`-1`) again, on the same history.
        Err(ApplyError::RustNotCompiledIn { revision, .. }) if finished == 0 => revision,
        Err(error) => return Err(error.into()),
    };
    let Some(first) = run.graph.find(&refused).map(|rev| run.graph.revision(rev)) else {
        bail!("revision `{refused}` is a Rust revision this chain does not hold");
    };
    let binary = build(global, run.package, first)?;
    through(&binary, run, on_step)
}

/// The runner's executable, built (quietly, unless `-v`; build errors
/// shown as cargo shows them) once per process: a fleet's databases all
/// run through the one build, and its workers wait for it in turn. A
/// failed build is remembered too, so cargo's errors are shown once, not
/// once per database.
fn build(global: &GlobalArgs, package: &Package, first: &Revision) -> Result<PathBuf> {
    static BUILT: Mutex<BTreeMap<PathBuf, Result<PathBuf, String>>> = Mutex::new(BTreeMap::new());
    let runner = &package.config.runner;
    let Some(manifest) = package.manifest_path.as_ref().filter(|_| package.bins.contains(runner)) else {
        return Err(no_runner(package, first).into());
    };
    let mut built = BUILT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let outcome = built
        .entry(manifest.clone())
        .or_insert_with(|| cargo_build(global, package, manifest).map_err(|error| format!("{error:#}")));
    outcome.clone().map_err(anyhow::Error::msg)
}

fn cargo_build(global: &GlobalArgs, package: &Package, manifest: &Path) -> Result<PathBuf> {
    let runner = &package.config.runner;
    let mut cargo = std::process::Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cargo.args(["build", "--bin", runner, "--message-format=json-render-diagnostics", "--manifest-path"]);
    cargo.arg(manifest).stdout(Stdio::piped()).stderr(Stdio::inherit());
    if !global.verbose {
        cargo.arg("--quiet");
    }
    let output = cargo.output().context("cannot run cargo to build the package's runner")?;
    if !output.status.success() {
        bail!("cannot build the runner `{runner}` of package `{}` (cargo's errors above)", package.name);
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| message["target"]["name"] == runner.as_str())
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
        .with_context(|| {
            format!("cargo built no executable for the runner `{runner}` of package `{}`", package.name)
        })
}

/// The error for a chain with Rust revisions and no runner to run them.
fn no_runner(package: &Package, first: &Revision) -> Failure {
    let at = &first.location;
    let message = match package.manifest_path {
        None => format!(
            "{at}: revision `{}` is a Rust revision: standalone mode has no runner to run it; run the package's runner instead (`migrate upgrade --database-url URL`)",
            first.id
        ),
        Some(_) => format!(
            "{at}: revision `{}` is a Rust revision and package `{}` has no runner (a bin target `{}`) to run it: add one with `cargo migrate init --rust`, or name yours with `runner = \"NAME\"` in [package.metadata.migrate]",
            first.id, package.name, package.config.runner
        ),
    };
    Failure { file: Some(display(&at.path)), line: at.line, ..Failure::new("no-runner", message) }
}

/// Runs `run` in the runner at `binary` and relays what it says.
fn through(binary: &Path, run: &Run, on_step: &mut dyn FnMut(&Step)) -> Result<()> {
    let mut child = spawn(binary)?;
    let request = Request {
        protocol: protocol::PROTOCOL,
        command: match run.direction {
            Direction::Upgrade => Command::Upgrade,
            Direction::Downgrade => Command::Downgrade,
        },
        target: run.target.to_string(),
        url: run.url.to_unredacted(),
        options: WireOptions::new(run.options),
    };
    let mut stdin = child.stdin.take().context("the runner's stdin")?;
    // A runner that refuses the protocol may have ended already: what it
    // said is read below, and a closed pipe here is no error of its own.
    let _ = writeln!(stdin, "{}", serde_json::to_string(&request)?);
    let finished = Arc::new(AtomicBool::new(false));
    let forwarder = forward_stop(stdin, run.options.interrupt.clone(), finished.clone());
    let stdout = BufReader::new(child.stdout.take().context("the runner's stdout")?);
    let outcome = relay(binary, stdout, run, on_step);
    finished.store(true, Ordering::SeqCst);
    let _ = forwarder.join();
    let status = child.wait().context("wait for the runner")?;
    match outcome? {
        Some(Ok(())) => Ok(()),
        Some(Err(failure)) => Err(failure.into()),
        None => bail!("the runner `{}` ended without an answer ({status})", binary.display()),
    }
}

fn spawn(binary: &Path) -> Result<Child> {
    let mut command = std::process::Command::new(binary);
    command
        .arg(protocol::PROTOCOL_FLAG)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    command.spawn().with_context(|| format!("cannot start the runner `{}`", binary.display()))
}

/// Passes the first signal's request on to the runner, until `finished`;
/// then drops its stdin.
fn forward_stop(
    mut stdin: ChildStdin,
    interrupt: migrate_runtime::apply::Interrupt,
    finished: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        while !finished.load(Ordering::SeqCst) {
            if interrupt.is_requested() {
                let _ = writeln!(stdin, "stop").and_then(|()| stdin.flush());
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    })
}

/// Reads the runner's messages to its answer: `None` when it ended
/// without one.
fn relay(
    binary: &Path,
    stdout: impl BufRead,
    run: &Run,
    on_step: &mut dyn FnMut(&Step),
) -> Result<Option<Result<(), Failure>>> {
    let mut lines = stdout.lines();
    let Some(first) = lines.next().transpose()? else { return Ok(None) };
    hello(binary, &first)?;
    for line in lines {
        let line = line?;
        let message: Message = serde_json::from_str(&line).with_context(|| {
            format!(
                "the runner `{}` said what protocol {} does not: {line}",
                binary.display(),
                protocol::PROTOCOL
            )
        })?;
        match message {
            Message::Done => return Ok(Some(Ok(()))),
            Message::Failed(failure) => return Ok(Some(Err(failure))),
            other => tell(other, run, on_step),
        }
    }
    Ok(None)
}

/// The runner's first line: its protocol, which must be this one's.
fn hello(binary: &Path, line: &str) -> Result<()> {
    let value: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
    let who = format!(
        "the runner `{}` (migrate-runtime {})",
        binary.display(),
        value["runtime"].as_str().unwrap_or("?")
    );
    match value["protocol"].as_u64() {
        Some(version) if value["type"] == "hello" && version == u64::from(protocol::PROTOCOL) => Ok(()),
        Some(version) if value["type"] == "hello" => {
            let us = concat!("cargo-migrate ", env!("CARGO_PKG_VERSION"));
            Err(protocol::mismatch(u32::try_from(version).unwrap_or(u32::MAX), &who, us).into())
        }
        _ => bail!(
            "`{}` is not a cargo-migrate runner (its first line: {line}); a runner's `main` calls `migrate_runtime::runner::main`",
            binary.display()
        ),
    }
}

/// A message of the run, as the run here would have said it.
fn tell(message: Message, run: &Run, on_step: &mut dyn FnMut(&Step)) {
    match &message {
        Message::Starting { revision, message, index, total } => run.options.progress.send(Event::Starting {
            revision,
            message,
            direction: run.direction,
            index: *index,
            total: *total,
        }),
        Message::Waiting { holder, waited_ms } => {
            run.options.progress.send(Event::Waiting { holder, waited: Duration::from_millis(*waited_ms) })
        }
        Message::Warning { message } => crate::output::print_warning(message),
        Message::Step { .. } => message.to_step().iter().for_each(on_step),
        Message::Hello { .. } | Message::Done | Message::Failed(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_runner_of_another_protocol_is_refused() {
        let binary = Path::new("target/debug/migrate");
        assert!(hello(
            binary,
            &format!(r#"{{"type":"hello","protocol":{},"runtime":"0.1.0"}}"#, protocol::PROTOCOL)
        )
        .is_ok());
        let newer = hello(binary, r#"{"type":"hello","protocol":7,"runtime":"0.9.0"}"#).unwrap_err();
        assert!(
            newer.to_string().starts_with(
                "the runner `target/debug/migrate` (migrate-runtime 0.9.0) speaks runner protocol 7 and cargo-migrate"
            ),
            "{newer}"
        );
        assert!(
            newer.to_string().contains(concat!(": update cargo-migrate ", env!("CARGO_PKG_VERSION"), ",")),
            "{newer}"
        );
        let stranger = hello(binary, "hello world").unwrap_err();
        assert!(stranger.to_string().contains("is not a cargo-migrate runner"), "{stranger}");
    }
}
