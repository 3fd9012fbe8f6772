//! The database the harness and data hooks talk to: the [`TestDatabase`]
//! trait and its SQLite and PostgreSQL implementations.

use super::fingerprints::Fingerprints;
use crate::apply::script::{downgrade_step, upgrade_step};
use crate::apply::{statement_error, Direction, Options};
use crate::chain::graph::Graph;
use crate::model::error::{ApplyError, DatabaseError};
use crate::model::revision::Revision;
use crate::schema::Schema;
use crate::sql::split::split_statements;
use crate::Dialect;
use std::collections::BTreeMap;

/// A database as the harness and data hooks see it, whatever the driver.
/// Errors are the driver's, in the words this crate prints them with.
pub trait TestDatabase {
    fn dialect(&self) -> Dialect;
    /// Runs one or more statements.
    fn execute(&mut self, sql: &str) -> Result<(), DatabaseError>;
    /// The rows of a query, every value as text (`None` for NULL).
    fn query(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, DatabaseError>;
    /// The schema, without the history table.
    fn schema(&mut self, history_table: &str) -> Result<Schema, DatabaseError>;

    /// A cheap digest per object (`table user`, `view v`, …): equal digests
    /// mean equal objects; different ones may still describe the same
    /// object. The walk compares these first and re-reads only what differs.
    fn object_fingerprints(
        &mut self,
        history_table: &str,
    ) -> Result<BTreeMap<String, String>, DatabaseError> {
        Ok(self.schema(history_table)?.object_digests())
    }

    /// Brings `fingerprints` up to date with the database. The default reads
    /// every object's fingerprint; SQLite and PostgreSQL read only what may
    /// have changed since the last update (see [`Fingerprints`]).
    fn update_fingerprints(
        &mut self,
        history_table: &str,
        fingerprints: &mut Fingerprints,
    ) -> Result<(), DatabaseError> {
        fingerprints.set_all(self.object_fingerprints(history_table)?);
        Ok(())
    }

    /// The schema of only the objects named (as in
    /// [`TestDatabase::object_fingerprints`]), right after
    /// [`TestDatabase::update_fingerprints`] brought `fingerprints` up to
    /// date: what the driver kept there (rows read, statements prepared)
    /// may spare it reading or planning again.
    fn schema_of(
        &mut self,
        history_table: &str,
        objects: &[String],
        fingerprints: &mut Fingerprints,
    ) -> Result<Schema, DatabaseError> {
        let _ = fingerprints;
        Ok(self.schema(history_table)?.only(objects))
    }

    /// Empties the database as a new one is, so the walk can rebuild it
    /// and go on after a defect. The default refuses: such a walk ends at
    /// its first defect.
    fn reset(&mut self) -> Result<(), DatabaseError> {
        Err(DatabaseError::new(
            "this database cannot be emptied for the walk to go on",
            "TestDatabase::reset is not implemented",
        ))
    }

    /// Upgrades or reverts one revision of `graph` with its history row,
    /// the way this database's engine does in `upgrade` and `downgrade`;
    /// the walk runs every step through here. The default sends the
    /// revision's `--sql` text ([`upgrade_step`], [`downgrade_step`]) as one
    /// batch, which suits a driver that runs a batch statement by
    /// statement, as SQLite's does. PostgreSQL runs a batch as one implicit
    /// transaction, so its connection uses the engine itself.
    fn run_revision(
        &mut self,
        graph: &Graph,
        revision: &Revision,
        direction: Direction,
        options: &Options,
    ) -> Result<(), ApplyError> {
        let _ = graph;
        run_script(self, revision, direction, options)
    }
}

/// Runs one revision's offline script; on failure rolls back and replays
/// its statements one by one, in a transaction rolled back too, to name the
/// statement and line that failed.
fn run_script<D: TestDatabase + ?Sized>(
    db: &mut D,
    revision: &Revision,
    direction: Direction,
    options: &Options,
) -> Result<(), ApplyError> {
    let dialect = db.dialect();
    let (script, section) = match direction {
        Direction::Upgrade => (upgrade_step(revision, dialect, options)?, revision.upgrade_section(dialect)?),
        Direction::Downgrade => {
            (downgrade_step(revision, dialect, options)?, revision.downgrade_section(dialect)?)
        }
    };
    let Err(script_error) = db.execute(&script) else { return Ok(()) };
    let _ = db.execute("ROLLBACK");
    let _ = db.execute("BEGIN");
    let mut found = None;
    let sql = section.sql()?;
    for statement in split_statements(&sql).into_iter().filter(|s| !s.is_empty()) {
        if let Err(error) = db.execute(statement.text) {
            found = Some(statement_error(revision, section, statement.line, statement.sql(), &error));
            break;
        }
    }
    let _ = db.execute("ROLLBACK");
    // No statement of the section fails alone: the history row did.
    Err(found.unwrap_or(ApplyError::Database(script_error)))
}

/// `table user` → `user`: the names drivers filter introspection by, each
/// once (a trigger may be named as its table, and a name listed twice
/// would read the table's columns twice).
#[cfg(feature = "sqlite")]
fn object_names(objects: &[String]) -> Vec<String> {
    let names: std::collections::BTreeSet<&str> =
        objects.iter().map(|o| o.split_once(' ').map_or(o.as_str(), |(_, name)| name)).collect();
    names.into_iter().map(str::to_string).collect()
}

#[cfg(feature = "sqlite")]
impl TestDatabase for rusqlite::Connection {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn execute(&mut self, sql: &str) -> Result<(), DatabaseError> {
        self.execute_batch(sql).map_err(DatabaseError::from)
    }

