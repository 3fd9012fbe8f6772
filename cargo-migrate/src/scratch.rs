//! The package's side of scratch databases (the library's
//! [`migrate_runtime::testing::Scratch`]): where they are built, which
//! `schema.sql` they read, and messages that name the package and the file.

use crate::db;
use crate::project::Package;
use anyhow::{Context as _, Result};
use migrate_runtime::schema::Schema;
use migrate_runtime::sql::split_statements;
use migrate_runtime::testing::{product, PostgresScratch, Scratch, ScratchError};
use migrate_runtime::{Dialect, Graph};

/// Scratch databases of `dialect`; for PostgreSQL on `--database-url`'s
/// server when given, else on a throw-away one, reading `schemas` (a
/// package's `schemas` setting).
pub fn scratch(dialect: Dialect, database_url: Option<&str>, schemas: &[String]) -> Result<Scratch> {
    let scratch = Scratch::new(dialect, database_url).map_err(in_cli_words)?.with_schemas(schemas);
    if let Scratch::Postgres(server) = &scratch {
        tell_where(server);
    }
    Ok(scratch)
}

/// `--database-url`'s PostgreSQL server, else a throw-away one.
pub fn postgres_server(database_url: Option<&str>) -> Result<PostgresScratch> {
    let server = PostgresScratch::start(database_url).map_err(in_cli_words)?;
    tell_where(&server);
    Ok(server)
}

/// Says when scratch databases are not on the server the user named.
fn tell_where(server: &PostgresScratch) {
    if let Some(note) = server.note() {
        crate::output::print_warning(note);
    }
}

fn in_cli_words(error: ScratchError) -> anyhow::Error {
    match error {
        ScratchError::NotPostgres { url } => {
            anyhow::anyhow!("the package's dialect is postgres but --database-url is {url}")
        }
        other => other.into(),
    }
}

/// The schema after applying the package's whole chain to an empty database.
pub fn head_schema(scratch: &Scratch, package: &Package, graph: &Graph) -> Result<Schema> {
    scratch
        .head_schema(graph, &db::options(package))
        .with_context(|| format!("cannot build the head schema of package `{}`", package.name))
}

/// The schema `sql` (the package's `schema.sql`) builds.
pub fn desired_schema(scratch: &Scratch, package: &Package, sql: &str) -> Result<Schema> {
    let file = package.config.schema.display();
    scratch.sql_schema(sql, &package.config.history_table).map_err(|error| match error {
        ScratchError::Sql { dialect, line, reason } => {
            anyhow::anyhow!("{file}:{line}: does not run on {}: {reason}", product(dialect))
        }
        other => anyhow::Error::new(other).context(format!("cannot read the schema of {file}")),
    })
}

/// The schema the package's `schema.sql` builds in a scratch database of
/// `dialect` reading its first schema (autogenerate writes plain names,
/// which only the first schema has), and that schema's name in a list;
/// an error naming the file when it is missing or empty.
pub fn first_schema_desired(
    package: &Package,
    dialect: Dialect,
    database_url: Option<&str>,
) -> Result<(Schema, Vec<String>)> {
    let Some(sql) = desired_sql(package)? else {
        anyhow::bail!(
            "{} is missing or empty: declare the schema you want there",
            package.config.schema.display()
        );
    };
    let schemas = package.config.schemas[..package.config.schemas.len().min(1)].to_vec();
    let scratch = scratch(dialect, database_url, &schemas)?;
    Ok((desired_schema(&scratch, package, &sql)?, schemas))
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
