//! Reaching a database: its URL (and a form of it safe to print), libpq's
//! connection settings (`PG*` variables, the password file), and one
//! blocking handle on either kind, [`Database`], opened by a [`Connector`]
//! (behind the `sqlite` / `postgres` features), which checks the database
//! is a version this crate supports (`versions`).

// Only the URL's own parsing is used without the PostgreSQL driver.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
pub(crate) mod libpq;
#[cfg(feature = "postgres")]
pub(crate) mod pgpass;
pub(crate) mod url;
pub(crate) mod versions;

pub use url::{database_name, redact, with_database_name, DatabaseUrl, PostgresUrl, UrlError};
pub use versions::{check_postgres_version, check_sqlite_version, PostgresSupport, VersionError};

#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) mod admin;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use admin::{
    create_database, create_schema, drop_database, empty_schemas, forget_package, is_local, owned_objects,
    remove_sqlite_file, AdminError,
};
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod handle;

#[cfg(feature = "postgres")]
pub use handle::PostgresConnection;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use handle::{connect, ConnectError, Connector, Database};
