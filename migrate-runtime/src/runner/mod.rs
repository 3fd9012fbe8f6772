//! A package's runner: the small binary through which `cargo migrate`
//! runs a chain that holds Rust revisions, whose code exists only in a
//! program that embeds the chain. The package declares it (a bin target
//! named `migrate`, which `cargo migrate init --rust` scaffolds) as one call:
//!
//! ```ignore
//! // src/bin/migrate.rs
//! fn main() -> std::process::ExitCode {
//!     migrate_runtime::runner::main(&migrate_runtime::embed_migrations!())
//! }
//! ```
//!
//! Started by the CLI with [`PROTOCOL_FLAG`], it reads one
//! [`Request`] from stdin and answers in [`Message`]s
//! on stdout. Started by a person (in a container without cargo) it takes
//! `upgrade [TARGET]` or `downgrade TARGET` with `--database-url URL` (else
//! `DATABASE_URL`), prints a line per revision, and exits 0, 1 (the run
//! failed) or 2 (a command line it cannot read).

mod protocol;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod serve;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod standalone;

pub use protocol::{mismatch, Command, Failure, Message, Request, WireOptions, PROTOCOL, PROTOCOL_FLAG};
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use serve::serve;

/// The runner's `main`: serves `cargo migrate` or runs the command line.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub fn main(migrations: &crate::Migrations) -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [flag] if flag == PROTOCOL_FLAG => {
            serve(migrations, std::io::stdin().lock(), std::io::stdout(), spawn_stop_watch)
        }
        _ => standalone::run(migrations, &args),
    }
}

/// Reads the rest of stdin on a thread: a line from the CLI (its
/// Ctrl-C), or stdin closing (the CLI gone), asks the run to stop at a
/// safe point, so the running revision rolls back.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
fn spawn_stop_watch(interrupt: crate::apply::Interrupt) {
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::BufRead::read_line(&mut std::io::stdin().lock(), &mut line);
        interrupt.request();
    });
}
