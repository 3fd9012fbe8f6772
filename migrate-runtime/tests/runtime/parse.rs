//! The revision-file parser: what a file means (headers, sections, dialects,
//! line endings), and every way it can be wrong, with the exact line each
//! error points at. Odd input never panics.

use crate::trim_indent;
use migrate_runtime::chain::{file_id, parse_revision};
use migrate_runtime::model::{Dependency, Dialect, TransactionMode};
use migrate_runtime::Revision;

const PATH: &str = "migrations/3f2a9c1b7d4e_x.sql";

fn parse(text: &str) -> Revision {
    parse_at(PATH, text)
}

fn parse_at(path: &str, text: &str) -> Revision {
    parse_revision(path.as_ref(), &trim_indent(text)).unwrap_or_else(|e| panic!("{path} should parse:\n{e}"))
}

/// Every error of `text` parsed as [`PATH`], one per line.
fn check_errors(text: &str, expected: &str) {
    check_errors_at(PATH, text, expected);
}

fn check_errors_at(path: &str, text: &str, expected: &str) {
    match parse_revision(path.as_ref(), &trim_indent(text)) {
        Ok(revision) => panic!("{path} should not parse, got {revision:#?}"),
        Err(errors) => assert_eq!(errors.to_string(), trim_indent(expected).trim_end()),
    }
}

/// The sections of `text` as `kind [dialect] first_line "sql"` lines, then
/// `no downgrade` for an irreversible revision.
fn check_sections(text: &str, expected: &str) {
    let revision = parse(text);
    let mut actual = String::new();
    let sections = revision.downgrade.iter().flatten().map(|s| ("downgrade", s));
    for (kind, section) in revision.upgrade.iter().map(|s| ("upgrade", s)).chain(sections) {
        let dialect = section.dialect.map(|d| format!(" {d}")).unwrap_or_default();
        actual +=
            &format!("{kind}{dialect} {} {:?}\n", section.first_line, section.sql().expect("in memory"));
    }
    if revision.downgrade.is_none() {
        actual += "no downgrade\n";
    }
    assert_eq!(actual, trim_indent(expected));
}

fn dependency(package: Option<&str>, id: &str) -> Dependency {
    Dependency { package: package.map(str::to_string), id: id.to_string() }
}

#[test]
fn every_header_key() {
    let revision = parse(
        r#"
        -- revision: 3f2a9c1b7d4e
        -- revises: 0f9e8d7c6b5a, 1a2b3c4d5e6f
        -- depends-on: 9a8b7c6d5e4f, accounts:72bb946d57f2
        -- branch: feature, billing.v2
        -- message: add login fields
        -- created: 2026-11-22T20:00:00Z
        -- transaction: none

        -- migrate:upgrade
        CREATE INDEX CONCURRENTLY user_email ON "user" (email);
        "#,
    );
    assert_eq!(revision.id, "3f2a9c1b7d4e");
    assert_eq!(revision.parents, ["0f9e8d7c6b5a", "1a2b3c4d5e6f"]);
    assert!(revision.is_merge() && !revision.is_base());
    let expected = [dependency(None, "9a8b7c6d5e4f"), dependency(Some("accounts"), "72bb946d57f2")];
    assert_eq!(revision.depends_on, expected);
    assert_eq!(revision.branches, ["feature", "billing.v2"]);
    assert_eq!(revision.message, "add login fields");
    assert_eq!(revision.created.as_deref(), Some("2026-11-22T20:00:00Z"));
    assert_eq!(revision.transaction, TransactionMode::None);
    assert_eq!(revision.location.to_string(), "migrations/3f2a9c1b7d4e_x.sql:1");
    assert_eq!(revision.parents_location().to_string(), "migrations/3f2a9c1b7d4e_x.sql:2");
    assert_eq!(revision.depends_on_location().to_string(), "migrations/3f2a9c1b7d4e_x.sql:3");
}

