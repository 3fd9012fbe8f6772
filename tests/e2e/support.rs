//! Running the built `cargo-migrate` on a temporary copy of a fixture.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A fixture project copied into a temporary folder, so tests may change it.
pub struct Fixture {
    dir: tempfile::TempDir,
}

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts success and returns stdout.
    #[track_caller]
    pub fn ok(self) -> String {
        assert_eq!(self.code, 0, "expected success\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self.stdout
    }

    /// Asserts a user error (exit 1) and returns stderr.
    #[track_caller]
    pub fn fails(self) -> String {
        assert_eq!(self.code, 1, "expected exit 1\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        assert!(!self.stderr.contains("panicked"), "panic: {}", self.stderr);
        self.stderr
    }

    pub fn json(self) -> serde_json::Value {
        let stdout = self.ok();
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
    }
}

pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

impl Fixture {
    /// Copies `fixtures/<name>` into a new temporary folder.
    pub fn copy(name: &str) -> Fixture {
        let dir = tempfile::Builder::new().prefix("migrate-e2e-").tempdir().expect("temporary folder");
        copy_dir(&fixtures_dir().join(name), dir.path());
        Fixture { dir }
    }

    /// A copy of a SQLite fixture whose manifest says `dialect = "postgres"`.
    pub fn copy_as_postgres(name: &str) -> Fixture {
        let fixture = Fixture::copy(name);
        let manifest = fixture.read("Cargo.toml");
        assert!(manifest.contains("dialect = \"sqlite\""), "{name} declares its dialect");
        fixture.write("Cargo.toml", &manifest.replace("dialect = \"sqlite\"", "dialect = \"postgres\""));
        fixture
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs `cargo-migrate migrate <args>` with the fixture's manifest.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_in(self.path(), args)
    }

    /// Runs from `cwd` (inside the fixture) without `--manifest-path`, as a
    /// user standing in a package folder would.
    pub fn run_in(&self, cwd: &Path, args: &[&str]) -> Run {
        let output = Command::new(env!("CARGO_BIN_EXE_cargo-migrate"))
            .arg("migrate")
            .args(args)
            .current_dir(cwd)
            .env_remove("DATABASE_URL")
            .output()
            .expect("run cargo-migrate");
        run(output)
    }

    /// Starts `cargo-migrate migrate <args>` on the fixture without waiting,
    /// for tests that run several at once or kill one; [`finish`] collects it.
    pub fn spawn(&self, args: &[&str]) -> std::process::Child {
        Command::new(env!("CARGO_BIN_EXE_cargo-migrate"))
            .arg("migrate")
            .args(args)
            .current_dir(self.path())
            .env_remove("DATABASE_URL")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start cargo-migrate")
    }

    /// The revision files of `folder` (relative to the fixture), sorted.
    pub fn files(&self, folder: &str) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.path().join(folder))
            .expect("migrations folder")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    pub fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.path().join(relative)).expect("read fixture file")
    }

    /// Loads a package's chain with the library, as `embed_migrations!` would.
    pub fn graph(&self, package_dir: &str) -> migrate_runtime::Graph {
        migrate_runtime::chain::load_graph(&self.path().join(package_dir), "migrations".as_ref())
            .unwrap_or_else(|e| panic!("chain does not load:\n{e}"))
    }
}

/// Waits for a [`Fixture::spawn`]ed run and collects what it did.
pub fn finish(child: std::process::Child) -> Run {
    run(child.wait_with_output().expect("wait for cargo-migrate"))
}

