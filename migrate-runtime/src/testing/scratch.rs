//! Scratch databases, for building schemas to compare or walk: in-memory
//! SQLite, or temporary PostgreSQL databases on a given server or on a
//! throw-away one, dropped afterwards (also when a step fails). `cargo
//! migrate` builds the head schema and `schema.sql`'s schema here (for
//! `new --autogenerate`, `check`, `diff`, `walk`); an application's tests
//! can do the same.

use crate::apply::{Options, Snapshots};
use crate::database::url::{redact, DatabaseUrl};
use crate::database::{self, Database, PostgresConnection};
use crate::schema::Schema;
use crate::sql::split::{solid_tokens, split_statements};
use crate::testing::database::{database_url, TestDatabase};
use crate::testing::server::ThrowawayServer;
use crate::{Dialect, Graph};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Why a scratch schema could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ScratchError {
    #[error("a PostgreSQL scratch database needs a PostgreSQL server, but the URL given is {url}")]
    NotPostgres { url: String },
    #[error("cannot start a throw-away PostgreSQL server: {reason}")]
    Server { reason: String },
    /// The given server's role may not create databases, and no throw-away
    /// server could take its place.
    #[error("role `{role}` cannot create databases on {server} (it lacks CREATEDB), and no throw-away PostgreSQL server could start here instead ({reason}): scratch databases need a role with CREATEDB, or PostgreSQL server binaries on this machine")]
    NoCreateDatabase { server: String, role: String, reason: String },
    #[error(transparent)]
    Connect(#[from] database::ConnectError),
    #[error("cannot create a temporary database on {server}: {reason}")]
    Create { server: String, reason: crate::DatabaseError },
    /// Building the head schema failed; callers say whose head it is.
    #[error(transparent)]
    Head(crate::ApplyError),
    /// `line` is where the statement that failed starts in the SQL.
    #[error("line {line}: the SQL does not run on {}: {reason}", product(*dialect))]
    Sql { dialect: Dialect, line: usize, reason: Box<crate::ApplyError> },
    #[error("cannot read the schema: {0}")]
    Read(crate::ApplyError),
}

/// `SQLite` or `PostgreSQL`, for messages.
pub fn product(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => "SQLite",
        Dialect::Postgres => "PostgreSQL",
    }
}

/// Where schemas are built: in memory, or on a PostgreSQL server.
pub enum Scratch {
    Sqlite,
    Postgres(PostgresScratch),
}

impl Scratch {
    /// Scratch databases of `dialect`; for PostgreSQL on the server of
    /// `server_url` when given, else on a throw-away server.
    pub fn new(dialect: Dialect, server_url: Option<&str>) -> Result<Scratch, ScratchError> {
        match dialect {
            Dialect::Sqlite => Ok(Scratch::Sqlite),
            Dialect::Postgres => PostgresScratch::start(server_url).map(Scratch::Postgres),
        }
    }

    /// Reads PostgreSQL schemas `schemas` (the first under plain names, the
    /// others as `schema.name`) instead of `public` alone; SQLite has one.
    pub fn with_schemas(self, schemas: &[String]) -> Scratch {
        match self {
            Scratch::Sqlite => Scratch::Sqlite,
            Scratch::Postgres(server) => {
                Scratch::Postgres(PostgresScratch { schemas: schemas.to_vec(), ..server })
            }
        }
    }

    /// The schema after applying the whole chain to an empty database.
    pub fn head_schema(&self, graph: &Graph, options: &Options) -> Result<Schema, ScratchError> {
        self.schema_at(graph, options, "heads")
    }

    /// The schema after replaying the chain up to `target` on an empty
    /// database, every revision run (never from a snapshot: this is what a
    /// snapshot is written from and compared with).
    pub fn schema_at(&self, graph: &Graph, options: &Options, target: &str) -> Result<Schema, ScratchError> {
        let database = match self {
            Scratch::Sqlite => memory()?,
            Scratch::Postgres(server) => return server.schema_at(graph, options, target),
        };
        build_head(&database, graph, options, target, &[])
    }