#[test]
fn optional_headers_have_defaults() {
    let revision = parse(
        "
        -- revision: 3f2a9c1b7d4e
        -- migrate:upgrade
        SELECT 1;
        ",
    );
    assert!(revision.is_base());
    assert_eq!((revision.message.as_str(), revision.created.as_deref()), ("", None));
    assert_eq!(revision.transaction, TransactionMode::Single);
    assert!(revision.depends_on.is_empty() && revision.branches.is_empty());
    assert_eq!(
        (revision.parents_location(), revision.depends_on_location()),
        (revision.location.clone(), revision.location.clone())
    );
    let single =
        parse("-- revision: 3f2a9c1b7d4e\n-- revises:\n-- transaction: single\n-- migrate:upgrade\n");
    assert_eq!(single.transaction, TransactionMode::Single);
    assert!(single.is_base());
}

#[test]
fn comments_blank_lines_and_spacing_in_the_header() {
    let revision = parse(
        "
        -- A comment before the header.

          -- revision: 3f2a9c1b7d4e
        -- This revision adds login fields (see the ticket).
        -- Note, from the review: keep the column nullable
        --revises:0f9e8d7c6b5a

        --    message:   add login fields
        --
        --migrate: upgrade
        SELECT 1;
        ",
    );
    assert_eq!(revision.location.to_string(), "migrations/3f2a9c1b7d4e_x.sql:3");
    assert_eq!(revision.parents, ["0f9e8d7c6b5a"]);
    assert_eq!(revision.message, "add login fields");
    assert_eq!(revision.upgrade[0].first_line, 11);
}

#[test]
fn sections_keep_their_sql_and_first_line() {
    check_sections(
        "
        -- revision: 3f2a9c1b7d4e

        -- migrate:upgrade


        -- a comment in the SQL stays
        CREATE TABLE t (id INTEGER);
          -- revises: in a section is SQL, not a header

        -- migrate:downgrade
        DROP TABLE t;",
        r#"
        upgrade 6 "-- a comment in the SQL stays\nCREATE TABLE t (id INTEGER);\n  -- revises: in a section is SQL, not a header"
        downgrade 11 "DROP TABLE t;"
        "#,
    );
}

#[test]
fn no_downgrade_is_irreversible_and_an_empty_one_undoes_nothing() {
    let text = "-- revision: 3f2a9c1b7d4e\n-- migrate:upgrade\nCREATE TABLE t (id INTEGER);\n";
    check_sections(text, "upgrade 3 \"CREATE TABLE t (id INTEGER);\"\nno downgrade\n");
    assert!(parse(text).downgrade_for(Dialect::Sqlite).is_none());

    let empty = format!("{text}\n-- migrate:downgrade\n\n");
    check_sections(&empty, "upgrade 3 \"CREATE TABLE t (id INTEGER);\"\ndowngrade 6 \"\"\n");
    let revision = parse(&empty);
    assert_eq!(
        revision
            .downgrade_for(Dialect::Postgres)
            .map(|s| s.sql().expect("in memory").into_owned())
            .as_deref(),
        Some("")
    );
}

