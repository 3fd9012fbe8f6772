//! Autogenerate round trips on in-memory SQLite and a throw-away PostgreSQL
//! server: for each case, build the start schema with rows in it, generate,
//! upgrade, and check the schema is the desired one; then downgrade and
//! check it is the start again, with the rows still there where the change
//! does not drop them.

use migrate_runtime::apply::create_table_sql;
use migrate_runtime::apply::Options;
use migrate_runtime::apply::{downgrade_step, upgrade_step};
use migrate_runtime::chain::parse_revision;
use migrate_runtime::schema::{generate, Changes};
use migrate_runtime::schema::{Column, Schema, Table};
use migrate_runtime::sql::lint;
use migrate_runtime::testing::TestDatabase;
use migrate_runtime::Dialect;
use migrate_runtime::Revision;
use rusqlite::Connection;

struct Case {
    name: &'static str,
    start: &'static str,
    desired: &'static str,
    /// Run on the start schema before upgrading.
    rows: &'static str,
    /// A query whose result must be the same before the upgrade, after it
    /// and after the downgrade (empty: nothing to compare).
    kept: &'static str,
    renames: &'static [(&'static str, &'static str)],
    /// Whether the case runs on SQLite, and on PostgreSQL.
    sqlite: bool,
    postgres: bool,
    /// How many data-losing warnings the upgrade carries.
    warnings: usize,
    /// On SQLite, when it differs: a type whose affinity stays loses
    /// nothing there (SQLite enforces no length).
    sqlite_warnings: Option<usize>,
}

const fn case(name: &'static str, start: &'static str, desired: &'static str) -> Case {
    Case {
        name,
        start,
        desired,
        rows: "",
        kept: "",
        renames: &[],
        sqlite: true,
        postgres: true,
        warnings: 0,
        sqlite_warnings: None,
    }
}

impl Case {
    const fn rows(self, rows: &'static str, kept: &'static str) -> Case {
        Case { rows, kept, ..self }
    }
    const fn renames(self, renames: &'static [(&'static str, &'static str)]) -> Case {
        Case { renames, ..self }
    }
    const fn sqlite_only(self) -> Case {
        Case { postgres: false, ..self }
    }
    const fn postgres_only(self) -> Case {
        Case { sqlite: false, ..self }
    }
    const fn warnings(self, warnings: usize) -> Case {
        Case { warnings, ..self }
    }
    const fn sqlite_warnings(self, warnings: usize) -> Case {
        Case { sqlite_warnings: Some(warnings), ..self }
    }
    fn expected_warnings(&self, dialect: Dialect) -> usize {
        match dialect {
            Dialect::Sqlite => self.sqlite_warnings.unwrap_or(self.warnings),
            _ => self.warnings,
        }
    }
}

const USERS: &str = "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(255) NOT NULL, name TEXT);";
const USER_ROWS: &str = "INSERT INTO users (id, email, name) VALUES (1, 'a@x', 'Ann'), (2, 'b@x', NULL);";
const USER_KEPT: &str = "SELECT id, email FROM users ORDER BY id";

const STAMPED: &str = "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, changed_at TIMESTAMPTZ);";
const STAMPED_ROWS: &str = "INSERT INTO t VALUES (1, 'x', NULL), (2, 'y', '2020-01-01');";
const STAMPED_KEPT: &str = "SELECT id, v, changed_at FROM t ORDER BY id";
/// Table `t` with column `v` of type `$v`, a plpgsql trigger function whose
/// body is `$body`, and a trigger on `t` for `$events`.
macro_rules! touched {
    ($v:literal, $body:literal, $events:literal) => {
        concat!(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, v ",
            $v,
            ", changed_at TIMESTAMPTZ);
             CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN
                 ",
            $body,
            "
                 RETURN NEW;
             END
             $$;
             CREATE TRIGGER t_touch ",
            $events,
            " ON t FOR EACH ROW EXECUTE FUNCTION touch();"
        )
    };
}

/// View `tv` over table `t`, inserted into by an `INSTEAD OF` trigger.
macro_rules! view_inserts {
    () => {
        "CREATE VIEW tv AS SELECT id, v FROM t;
         CREATE FUNCTION tv_insert() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
             INSERT INTO t VALUES (NEW.id, NEW.v);
             RETURN NEW;
         END
         $$;
         CREATE TRIGGER tv_insert INSTEAD OF INSERT ON tv FOR EACH ROW EXECUTE FUNCTION tv_insert();"
    };
}

/// A `--` comment in the body, which must keep its line break.
const STAMPED_TOUCHED: &str =
    touched!("TEXT", "NEW.changed_at := now(); -- the transaction's start", "BEFORE UPDATE");

