//! Fuzz target: the revision-file parser on arbitrary bytes (made text with
//! `from_utf8_lossy`, as a file read from disk would be after a lossy
//! decode). It must never panic; a file it accepts must have sections whose
//! SQL splits back into itself, and the transaction lint must not panic on it.

#![no_main]

use libfuzzer_sys::fuzz_target;
use migrate_runtime::chain::parse_revision;
use migrate_runtime::sql::{lint, split::split_statements};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // A fixed name, and one matching the file's own `-- revision:` header so
    // that valid files parse all the way through.
    let header_id: String = text
        .lines()
        .find_map(|line| line.trim().strip_prefix("-- revision:"))
        .map(|id| id.trim().chars().take(12).collect())
        .unwrap_or_default();
    for path in ["migrations/3f2a9c1b7d4e_fuzz.sql".to_string(), format!("migrations/{header_id}_fuzz.sql")] {
        if let Ok(revision) = parse_revision(path.as_ref(), &text) {
            for section in revision.upgrade.iter().chain(revision.downgrade.iter().flatten()) {
                let joined: String = split_statements(&section.sql).iter().map(|s| s.text).collect();
                assert_eq!(joined, section.sql);
            }
            let _ = lint::check(std::slice::from_ref(&revision), &lint::Settings::for_dialect(migrate_runtime::Dialect::Postgres));
            let _ = lint::check(&[revision], &lint::Settings::for_dialect(migrate_runtime::Dialect::Sqlite));
        }
    }
});