#[test]
fn a_dialect_section_replaces_the_generic_one_for_its_dialect() {
    let text = "
        -- revision: 3f2a9c1b7d4e
        -- migrate:upgrade
        CREATE TABLE t (id INTEGER PRIMARY KEY);
        -- migrate:upgrade postgres
        CREATE TABLE t (id BIGSERIAL PRIMARY KEY);
        -- migrate:downgrade postgresql
        DROP TABLE t CASCADE;
        -- migrate:downgrade
        DROP TABLE t;
    ";
    check_sections(
        text,
        r#"
        upgrade 3 "CREATE TABLE t (id INTEGER PRIMARY KEY);"
        upgrade postgres 5 "CREATE TABLE t (id BIGSERIAL PRIMARY KEY);"
        downgrade postgres 7 "DROP TABLE t CASCADE;"
        downgrade 9 "DROP TABLE t;"
        "#,
    );
    let revision = parse(text);
    let sql = |section: Option<&migrate_runtime::model::Section>| {
        section.map(|s| s.sql().expect("in memory").into_owned())
    };
    assert_eq!(
        sql(revision.upgrade_for(Dialect::Postgres)).as_deref(),
        Some("CREATE TABLE t (id BIGSERIAL PRIMARY KEY);")
    );
    assert_eq!(
        sql(revision.upgrade_for(Dialect::Sqlite)).as_deref(),
        Some("CREATE TABLE t (id INTEGER PRIMARY KEY);")
    );
    assert_eq!(sql(revision.downgrade_for(Dialect::Postgres)).as_deref(), Some("DROP TABLE t CASCADE;"));
    assert_eq!(sql(revision.downgrade_for(Dialect::Sqlite)).as_deref(), Some("DROP TABLE t;"));

    let postgres_only = parse("-- revision: 3f2a9c1b7d4e\n-- migrate:upgrade postgres\nSELECT 1;\n");
    assert!(postgres_only.upgrade_for(Dialect::Sqlite).is_none());
}

#[test]
fn a_bom_and_windows_line_endings_change_nothing() {
    let unix = "-- revision: 3f2a9c1b7d4e\n-- message: m\n\n-- migrate:upgrade\nCREATE TABLE t (id INTEGER);\nINSERT INTO t VALUES (1);\n\n-- migrate:downgrade\nDROP TABLE t;\n";
    let expected = parse(unix);
    for variant in [
        format!("\u{feff}{unix}"),
        unix.replace('\n', "\r\n"),
        format!("\u{feff}{}", unix.replace('\n', "\r\n")),
        unix.replace('\n', "\r"),
    ] {
        let revision =
            parse_revision(PATH.as_ref(), &variant).unwrap_or_else(|e| panic!("{variant:?}:\n{e}"));
        assert_eq!(revision, expected, "{variant:?}");
    }
    assert_eq!(
        expected.upgrade[0].checksum,
        migrate_runtime::model::sql_checksum("CREATE TABLE t (id INTEGER);\r\nINSERT INTO t VALUES (1);")
    );
}

#[test]
fn the_message_and_file_name_do_not_change_the_checksum() {
    let text = |message: &str| {
        format!("-- revision: 3f2a9c1b7d4e\n-- message: {message}\n-- migrate:upgrade\nSELECT 1;\n")
    };
    let a = parse_at("migrations/3f2a9c1b7d4e_a.sql", &text("first"));
    let b = parse_at("migrations/3f2a9c1b7d4e_renamed.sql", &text("renamed"));
    assert_eq!(a.upgrade[0].checksum, b.upgrade[0].checksum);
}

#[test]
fn file_names() {
    let cases = [
        ("3f2a9c1b7d4e_add_login_fields.sql", Some("3f2a9c1b7d4e")),
        ("3f2a9c1b7d4e_.sql", Some("3f2a9c1b7d4e")),
        ("3f2a9c1b7d4e.sql", Some("3f2a9c1b7d4e")),
        ("3f2a9c1b7d4e_two_parts_.sql", Some("3f2a9c1b7d4e")),
        ("notes.txt", None),
        ("3f2a9c1b7d4e_add.SQL", None),
        (".sql", None),
        ("_add.sql", None),
    ];
    for (name, expected) in cases {
        assert_eq!(file_id(name), expected, "{name}");
    }
    let text = |id: &str| format!("-- revision: {id}\n-- migrate:upgrade\nSELECT 1;\n");
    assert_eq!(parse_at("migrations/3f2a9c1b7d4e_.sql", &text("3f2a9c1b7d4e")).id, "3f2a9c1b7d4e");
    assert_eq!(parse_at("migrations/3f2a9c1b7d4e.sql", &text("3f2a9c1b7d4e")).id, "3f2a9c1b7d4e");
}

