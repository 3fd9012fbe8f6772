//! Scratch databases for the commands that compare schemas (`new
//! --autogenerate`, `check`): the schema at a chain's head and the one the
//! package's `schema.sql` declares, each built in its own in-memory SQLite
//! database and read back with the walk's introspection.

use crate::project::Package;
use anyhow::{bail, Context as _, Result};
use migrate_runtime::introspect_sqlite::introspect;
use migrate_runtime::schema::Schema;
use migrate_runtime::split::split_statements;
use migrate_runtime::testing::SqliteTemplate;
use migrate_runtime::{Dialect, Graph};

/// Refuses PostgreSQL packages, whose scratch databases are not built yet.
pub fn require_sqlite(package: &Package, what: &str) -> Result<()> {
    if package.config.dialect == Dialect::Postgres {
        bail!("{what} on PostgreSQL is not supported yet (package `{}`)", package.name);
    }
    Ok(())
}

/// The schema after applying the whole chain to an empty database.
pub fn head_schema(package: &Package, graph: &Graph) -> Result<Schema> {
    let context = || format!("cannot build the head schema of package `{}` in memory", package.name);
    let template = SqliteTemplate::new(graph, &crate::db::options(package)).with_context(context)?;
    let conn = template.database().with_context(context)?;
    introspect(&conn, &package.config.history_table).with_context(context)
}

/// The text of the package's `schema.sql`; `None` when the file is missing
/// or holds no statement.
pub fn desired_sql(package: &Package) -> Result<Option<String>> {
    let path = package.file(&package.config.schema);
    if !path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(split_statements(&text).iter().any(|s| !s.is_empty()).then_some(text))
}

/// The schema `sql` (the package's `schema.sql`) builds.
pub fn desired_schema(package: &Package, sql: &str) -> Result<Schema> {
    let file = package.config.schema.display();
    let conn = rusqlite::Connection::open_in_memory()?;
    conn.execute_batch(sql).with_context(|| format!("{file} does not run on SQLite"))?;
    introspect(&conn, &package.config.history_table)
        .with_context(|| format!("cannot read the schema of {file}"))
}