fn cases() -> Vec<Case> {
    vec![
        case("nothing to do", USERS, USERS).rows(USER_ROWS, USER_KEPT),
        case("create a table", "", USERS).warnings(0),
        case("drop a table", USERS, "").warnings(1),
        case(
            "create tables referenced first",
            "",
            "CREATE TABLE z (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES z (id));
             CREATE TABLE b (id INTEGER PRIMARY KEY, z_id INTEGER REFERENCES z (id) ON DELETE CASCADE);",
        ),
        case(
            "create with uniques, checks, defaults and a composite key",
            "",
            "CREATE TABLE t (a INTEGER NOT NULL, b TEXT NOT NULL DEFAULT 'x', c REAL DEFAULT 1.5,
                 PRIMARY KEY (a, b), UNIQUE (c), UNIQUE (b, c), CHECK (a > 0), CHECK (length(b) < 10));",
        ),
        case("add a nullable column", USERS, USERS_WITH_AGE).rows(USER_ROWS, USER_KEPT),
        case(
            "add a not-null column with a default",
            USERS,
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(255) NOT NULL, name TEXT, n INTEGER NOT NULL DEFAULT 0);",
        )
        .rows(USER_ROWS, USER_KEPT),
        case("drop a column", USERS_WITH_AGE, USERS).rows(USER_ROWS, USER_KEPT).warnings(1),
        case(
            "drop an indexed column (rebuild)",
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(255) NOT NULL, name TEXT, age INTEGER);
             CREATE INDEX users_age ON users (age) WHERE age > 0;",
            USERS,
        )
        .rows(USER_ROWS, USER_KEPT)
        .warnings(1),
        case(
            "drop a unique column (rebuild)",
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(255) NOT NULL, name TEXT, code TEXT UNIQUE);",
            USERS,
        )
        .rows(USER_ROWS, USER_KEPT)
        .warnings(1)
        .sqlite_only(),
        case(
            "change a column type (rebuild)",
            USERS,
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(255) NOT NULL, name VARCHAR(80));",
        )
        .rows(USER_ROWS, "SELECT id, email, name FROM users ORDER BY id")
        .warnings(1)
        .sqlite_warnings(0),
        case(
            "widen a column type (rebuild)",
            USERS,
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(500) NOT NULL, name TEXT);",
        )
        .rows(USER_ROWS, USER_KEPT),
        case(
            "make a column not null with a default (rebuild)",
            USERS,
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(255) NOT NULL, name TEXT NOT NULL DEFAULT '');",
        )
        .rows(USER_ROWS, USER_KEPT),
        case(
            "make a column nullable (rebuild)",
            USERS,
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(255), name TEXT);",
        )
        .rows(USER_ROWS, "SELECT id, email, name FROM users ORDER BY id"),
        case(
            "change a default (rebuild)",
            "CREATE TABLE t (id INTEGER PRIMARY KEY, state TEXT DEFAULT 'new');",
            "CREATE TABLE t (id INTEGER PRIMARY KEY, state TEXT DEFAULT 'draft');",
        )
        .rows("INSERT INTO t (id) VALUES (1), (2);", "SELECT id, state FROM t ORDER BY id"),
        case(
            "add a column with an expression default (rebuild)",
            "CREATE TABLE t (id INTEGER PRIMARY KEY);",
            "CREATE TABLE t (id INTEGER PRIMARY KEY, at TIMESTAMP DEFAULT CURRENT_TIMESTAMP);",
        )
        .rows("INSERT INTO t VALUES (1), (2);", "SELECT id FROM t ORDER BY id"),
        case("add a foreign key to a table with rows", MEMBERS, MEMBERS_WITH_KEY)
            .rows(MEMBER_ROWS, MEMBER_KEPT),
        case("drop a foreign key", MEMBERS_WITH_KEY, MEMBERS).rows(MEMBER_ROWS, MEMBER_KEPT),
        case(
            "change a foreign key's on delete action",
            MEMBERS_WITH_KEY,
            "CREATE TABLE role (id INTEGER PRIMARY KEY);
             CREATE TABLE m (user_id INTEGER, role_id INTEGER REFERENCES role (id) ON DELETE CASCADE);",
        )
        .rows(MEMBER_ROWS, MEMBER_KEPT),
        case("add a unique constraint to a table with rows", USERS, USERS_UNIQUE_EMAIL).rows(USER_ROWS, USER_KEPT),
        case("drop a unique constraint", USERS_UNIQUE_EMAIL, USERS).rows(USER_ROWS, USER_KEPT),
        case(
            "rebuild a table other tables reference, with cascading keys",
            "CREATE TABLE p (id INTEGER PRIMARY KEY, name TEXT);
             CREATE TABLE c (id INTEGER PRIMARY KEY, p_id INTEGER REFERENCES p (id) ON DELETE CASCADE);
             CREATE TABLE d (id INTEGER PRIMARY KEY, p_id INTEGER NOT NULL REFERENCES p (id));",
            "CREATE TABLE p (id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT '');
             CREATE TABLE c (id INTEGER PRIMARY KEY, p_id INTEGER REFERENCES p (id) ON DELETE CASCADE);
             CREATE TABLE d (id INTEGER PRIMARY KEY, p_id INTEGER NOT NULL REFERENCES p (id));",
        )
        .rows(
            "INSERT INTO p VALUES (1, 'a'), (2, NULL); INSERT INTO c VALUES (1, 1), (2, 2); INSERT INTO d VALUES (1, 2);",
            "SELECT c.id, c.p_id, d.id FROM c LEFT JOIN d ON d.p_id = c.p_id ORDER BY c.id",
        )
        .sqlite_only(),
        case(
            "rebuild a table that references itself",
            "CREATE TABLE node (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES node (id), label TEXT);",
            "CREATE TABLE node (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES node (id), label TEXT DEFAULT 'x');",
        )
        .rows("INSERT INTO node VALUES (1, NULL, 'root'), (2, 1, 'leaf');", "SELECT id, parent, label FROM node ORDER BY id")
        .sqlite_only(),
        case(
            "change a column's collation (rebuild on SQLite)",
            USERS,
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(255) COLLATE nocase NOT NULL, name TEXT);",
        )
        .rows(USER_ROWS, USER_KEPT)
        .sqlite_only(),
        case(
            "change a column's collation",
            USERS,
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(255) COLLATE \"C\" NOT NULL, name TEXT);",
        )
        .rows(USER_ROWS, USER_KEPT)
        .postgres_only(),
        case(
            "make a table strict (rebuild)",
            "CREATE TABLE s (id INTEGER PRIMARY KEY, v TEXT);",
            "CREATE TABLE s (id INTEGER PRIMARY KEY, v TEXT) STRICT;",
        )
        .rows("INSERT INTO s VALUES (1, 'a'), (2, NULL);", "SELECT id, v FROM s ORDER BY id")
        .sqlite_only(),
        case(
            "make a table without rowid (rebuild)",
            "CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT);",
            "CREATE TABLE kv (k TEXT PRIMARY KEY NOT NULL, v TEXT) WITHOUT ROWID;",
        )
        .rows("INSERT INTO kv VALUES ('a', '1'), ('b', NULL);", "SELECT k, v FROM kv ORDER BY k")
        .sqlite_only(),
        case(
            "a rebuild keeps AUTOINCREMENT and its high-water mark",
            "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT);",
            "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT NOT NULL DEFAULT '');",
        )
        .rows(
            "INSERT INTO t (v) VALUES ('a'), ('b'), ('c'); DELETE FROM t WHERE id = 3;",
            "SELECT name, seq FROM sqlite_sequence UNION ALL SELECT id, v FROM t ORDER BY 1",
        )
        .sqlite_only(),
        case(
            "add a stored generated column",
            USERS,
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(255) NOT NULL, name TEXT,
                 email_lower TEXT GENERATED ALWAYS AS (lower(email)) STORED);",
        )
        .rows(USER_ROWS, USER_KEPT),
        case(
            "add a virtual generated column",
            USERS,
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(255) NOT NULL, name TEXT, twice INTEGER AS (id * 2));",
        )
        .rows(USER_ROWS, USER_KEPT)
        .sqlite_only(),
        case(
            "change a generated expression that an index uses",
            GENERATED_LOWER,
            &*GENERATED_LOWER.replace("lower(email)", "upper(email)").leak(),
        )
        .rows(USER_ROWS, USER_KEPT),
        case(
            "a generated column becomes a plain one and keeps its values",
            GENERATED_LOWER,
            &*GENERATED_LOWER.replace(" GENERATED ALWAYS AS (lower(email)) STORED", "").leak(),
        )
        .rows(USER_ROWS, "SELECT id, email_key FROM users ORDER BY id"),
        case(
            "a plain column with a check becomes generated",
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(255) NOT NULL, name TEXT,
                 email_key TEXT CHECK (email_key <> ''));",
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(255) NOT NULL, name TEXT,
                 email_key TEXT GENERATED ALWAYS AS (lower(email)) STORED CHECK (email_key <> ''));",
        )
        .rows(USER_ROWS, USER_KEPT)
        .warnings(1),
        case(
            "a rebuild keeps a generated column",
            GENERATED_LOWER,
            &*GENERATED_LOWER.replace("name TEXT", "name TEXT NOT NULL DEFAULT ''").leak(),
        )
        .rows(USER_ROWS, "SELECT id, email, email_key FROM users ORDER BY id"),
        case(
            "a view remade around a change keeps its strings' commas, spaces and dashes",
            &*format!("{USERS}\n{TAGGED}").leak(),
            &*format!("{USERS_WITH_AGE}\n{TAGGED}").leak(),
        )
        .rows(USER_ROWS, "SELECT tag FROM tagged UNION ALL SELECT email FROM users ORDER BY 1"),
        case(
            "an extension comes before the column of its type and goes after it",
            USERS,
            "CREATE EXTENSION citext;
             CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(255) NOT NULL, name TEXT, nick citext UNIQUE);",
        )
        .rows(USER_ROWS, USER_KEPT)
        .postgres_only(),
        case(
            "add a cascading foreign key of a table to itself",
            "CREATE TABLE node (id INTEGER PRIMARY KEY, parent INTEGER);",
            "CREATE TABLE node (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES node (id) ON DELETE CASCADE);",
        )
        .rows("INSERT INTO node VALUES (1, NULL), (2, 1), (3, 2);", "SELECT id, parent FROM node ORDER BY id"),
        case(
            "add an expression index",
            USERS,
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(255) NOT NULL, name TEXT);
             CREATE UNIQUE INDEX users_email_lower ON users (lower(email)) WHERE name IS NOT NULL;
             CREATE INDEX users_name_email ON users (name, (id + 1), lower(email) DESC);",
        )
        .rows(USER_ROWS, USER_KEPT),
        case(
            "drop an expression index",
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(255) NOT NULL, name TEXT);
             CREATE INDEX users_email_lower ON users (lower(email));",
            USERS,
        )
        .rows(USER_ROWS, USER_KEPT),
        case(
            "an expression index survives a rebuild",
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(255) NOT NULL, name TEXT);
             CREATE INDEX users_email_lower ON users (lower(email));",
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(255) NOT NULL, name TEXT NOT NULL DEFAULT '');
             CREATE INDEX users_email_lower ON users (lower(email));",
        )
        .rows(USER_ROWS, USER_KEPT),
        case(
            "add a composite unique constraint",
            USERS,
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(255) NOT NULL, name TEXT, UNIQUE (name, email));",
        )
        .rows(USER_ROWS, USER_KEPT),
        case("add a check constraint", USERS, USERS_CHECKED).rows(USER_ROWS, USER_KEPT),
        case("drop a check constraint", USERS_CHECKED, USERS).rows(USER_ROWS, USER_KEPT),
        case(
            "change a check expression",
            USERS_CHECKED,
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(255) NOT NULL, name TEXT, CHECK (length(email) > 1));",
        )
        .rows(USER_ROWS, USER_KEPT),
        case(
            "change the primary key columns",
            "CREATE TABLE t (a INTEGER NOT NULL, b INTEGER NOT NULL, PRIMARY KEY (a));",
            "CREATE TABLE t (a INTEGER NOT NULL, b INTEGER NOT NULL, PRIMARY KEY (a, b));",
        )
        .rows("INSERT INTO t VALUES (1, 2), (3, 4);", "SELECT a, b FROM t ORDER BY a"),
        case(
            "drop a unique another table's foreign key references, with that foreign key",
            "CREATE TABLE p (id INTEGER PRIMARY KEY, code TEXT UNIQUE);
             CREATE TABLE c (id INTEGER PRIMARY KEY, p_code TEXT REFERENCES p (code));",
            "CREATE TABLE p (id INTEGER PRIMARY KEY, code TEXT); CREATE TABLE c (id INTEGER PRIMARY KEY, p_code TEXT);",
        )
        .rows(PARENT_ROWS, "SELECT id, p_code FROM c")
        ,
        case(
            "move the primary key under a foreign key that stays",
            "CREATE TABLE p (id INTEGER PRIMARY KEY, code TEXT NOT NULL);
             CREATE TABLE c (id INTEGER PRIMARY KEY, p_id INTEGER REFERENCES p (id));",
            "CREATE TABLE p (id INTEGER NOT NULL UNIQUE, code TEXT PRIMARY KEY);
             CREATE TABLE c (id INTEGER PRIMARY KEY, p_id INTEGER REFERENCES p (id));",
        )
        .rows(
            "INSERT INTO p VALUES (1, 'a'), (2, 'b'); INSERT INTO c VALUES (10, 1), (11, 2);",
            "SELECT id, p_id FROM c ORDER BY id",
        ),
        case(
            "a new table referencing a unique added in the same revision",
            "CREATE TABLE p (id INTEGER PRIMARY KEY, code TEXT);",
            "CREATE TABLE p (id INTEGER PRIMARY KEY, code TEXT UNIQUE);
             CREATE TABLE c (id INTEGER PRIMARY KEY, p_code TEXT REFERENCES p (code));",
        )
        .rows("INSERT INTO p VALUES (1, 'a'), (2, 'b');", "SELECT id, code FROM p ORDER BY id")
        ,
        case(
            "drop a referenced table and the foreign key to it",
            "CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE c (id INTEGER PRIMARY KEY, p_id INTEGER REFERENCES p (id));",
            "CREATE TABLE c (id INTEGER PRIMARY KEY, p_id INTEGER);",
        )
        // The downgrade brings `p` back empty: no row of `c` may reference it.
        .rows("INSERT INTO p VALUES (1); INSERT INTO c VALUES (10, NULL);", "SELECT id, p_id FROM c")
        .warnings(1),
        case(
            "create and drop tables that reference each other",
            "",
            "CREATE TABLE a (id INTEGER PRIMARY KEY, b_id INTEGER);
             CREATE TABLE b (id INTEGER PRIMARY KEY, a_id INTEGER REFERENCES a (id));
             ALTER TABLE a ADD FOREIGN KEY (b_id) REFERENCES b (id);",
        )
        // SQLite has no `ALTER TABLE … ADD FOREIGN KEY` to build the case with.
        .postgres_only(),
        case(
            "create an index",
            USERS,
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(255) NOT NULL, name TEXT);
             CREATE INDEX users_name ON users (name, email);",
        )
        .rows(USER_ROWS, USER_KEPT),
        case(
            "create a unique partial index",
            USERS,
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(255) NOT NULL, name TEXT);
             CREATE UNIQUE INDEX users_email ON users (email) WHERE name IS NOT NULL;",
        )
        .rows(USER_ROWS, USER_KEPT),
        case(
            "change an index",
            "CREATE TABLE t (a INTEGER, b INTEGER); CREATE INDEX t_x ON t (a);",
            "CREATE TABLE t (a INTEGER, b INTEGER); CREATE UNIQUE INDEX t_x ON t (a, b);",
        )
        .rows("INSERT INTO t VALUES (1, 2);", "SELECT a, b FROM t"),
        case(
            "rebuild keeps other indexes",
            "CREATE TABLE t (a INTEGER, b TEXT); CREATE INDEX t_b ON t (b);",
            "CREATE TABLE t (a BIGINT, b TEXT); CREATE INDEX t_b ON t (b);",
        )
        .rows("INSERT INTO t VALUES (1, 'x');", "SELECT a, b FROM t"),
        case(
            "drop a referenced table after its referrer",
            "CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE c (id INTEGER, p_id INTEGER REFERENCES p (id));",
            "",
        )
        .warnings(2),
        case(
            "rename a table",
            "CREATE TABLE old_t (id INTEGER PRIMARY KEY, v TEXT);",
            "CREATE TABLE new_t (id INTEGER PRIMARY KEY, v TEXT);",
        )
        .rows("INSERT INTO old_t VALUES (1, 'x');", "")
        .renames(&[("old_t", "new_t")]),
        case(
            "rename a column",
            "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); CREATE INDEX t_v ON t (v);",
            "CREATE TABLE t (id INTEGER PRIMARY KEY, w TEXT); CREATE INDEX t_v ON t (w);",
        )
        .rows("INSERT INTO t VALUES (1, 'x');", "SELECT id FROM t")
        .renames(&[("t.v", "t.w")]),
        case(
            "rename a table and one of its columns",
            "CREATE TABLE a (id INTEGER PRIMARY KEY, x TEXT);",
            "CREATE TABLE b (id INTEGER PRIMARY KEY, y TEXT);",
        )
        .rows("INSERT INTO a VALUES (1, 'x');", "")
        .renames(&[("a", "b"), ("b.x", "b.y")]),
        case(
            "rename a referenced column and change the foreign key to it",
            "CREATE TABLE p (id INTEGER PRIMARY KEY, code TEXT UNIQUE);
             CREATE TABLE c (id INTEGER PRIMARY KEY, p_code TEXT REFERENCES p (code));",
            "CREATE TABLE p (id INTEGER PRIMARY KEY, ref TEXT UNIQUE);
             CREATE TABLE c (id INTEGER PRIMARY KEY, p_code TEXT REFERENCES p (ref) ON DELETE CASCADE);",
        )
        .rows(PARENT_ROWS, "SELECT id, p_code FROM c ORDER BY id")
        .renames(&[("p.code", "p.ref")]),
        case(
            "a view over a rebuilt table",
            "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); CREATE VIEW tv AS SELECT id, v FROM t;",
            "CREATE TABLE t (id INTEGER PRIMARY KEY, v VARCHAR(10)); CREATE VIEW tv AS SELECT id, v FROM t;",
        )
        .rows("INSERT INTO t VALUES (1, 'x');", "SELECT id, v FROM tv")
        .warnings(0)
        .sqlite_only(),
        case(
            "create and drop views and triggers",
            "CREATE TABLE t (id INTEGER PRIMARY KEY); CREATE VIEW a AS SELECT id FROM t;",
            "CREATE TABLE t (id INTEGER PRIMARY KEY); CREATE VIEW b AS SELECT id + 1 AS n FROM t;
             CREATE TRIGGER t_ins AFTER INSERT ON t BEGIN SELECT 1; END;",
        )
        .rows("INSERT INTO t VALUES (1);", "SELECT id FROM t")
        .sqlite_only(),
        case("create an enum type before its table", "", MOOD_TABLE).postgres_only(),
        case("drop an enum type after its table", MOOD_TABLE, "").warnings(1).postgres_only(),
        case(
            "append an enum label (a downgrade rebuilds the type)",
            MOOD_TABLE,
            "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy', 'ecstatic');
             CREATE TABLE person (id INTEGER PRIMARY KEY, mood mood NOT NULL DEFAULT 'ok');
             CREATE VIEW happy AS SELECT id FROM person WHERE mood = 'happy';",
        )
        .rows(MOOD_ROWS, "SELECT id, mood::text FROM person ORDER BY id")
        .postgres_only(),
        case(
            "append an enum label that checks and indexes compare with",
            MOOD_CHECKED,
            MOOD_CHECKED.replacen("'ok')", "'ok', 'happy')", 1).leak(),
        )
        .rows("INSERT INTO person VALUES (1, 'ok'), (2, 'sad');", "SELECT id, mood::text FROM person ORDER BY id")
        .postgres_only(),
        case(
            "a serial column becomes an identity column",
            "CREATE TABLE t (id SERIAL PRIMARY KEY, v TEXT);",
            "CREATE TABLE t (id INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, v TEXT);",
        )
        .rows("INSERT INTO t (v) VALUES ('a'), ('b');", "SELECT id, v FROM t ORDER BY id")
        .postgres_only(),
        case(
            "create and drop sequences",
            "CREATE SEQUENCE a_seq;",
            "CREATE SEQUENCE b_seq; CREATE TABLE t (id BIGINT DEFAULT nextval('b_seq'), n INTEGER);",
        )
        .postgres_only(),
        case(
            "a table with serial and identity columns",
            "",
            "CREATE TABLE t (id SERIAL PRIMARY KEY, n BIGINT GENERATED ALWAYS AS IDENTITY, v TEXT);",
        )
        .postgres_only(),
        case(
            "add a serial column",
            USERS,
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(255) NOT NULL, name TEXT, n SERIAL);",
        )
        .rows(USER_ROWS, USER_KEPT)
        .warnings(0)
        .postgres_only(),
        case(
            "create a table with an always identity column",
            "",
            "CREATE TABLE t (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v TEXT);",
        )
        .postgres_only(),
        case(
            "add an identity column to a table with rows",
            USERS,
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(255) NOT NULL, name TEXT,
                 n BIGINT GENERATED ALWAYS AS IDENTITY);",
        )
        .rows(USER_ROWS, USER_KEPT)
        .postgres_only(),
        case("make a nullable column an identity column", "CREATE TABLE t (id INTEGER, v TEXT);", IDENTITY_TABLE)
            .rows("INSERT INTO t VALUES (1, 'x'), (2, 'y');", "SELECT id, v FROM t ORDER BY id")
            .postgres_only(),
        case(
            "stop a column being an identity column",
            IDENTITY_TABLE,
            "CREATE TABLE t (id INTEGER NOT NULL, v TEXT);",
        )
        .rows("INSERT INTO t (v) VALUES ('x'), ('y');", "SELECT id, v FROM t ORDER BY id")
        .postgres_only(),
        case(
            "change an identity column from by default to always",
            IDENTITY_TABLE,
            "CREATE TABLE t (id INTEGER GENERATED ALWAYS AS IDENTITY, v TEXT);",
        )
        .rows("INSERT INTO t (v) VALUES ('x'), ('y');", "SELECT id, v FROM t ORDER BY id")
        .postgres_only(),
        case(
            "change a view over a view",
            "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);
             CREATE VIEW a AS SELECT id, v FROM t; CREATE VIEW b AS SELECT id FROM a;",
            "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);
             CREATE VIEW a AS SELECT id, v, 1 AS one FROM t; CREATE VIEW b AS SELECT id, one FROM a;",
        )
        .rows("INSERT INTO t VALUES (1, 'x');", "SELECT id FROM b")
        .postgres_only(),
        case(
            "views over a table whose column type changes",
            "CREATE TABLE t (id INTEGER PRIMARY KEY, v VARCHAR(10));
             CREATE VIEW a AS SELECT id, v FROM t; CREATE VIEW b AS SELECT v FROM a;",
            "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);
             CREATE VIEW a AS SELECT id, v FROM t; CREATE VIEW b AS SELECT v FROM a;",
        )
        .rows("INSERT INTO t VALUES (1, 'x');", "SELECT v FROM b")
        .postgres_only(),
        case("add a trigger function and trigger to a table with rows", STAMPED, STAMPED_TOUCHED)
            .rows(STAMPED_ROWS, STAMPED_KEPT)
            .postgres_only(),
        case("drop a trigger with its function", STAMPED_TOUCHED, STAMPED)
            .rows(STAMPED_ROWS, STAMPED_KEPT)
            .postgres_only(),
        case(
            "change a trigger function's body",
            STAMPED_TOUCHED,
            touched!("TEXT", "NEW.changed_at := clock_timestamp();", "BEFORE UPDATE"),
        )
        .rows(STAMPED_ROWS, STAMPED_KEPT)
        .postgres_only(),
        case(
            "triggers of one name on two tables, one changed",
            concat!(
                touched!("TEXT", "NEW.changed_at := now();", "BEFORE UPDATE"),
                "CREATE TABLE u (id INTEGER PRIMARY KEY, changed_at TIMESTAMPTZ);
                 CREATE TRIGGER t_touch BEFORE UPDATE ON u FOR EACH ROW EXECUTE FUNCTION touch();"
            ),
            concat!(
                touched!("TEXT", "NEW.changed_at := now();", "BEFORE UPDATE"),
                "CREATE TABLE u (id INTEGER PRIMARY KEY, changed_at TIMESTAMPTZ);
                 CREATE TRIGGER t_touch BEFORE INSERT OR UPDATE ON u FOR EACH ROW EXECUTE FUNCTION touch();"
            ),
        )
        .rows(STAMPED_ROWS, STAMPED_KEPT)
        .postgres_only(),
        case(
            "change a trigger's events",
            STAMPED_TOUCHED,
            touched!("TEXT", "NEW.changed_at := now(); -- the transaction's start", "BEFORE INSERT OR UPDATE"),
        )
        .rows(STAMPED_ROWS, STAMPED_KEPT)
        .postgres_only(),
        case(
            "change the type of a column a trigger fires on",
            touched!("VARCHAR(10)", "NEW.changed_at := now();", "BEFORE UPDATE OF v"),
            touched!("TEXT", "NEW.changed_at := now();", "BEFORE UPDATE OF v"),
        )
        .rows(STAMPED_ROWS, STAMPED_KEPT)
        .postgres_only(),
        case(
            "an instead-of trigger on a view made again",
            concat!("CREATE TABLE t (id INTEGER PRIMARY KEY, v VARCHAR(10));", view_inserts!()),
            concat!("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);", view_inserts!()),
        )
        .rows("INSERT INTO t VALUES (1, 'x');", "SELECT id, v FROM tv ORDER BY id")
        .postgres_only(),
        case(
            "a SQL function a view calls",
            "CREATE TABLE t (id INTEGER PRIMARY KEY);",
            "CREATE TABLE t (id INTEGER PRIMARY KEY);
             CREATE FUNCTION double(n integer) RETURNS integer LANGUAGE sql IMMUTABLE AS 'SELECT n * 2';
             CREATE VIEW doubled AS SELECT id, double(id) AS d FROM t;",
        )
        .rows("INSERT INTO t VALUES (1), (2);", "SELECT id FROM t ORDER BY id")
        .postgres_only(),
        case(
            "change a function's return type and argument name under a view",
            "CREATE TABLE t (id INTEGER PRIMARY KEY);
             CREATE FUNCTION label(n integer) RETURNS text LANGUAGE sql IMMUTABLE AS 'SELECT n::text';
             CREATE VIEW labelled AS SELECT id, label(id) AS l FROM t;",
            "CREATE TABLE t (id INTEGER PRIMARY KEY);
             CREATE FUNCTION label(num integer) RETURNS varchar LANGUAGE sql IMMUTABLE AS 'SELECT num::varchar';
             CREATE VIEW labelled AS SELECT id, label(id) AS l FROM t;",
        )
        .rows("INSERT INTO t VALUES (1), (2);", "SELECT id, l FROM labelled ORDER BY id")
        .postgres_only(),
        case(
            "a function a column default calls",
            USERS,
            "CREATE SEQUENCE codes;
             CREATE FUNCTION next_code() RETURNS text LANGUAGE plpgsql AS $$
             BEGIN
                 -- a comment that ends at the line break
                 RETURN 'c-' || nextval('codes');
             END
             $$;
             CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(255) NOT NULL, name TEXT,
                 code TEXT NOT NULL DEFAULT next_code());",
        )
        .rows(USER_ROWS, USER_KEPT)
        .warnings(0)
        .postgres_only(),
        case(
            "drop functions and a procedure with arguments",
            "CREATE TABLE t (id INTEGER PRIMARY KEY);
             CREATE FUNCTION add(a integer, b integer) RETURNS integer LANGUAGE sql IMMUTABLE AS 'SELECT a + b';
             CREATE FUNCTION add(a text, b text) RETURNS text LANGUAGE sql IMMUTABLE AS 'SELECT a || b';
             CREATE PROCEDURE put(n integer, note text DEFAULT '') LANGUAGE sql AS 'INSERT INTO t VALUES (n)';",
            "CREATE TABLE t (id INTEGER PRIMARY KEY);",
        )
        .rows("INSERT INTO t VALUES (1);", "SELECT id FROM t")
        .postgres_only(),
    ]
}