#[test]
fn not_a_revision_file_is_one_error() {
    check_errors_at(
        "migrations/notes.txt",
        "Remember: add an index before the launch.\n",
        "migrations/notes.txt: not a revision file: expected a name like `3f2a9c1b7d4e_add_users.sql` or `3f2a9c1b7d4e_split_names.rs` (keep other files out of the migrations folder)",
    );
    check_errors_at(
        "migrations/_create_users.sql",
        "-- revision: 3f2a9c1b7d4e\n-- migrate:upgrade\nSELECT 1;\n",
        "migrations/_create_users.sql: not a revision file: expected a name like `3f2a9c1b7d4e_add_users.sql` or `3f2a9c1b7d4e_split_names.rs` (keep other files out of the migrations folder)",
    );
}

#[test]
fn header_errors() {
    check_errors(
        "
        -- revision: 3f2a9c1b7d4e
        -- revises 0f9e8d7c6b5a
        -- migrate:upgrade
        ",
        "migrations/3f2a9c1b7d4e_x.sql:2: malformed header line `-- revises 0f9e8d7c6b5a`: expected `-- key: value` before `-- migrate:upgrade`",
    );
    check_errors(
        "
        -- revision: 3f2a9c1b7d4e
        -- author: Ada
        -- migrate:upgrade
        ",
        "migrations/3f2a9c1b7d4e_x.sql:2: unknown header key `author` (known keys: revision, revises, message, created, depends-on, branch, transaction)",
    );
    check_errors(
        "
        -- revision: 3f2a9c1b7d4e
        -- message: one
        -- revises:
        -- message: two
        -- migrate:upgrade
        ",
        "migrations/3f2a9c1b7d4e_x.sql:4: header key `message` repeated (first given on line 2)",
    );
    check_errors(
        "
        -- message: no id
        -- migrate:upgrade
        ",
        "migrations/3f2a9c1b7d4e_x.sql: missing `-- revision: <id>` header",
    );
    check_errors(
        "
        -- revision: 0f9e8d7c6b5a
        -- migrate:upgrade
        ",
        "migrations/3f2a9c1b7d4e_x.sql:1: header says revision `0f9e8d7c6b5a` but the file name starts with `3f2a9c1b7d4e`: rename the file to `0f9e8d7c6b5a_<slug>.sql` or correct the header",
    );
}

#[test]
fn invalid_ids() {
    let check = |path: &str, header: &str, expected: &str| {
        check_errors_at(path, &format!("{header}\n-- migrate:upgrade\n"), expected);
    };
    check(
        "migrations/3f2a-9c1b_x.sql",
        "-- revision: 3f2a-9c1b",
        "migrations/3f2a-9c1b_x.sql:1: invalid revision id `3f2a-9c1b`: `-` is reserved for target expressions such as `label@head`, `abc+2`, `a:b`",
    );
    check(
        "migrations/head_x.sql",
        "-- revision: head",
        "migrations/head_x.sql:1: invalid revision id `head`: `head` is a reserved target name",
    );
    check(
        "migrations/café_x.sql",
        "-- revision: café",
        "migrations/café_x.sql:1: invalid revision id `café`: `é` is not allowed: use ASCII letters and digits",
    );
    let long = "a".repeat(65);
    check(
        &format!("migrations/{long}.sql"),
        &format!("-- revision: {long}"),
        &format!("migrations/{long}.sql:1: invalid revision id `{long}`: an id has at most 64 characters"),
    );
    check(
        PATH,
        "-- revision:",
        "migrations/3f2a9c1b7d4e_x.sql:1: invalid revision id ``: an id cannot be empty",
    );
    check(
        PATH,
        "-- revision: 3f2a9c1b7d4e\n-- revises: 0f9e+1, base\n-- depends-on: billing:, x@y",
        "
        migrations/3f2a9c1b7d4e_x.sql:2: invalid revision id `0f9e+1`: `+` is reserved for target expressions such as `label@head`, `abc+2`, `a:b`
        migrations/3f2a9c1b7d4e_x.sql:2: invalid revision id `base`: `base` is a reserved target name
        migrations/3f2a9c1b7d4e_x.sql:3: invalid revision id ``: an id cannot be empty
        migrations/3f2a9c1b7d4e_x.sql:3: invalid revision id `x@y`: `@` is reserved for target expressions such as `label@head`, `abc+2`, `a:b`
        ",
    );
}