    /// The schemas read: `public` unless [`Scratch::with_schemas`] said.
    fn schemas(&self) -> &[String] {
        match self {
            Scratch::Sqlite => &[],
            Scratch::Postgres(server) => &server.schemas,
        }
    }

    /// The schema after each chain in turn is applied to one empty
    /// database, each with its own options (its package's name, the history
    /// table they share): for packages sharing a database, in the order
    /// their revisions depend on each other. The last is their combined
    /// head; each one before tells what the packages so far made.
    pub fn heads_in_turn(&self, chains: &[(&Graph, Options)]) -> Result<Vec<Schema>, ScratchError> {
        match self {
            Scratch::Sqlite => build_heads(&memory()?, chains, &[]),
            Scratch::Postgres(server) => {
                let scratch = server.database("head")?;
                // Declared after `scratch`, so it closes before the drop.
                let database = scratch.open()?;
                build_heads(&database, chains, self.schemas())
            }
        }
    }

    /// The schema `sql` (a desired schema, such as `schema.sql`) builds.
    pub fn sql_schema(&self, sql: &str, history_table: &str) -> Result<Schema, ScratchError> {
        match self {
            Scratch::Sqlite => build_from_sql(&memory()?, sql, history_table, &[]),
            Scratch::Postgres(server) => {
                let scratch = server.database("desired")?;
                // Declared after `scratch`, so it closes before the drop.
                let database = scratch.open()?;
                build_from_sql(&database, &without_unmodelled(sql), history_table, self.schemas())
            }
        }
    }
}

/// A PostgreSQL `schema.sql` without what the server cannot run or the
/// schema model has no place for, so a `pg_dump -s` output runs as it
/// comes, on any server: psql meta-commands (the `\restrict` lines of
/// recent `pg_dump`s), ownership (`ALTER … OWNER TO role`, a role the
/// scratch server may not have), privileges (`GRANT`, `REVOKE`, `ALTER
/// DEFAULT PRIVILEGES`) and comments (`COMMENT ON`). What is left, the
/// `SET` and `set_config` preamble included, runs; introspection does not
/// depend on the `search_path` the preamble empties.
fn without_unmodelled(sql: &str) -> String {
    let pieces = split_statements(sql).into_iter().map(|s| without_meta_commands(s.text));
    // What goes leaves its line breaks, so errors keep naming the file's lines.
    pieces.map(|piece| if is_unmodelled(&piece) { line_breaks(&piece) } else { piece }).collect()
}

fn line_breaks(text: &str) -> String {
    "\n".repeat(text.matches('\n').count())
}

/// `piece` without the psql meta-commands that lead it: lines starting
/// with `\` where its statement would start.
fn without_meta_commands(piece: &str) -> String {
    let (mut kept, mut rest) = (String::new(), piece);
    while let Some(first) = split_statements(rest).first().filter(|s| s.sql().starts_with('\\')) {
        let start = first.sql_offset();
        let end = rest[start..].find('\n').map_or(rest.len(), |at| start + at + 1);
        kept += &rest[..start];
        kept += &line_breaks(&rest[start..end]);
        rest = &rest[end..];
    }
    kept + rest
}

fn is_unmodelled(piece: &str) -> bool {
    let words: Vec<String> =
        solid_tokens(piece).map(|(_, token)| token.to_ascii_uppercase()).filter(|word| word != ";").collect();
    let word = |i: usize| words.get(i).map_or("", String::as_str);
    let owner_to = words.len() >= 3 && word(words.len() - 3) == "OWNER" && word(words.len() - 2) == "TO";
    match word(0) {
        "GRANT" | "REVOKE" => true,
        "COMMENT" => word(1) == "ON",
        // `ALTER TABLE t RENAME owner TO x` ends like a change of owner.
        "ALTER" => {
            (word(1) == "DEFAULT" && word(2) == "PRIVILEGES")
                || (owner_to && !words.iter().any(|word| word == "RENAME"))
        }
        _ => false,
    }
}

fn memory() -> Result<Database, ScratchError> {
    Ok(crate::connect(&crate::DatabaseUrl::SqliteMemory)?)
}

