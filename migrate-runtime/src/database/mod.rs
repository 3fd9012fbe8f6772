//! Reaching a database: its URL (and a form of it safe to print), and one
//! blocking handle on either kind, [`Database`], opened by a [`Connector`]
//! (behind the `sqlite` / `postgres` features).

pub(crate) mod url;

pub use url::{redact, DatabaseUrl, UrlError};

#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod handle;

#[cfg(feature = "postgres")]
pub use handle::PostgresConnection;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use handle::{connect, ConnectError, Connector, Database};
