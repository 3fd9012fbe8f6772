//! Benchmark: `cargo migrate heads` and `history` on a package with 10,000
//! revisions (with branches and merges), as real processes, against
//! `cargo metadata --no-deps` on the same package, which every command runs
//! first. The difference is cargo-migrate's own cost: reading, parsing and
//! validating 10,000 files, ordering the graph and printing.
//!
//! Run: `cargo bench -p cargo-migrate --bench graph [-- REVISIONS]`

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn main() {
    let count: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(10_000);
    let dir = tempfile::tempdir().expect("temporary folder");
    write_package(dir.path(), count);
    let manifest = dir.path().join("Cargo.toml");
    let manifest = manifest.to_str().expect("UTF-8 path");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let bin = env!("CARGO_BIN_EXE_cargo-migrate");
    let metadata = median(|| {
        time(Command::new(&cargo).args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--manifest-path",
            manifest,
        ]))
    });
    println!("{count} revisions: cargo metadata alone {:.1} ms", ms(metadata));
    let cat = median(|| {
        time(Command::new("sh").arg("-c").arg("cat migrations/* > /dev/null").current_dir(dir.path()))
    });
    println!("  floor: `cat` of every revision file {:.1} ms", ms(cat));
    phases(dir.path());
    for command in ["heads", "history", "check"] {
        let total =
            median(|| time(Command::new(bin).args(["migrate", command, "--manifest-path", manifest])));
        println!(
            "  cargo migrate {command:<8} {:.1} ms total, {:.1} ms beyond cargo metadata",
            ms(total),
            ms(total.saturating_sub(metadata))
        );
    }
}

/// In-process: where the time of loading the chain goes.
fn phases(package: &Path) {
    use migrate_runtime::chain::{parse_files, read_folder};
    let started = Instant::now();
    let files = read_folder(package, "migrations".as_ref()).expect("read");
    let read = started.elapsed();
    let revisions = parse_files(&files).expect("parse");
    let parsed = started.elapsed();
    let graph = migrate_runtime::Graph::build(revisions).expect("graph");
    let built = started.elapsed();
    let heads = graph.heads();
    println!(
        "  in process: read {:.1} ms, parse {:.1} ms, graph {:.1} ms ({} revisions, {} head)",
        ms(read),
        ms(parsed - read),
        ms(built - parsed),
        graph.len(),
        heads.len()
    );
}

/// A chain with a branch every 50 revisions, merged 10 revisions later.
fn write_package(dir: &Path, count: usize) {
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"big\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
    )
    .expect("manifest");
    std::fs::create_dir_all(dir.join("src")).expect("src");
    std::fs::write(dir.join("src/lib.rs"), "").expect("lib.rs");
    let folder = dir.join("migrations");
    std::fs::create_dir_all(&folder).expect("migrations");
    let id = |i: usize| format!("{i:012x}");
    for i in 0..count {
        let parents = match i {
            0 => String::new(),
            i if i % 50 == 10 && i > 50 => format!("{}, {}", id(i - 1), id(i - 10 + 1_000_000)),
            i => id(i - 1),
        };
        write(&folder, &id(i), &parents, i);
        if i % 50 == 0 && i + 10 < count {
            // The side branch: one revision, merged ten revisions later.
            write(&folder, &id(i + 1_000_000), &id(i), i);
        }
    }
}

fn write(folder: &Path, id: &str, parents: &str, i: usize) {
    let text = format!(
        "-- revision: {id}\n-- revises: {parents}\n-- message: revision {i}\n-- created: 2026-11-22T20:00:00Z\n\n-- migrate:upgrade\nCREATE TABLE t_{id} (id INTEGER PRIMARY KEY);\n\n-- migrate:downgrade\nDROP TABLE t_{id};\n"
    );
    std::fs::write(folder.join(format!("{id}_revision_{i}.sql")), text).expect("revision");
}

fn time(command: &mut Command) -> Duration {
    let started = Instant::now();
    let status = command.stdout(Stdio::null()).stderr(Stdio::inherit()).status().expect("run");
    assert!(status.success(), "{command:?} failed");
    started.elapsed()
}

fn median(mut run: impl FnMut() -> Duration) -> Duration {
    run(); // warm the file cache
    let mut times: Vec<Duration> = (0..7).map(|_| run()).collect();
    times.sort();
    times[times.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