const IDENTITY_TABLE: &str = "CREATE TABLE t (id INTEGER GENERATED BY DEFAULT AS IDENTITY, v TEXT);";

const MOOD_TABLE: &str = "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
     CREATE TABLE person (id INTEGER PRIMARY KEY, mood mood NOT NULL DEFAULT 'ok');
     CREATE VIEW happy AS SELECT id FROM person WHERE mood = 'happy';";
const TAGGED: &str = "CREATE VIEW tagged AS SELECT id, 'a,  b ( -- c' AS tag -- why\n FROM users;";

const GENERATED_LOWER: &str =
    "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(255) NOT NULL, name TEXT,
         email_key TEXT GENERATED ALWAYS AS (lower(email)) STORED);
     CREATE INDEX users_email_key ON users (email_key);";

/// Every place an enum literal can sit besides a view and a default.
const MOOD_CHECKED: &str = "CREATE TYPE mood AS ENUM ('sad', 'ok');
     CREATE TABLE person (id INTEGER PRIMARY KEY, mood mood NOT NULL DEFAULT 'ok', CONSTRAINT not_happy CHECK (mood <> 'sad' OR id > 1));
     CREATE INDEX person_ok ON person (id) WHERE mood = 'ok';
     CREATE INDEX person_sad_first ON person ((mood = 'sad'), id);";