#[test]
fn invalid_header_values() {
    check_errors(
        "
        -- revision: 3f2a9c1b7d4e
        -- created: 22/11/2026
        -- transaction: maybe
        -- branch: feature, my-feature
        -- depends-on: :0f9e8d7c6b5a
        -- migrate:upgrade
        ",
        "
        migrations/3f2a9c1b7d4e_x.sql:2: invalid value `22/11/2026` for `created`: expected an RFC 3339 time such as `2026-11-22T20:00:00Z`
        migrations/3f2a9c1b7d4e_x.sql:3: invalid value `maybe` for `transaction`: expected `none` or `single`
        migrations/3f2a9c1b7d4e_x.sql:4: invalid value `my-feature` for `branch`: expected a label of ASCII letters, digits, `_` and `.`
        migrations/3f2a9c1b7d4e_x.sql:5: invalid value `:0f9e8d7c6b5a` for `depends-on`: expected `rev` or `package:rev`
        ",
    );
}

#[test]
fn section_errors() {
    check_errors(
        "
        -- revision: 3f2a9c1b7d4e
        CREATE TABLE t (
            id INTEGER
        );
        -- migrate:upgrade
        ",
        "migrations/3f2a9c1b7d4e_x.sql:2: SQL before the first section: put it under `-- migrate:upgrade`",
    );
    check_errors(
        "
        -- revision: 3f2a9c1b7d4e
        -- migrate:upgrade
        SELECT 1;
        -- migrate:upgarde
        SELECT 2;
        ",
        "migrations/3f2a9c1b7d4e_x.sql:4: unknown section `-- migrate:upgarde`: expected `-- migrate:upgrade` or `-- migrate:downgrade`",
    );
    check_errors(
        "
        -- revision: 3f2a9c1b7d4e
        -- migrate:upgrade mysql
        CREATE TABLE t (id INTEGER AUTO_INCREMENT);
        ",
        "migrations/3f2a9c1b7d4e_x.sql:2: unknown dialect `mysql`: expected `sqlite` or `postgres`",
    );
    check_errors(
        "
        -- revision: 3f2a9c1b7d4e
        -- migrate:upgrade
        SELECT 1;
        -- migrate:downgrade postgres
        SELECT 2;
        -- migrate:upgrade
        SELECT 3;
        -- migrate:downgrade postgres
        SELECT 4;
        -- migrate:downgrade
        SELECT 5;
        ",
        "
        migrations/3f2a9c1b7d4e_x.sql:6: section `upgrade` repeated (first on line 2)
        migrations/3f2a9c1b7d4e_x.sql:8: section `downgrade postgres` repeated (first on line 4)
        ",
    );
    check_errors(
        "
        -- revision: 3f2a9c1b7d4e
        -- migrate:downgrade
        DROP TABLE t;
        ",
        "migrations/3f2a9c1b7d4e_x.sql: missing `-- migrate:upgrade` section",
    );
}

