//! One blocking handle on a database of either kind, opened from a
//! [`DatabaseUrl`]: what the CLI, the walk harness, scratch databases and an
//! application's own tests use, so every one of them connects the same way
//! (session settings, error wording, the redacted URL in messages).
//!
//! The engines stay separate below it: [`SqliteMigrator`] and the async
//! [`PostgresMigrator`] lock differently for good reasons, and an
//! application that owns a tokio client keeps using the latter directly.
//! This handle only picks one per call.

use super::url::{DatabaseUrl, PostgresUrl};
#[cfg(feature = "postgres")]
use super::versions::check_postgres_version;
use super::versions::VersionError;
use crate::apply::history::AppliedRevision;
use crate::apply::{DataLoss, Options, RepairMark, Step, SyncError, SyncMark, SyncPlan};
use crate::model::error::{ApplyError, DatabaseError};
use crate::schema::Schema;
use crate::{Dialect, Graph};
use std::path::PathBuf;

#[cfg(feature = "postgres")]
use super::url::redact;

#[cfg(feature = "postgres")]
use super::libpq::Env;
#[cfg(feature = "postgres")]
use crate::postgres::{connect as postgres_connect, describe, PostgresMigrator};
#[cfg(feature = "sqlite")]
use crate::sqlite::SqliteMigrator;