const MOOD_ROWS: &str = "INSERT INTO person VALUES (1, 'sad'), (2, 'happy');";

const USERS_UNIQUE_EMAIL: &str =
    "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(255) NOT NULL UNIQUE, name TEXT);";
const USERS_CHECKED: &str =
    "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(255) NOT NULL, name TEXT, CHECK (length(email) > 2));";

const MEMBERS: &str =
    "CREATE TABLE role (id INTEGER PRIMARY KEY); CREATE TABLE m (user_id INTEGER, role_id INTEGER);";
const MEMBERS_WITH_KEY: &str = "CREATE TABLE role (id INTEGER PRIMARY KEY);
     CREATE TABLE m (user_id INTEGER, role_id INTEGER REFERENCES role (id) ON DELETE SET NULL);";
const MEMBER_ROWS: &str = "INSERT INTO role VALUES (1), (2); INSERT INTO m VALUES (7, 1), (8, NULL);";
const MEMBER_KEPT: &str = "SELECT user_id, role_id FROM m ORDER BY user_id";

const PARENT_ROWS: &str =
    "INSERT INTO p VALUES (1, 'a'), (2, 'b'); INSERT INTO c VALUES (10, 'a'), (11, NULL);";

const USERS_WITH_AGE: &str =
    "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(255) NOT NULL, name TEXT, age INTEGER);";