#[test]
fn every_error_of_a_file_is_reported_in_line_order() {
    check_errors(
        "
        -- revision: 3f2a9c1b7d4e
        -- created: yesterday
        -- author: Ada
        -- message add fields
        -- revises: not-an-id
        SELECT 1;
        -- migrate:upgrade
        -- migrate:sideways
        -- migrate:upgrade
        ",
        "
        migrations/3f2a9c1b7d4e_x.sql:2: invalid value `yesterday` for `created`: expected an RFC 3339 time such as `2026-11-22T20:00:00Z`
        migrations/3f2a9c1b7d4e_x.sql:3: unknown header key `author` (known keys: revision, revises, message, created, depends-on, branch, transaction)
        migrations/3f2a9c1b7d4e_x.sql:4: malformed header line `-- message add fields`: expected `-- key: value` before `-- migrate:upgrade`
        migrations/3f2a9c1b7d4e_x.sql:5: invalid revision id `not-an-id`: `-` is reserved for target expressions such as `label@head`, `abc+2`, `a:b`
        migrations/3f2a9c1b7d4e_x.sql:6: SQL before the first section: put it under `-- migrate:upgrade`
        migrations/3f2a9c1b7d4e_x.sql:8: unknown section `-- migrate:sideways`: expected `-- migrate:upgrade` or `-- migrate:downgrade`
        migrations/3f2a9c1b7d4e_x.sql:9: section `upgrade` repeated (first on line 7)
        ",
    );
    // An unusable id does not hide the other findings.
    check_errors(
        "
        -- revision: 3f2a-9c1b
        -- created: yesterday
        -- migrate:upgrade
        ",
        "
        migrations/3f2a9c1b7d4e_x.sql:1: invalid revision id `3f2a-9c1b`: `-` is reserved for target expressions such as `label@head`, `abc+2`, `a:b`
        migrations/3f2a9c1b7d4e_x.sql:2: invalid value `yesterday` for `created`: expected an RFC 3339 time such as `2026-11-22T20:00:00Z`
        ",
    );
}

#[test]
fn odd_input_gives_errors_not_panics() {
    check_errors(
        "",
        "
        migrations/3f2a9c1b7d4e_x.sql: missing `-- revision: <id>` header
        migrations/3f2a9c1b7d4e_x.sql: missing `-- migrate:upgrade` section
        ",
    );
    check_errors(
        "--",
        "
        migrations/3f2a9c1b7d4e_x.sql: missing `-- revision: <id>` header
        migrations/3f2a9c1b7d4e_x.sql: missing `-- migrate:upgrade` section
        ",
    );
    check_errors(
        "-- revision: 3f2a9c1b7d4e\n-- migrate:",
        "
        migrations/3f2a9c1b7d4e_x.sql: missing `-- migrate:upgrade` section
        migrations/3f2a9c1b7d4e_x.sql:2: unknown section `-- migrate:`: expected `-- migrate:upgrade` or `-- migrate:downgrade`
        ",
    );
    // A key that is not ASCII is a free comment, so the id is missing.
    check_errors(
        "-- révision: 3f2a9c1b7d4e\n-- migrate:upgrade\nSELECT 'é';",
        "migrations/3f2a9c1b7d4e_x.sql: missing `-- revision: <id>` header",
    );
    for text in [
        "\u{feff}",
        "\r",
        "\r\n\r\n",
        ":",
        "-- :",
        "-- -: x",
        "-- migrate:upgrade ü",
        "\0",
        "ü-- migrate:upgrade",
    ] {
        let errors = parse_revision(PATH.as_ref(), text).expect_err(text);
        assert!(errors.iter().count() > 0, "{text:?}");
    }
}

#[test]
fn truncated_and_mangled_files_never_panic() {
    let text = "\u{feff}-- revision: 3f2a9c1b7d4e\r\n-- revises: 0f9e8d7c6b5a\n-- depends-on: pkg:1a2b\n-- branch: é\n-- created: 2026-11-22T20:00:00.5+00:00\n-- migrate:upgrade postgres\nSELECT 'ü';\n-- migrate:downgrade\n";
    for (end, _) in text.char_indices() {
        let _ = parse_revision(PATH.as_ref(), &text[..end]);
        let _ = parse_revision(PATH.as_ref(), &text[end..]);
    }
    let lines: Vec<&str> = text.lines().collect();
    for skip in 0..lines.len() {
        let without: Vec<&str> =
            lines.iter().enumerate().filter(|(i, _)| *i != skip).map(|(_, l)| *l).collect();
        let _ = parse_revision(PATH.as_ref(), &without.join("\n"));
    }
}