    fn query(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, DatabaseError> {
        let mut statement = self.prepare(sql)?;
        let width = statement.column_count();
        let rows = statement.query_map([], |row| {
            (0..width)
                .map(|i| {
                    let value: rusqlite::types::Value = row.get(i)?;
                    Ok(match value {
                        rusqlite::types::Value::Null => None,
                        rusqlite::types::Value::Integer(i) => Some(i.to_string()),
                        rusqlite::types::Value::Real(f) => Some(f.to_string()),
                        rusqlite::types::Value::Text(t) => Some(t),
                        rusqlite::types::Value::Blob(b) => Some(String::from_utf8_lossy(&b).into_owned()),
                    })
                })
                .collect()
        })?;
        rows.collect::<Result<_, _>>().map_err(DatabaseError::from)
    }

    fn schema(&mut self, history_table: &str) -> Result<Schema, DatabaseError> {
        crate::sqlite::introspect::introspect(self, history_table).map_err(DatabaseError::from)
    }

    /// A SQL revision as its `--sql` text (the default); a Rust revision
    /// through the engine, which runs its compiled function.
    fn run_revision(
        &mut self,
        graph: &Graph,
        revision: &Revision,
        direction: Direction,
        options: &Options,
    ) -> Result<(), ApplyError> {
        let _ = graph;
        if revision.is_rust() {
            return crate::sqlite::run_revision(self, revision, direction, options).map(drop);
        }
        run_script(self, revision, direction, options)
    }

    /// SQLite's own way to empty a database, in memory or in a file:
    /// `VACUUM` with `SQLITE_DBCONFIG_RESET_DATABASE` set.
    fn reset(&mut self) -> Result<(), DatabaseError> {
        use rusqlite::config::DbConfig::SQLITE_DBCONFIG_RESET_DATABASE as RESET;
        self.set_db_config(RESET, true)?;
        let vacuumed = self.execute_batch("VACUUM");
        self.set_db_config(RESET, false)?;
        vacuumed.map_err(DatabaseError::from)
    }

    fn object_fingerprints(
        &mut self,
        history_table: &str,
    ) -> Result<BTreeMap<String, String>, DatabaseError> {
        crate::sqlite::introspect::object_fingerprints(self, history_table).map_err(DatabaseError::from)
    }

    /// Reads `sqlite_schema` and fingerprints only the objects whose rows
    /// changed.
    fn update_fingerprints(
        &mut self,
        history_table: &str,
        fingerprints: &mut Fingerprints,
    ) -> Result<(), DatabaseError> {
        crate::sqlite::changes::update(self, history_table, fingerprints).map_err(DatabaseError::from)
    }

    /// Only `objects`, from the rows of `sqlite_schema` the update kept
    /// for them when it did (reading a table by name also reads the
    /// triggers on it).
    fn schema_of(
        &mut self,
        history_table: &str,
        objects: &[String],
        fingerprints: &mut Fingerprints,
    ) -> Result<Schema, DatabaseError> {
        use crate::sqlite::introspect::{introspect_objects, introspect_rows};
        let schema = match fingerprints.sqlite.rows_of(objects) {
            Some(rows) => introspect_rows(self, rows)?,
            None => introspect_objects(self, history_table, Some(&object_names(objects)))?,
        };
        Ok(schema.only(objects))
    }
}

#[cfg(feature = "postgres")]
impl TestDatabase for crate::database::PostgresConnection {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn execute(&mut self, sql: &str) -> Result<(), DatabaseError> {
        self.block_on(self.client().batch_execute(sql)).map_err(DatabaseError::from)
    }