#[test]
fn schema_changes_round_trip_on_sqlite() {
    let cases: Vec<Case> = cases().into_iter().filter(|c| c.sqlite).collect();
    assert!(cases.len() >= 25, "{} cases", cases.len());
    let mut fresh = || -> Box<dyn TestDatabase> { Box::new(Connection::open_in_memory().expect("memory")) };
    all_pass(&cases, &mut fresh);
}

/// Checks every case, then fails naming all that failed.
fn all_pass(cases: &[Case], fresh: &mut dyn FnMut() -> Box<dyn TestDatabase>) {
    let failures: Vec<String> =
        cases.iter().filter_map(|c| check(c, fresh).err().map(|e| format!("{}: {e}", c.name))).collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[cfg(feature = "postgres")]
#[test]
fn schema_changes_round_trip_on_postgres() {
    let Some(mut fresh) = postgres_databases() else { return };
    let cases: Vec<Case> = cases().into_iter().filter(|c| c.postgres).collect();
    assert!(cases.len() >= 15, "{} cases", cases.len());
    all_pass(&cases, &mut fresh);
}

/// Fresh databases on the test server, or `None` where there is none
/// (and `CI` is not set).
#[cfg(feature = "postgres")]
fn postgres_databases() -> Option<impl FnMut() -> Box<dyn TestDatabase>> {
    use migrate_runtime::testing::{database_url, PostgresConnection};
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let base = migrate_runtime::testing::test_server().expect("a PostgreSQL server for the tests")?;
    Some(move || -> Box<dyn TestDatabase> {
        let name = format!("autogen_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::SeqCst));
        let mut admin = PostgresConnection::connect(&base).expect("connect");
        admin.execute(&format!("CREATE DATABASE {name}")).expect("create");
        Box::new(PostgresConnection::connect(&database_url(&base, &name)).expect("connect"))
    })
}

#[cfg(feature = "postgres")]
#[test]
fn a_column_made_identity_numbers_new_rows_after_the_existing_ones() {
    let Some(mut fresh) = postgres_databases() else { return };
    let start = "CREATE TABLE t (id INTEGER NOT NULL PRIMARY KEY, v TEXT);";
    let desired = "CREATE TABLE t (id INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, v TEXT);";
    let (from, to) =
        (schema_of(fresh(), start).expect("start"), schema_of(fresh(), desired).expect("desired"));
    let mut db = fresh();
    db.execute(start).expect("start");
    db.execute("INSERT INTO t VALUES (1, 'a'), (7, 'b');").expect("rows");
    db.execute(&generate(&from, &to, Dialect::Postgres, &[]).upgrade.join("\n")).expect("upgrade");
    db.execute("INSERT INTO t (v) VALUES ('c');").expect("a row numbered by the identity");
    assert_eq!(db.query("SELECT id FROM t WHERE v = 'c'").expect("query"), [[Some("8".to_string())]]);
}

#[cfg(feature = "postgres")]
#[test]
fn serial_and_identity_columns_turn_into_each_other_and_keep_numbering() {
    let Some(mut fresh) = postgres_databases() else { return };
    let serial = "CREATE TABLE t (id SERIAL PRIMARY KEY, v TEXT);";
    let identity = "CREATE TABLE t (id INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, v TEXT);";
    for (start, desired) in [(serial, identity), (identity, serial)] {
        let (from, to) =
            (schema_of(fresh(), start).expect("start"), schema_of(fresh(), desired).expect("desired"));
        let changes = generate(&from, &to, Dialect::Postgres, &[]);
        let mut db = fresh();
        db.execute(start).expect("start");
        db.execute("INSERT INTO t (v) VALUES ('a'), ('b');").expect("rows");
        let numbered = |db: &mut Box<dyn TestDatabase>, v: &str| {
            db.execute(&format!("INSERT INTO t (v) VALUES ('{v}');")).map_err(|e| format!("{v}: {e}"))?;
            let id = db.query(&format!("SELECT id FROM t WHERE v = '{v}'")).map_err(|e| e.to_string())?;
            Ok::<_, String>(id[0][0].clone().unwrap_or_default())
        };
        let upgrade = changes.upgrade.join("\n");
        db.execute(&upgrade).unwrap_or_else(|e| panic!("{start} -> {desired}: {e}\n{upgrade}"));
        assert_eq!(numbered(&mut db, "c"), Ok("3".into()), "{start} -> {desired}:\n{upgrade}");
        let downgrade = changes.downgrade.join("\n");
        db.execute(&downgrade).unwrap_or_else(|e| panic!("back to {start}: {e}\n{downgrade}"));
        assert_eq!(numbered(&mut db, "d"), Ok("4".into()), "back to {start}:\n{downgrade}");
    }
}

#[cfg(feature = "postgres")]
#[test]
fn a_new_table_keeps_the_constraint_names_schema_sql_gives() {
    let Some(mut fresh) = postgres_databases() else { return };
    let desired = "CREATE TABLE t (id INTEGER CONSTRAINT t_positive CHECK (id > 0), email TEXT, CONSTRAINT t_one_email UNIQUE (email));";
    let to = schema_of(fresh(), desired).expect("desired");
    let upgrade = generate(&Schema::default(), &to, Dialect::Postgres, &[]).upgrade.join("\n");
    assert!(upgrade.contains("CONSTRAINT \"t_one_email\" UNIQUE (\"email\")"), "{upgrade}");
    assert!(upgrade.contains("CONSTRAINT \"t_positive\" CHECK (id > 0)"), "{upgrade}");
}

fn check(case: &Case, fresh: &mut dyn FnMut() -> Box<dyn TestDatabase>) -> Result<(), String> {
    let (start, desired) = (schema_of(fresh(), case.start)?, schema_of(fresh(), case.desired)?);
    let mut db = fresh();
    let dialect = db.dialect();
    let renames: Vec<(String, String)> =
        case.renames.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
    let changes = generate(&start, &desired, dialect, &renames);
    if !changes.unsupported.is_empty() || !changes.unsupported_downgrade.is_empty() {
        return Err(format!("unsupported: {:?} {:?}", changes.unsupported, changes.unsupported_downgrade));
    }
    let expected = case.expected_warnings(dialect);
    if changes.warnings.len() != expected {
        return Err(format!("warnings {:?}, expected {expected}", changes.warnings));
    }
    let revision = revision_of(&changes)?;
    lint::check(std::slice::from_ref(&revision), &lint::Settings::default())
        .map_err(|findings| format!("lint: {findings}"))?;
    if (start == desired) != changes.is_empty() {
        return Err(format!("an empty diff must mean no statements: {changes:?}"));
    }
    db.execute(case.start).map_err(|e| format!("start: {e}"))?;
    db.execute(case.rows).map_err(|e| format!("rows: {e}"))?;
    db.execute(&create_table_sql(dialect, HISTORY)).map_err(|e| format!("history: {e}"))?;
    let kept = query(db.as_mut(), case.kept)?;
    let options = Options::new("autogen");
    let upgrade = upgrade_step(&revision, dialect, &options).map_err(|e| e.to_string())?;
    run(db.as_mut(), &upgrade, "upgrade")?;
    // PostgreSQL's follow-up revision (`transaction: none`): each statement
    // alone, as the engine runs it, since `CONCURRENTLY` refuses a batch.
    for statement in &changes.follow_up {
        run(db.as_mut(), statement, "follow-up upgrade")?;
    }
    same(&db.schema(HISTORY).map_err(|e| e.to_string())?, &desired, "after upgrade", &changes)?;
    if !case.renames.is_empty() || expected == 0 {
        equal_rows(&kept, &query(db.as_mut(), case.kept)?, "after upgrade")?;
    }
    for statement in &changes.follow_up_downgrade {
        run(db.as_mut(), statement, "follow-up downgrade")?;
    }
    let downgrade = downgrade_step(&revision, dialect, &options).map_err(|e| e.to_string())?;
    run(db.as_mut(), &downgrade, "downgrade")?;
    same(&db.schema(HISTORY).map_err(|e| e.to_string())?, &start, "after downgrade", &changes)?;
    equal_rows(&kept, &query(db.as_mut(), case.kept)?, "after downgrade")
}

const HISTORY: &str = "migrate_history";

/// The revision file `new --autogenerate` would write for the changes.
fn revision_of(changes: &Changes) -> Result<Revision, String> {
    let text = format!(
        "-- revision: a1b2c3d4e5f6\n-- message: m\n-- migrate:upgrade\n{}\n-- migrate:downgrade\n{}\n",
        changes.upgrade.join("\n"),
        changes.downgrade.join("\n")
    );
    parse_revision("m/a1b2c3d4e5f6_m.sql".as_ref(), &text).map_err(|e| format!("{e:?}"))
}

fn schema_of(mut db: Box<dyn TestDatabase>, sql: &str) -> Result<Schema, String> {
    db.execute(sql).map_err(|e| format!("{sql}: {e}"))?;
    db.schema(HISTORY).map_err(|e| e.to_string())
}

/// Runs one step of the offline script: what the walk harness runs, and
/// on PostgreSQL the very batch the engine sends.
fn run(db: &mut dyn TestDatabase, step: &str, what: &str) -> Result<(), String> {
    db.execute(step).map_err(|e| format!("{what}: {e}\n{step}"))?;
    if db.dialect() == Dialect::Sqlite && !query(db, "SELECT * FROM pragma_foreign_key_check")?.is_empty() {
        return Err(format!("{what}: foreign keys dangle"));
    }
    Ok(())
}

fn same(actual: &Schema, expected: &Schema, when: &str, changes: &Changes) -> Result<(), String> {
    let differences: Vec<String> = actual.diff(expected).iter().map(ToString::to_string).collect();
    if differences.is_empty() {
        return Ok(());
    }
    let (upgrade, downgrade) = (changes.upgrade.join("\n"), changes.downgrade.join("\n"));
    Err(format!("{when}: {}\nupgrade:\n{upgrade}\ndowngrade:\n{downgrade}", differences.join("\n")))
}

fn query(db: &mut dyn TestDatabase, sql: &str) -> Result<Vec<String>, String> {
    if sql.is_empty() {
        return Ok(Vec::new());
    }
    let rows = db.query(sql).map_err(|e| format!("{sql}: {e}"))?;
    Ok(rows.iter().map(|row| format!("{row:?}")).collect())
}

fn equal_rows(before: &[String], after: &[String], when: &str) -> Result<(), String> {
    if before == after {
        return Ok(());
    }
    Err(format!("{when}: rows were {before:?}, now {after:?}"))
}

fn sqlite_schema(sql: &str) -> Schema {
    schema_of(Box::new(Connection::open_in_memory().expect("memory")), sql).expect("schema")
}

#[test]
fn data_losing_steps_are_marked_in_the_sql() {
    let (start, desired) = (sqlite_schema(USERS_WITH_AGE), sqlite_schema(USERS));
    let changes = generate(&start, &desired, Dialect::Sqlite, &[]);
    assert_eq!(changes.warnings, ["drops data: column users.age"]);
    assert_eq!(
        changes.upgrade,
        ["-- WARNING: drops data: column users.age\nALTER TABLE \"users\" DROP COLUMN \"age\";"]
    );
    assert_eq!(changes.downgrade, ["ALTER TABLE \"users\" ADD COLUMN \"age\" integer;"]);
}

#[test]
fn renames_are_never_guessed() {
    let start = sqlite_schema("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);");
    let desired = sqlite_schema("CREATE TABLE t (id INTEGER PRIMARY KEY, w TEXT);");
    let changes = generate(&start, &desired, Dialect::Sqlite, &[]);
    assert_eq!(changes.warnings, ["drops data: column t.v"]);
    assert!(changes.upgrade.iter().all(|s| !s.contains("RENAME")), "{:?}", changes.upgrade);
}

fn enums(labels: &[&str], default: Option<&str>) -> Schema {
    let mut schema = Schema::default();
    schema.enums.insert("mood".into(), labels.iter().map(ToString::to_string).collect());
    let column = Column { default: default.map(Into::into), ..Column::new("m", "mood") };
    schema.tables.insert("t".into(), Table { columns: vec![column], ..Table::default() });
    schema
}

#[test]
fn enum_labels_removed_reordered_or_used_at_once_are_reported() {
    let start = enums(&["a", "b"], None);
    let reordered = generate(&start, &enums(&["b", "a"], None), Dialect::Postgres, &[]);
    let unsupported: Vec<String> = reordered.unsupported.iter().map(ToString::to_string).collect();
    assert_eq!(
        unsupported,
        ["enum mood: labels removed or reordered (only appending is generated): changed from a, b to b, a"]
    );
    let removed = generate(&start, &enums(&["a"], None), Dialect::Postgres, &[]);
    assert_eq!(removed.unsupported.len(), 1, "{removed:?}");
    let used = generate(&start, &enums(&["a", "b", "c"], Some("'c'::mood")), Dialect::Postgres, &[]);
    assert!(used.upgrade.iter().all(|s| !s.contains("ADD VALUE")), "{:?}", used.upgrade);
    assert!(used.unsupported[0].object.contains("label c is used in the same revision"), "{used:?}");
}

#[test]
fn what_only_the_downgrade_cannot_write_is_reported_apart() {
    let array = |labels: &[&str]| {
        let mut schema = enums(labels, None);
        schema.tables.get_mut("t").expect("t").columns[0].data_type = "mood[]".into();
        schema
    };
    let appended = generate(&array(&["a", "b"]), &array(&["a", "b", "c"]), Dialect::Postgres, &[]);
    assert_eq!(appended.upgrade, ["ALTER TYPE \"mood\" ADD VALUE 'c';"]);
    assert!(appended.unsupported.is_empty(), "{appended:?}");
    let gaps: Vec<String> = appended.unsupported_downgrade.iter().map(ToString::to_string).collect();
    assert_eq!(
        gaps,
        ["enum mood: labels taken away from a type an array column uses: changed from a, b, c to a, b"]
    );
    assert!(!appended.is_empty());
}

/// Table `t` whose column default calls `next_code()`, returning `returns`
/// and giving `body`.
fn coded(returns: &str, body: &str) -> Schema {
    let mut schema = Schema::default();
    let definition = format!(
        "CREATE OR REPLACE FUNCTION next_code() RETURNS {returns} LANGUAGE sql AS $function${body}$function$"
    );
    schema.functions.insert("next_code()".into(), definition);
    let column = Column { default: Some("next_code()".into()), ..Column::new("code", "text") };
    schema.tables.insert("t".into(), Table { columns: vec![column], ..Table::default() });
    schema
}

#[test]
fn a_function_a_default_calls_is_replaced_but_not_dropped_and_created() {
    let body = generate(&coded("text", "SELECT 'a'"), &coded("text", "SELECT 'b'"), Dialect::Postgres, &[]);
    assert_eq!(
        body.upgrade,
        ["CREATE OR REPLACE FUNCTION next_code() RETURNS text LANGUAGE sql AS $function$SELECT 'b'$function$;"]
    );
    let returns =
        generate(&coded("text", "SELECT 'a'"), &coded("varchar", "SELECT 'a'"), Dialect::Postgres, &[]);
    assert!(returns.upgrade.is_empty() && returns.downgrade.is_empty(), "{returns:?}");
    let unsupported: Vec<&str> = returns.unsupported.iter().map(|d| d.object.as_str()).collect();
    assert_eq!(
        unsupported,
        ["function next_code(): its return type or argument names change, which takes DROP FUNCTION, \
          while a column default, check or index calls it"]
    );
    assert!(returns.unsupported_downgrade.is_empty(), "{returns:?}");
}
