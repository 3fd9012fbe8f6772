//! Hostile input never panics: the revision-file parser, the statement
//! splitter and the transaction lint on arbitrary bytes and on SQL-ish
//! revision files built from the pieces they have to understand. The same
//! properties are what the cargo-fuzz targets in `fuzz/` check, at length.

use migrate_runtime::chain::{load_graph, parse_revision};
use migrate_runtime::model::sql_checksum;
use migrate_runtime::sql::lint;
use migrate_runtime::sql::split_statements;
use proptest::prelude::*;

const PATH: &str = "migrations/3f2a9c1b7d4e_fuzz.sql";

/// The loader, which parses a file line by line as it reads it and leaves
/// the SQL there, finds the same sections, checksums, lines and SQL as the
/// parser given the whole text.
fn same_when_read_from_a_file(text: &str, parsed: &migrate_runtime::model::Revision) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let (folder, _) = PATH.split_once('/').expect("a folder");
    std::fs::create_dir(dir.path().join(folder)).expect("folder");
    std::fs::write(dir.path().join(PATH), text).expect("file");
    let graph = load_graph(dir.path(), folder.as_ref()).expect("the file loads as its text parses");
    let loaded = &graph.revisions()[0];
    assert_eq!(loaded, parsed);
    let sections = |r: &migrate_runtime::model::Revision| -> Vec<String> {
        let all = r.upgrade.iter().chain(r.downgrade.iter().flatten());
        all.map(|s| s.sql().expect("readable").into_owned()).collect()
    };
    assert_eq!(sections(loaded), sections(parsed));
}

/// What must hold for any text given to the parser: no panic; a revision
/// it accepts has sections whose SQL splits back into itself, whose
/// checksum is that of its SQL and whose first line is inside the file;
/// every error names the file.
fn check_parse(text: &str) {
    match parse_revision(PATH.as_ref(), text) {
        Ok(revision) => {
            let lines = text.split(['\n', '\r']).count().max(1);
            for section in revision.upgrade.iter().chain(revision.downgrade.iter().flatten()) {
                let sql = section.sql().expect("in memory");
                let pieces: String = split_statements(&sql).iter().map(|s| s.text).collect();
                assert_eq!(pieces, sql);
                assert_eq!(section.checksum, sql_checksum(&sql));
                assert!(section.first_line >= 1 && section.first_line <= lines + 1, "{}", section.first_line);
            }
            same_when_read_from_a_file(text, &revision);
            let _ = lint::check(
                std::slice::from_ref(&revision),
                &lint::Settings::for_dialect(migrate_runtime::Dialect::Postgres),
            );
            let _ = lint::check(&[revision], &lint::Settings::for_dialect(migrate_runtime::Dialect::Sqlite));
        }
        Err(errors) => {
            assert!(!errors.0.is_empty());
            assert!(errors.iter().all(|e| e.to_string().starts_with(PATH)), "{errors}");
        }
    }
}

/// Lines of a revision file: headers (valid and not), section markers,
/// SQL with the constructs the splitter tracks, line-ending and BOM noise.
fn revision_file() -> impl Strategy<Value = String> {
    const LINES: &[&str] = &[
        "-- revision: 3f2a9c1b7d4e",
        "-- revision: 3F2A",
        "-- revises: 0f9e8d7c6b5a, 1a2b3c4d5e6f",
        "-- revises:",
        "-- depends-on: other:0f9e8d7c6b5a",
        "-- depends-on: :",
        "-- message: hostile; input 'here'",
        "-- created: 2026-11-22T20:00:00Z",
        "-- created: yesterday",
        "-- branch: feature, v2",
        "-- transaction: none",
        "-- transaction: maybe",
        "-- colour: blue",
        "-- revision",
        "-- migrate:upgrade",
        "-- migrate:downgrade",
        "-- migrate:upgrade postgres",
        "-- migrate:downgrade sqlite",
        "-- migrate:upgrade mysql",
        "-- migrate:sideways",
        "--migrate:upgrade",
        "CREATE TABLE t (id INTEGER);",
        "CREATE INDEX CONCURRENTLY i ON t (id);",
        "ALTER TYPE mood ADD VALUE 'meh';",
        "UPDATE t SET mood = 'meh';",
        "VACUUM;",
        "COMMIT;",
        "CREATE TRIGGER tr AFTER INSERT ON t BEGIN",
        "  UPDATE t SET id = CASE WHEN 1 THEN 2 END;",
        "END;",
        "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;",
        "SELECT $tag$ ; $tag$, E'\\'; x', 'it''s', \"q;\", [b;], `c;`;",
        "/* open comment ;",
        "*/",
        "SELECT 'unterminated",
        "",
        "   ",
        "\u{feff}",
        "é; ü",
        "\r",
    ];
    let line = prop::sample::select(LINES).prop_map(str::to_string);
    let ending = prop::sample::select(&["\n", "\r\n", "\r", ""][..]);
    prop::collection::vec((line, ending), 0..40)
        .prop_map(|lines| lines.into_iter().map(|(line, ending)| line + ending).collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn the_parser_never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        check_parse(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn the_parser_never_panics_on_arbitrary_strings(text in any::<String>()) {
        check_parse(&text);
    }

    #[test]
    fn the_parser_never_panics_on_sqlish_revision_files(text in revision_file()) {
        check_parse(&text);
    }

    #[test]
    fn sqlish_sections_of_a_valid_header_parse_and_split_back(body in revision_file()) {
        let text = format!("-- revision: 3f2a9c1b7d4e\n-- migrate:upgrade\n{body}");
        let parsed = parse_revision(PATH.as_ref(), &text);
        // Only another section marker (a duplicate, an unknown dialect or
        // kind) can make a file with a valid header fail.
        let bad_marker = body.contains("migrate:");
        prop_assert!(parsed.is_ok() || bad_marker, "{:?}", parsed.err().map(|e| e.to_string()));
        check_parse(&text);
    }

    #[test]
    fn the_parser_never_panics_on_any_file_name(name in "[a-f0-9_.A-Z/\\\\é ]{0,30}", text in revision_file()) {
        let _ = parse_revision(name.as_ref(), &text);
    }
}

#[test]
fn a_valid_revision_built_from_the_pieces_parses() {
    let text = "\u{feff}-- revision: 3f2a9c1b7d4e\r\n-- message: m\r\n\r\n-- migrate:upgrade\r\nVACUUM;\r\n";
    let revision = parse_revision(PATH.as_ref(), text).expect("parses");
    assert_eq!(revision.upgrade[0].sql().expect("in memory"), "VACUUM;");
    check_parse(text);
    assert!(
        lint::check(&[revision], &lint::Settings::default()).is_err(),
        "VACUUM in a transaction is flagged"
    );
}
