//! Tidy checks on the library's own source, as rust-analyzer has them: the
//! driver boundary is a rule of the layout, so a test holds it. Only the
//! driver folders (`sqlite/`, `postgres/`), the handle over both
//! (`database/handle.rs`) and the harness (`testing/`) may name a driver
//! crate; everything else builds without one.

use std::path::{Path, PathBuf};

const DRIVERS: [&str; 4] = ["rusqlite", "tokio_postgres", "tokio::", "rustls"];
const MAY_NAME_DRIVERS: [&str; 5] = ["sqlite/", "postgres/", "database/handle.rs", "data/", "testing/"];

#[test]
fn only_driver_modules_name_a_driver_crate() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut offenders = Vec::new();
    for file in rust_files(&src) {
        let relative = file.strip_prefix(&src).expect("under src").to_string_lossy().replace('\\', "/");
        if MAY_NAME_DRIVERS.iter().any(|allowed| relative.starts_with(allowed)) {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("read a source file");
        for (number, line) in text.lines().enumerate() {
            // The crate root re-exports the drivers, so applications use the
            // versions this crate is built with: naming them, not using them.
            let trimmed = line.trim();
            if relative == "lib.rs"
                && (trimmed.starts_with("///") || DRIVERS.iter().any(|d| trimmed == format!("pub use {d};")))
            {
                continue;
            }
            if let Some(driver) = DRIVERS.iter().find(|d| line.contains(*d)) {
                offenders.push(format!("src/{relative}:{}: names `{driver}`: {}", number + 1, line.trim()));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "modules outside the driver folders must not name a driver crate (move the code into \
         sqlite/, postgres/ or database/handle.rs):\n{}",
        offenders.join("\n")
    );
}

/// The public API is what the crate root and each layer's `mod.rs` re-export
/// (`pub use`); files inside a layer are `pub(crate)`, so a helper made `pub`
/// for a sibling never becomes API by accident. The exceptions are
/// namespaces whose short names would clash when flattened.
const PUBLIC_SUBMODULES: [&str; 3] = ["chain/target.rs", "sql/lint.rs", "embed/codegen.rs"];

#[test]
fn only_layer_roots_and_named_namespaces_are_public_modules() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut offenders = Vec::new();
    for file in rust_files(&src) {
        let relative = file.strip_prefix(&src).expect("under src").to_string_lossy().replace('\\', "/");
        let folder = relative.rsplit_once('/').map_or("", |(folder, _)| folder);
        let text = std::fs::read_to_string(&file).expect("read a source file");
        for (number, line) in text.lines().enumerate() {
            let Some(name) = line.trim().strip_prefix("pub mod ").and_then(|rest| rest.strip_suffix(';'))
            else {
                continue;
            };
            let module =
                if folder.is_empty() { format!("{name}/mod.rs") } else { format!("{folder}/{name}.rs") };
            if relative != "lib.rs" && !PUBLIC_SUBMODULES.contains(&module.as_str()) {
                offenders.push(format!("src/{relative}:{}: `pub mod {name}`", number + 1));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "declare a layer's files `pub(crate) mod` and re-export the items users need from its mod.rs:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn the_tidy_check_sees_the_driver_folders() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let engine = std::fs::read_to_string(src.join("sqlite/mod.rs")).expect("the SQLite engine");
    assert!(engine.contains("rusqlite"), "the check would pass vacuously if it read nothing");
    assert!(rust_files(&src).len() > 30, "{:?}", rust_files(&src));
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read a source folder") {
        let path = entry.expect("a folder entry").path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}