/// Why a database could not be opened. Messages show the URL redacted.
#[derive(Debug, thiserror::Error, strum::IntoStaticStr)]
#[strum(serialize_all = "kebab-case")]
pub enum ConnectError {
    #[error("cannot create {}", folder.display())]
    Folder {
        folder: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open {url}")]
    Open {
        url: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("invalid database URL {url}: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("cannot connect to {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("{url} needs the `{feature}` feature of migrate-runtime, which this build lacks")]
    NotCompiled { url: String, feature: &'static str },
    /// The database is a version this crate does not support.
    #[error("cannot use {url}: {error}")]
    Unsupported { url: String, error: VersionError },
}

impl ConnectError {
    /// A stable name for the kind of failure (`connect`, `invalid-url`), as
    /// [`ChainError::code`](crate::ChainError::code); an unsupported
    /// version gives the version error's.
    pub fn code(&self) -> &'static str {
        match self {
            ConnectError::Unsupported { error, .. } => error.code(),
            other => other.into(),
        }
    }
}

/// How to open databases: the session settings every connection gets.
pub struct Connector {
    application_name: String,
    on_connection_end: Option<Report>,
    on_warning: Option<Report>,
    search_path: Option<String>,
    #[cfg(feature = "postgres")]
    env: Env,
}

/// Where a connection's end is reported.
type Report = Box<dyn Fn(&str) + Send + Sync>;

impl Default for Connector {
    fn default() -> Connector {
        Connector {
            application_name: "cargo-migrate".to_string(),
            on_connection_end: None,
            on_warning: None,
            search_path: None,
            #[cfg(feature = "postgres")]
            env: Env::default(),
        }
    }
}

impl Connector {
    /// The `application_name` PostgreSQL sessions show in `pg_stat_activity`
    /// when neither the URL nor `PGAPPNAME` names one (libpq's
    /// `fallback_application_name`).
    pub fn application_name(mut self, name: &str) -> Connector {
        self.application_name = name.to_string();
        self
    }

    /// Called with the server's words when it ends a PostgreSQL session (a
    /// terminated backend, a lost network): the query that fails next only
    /// says "connection closed".
    pub fn on_connection_end(mut self, report: impl Fn(&str) + Send + Sync + 'static) -> Connector {
        self.on_connection_end = Some(Box::new(report));
        self
    }

    /// Called with what the user should know about a database that opened,
    /// such as a PostgreSQL major version newer than any tested.
    pub fn on_warning(mut self, report: impl Fn(&str) + Send + Sync + 'static) -> Connector {
        self.on_warning = Some(Box::new(report));
        self
    }

    /// PostgreSQL, schema per tenant: the session's `search_path` is this
    /// schema alone (set as it starts, in the same round trip), so the
    /// revisions' unqualified names and the history table are the
    /// tenant's. Run with [`Options::schema`](crate::apply::Options::schema)
    /// naming the same schema. A session setting: it needs a direct or
    /// session-pooled connection (a transaction-mode pooler hands the next
    /// transaction to a server connection without it).
    pub fn search_path(mut self, schema: &str) -> Connector {
        self.search_path = Some(schema.to_string());
        self
    }

    /// Where PostgreSQL settings the URL leaves out are looked up by name
    /// (`PGHOST`, `PGSSLMODE`, `PGPASSFILE`, `HOME`…): the process
    /// environment unless given here, e.g. by tests, which must not change
    /// the process's.
    #[cfg(feature = "postgres")]
    pub fn environment(
        mut self,
        lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> Connector {
        self.env = Env::new(lookup);
        self
    }

    /// Opens `url` for writing, creating a SQLite file and its folder.
    pub fn open(self, url: &DatabaseUrl) -> Result<Database, ConnectError> {
        sqlite::check_version(url)?;
        match url {
            DatabaseUrl::SqliteFile(path) => sqlite::open_file(url, path),
            DatabaseUrl::SqliteMemory => sqlite::open_memory(url),
            DatabaseUrl::Postgres(text) => self.open_postgres(url, text),
        }
    }

    /// Opens `url` for reading; `None` when the SQLite file does not exist
    /// (nothing applied), so reading never creates it.
    pub fn open_read_only(self, url: &DatabaseUrl) -> Result<Option<Database>, ConnectError> {
        match url {
            DatabaseUrl::SqliteFile(path) if !path.exists() => Ok(None),
            DatabaseUrl::SqliteFile(path) => {
                sqlite::check_version(url)?;
                sqlite::open_read_only(url, path).map(Some)
            }
            other => self.open(other).map(Some),
        }
    }

    #[cfg(feature = "postgres")]
    fn open_postgres(self, url: &DatabaseUrl, postgres: &PostgresUrl) -> Result<Database, ConnectError> {
        PostgresConnection::open(url, postgres, self).map(Database::Postgres)
    }

    #[cfg(not(feature = "postgres"))]
    fn open_postgres(self, url: &DatabaseUrl, _: &PostgresUrl) -> Result<Database, ConnectError> {
        Err(ConnectError::NotCompiled { url: url.to_string(), feature: "postgres" })
    }
}

/// A SQLite value as text, as PostgreSQL's simple protocol gives it.
#[cfg(feature = "sqlite")]
fn sqlite_text(value: rusqlite::types::Value) -> Option<String> {
    use rusqlite::types::Value;
    match value {
        Value::Null => None,
        Value::Integer(n) => Some(n.to_string()),
        Value::Real(x) => Some(x.to_string()),
        Value::Text(text) => Some(text),
        Value::Blob(bytes) => Some(String::from_utf8_lossy(&bytes).into_owned()),
    }
}

/// Opens `url` for writing with the default settings.
pub fn connect(url: &DatabaseUrl) -> Result<Database, ConnectError> {
    Connector::default().open(url)
}

/// An open database of either kind.
pub enum Database {
    #[cfg(feature = "sqlite")]
    Sqlite(rusqlite::Connection),
    #[cfg(feature = "postgres")]
    Postgres(PostgresConnection),
}

/// Each operation runs on the engine of the database's kind.
macro_rules! on_engine {
    ($database:expr, $graph:expr, $options:expr, |$migrator:ident| $call:expr) => {
        match $database {
            #[cfg(feature = "sqlite")]
            Database::Sqlite(conn) => {
                let $migrator = SqliteMigrator::new(conn, $graph, $options);
                $call
            }
            #[cfg(feature = "postgres")]
            Database::Postgres(pg) => {
                let $migrator = PostgresMigrator::new(&pg.client, $graph, $options);
                let cancel = pg.cancel.clone();
                $options.interrupt.cancelling_with(move || cancel(), || pg.runtime.block_on($call))
            }
        }
    };
}

impl Database {
    pub fn dialect(&self) -> Dialect {
        match self {
            #[cfg(feature = "sqlite")]
            Database::Sqlite(_) => Dialect::Sqlite,
            #[cfg(feature = "postgres")]
            Database::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Runs `sql` (several statements) outside any transaction of ours.
    pub fn execute(&self, sql: &str) -> Result<(), ApplyError> {
        match self {
            #[cfg(feature = "sqlite")]
            Database::Sqlite(conn) => conn.execute_batch(sql).map_err(|e| ApplyError::Database(e.into())),
            #[cfg(feature = "postgres")]
            Database::Postgres(pg) => {
                pg.block_on(pg.client.batch_execute(sql)).map_err(|e| ApplyError::Database(e.into()))
            }
        }
    }

    /// Every row `sql` (one query) returns, each column as text (`None` for
    /// NULL): for the few questions outside the engines (`database::admin`).
    pub fn query_rows(&self, sql: &str) -> Result<Vec<Vec<Option<String>>>, ApplyError> {
        let database = |e: DatabaseError| ApplyError::Database(e);
        match self {
            #[cfg(feature = "sqlite")]
            Database::Sqlite(conn) => {
                let mut statement = conn.prepare(sql).map_err(|e| database(e.into()))?;
                let width = statement.column_count();
                let rows = statement
                    .query_map([], |row| {
                        (0..width)
                            .map(|i| row.get::<_, rusqlite::types::Value>(i).map(sqlite_text))
                            .collect::<Result<Vec<_>, _>>()
                    })
                    .map_err(|e| database(e.into()))?;
                rows.collect::<Result<_, _>>().map_err(|e| database(e.into()))
            }
            #[cfg(feature = "postgres")]
            Database::Postgres(pg) => {
                let messages = pg.block_on(pg.client.simple_query(sql)).map_err(|e| database(e.into()))?;
                Ok(messages
                    .iter()
                    .filter_map(|m| match m {
                        tokio_postgres::SimpleQueryMessage::Row(row) => {
                            Some((0..row.len()).map(|i| row.get(i).map(str::to_string)).collect())
                        }
                        _ => None,
                    })
                    .collect())
            }
        }
    }

    /// The objects of the PostgreSQL schemas `schemas` (see
    /// [`crate::postgres::introspect_schemas`]), without the history
    /// table; SQLite has one schema, read whatever `schemas` says. Only
    /// reads.
    pub fn schema_in(&self, history_table: &str, schemas: &[String]) -> Result<Schema, ApplyError> {
        // Read on PostgreSQL only; a SQLite-only build has no other use.
        let _ = schemas;
        match self {
            #[cfg(feature = "postgres")]
            Database::Postgres(pg) => pg
                .runtime
                .block_on(crate::postgres::introspect::introspect_schemas(&pg.client, history_table, schemas))
                .map_err(|e| ApplyError::Database(e.into())),
            #[allow(unreachable_patterns)]
            _ => self.schema(history_table),
        }
    }

    /// The live schema, without the history table (PostgreSQL: schema
    /// `public`). Only reads.
    pub fn schema(&self, history_table: &str) -> Result<Schema, ApplyError> {
        match self {
            #[cfg(feature = "sqlite")]
            Database::Sqlite(conn) => crate::sqlite::introspect::introspect(conn, history_table)
                .map_err(|e| ApplyError::Database(e.into())),
            #[cfg(feature = "postgres")]
            Database::Postgres(pg) => pg
                .runtime
                .block_on(crate::postgres::introspect::introspect(&pg.client, history_table))
                .map_err(|e| ApplyError::Database(e.into())),
        }
    }

    /// The packages recorded in history table `history_table`, sorted
    /// (none when there is no such table): the packages sharing this
    /// database. Only reads.
    pub fn packages(&self, history_table: &str) -> Result<Vec<String>, ApplyError> {
        let sql = crate::apply::history::packages_sql(history_table);
        let database = |e: DatabaseError| ApplyError::Database(e);
        match self {
            #[cfg(feature = "sqlite")]
            Database::Sqlite(conn) => {
                let exists = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1";
                let found: i64 =
                    conn.query_row(exists, [history_table], |r| r.get(0)).map_err(|e| database(e.into()))?;
                if found == 0 {
                    return Ok(Vec::new());
                }
                let mut statement = conn.prepare(&sql).map_err(|e| database(e.into()))?;
                let rows = statement.query_map([], |r| r.get(0)).map_err(|e| database(e.into()))?;
                rows.collect::<Result<_, _>>().map_err(|e| database(e.into()))
            }
            #[cfg(feature = "postgres")]
            Database::Postgres(pg) => match pg.runtime.block_on(pg.client.simple_query(&sql)) {
                Ok(messages) => Ok(messages
                    .iter()
                    .filter_map(|m| match m {
                        tokio_postgres::SimpleQueryMessage::Row(row) => row.get(0).map(str::to_string),
                        _ => None,
                    })
                    .collect()),
                Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::UNDEFINED_TABLE) => {
                    Ok(Vec::new())
                }
                Err(e) => Err(database(e.into())),
            },
        }
    }

    /// This package's history rows (none when there is no history table),
    /// without the mark a sync leaves ([`Database::synced`]).
    pub fn applied(&self, graph: &Graph, options: &Options) -> Result<Vec<AppliedRevision>, ApplyError> {
        let rows = on_engine!(self, graph, options, |migrator| migrator.applied())?;
        Ok(crate::apply::sync::split_mark(rows).0)
    }

    /// When and to what the package's database was last synced, if it was
    /// and no `stamp` or reset has cleared that since. Only reads.
    pub fn synced(&self, options: &Options) -> Result<Option<SyncMark>, ApplyError> {
        let graph = Graph::empty();
        let rows = on_engine!(self, &graph, options, |migrator| migrator.applied())?;
        Ok(crate::apply::sync::split_mark(rows).1)
    }

    /// What syncing the package's schemas (`schemas`; SQLite has one) to
    /// `desired` would run: from the live schema, without the history
    /// table. Only reads.
    pub fn plan_sync(
        &self,
        desired: &Schema,
        options: &Options,
        schemas: &[String],
    ) -> Result<SyncPlan, ApplyError> {
        let live = self.schema_in(&options.history_table, schemas)?;
        Ok(SyncPlan::new(&live, desired, self.dialect()))
    }

    /// Runs `plan`, refused first when it cannot be written or loses data
    /// that `data_loss` does not accept, in one transaction that also marks
    /// the database as synced to `source` (`schema.sql`): from then on
    /// `upgrade` and `downgrade` refuse it until `stamp` or a reset.
    pub fn sync(
        &self,
        plan: &SyncPlan,
        options: &Options,
        data_loss: DataLoss,
        source: &str,
    ) -> Result<(), SyncError> {
        plan.ensure_runnable(data_loss)?;
        let graph = Graph::empty();
        on_engine!(self, &graph, options, |migrator| migrator.sync(plan, source))
    }

    /// Applies revisions up to `target`; see [`crate::chain::target`].
    pub fn upgrade(
        &self,
        graph: &Graph,
        options: &Options,
        target: &str,
        on_step: &mut dyn FnMut(&Step),
    ) -> Result<Vec<Step>, ApplyError> {
        on_engine!(self, graph, options, |migrator| migrator.upgrade(target, on_step))
    }

    /// Reverts what descends from `target`; see [`crate::chain::target`].
    pub fn downgrade(
        &self,
        graph: &Graph,
        options: &Options,
        target: &str,
        on_step: &mut dyn FnMut(&Step),
    ) -> Result<Vec<Step>, ApplyError> {
        on_engine!(self, graph, options, |migrator| migrator.downgrade(target, on_step))
    }

    /// Records `target` as applied without running SQL.
    pub fn stamp(&self, graph: &Graph, options: &Options, target: &str) -> Result<Vec<Step>, ApplyError> {
        on_engine!(self, graph, options, |migrator| migrator.stamp(target))
    }

    /// Accepts the edits of applied revisions: each of `revisions` (ids)
    /// whose file changed since it was applied (drift) gets the file's
    /// checksum and downgrade SQL in its history row, so later runs take the
    /// file as it is now. Its SQL does not run again. Returns a step
    /// ([`Action::Accept`](crate::apply::Action::Accept)) per row updated;
    /// none when no named revision drifted.
    pub fn accept_edits(
        &self,
        graph: &Graph,
        options: &Options,
        revisions: &[&str],
    ) -> Result<Vec<Step>, ApplyError> {
        let state = crate::apply::State::new(graph, self.applied(graph, options)?);
        let mut sql = String::from("BEGIN;\n");
        let mut steps = Vec::new();
        for drift in state.drift(self.dialect()) {
            let ApplyError::Drift { revision, recorded, .. } = &drift else { continue };
            let Some(rev) = graph.find(revision).filter(|_| revisions.contains(&revision.as_str())) else {
                continue;
            };
            let row = crate::apply::AppliedRevision::for_revision(graph.revision(rev), self.dialect())?;
            sql += &crate::apply::history::accept_edit_sql(
                &options.history_table,
                &options.package,
                recorded,
                &row,
            );
            sql += ";\n";
            steps.push(Step::finished(
                graph.revision(rev),
                crate::apply::Action::Accept,
                std::time::Instant::now(),
            ));
        }
        if !steps.is_empty() {
            self.execute(&(sql + "COMMIT;"))?;
        }
        Ok(steps)
    }

    /// Settles revisions left partially applied.
    pub fn repair(
        &self,
        graph: &Graph,
        options: &Options,
        mark: RepairMark,
    ) -> Result<Vec<(String, String)>, ApplyError> {
        on_engine!(self, graph, options, |migrator| migrator.repair(mark))
    }
}

/// A PostgreSQL client driven synchronously on its own current-thread
/// runtime.
#[cfg(feature = "postgres")]
pub struct PostgresConnection {
    // Fields drop in order: the client first, so its session ends with a
    // Terminate message while the runtime still drives the connection.
    client: tokio_postgres::Client,
    runtime: tokio::runtime::Runtime,
    /// Cancels the running statement: how an [`crate::apply::Interrupt`]
    /// reaches a revision in progress.
    cancel: std::sync::Arc<dyn Fn() + Send + Sync>,
    /// The server's `server_version_num`, read on connecting.
    server_version: u32,
}

#[cfg(feature = "postgres")]
impl PostgresConnection {
    /// Connects to a PostgreSQL URL or `key=value` string with the default
    /// settings.
    pub fn connect(url: &str) -> Result<PostgresConnection, ConnectError> {
        let parsed = DatabaseUrl::parse(url)
            .map_err(|e| ConnectError::InvalidUrl { url: redact(url), reason: e.to_string() })?;
        let DatabaseUrl::Postgres(postgres) = &parsed else {
            return Err(ConnectError::InvalidUrl {
                url: parsed.to_string(),
                reason: "not PostgreSQL".to_string(),
            });
        };
        PostgresConnection::open(&parsed, postgres, Connector::default())
    }

    fn open(
        url: &DatabaseUrl,
        postgres: &PostgresUrl,
        connector: Connector,
    ) -> Result<PostgresConnection, ConnectError> {
        // The driver's messages never quote the connection string; ours
        // quote only the redacted URL.
        let (config, ours) = postgres_connect::parse(postgres, &connector.env)
            .map_err(|reason| ConnectError::InvalidUrl { url: url.to_string(), reason })?;
        let target = postgres_connect::resolve(config, &ours, &connector.env, &connector.application_name)
            .map_err(|reason| ConnectError::Connect { url: url.to_string(), reason })?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| ConnectError::Open { url: url.to_string(), source: Box::new(e) })?;
        let (client, connection) = runtime
            .block_on(postgres_connect::connect(&target))
            .map_err(|reason| ConnectError::Connect { url: url.to_string(), reason })?;
        let report = connector.on_connection_end;
        runtime.spawn(async move {
            // Only the server's own words are worth a report: a plain
            // "connection closed" is what the failing query says too, and a
            // session that ends mid-revision is explained by the engine.
            if let (Err(error), Some(report)) = (connection.await, report) {
                if error.as_db_error().is_some() {
                    report(&describe(&error));
                }
            }
        });
        let version = runtime
            .block_on(start_session(&client, connector.search_path.as_deref()))
            .map_err(|reason| ConnectError::Connect { url: url.to_string(), reason })?;
        let support = check_postgres_version(version)
            .map_err(|error| ConnectError::Unsupported { url: url.to_string(), error })?;
        if let (Some(warning), Some(report)) = (support.warning(), &connector.on_warning) {
            report(&warning);
        }
        let cancel = std::sync::Arc::new(postgres_connect::canceller(&client, &target));
        Ok(PostgresConnection { runtime, client, cancel, server_version: version })
    }

    /// The server's `server_version_num` (`150004` for 15.4), as read and
    /// checked on connecting.
    pub fn server_version(&self) -> u32 {
        self.server_version
    }

    /// The driver's client, for what this handle does not offer.
    pub fn client(&self) -> &tokio_postgres::Client {
        &self.client
    }

    /// What cancels this session's running statement, for an
    /// [`crate::apply::Interrupt`] to call.
    #[cfg_attr(not(feature = "testing"), allow(dead_code))]
    pub(crate) fn canceller(&self) -> std::sync::Arc<dyn Fn() + Send + Sync> {
        self.cancel.clone()
    }

    /// Runs `future` (which may use [`PostgresConnection::client`]) to its end.
    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }
}

/// The server's `server_version_num`, read as the session starts, with the
/// dead-client check set where the server has it: one round trip.
///
/// PostgreSQL notices a vanished client only when it next reads from it,
/// so a migrator killed during a long statement would keep its session,
/// its transaction and the migration lock until that statement ends. With
/// `client_connection_check_interval` (PostgreSQL 14 and newer; 13 refuses
/// the setting, and the version is then read alone) the server cancels the
/// statement within a second, rolls back and frees the lock for the next
/// migrator.
#[cfg(feature = "postgres")]
async fn start_session(client: &tokio_postgres::Client, search_path: Option<&str>) -> Result<u32, String> {
    // The schema first: should the check's setting be refused, the version
    // is read again with the schema set alone.
    let schema = search_path.map_or(String::new(), |schema| {
        format!("SET search_path TO {}; ", crate::apply::history::quote_ident(schema))
    });
    let both = client
        .simple_query(&format!(
            "{schema}SHOW server_version_num; SET client_connection_check_interval = 1000"
        ))
        .await;
    let messages = match both {
        Ok(messages) => messages,
        Err(_) => client
            .simple_query(&format!("{schema}SHOW server_version_num"))
            .await
            .map_err(|e| describe(&e))?,
    };
    messages
        .iter()
        .find_map(|message| match message {
            tokio_postgres::SimpleQueryMessage::Row(row) => row.get(0).and_then(|v| v.parse().ok()),
            _ => None,
        })
        .ok_or_else(|| "the server did not say its version (`SHOW server_version_num`)".to_string())
}

/// Opening SQLite files; without the `sqlite` feature, a clear refusal.
mod sqlite {
    use super::{ConnectError, Database};
    use crate::database::url::DatabaseUrl;
    use std::path::Path;

    /// Refuses a SQLite library older than this crate needs, which only a
    /// build linking the system's SQLite can have: the same library opens
    /// every file, so its version (what `sqlite_version()` returns) is asked
    /// once per open without a query.
    #[cfg(feature = "sqlite")]
    pub fn check_version(url: &DatabaseUrl) -> Result<(), ConnectError> {
        if !matches!(url, DatabaseUrl::SqliteFile(_) | DatabaseUrl::SqliteMemory) {
            return Ok(());
        }
        let linked = u32::try_from(rusqlite::version_number()).unwrap_or_default();
        crate::database::versions::check_sqlite_version(linked)
            .map_err(|error| ConnectError::Unsupported { url: url.to_string(), error })
    }

    #[cfg(not(feature = "sqlite"))]
    pub fn check_version(_: &DatabaseUrl) -> Result<(), ConnectError> {
        Ok(())
    }

    #[cfg(feature = "sqlite")]
    pub fn open_file(url: &DatabaseUrl, path: &Path) -> Result<Database, ConnectError> {
        if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(folder)
                .map_err(|source| ConnectError::Folder { folder: folder.to_path_buf(), source })?;
        }
        rusqlite::Connection::open(path).map(Database::Sqlite).map_err(|e| open_error(url, e))
    }

    #[cfg(feature = "sqlite")]
    pub fn open_memory(url: &DatabaseUrl) -> Result<Database, ConnectError> {
        rusqlite::Connection::open_in_memory().map(Database::Sqlite).map_err(|e| open_error(url, e))
    }

    #[cfg(feature = "sqlite")]
    pub fn open_read_only(url: &DatabaseUrl, path: &Path) -> Result<Database, ConnectError> {
        use rusqlite::OpenFlags;
        if !has_leftover_journal(path) {
            let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
            return rusqlite::Connection::open_with_flags(path, flags)
                .map(Database::Sqlite)
                .map_err(|e| open_error(url, e));
        }
        // A writer that crashed (or was killed, or ran out of disk) left a
        // journal that SQLite must roll back, or a WAL it must recover,
        // before anyone can read: a read-only connection cannot, and fails
        // with "attempt to write a readonly database". So open for writing
        // (never creating) and let SQLite restore the last committed state,
        // while `query_only` keeps every statement of ours from writing.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let connection =
            rusqlite::Connection::open_with_flags(path, flags).map_err(|e| open_error(url, e))?;
        connection.pragma_update(None, "query_only", true).map_err(|e| open_error(url, e))?;
        Ok(Database::Sqlite(connection))
    }

    /// Whether `path` has a rollback journal or a write-ahead log beside it.
    #[cfg(feature = "sqlite")]
    fn has_leftover_journal(path: &Path) -> bool {
        ["-journal", "-wal"].iter().any(|suffix| {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            Path::new(&name).exists()
        })
    }

    #[cfg(feature = "sqlite")]
    fn open_error(url: &DatabaseUrl, error: rusqlite::Error) -> ConnectError {
        ConnectError::Open { url: url.to_string(), source: Box::new(error) }
    }

    #[cfg(not(feature = "sqlite"))]
    pub fn open_file(url: &DatabaseUrl, _: &Path) -> Result<Database, ConnectError> {
        Err(ConnectError::NotCompiled { url: url.to_string(), feature: "sqlite" })
    }

    #[cfg(not(feature = "sqlite"))]
    pub fn open_memory(url: &DatabaseUrl) -> Result<Database, ConnectError> {
        open_file(url, Path::new(""))
    }

    #[cfg(not(feature = "sqlite"))]
    pub fn open_read_only(url: &DatabaseUrl, path: &Path) -> Result<Database, ConnectError> {
        open_file(url, path)
    }
}
