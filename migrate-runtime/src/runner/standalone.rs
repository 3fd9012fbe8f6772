//! The runner started by a person, where there is no cargo (a container,
//! a release pipeline): `migrate upgrade [TARGET]` or `migrate downgrade
//! TARGET`, with `--database-url URL` or `DATABASE_URL`. The exit codes
//! are `cargo migrate`'s: 0 done, 1 the run failed, 2 a command line it
//! cannot read, 128 + the signal's number when SIGINT or SIGTERM (a
//! container being stopped) stopped it. As in `cargo migrate`, the first
//! signal asks the run to stop at a safe point (the running statement is
//! cancelled, its revision rolls back, the lock is released) and a second
//! ends the runner at once, leaving the rollback to the database.
//!
//! Each revision is announced on stderr when it starts, as `cargo migrate`
//! announces it, and so is a wait for another migrator's lock; its result
//! line goes to stdout when it ends. A long data migration does not leave
//! a deploy log silent.

use super::protocol::Command;
use crate::apply::{Action, Event, Interrupt, Progress};
use crate::database::{connect, DatabaseUrl};
use crate::model::Direction;
use crate::Migrations;
use std::process::ExitCode;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;

const USAGE: &str = "usage: migrate upgrade [TARGET] | downgrade TARGET [--database-url URL]\n\
    (the URL defaults to DATABASE_URL; TARGET to `heads` for an upgrade)";

/// A command line read.
struct Line {
    command: Command,
    target: String,
    url: Option<String>,
}

pub(super) fn run(migrations: &Migrations, args: &[String]) -> ExitCode {
    let line = match read(args) {
        Ok(line) => line,
        Err(message) => {
            eprintln!("error: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let interrupt = Interrupt::new();
    let signal = watch_signals(interrupt.clone());
    match apply(migrations, &line, interrupt) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            match signal.load(Ordering::SeqCst) {
                0 => ExitCode::FAILURE,
                signal => ExitCode::from(u8::try_from(128 + signal).unwrap_or(1)),
            }
        }
    }
}

/// Listens for SIGINT and SIGTERM: the first requests `interrupt`, a
/// second exits at once. Returns the first signal received (0: none).
#[cfg(unix)]
fn watch_signals(interrupt: Interrupt) -> Arc<AtomicI32> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let received = Arc::new(AtomicI32::new(0));
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else { return received };
    let first = Arc::clone(&received);
    std::thread::spawn(move || {
        for signal in signals.forever() {
            if first.compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst).is_err() {
                std::process::exit(128 + signal);
            }
            let name = if signal == SIGINT { "SIGINT" } else { "SIGTERM" };
            eprintln!("{name}: stopping at a safe point (the running revision rolls back); send it again to quit now");
            interrupt.request();
        }
    });
    received
}

#[cfg(not(unix))]
fn watch_signals(_: Interrupt) -> Arc<AtomicI32> {
    Arc::new(AtomicI32::new(0))
}

/// A revision starting and a wait for the lock, on stderr.
fn progress() -> Progress {
    Progress::new(|event| match *event {
        Event::Starting { revision, message, direction, index, total } => {
            let verb = if direction == Direction::Downgrade { "reverting" } else { "applying " };
            eprintln!("{verb} {revision}  {message}  [{index}/{total}]");
        }
        Event::Waiting { holder, waited } => {
            eprintln!("waiting for the lock ({} s so far): {holder}", waited.as_secs());
        }
    })
}

fn read(args: &[String]) -> Result<Line, String> {
    let mut words = Vec::new();
    let mut url = None;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.strip_prefix("--database-url") {
            Some("") => url = Some(rest.next().ok_or("--database-url needs a URL")?.clone()),
            Some(value) if value.starts_with('=') => url = Some(value[1..].to_string()),
            // `-1` is a relative target, not an option.
            _ if arg.starts_with('-') && !arg[1..].starts_with(|c: char| c.is_ascii_digit()) => {
                return Err(format!("unknown option `{arg}`"))
            }
            _ => words.push(arg.as_str()),
        }
    }
    let (command, target) = match words.as_slice() {
        ["upgrade"] => (Command::Upgrade, "heads"),
        ["upgrade", target] => (Command::Upgrade, *target),
        ["downgrade", target] => (Command::Downgrade, *target),
        ["downgrade"] => return Err("`downgrade` needs a TARGET, such as `-1` or `base`".into()),
        _ => return Err("expected `upgrade` or `downgrade`".into()),
    };
    Ok(Line { command, target: target.to_string(), url })
}

fn apply(migrations: &Migrations, line: &Line, interrupt: Interrupt) -> Result<(), String> {
    let url = match &line.url {
        Some(url) => url.clone(),
        None => std::env::var("DATABASE_URL")
            .map_err(|_| "no database: pass --database-url URL or set DATABASE_URL")?,
    };
    let url = DatabaseUrl::parse(&url).map_err(|e| e.to_string())?;
    let graph = migrations.graph().map_err(|e| e.to_string())?;
    let database = connect(&url).map_err(|e| e.to_string())?;
    println!("database {url}");
    let mut options = migrations.options();
    options.interrupt = interrupt;
    options.progress = progress();
    let report = &mut |step: &crate::Step| {
        let verb = if step.action == Action::Downgrade { "reverted" } else { "applied " };
        let ms = step.elapsed.as_secs_f64() * 1000.0;
        println!("{verb} {}  {}  ({ms:.1} ms)", step.revision, step.message);
    };
    let steps = match line.command {
        Command::Upgrade => database.upgrade(&graph, &options, &line.target, report),
        Command::Downgrade => database.downgrade(&graph, &options, &line.target, report),
    }
    .map_err(|e| e.to_string())?;
    if steps.is_empty() {
        println!("nothing to do");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn the_command_line_reads_as_cargo_migrate_s() {
        let line = read(&args("upgrade --database-url sqlite:x.db")).unwrap();
        assert_eq!(
            (line.command, line.target.as_str(), line.url.as_deref()),
            (Command::Upgrade, "heads", Some("sqlite:x.db"))
        );
        let line = read(&args("downgrade -1 --database-url=sqlite:y.db")).unwrap();
        assert_eq!(
            (line.command, line.target.as_str(), line.url.as_deref()),
            (Command::Downgrade, "-1", Some("sqlite:y.db"))
        );
        assert_eq!(
            read(&args("downgrade")).err().unwrap(),
            "`downgrade` needs a TARGET, such as `-1` or `base`"
        );
        assert_eq!(read(&args("upgrade --sql")).err().unwrap(), "unknown option `--sql`");
    }
}