fn build_head(
    database: &Database,
    graph: &Graph,
    options: &Options,
    target: &str,
    schemas: &[String],
) -> Result<Schema, ScratchError> {
    let replay = Options { snapshots: Snapshots::Ignore, ..options.clone() };
    database.upgrade(graph, &replay, target, &mut |_| {}).map_err(ScratchError::Head)?;
    read(database, &options.history_table, schemas)
}

fn build_heads(
    database: &Database,
    chains: &[(&Graph, Options)],
    schemas: &[String],
) -> Result<Vec<Schema>, ScratchError> {
    let head = |(graph, options): &(&Graph, Options)| build_head(database, graph, options, "heads", schemas);
    chains.iter().map(head).collect()
}

fn build_from_sql(
    database: &Database,
    sql: &str,
    history_table: &str,
    schemas: &[String],
) -> Result<Schema, ScratchError> {
    let dialect = database.dialect();
    // Statement by statement, so a failure names its line.
    for statement in split_statements(sql).into_iter().filter(|s| !s.is_empty()) {
        let line = statement.line;
        database.execute(statement.text).map_err(|reason| ScratchError::Sql {
            dialect,
            line,
            reason: Box::new(reason),
        })?;
    }
    read(database, history_table, schemas)
}

fn read(database: &Database, history_table: &str, schemas: &[String]) -> Result<Schema, ScratchError> {
    database.schema_in(history_table, schemas).map_err(ScratchError::Read)
}

/// A PostgreSQL server for temporary databases: a given one, or a
/// throw-away one that lives as long as this value.
pub struct PostgresScratch {
    _server: Option<ThrowawayServer>,
    base: String,
    /// The schemas read, `public` by default.
    schemas: Vec<String>,
    /// Why a throw-away server stands in for the one given, if it does.
    note: Option<String>,
}

impl PostgresScratch {
    /// The server of `server_url` (a PostgreSQL URL), else a new
    /// throw-away server.
    /// A role without `CREATEDB` on that server cannot make scratch
    /// databases: a throw-away server stands in, and [`Self::note`] says
    /// so (its PostgreSQL version may differ from the given server's).
    pub fn start(server_url: Option<&str>) -> Result<PostgresScratch, ScratchError> {
        let Some(url) = server_url else { return PostgresScratch::throwaway(None) };
        let base = match DatabaseUrl::parse(url) {
            Ok(DatabaseUrl::Postgres(base)) => base.text().to_string(),
            _ => return Err(ScratchError::NotPostgres { url: redact(url) }),
        };
        let Some(role) = role_without_createdb(&base)? else {
            return Ok(PostgresScratch { _server: None, base, note: None, schemas: public() });
        };
        let note = format!(
            "role `{role}` cannot create databases on {} (no CREATEDB): scratch databases are on a throw-away PostgreSQL server instead",
            redact(&base)
        );
        PostgresScratch::throwaway(Some(note)).map_err(|error| ScratchError::NoCreateDatabase {
            server: redact(&base),
            role,
            reason: error.to_string(),
        })
    }

    fn throwaway(note: Option<String>) -> Result<PostgresScratch, ScratchError> {
        let server = ThrowawayServer::start().map_err(|e| ScratchError::Server { reason: e.to_string() })?;
        let base = server.url();
        Ok(PostgresScratch { _server: Some(server), base, note, schemas: public() })
    }

    /// Why scratch databases are not where they were asked to be, if so.
    pub fn note(&self) -> Option<&str> {
        self.note.as_deref()
    }

    /// A new empty database named `migrate_<purpose>_<pid>_<n>`, dropped
    /// with the returned value.
    pub fn database(&self, purpose: &str) -> Result<ScratchDatabase<'_>, ScratchError> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let name = format!("migrate_{purpose}_{}_{n}", std::process::id());
        let mut admin = PostgresConnection::connect(&self.base)?;
        admin
            .execute(&format!("CREATE DATABASE {name}"))
            .map_err(|reason| ScratchError::Create { server: redact(&self.base), reason })?;
        let url = database_url(&self.base, &name);
        Ok(ScratchDatabase { admin, name, url, _server: self })
    }

    /// `PostgreSQL (temporary database NAME on URL)`, the URL redacted.
    pub fn describe(&self, database: &ScratchDatabase) -> String {
        format!("PostgreSQL (temporary database {} on {})", database.name, redact(&self.base))
    }

    fn schema_at(&self, graph: &Graph, options: &Options, target: &str) -> Result<Schema, ScratchError> {
        let scratch = self.database("head")?;
        // Declared after `scratch`, so it closes before the drop.
        let database = scratch.open()?;
        build_head(&database, graph, options, target, &self.schemas)
    }
}