fn run(output: Output) -> Run {
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create folder");
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            if entry.file_name() != "target" {
                copy_dir(&entry.path(), &target);
            }
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

impl Fixture {
    /// Like [`Fixture::run`], with extra environment variables set.
    pub fn run_with_env(&self, env: &[(&str, &str)], args: &[&str]) -> Run {
        let output = Command::new(env!("CARGO_BIN_EXE_cargo-migrate"))
            .arg("migrate")
            .args(args)
            .current_dir(self.path())
            .env_remove("DATABASE_URL")
            .envs(env.iter().copied())
            .output()
            .expect("run cargo-migrate");
        run(output)
    }

    /// Writes (or overwrites) a file of the fixture.
    pub fn write(&self, relative: &str, text: &str) {
        std::fs::write(self.path().join(relative), text).expect("write fixture file");
    }
}

/// Reading SQLite files the way the tests check them, read-only.
pub mod sqlite {
    use rusqlite::{Connection, OpenFlags};
    use std::path::Path;

    /// The schema objects of `db` other than the history table, its format
    /// record and SQLite's own, one line each, sorted: `table user(id, email)`, `index i on t`.
    pub fn schema(db: &Path) -> Vec<String> {
        let conn = open(db);
        let mut statement = conn
            .prepare(
                "SELECT type, name, tbl_name FROM sqlite_master \
                 WHERE name NOT LIKE 'sqlite_%' AND tbl_name NOT IN ('migrate_history', 'migrate_history_format')",
            )
            .expect("prepare");
        let objects = statement.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).expect("query");
        let mut lines: Vec<String> = objects
            .map(|object| {
                let (kind, name, table): (String, String, String) = object.expect("object");
                match kind.as_str() {
                    "table" => format!("table {name}({})", columns(&conn, &name).join(", ")),
                    _ => format!("{kind} {name} on {table}"),
                }
            })
            .collect();
        lines.sort();
        lines
    }

    /// Every table of `db`, the history table included, sorted.
    pub fn tables(db: &Path) -> Vec<String> {
        query_strings(
            &open(db),
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )
    }

    /// The revisions recorded in history table `table`, in the order written.
    pub fn history(db: &Path, table: &str) -> Vec<String> {
        let quoted = format!("\"{}\"", table.replace('"', "\"\""));
        query_strings(&open(db), &format!("SELECT revision FROM {quoted} ORDER BY rowid"))
    }

    pub fn columns(conn: &Connection, table: &str) -> Vec<String> {
        let mut statement =
            conn.prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid").expect("prepare");
        let names = statement.query_map([table], |r| r.get(0)).expect("query");
        names.collect::<Result<_, _>>().expect("columns")
    }

    pub fn query_strings(conn: &Connection, sql: &str) -> Vec<String> {
        let mut statement = conn.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        let values = statement.query_map([], |r| r.get(0)).expect("query");
        values.collect::<Result<_, _>>().expect("values")
    }

    /// Opens `db` read-only, so inspecting it never creates or changes it.
    pub fn open(db: &Path) -> Connection {
        Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap_or_else(|e| panic!("open {}: {e}", db.display()))
    }
}

/// Databases on the PostgreSQL test server, and reading them.
pub mod pg {
    use migrate_runtime::testing::database_url;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A fresh database on the test server, or `None` (outside CI) when no
    /// PostgreSQL server can be had here.
    pub fn database() -> Option<String> {
        let base = match migrate_runtime::testing::test_server() {
            Ok(Some(url)) => url,
            Ok(None) => {
                eprintln!("skipped: no PostgreSQL server binaries here (CI would fail)");
                return None;
            }
            Err(error) => panic!("no PostgreSQL server for the tests: {error}"),
        };
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!("e2e_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::SeqCst));
        sql(&base, &format!("CREATE DATABASE {name}"));
        Some(database_url(&base, &name))
    }

    /// The server's `server_version_num` (`130023` for 13.23).
    pub fn server_version(url: &str) -> u32 {
        sql(url, "SHOW server_version_num")[0][0].parse().expect("a version number")
    }

    /// Whether the server ends a killed client's session mid-statement
    /// (`client_connection_check_interval`, PostgreSQL 14 and newer); on 13
    /// the session lives until its statement ends.
    pub fn notices_dead_clients(url: &str) -> bool {
        let notices = server_version(url) >= 140000;
        if !notices {
            eprintln!("skipped: PostgreSQL 13 keeps a killed client's session until its statement ends");
        }
        notices
    }

    /// Runs `statements` and returns every row, each column as text.
    pub fn sql(url: &str, statements: &str) -> Vec<Vec<String>> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(async {
            let (client, connection) =
                tokio_postgres::connect(url, tokio_postgres::NoTls).await.expect("connect");
            tokio::spawn(connection);
            let messages =
                client.simple_query(statements).await.unwrap_or_else(|e| panic!("{statements}: {e}"));
            messages
                .into_iter()
                .filter_map(|m| match m {
                    tokio_postgres::SimpleQueryMessage::Row(row) => {
                        Some((0..row.len()).map(|i| row.get(i).unwrap_or("NULL").to_string()).collect())
                    }
                    _ => None,
                })
                .collect()
        })
    }

    /// Tables, columns with types and nullability, and indexes of `public`.
    pub fn schema(url: &str) -> Vec<String> {
        let columns = sql(
            url,
            "SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name NOT IN ('migrate_history', 'migrate_history_format') ORDER BY 1",
        );
        let indexes =
            sql(url, "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename <> 'migrate_history' ORDER BY 1");
        columns.into_iter().chain(indexes).map(|row| row[0].clone()).collect()
    }

    pub fn history(url: &str) -> Vec<String> {
        sql(url, "SELECT revision FROM migrate_history ORDER BY applied_at, revision")
            .into_iter()
            .map(|r| r[0].clone())
            .collect()
    }
}
