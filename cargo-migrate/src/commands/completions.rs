//! `cargo migrate completions SHELL`: a completion script, generated from
//! the same clap definitions that parse the arguments, so it cannot drift.

use crate::cli::{CompletionsArgs, MigrateArgs};
use crate::output::print;
use anyhow::Result;
use clap_complete::Shell;

/// The script completes `cargo-migrate`, the binary's own name, which
/// takes the subcommands directly (`cargo-migrate upgrade`): a script for
/// `cargo` would replace cargo's own completion of every other subcommand.
pub fn run(args: &CompletionsArgs) -> Result<()> {
    print(&script(args.shell)?);
    Ok(())
}

const NAME: &str = "cargo-migrate";

fn script(shell: Shell) -> Result<String> {
    // clap_complete's bash script names a subcommand's case from the binary
    // name two ways, which disagree when it has a `-` (its options are then
    // never offered): generated for `cargo_migrate`, then registered for
    // the real name.
    let generated_name = if shell == Shell::Bash { "cargo_migrate" } else { NAME };
    let mut command = <MigrateArgs as clap::Args>::augment_args(clap::Command::new(generated_name));
    // Into memory first: the generator panics when it cannot write, and a
    // closed pipe (`| head`) is no reason to.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, generated_name, &mut script);
    let script = String::from_utf8(script)?;
    Ok(match shell {
        Shell::Bash => script.replace(" cargo_migrate\n", &format!(" {NAME}\n")),
        _ => script,
    })
}
