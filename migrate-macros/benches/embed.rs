//! Benchmark: the compile-time cost of `embed_migrations!` for chains of
//! 1,000 and 10,000 revisions (a table each, with its downgrade).
//!
//! 1. Expansion in process: `migrate_runtime::embed::codegen::embed`, the function
//!    the macro calls, split into reading + parsing + graph and generating
//!    tokens, and with `Verify::Sqlite` (the chain applied up and down).
//! 2. A full `cargo build` (dev profile) of a generated crate whose
//!    `main.rs` holds `static M: Migrations = embed_migrations!();` (and
//!    whose `build.rs` calls `rerun_if_migrations_changed()`), against the
//!    same crate with an empty chain; dependencies are built first and
//!    shared, so the figures are the crate's own compile time. Then the
//!    developer's loop: one revision file added, `cargo build` again.
//!
//! Run: `cargo bench -p migrate-macros --bench embed [-- REVISIONS...]`

use migrate_runtime::embed::codegen::{embed, Chain, Verify};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn main() {
    let mut sizes: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    if sizes.is_empty() {
        sizes = vec![1_000, 10_000];
    }
    let root = tempfile::tempdir().expect("temporary folder");
    let empty = write_crate(root.path(), 0);
    let crates: Vec<PathBuf> = sizes.iter().map(|&n| write_crate(root.path(), n)).collect();
    println!("expansion in process (median of 5):");
    for (&count, dir) in sizes.iter().zip(&crates) {
        expansion(count, dir);
    }
    println!("full `cargo build` of the crate, dependencies already built (median of 3):");
    build(&empty).expect("warm-up build");
    let floor = median(3, || build_from_clean(&empty));
    let floor_added = median(3, || build_with_one_more(&empty, 0));
    println!(
        "  empty chain       {:>8.2} s; one revision added: {:.2} s",
        floor.as_secs_f64(),
        floor_added.as_secs_f64()
    );
    for (&count, dir) in sizes.iter().zip(&crates) {
        let total = median(3, || build_from_clean(dir));
        let added = median(3, || build_with_one_more(dir, count));
        println!(
            "  {count:>6} revisions {:>8.2} s  ({:.1}x the empty chain, +{:.2} ms per revision); \
             one revision added: {:.2} s",
            total.as_secs_f64(),
            total.as_secs_f64() / floor.as_secs_f64(),
            total.saturating_sub(floor).as_secs_f64() * 1000.0 / count as f64,
            added.as_secs_f64()
        );
    }
}

fn expansion(count: usize, dir: &Path) {
    let chain = |verify| Chain { package: "bench", package_root: dir, folder: "migrations".as_ref(), verify };
    let load = median(5, || {
        let started = Instant::now();
        migrate_runtime::chain::load_graph(dir, "migrations".as_ref()).expect("valid chain");
        started.elapsed()
    });
    let mut tokens = 0;
    let total = median(5, || {
        let started = Instant::now();
        let embedded = embed(&chain(Verify::Off)).expect("valid chain");
        let elapsed = started.elapsed();
        tokens = embedded.tokens.to_string().len();
        elapsed
    });
    let verified = median(5, || {
        let started = Instant::now();
        embed(&chain(Verify::Sqlite)).expect("valid SQL");
        started.elapsed()
    });
    println!(
        "  {count:>6} revisions: {:>7.1} ms (read + parse + graph {:.1} ms, tokens {:.1} ms; {:.1} MB of code), \
         with verify = \"sqlite\" {:.1} ms",
        ms(total),
        ms(load),
        ms(total.saturating_sub(load)),
        tokens as f64 / 1e6,
        ms(verified)
    );
}

/// `bench_<count>/`: a binary crate embedding a chain of `count` revisions.
fn write_crate(root: &Path, count: usize) -> PathBuf {
    let dir = root.join(format!("bench_{count}"));
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root");
    let manifest = format!(
        "[package]\nname = \"bench_{count}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
         [dependencies]\nmigrate-macros = {{ path = {macros:?} }}\n\
         migrate-runtime = {{ path = {runtime:?}, default-features = false }}\n\n\
         [build-dependencies]\nmigrate-runtime = {{ path = {runtime:?}, default-features = false }}\n\n\
         [workspace]\n",
        macros = workspace.join("migrate-macros"),
        runtime = workspace.join("migrate-runtime"),
    );
    let main = "static M: migrate_runtime::embed::Migrations = migrate_macros::embed_migrations!();\n\
                fn main() {\n    println!(\"{}\", M.len());\n}\n";
    let folder = dir.join("migrations");
    std::fs::create_dir_all(&folder).expect("migrations folder");
    std::fs::create_dir_all(dir.join("src")).expect("src");
    std::fs::write(dir.join("Cargo.toml"), manifest).expect("manifest");
    std::fs::write(dir.join("src/main.rs"), main).expect("main.rs");
    let build = "fn main() {\n    migrate_runtime::embed::rerun_if_migrations_changed();\n}\n";
    std::fs::write(dir.join("build.rs"), build).expect("build.rs");
    std::fs::copy(workspace.join("Cargo.lock"), dir.join("Cargo.lock")).expect("Cargo.lock");
    for i in 0..count {
        write_revision(&folder, i);
    }
    dir
}

/// Revision `i` of a linear chain; returns its path.
fn write_revision(folder: &Path, i: usize) -> PathBuf {
    let id = format!("{i:012x}");
    let parent = if i == 0 { String::new() } else { format!("{:012x}", i - 1) };
    let text = format!(
        "-- revision: {id}\n-- revises: {parent}\n-- message: create table {i}\n\
         -- created: 2026-01-01T00:00:00Z\n\n-- migrate:upgrade\n\
         CREATE TABLE t{i} (\n    id INTEGER PRIMARY KEY,\n    name TEXT NOT NULL\n);\n\n\
         -- migrate:downgrade\nDROP TABLE t{i};\n"
    );
    let path = folder.join(format!("{id}_create_table_{i}.sql"));
    std::fs::write(&path, text).expect("revision file");
    path
}

/// Adds revision `count` to a built crate and times the rebuild; then
/// removes it and rebuilds, untimed.
fn build_with_one_more(dir: &Path, count: usize) -> Duration {
    build(dir).expect("build");
    let added = write_revision(&dir.join("migrations"), count);
    let started = Instant::now();
    build(dir).expect("build");
    let elapsed = started.elapsed();
    std::fs::remove_file(added).expect("remove the added revision");
    elapsed
}

fn build_from_clean(dir: &Path) -> Duration {
    let name = dir.file_name().expect("crate folder").to_string_lossy().into_owned();
    cargo(dir).args(["clean", "--quiet", "-p", &name]).status().expect("cargo clean");
    let started = Instant::now();
    build(dir).expect("build");
    started.elapsed()
}

fn build(dir: &Path) -> Result<(), String> {
    let output = cargo(dir).args(["build", "--quiet"]).output().map_err(|e| e.to_string())?;
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// Cargo on `dir`'s manifest, in a target folder shared by every crate.
fn cargo(dir: &Path) -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command
        .arg("--color=never")
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench-embed"))
        .env_remove("RUSTFLAGS");
    command
}

fn median(rounds: usize, mut run: impl FnMut() -> Duration) -> Duration {
    let mut times: Vec<Duration> = (0..rounds).map(|_| run()).collect();
    times.sort();
    times[rounds / 2]
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