    fn query(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, DatabaseError> {
        let messages = self.block_on(self.client().simple_query(sql)).map_err(DatabaseError::from)?;
        Ok(messages
            .into_iter()
            .filter_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(row) => {
                    Some((0..row.len()).map(|i| row.get(i).map(str::to_string)).collect())
                }
                _ => None,
            })
            .collect())
    }

    fn schema(&mut self, history_table: &str) -> Result<Schema, DatabaseError> {
        let schemas = self.schemas();
        self.block_on(crate::postgres::introspect::introspect_schemas(self.client(), history_table, schemas))
            .map_err(DatabaseError::from)
    }

    fn object_fingerprints(
        &mut self,
        history_table: &str,
    ) -> Result<BTreeMap<String, String>, DatabaseError> {
        let schemas = self.schemas();
        self.block_on(crate::postgres::changes::object_fingerprints(self.client(), history_table, schemas))
            .map_err(DatabaseError::from)
    }

    /// Fingerprints only the objects the walk's event triggers logged, and
    /// those depending on them; everything where the role may not create
    /// event triggers.
    fn update_fingerprints(
        &mut self,
        history_table: &str,
        fingerprints: &mut Fingerprints,
    ) -> Result<(), DatabaseError> {
        let schemas = self.schemas();
        self.block_on(crate::postgres::changes::update(self.client(), history_table, fingerprints, schemas))
            .map_err(DatabaseError::from)
    }

    /// The revisions' statements cancelled on [`Options::interrupt`], as
    /// `upgrade`'s are.
    fn run_revision(
        &mut self,
        graph: &Graph,
        revision: &Revision,
        direction: Direction,
        options: &Options,
    ) -> Result<(), ApplyError> {
        let migrator = crate::postgres::PostgresMigrator::new(self.client(), graph, options);
        let cancel = self.canceller();
        options
            .interrupt
            .cancelling_with(move || cancel(), || self.block_on(migrator.run_revision(revision, direction)))
            .map(drop)
    }

    /// A superuser drops the walk's event triggers (before the schema of
    /// their log goes), every schema but the system ones, and creates
    /// `public` again. Another role cannot drop `public` on PostgreSQL 14
    /// and older (the bootstrap superuser owns it) and drops what it owns
    /// instead: everything the walk created, as the walk ran as that role.
    fn reset(&mut self) -> Result<(), DatabaseError> {
        self.execute(RESET_POSTGRES)
    }

    fn schema_of(
        &mut self,
        history_table: &str,
        objects: &[String],
        fingerprints: &mut Fingerprints,
    ) -> Result<Schema, DatabaseError> {
        let (client, schemas, prepared) =
            (self.client(), self.schemas(), &mut fingerprints.postgres.prepared);
        self.block_on(crate::postgres::introspect::introspect_named(
            client,
            prepared,
            history_table,
            objects,
            schemas,
        ))
        .map_err(DatabaseError::from)
    }
}

/// [`TestDatabase::reset`] on PostgreSQL.
#[cfg(feature = "postgres")]
const RESET_POSTGRES: &str = "DO $reset$ DECLARE s name; BEGIN \
     IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN \
       DROP EVENT TRIGGER IF EXISTS migrate_walk_ddl; DROP EVENT TRIGGER IF EXISTS migrate_walk_drop; \
       FOR s IN SELECT nspname FROM pg_namespace WHERE nspname !~ '^pg_' AND nspname <> 'information_schema' LOOP \
         EXECUTE format('DROP SCHEMA %I CASCADE', s); \
       END LOOP; \
       CREATE SCHEMA public; \
     ELSE \
       EXECUTE 'DROP OWNED BY CURRENT_USER CASCADE'; \
       CREATE SCHEMA IF NOT EXISTS public; \
     END IF; \
     END $reset$";

/// `url` pointing at database `name` instead. A `key=value` string gets a
/// `dbname` pair at its end, which wins over an earlier one.
#[cfg(feature = "postgres")]
pub fn database_url(url: &str, name: &str) -> String {
    crate::database::url::with_database_name(url, name)
}