fn public() -> Vec<String> {
    vec!["public".to_string()]
}

/// The current role's name when it may not create databases.
fn role_without_createdb(base: &str) -> Result<Option<String>, ScratchError> {
    let admin = PostgresConnection::connect(base)?;
    let sql = "SELECT current_user::text, rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user";
    let row = admin.block_on(admin.client().query_one(sql, &[])).map_err(|error| ScratchError::Create {
        server: redact(base),
        reason: crate::DatabaseError::from(error),
    })?;
    Ok((!row.get::<_, bool>(1)).then(|| row.get(0)))
}

/// A temporary database, dropped on drop. Connections to it must be closed
/// first (declare them after this value).
pub struct ScratchDatabase<'s> {
    admin: PostgresConnection,
    name: String,
    url: String,
    _server: &'s PostgresScratch,
}

impl ScratchDatabase<'_> {
    /// Its URL (holds the server's password, if any: never print it).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A connection to it.
    pub fn connect(&self) -> Result<PostgresConnection, ScratchError> {
        Ok(PostgresConnection::connect(&self.url)?)
    }

    /// Drops the database from a session of its own, for a process about
    /// to end without running destructors (a second Ctrl-C exits at once):
    /// callable from any thread, any number of times.
    pub fn dropper(&self) -> impl Fn() + Send + Sync + 'static {
        let (server, sql) = (self._server.base.clone(), drop_sql(&self.name));
        move || {
            if let Ok(mut admin) = PostgresConnection::connect(&server) {
                let _ = admin.execute(&sql);
            }
        }
    }

    fn open(&self) -> Result<Database, ScratchError> {
        Ok(Database::Postgres(PostgresConnection::connect(&self.url)?))
    }
}

impl Drop for ScratchDatabase<'_> {
    fn drop(&mut self) {
        let _ = self.admin.execute(&drop_sql(&self.name));
    }
}

/// `FORCE` (PostgreSQL 13 and newer, all the versions supported) ends the
/// sessions still on it: one whose statement an interrupt cancelled may
/// not have gone yet, and a plain drop would fail after waiting 5 s.
fn drop_sql(name: &str) -> String {
    format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")
}

#[cfg(test)]
mod tests {
    use super::without_unmodelled;

    #[test]
    fn ownership_privileges_and_comments_are_left_out_of_a_dump() {
        let dump = "--\n-- dump\n--\n\n\\restrict abc123\n\nSET statement_timeout = 0;\nSELECT pg_catalog.set_config('search_path', '', false);\n\
                    CREATE TABLE public.t (owner text);\nALTER TABLE public.t OWNER TO app;\n\
                    COMMENT ON TABLE public.t IS 'things; all of them';\nGRANT SELECT ON TABLE public.t TO reader;\n\
                    REVOKE ALL ON SCHEMA public FROM PUBLIC;\nALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO reader;\n\
                    ALTER TABLE public.t RENAME owner TO keeper;\n\n\\unrestrict abc123\n";
        let kept = without_unmodelled(dump);
        assert_eq!(kept.matches('\n').count(), dump.matches('\n').count(), "every line keeps its number");
        let solid: Vec<&str> = kept.lines().filter(|line| !line.trim().is_empty()).collect();
        assert_eq!(
            solid,
            [
                "--",
                "-- dump",
                "--",
                "SET statement_timeout = 0;",
                "SELECT pg_catalog.set_config('search_path', '', false);",
                "CREATE TABLE public.t (owner text);",
                "ALTER TABLE public.t RENAME owner TO keeper;"
            ]
        );
    }
}
