//! The database versions this crate supports, and the checks made when a
//! [`Connector`](super::Connector) opens one: pure functions of the version
//! number the database reports, so every case is testable without that
//! version at hand.
//!
//! - PostgreSQL 13 to 18, each run by `scripts/postgres-matrix.sh`. An older
//!   server is refused: its major version is past its end of life and no
//!   test runs on it. A newer one is accepted with a warning: a new major
//!   keeps the SQL and catalogues this crate uses, and refusing it would
//!   stop every deployment on the day a server is upgraded.
//! - SQLite from 3.38.0, which the bundled library always is; a build that
//!   links the system's SQLite instead (`LIBSQLITE3_SYS_USE_PKG_CONFIG`)
//!   can get an older one. 3.38.0 because introspection reads
//!   `pragma_table_list` (3.37.0) and filters with `json_each`, built in
//!   from 3.38.0, and autogenerate writes `ALTER TABLE … DROP COLUMN`
//!   (3.35.0).

/// The oldest PostgreSQL major version supported.
pub(crate) const POSTGRES_OLDEST: u32 = 13;

/// The newest PostgreSQL major version tested.
pub(crate) const POSTGRES_NEWEST_TESTED: u32 = 18;

/// The oldest SQLite supported, as `sqlite3_libversion_number()` gives it.
pub(crate) const SQLITE_OLDEST: u32 = 3_038_000;

/// A database version outside what this crate supports.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, strum::IntoStaticStr)]
#[strum(serialize_all = "kebab-case")]
pub enum VersionError {
    #[error("the server runs PostgreSQL {server}, older than PostgreSQL {minimum}, the oldest cargo-migrate supports (older majors are past their end of life and never tested)")]
    PostgresTooOld { server: String, minimum: u32 },
    #[error("the linked SQLite is {linked}, older than {}, the oldest cargo-migrate supports (introspection needs `pragma_table_list` and `json_each`)", sqlite_text(*minimum))]
    SqliteTooOld { linked: String, minimum: u32 },
}

impl VersionError {
    /// A stable name for the kind of problem (`postgres-too-old`), as
    /// [`ChainError::code`](crate::ChainError::code).
    pub fn code(&self) -> &'static str {
        self.into()
    }
}

/// How a supported PostgreSQL server stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostgresSupport {
    /// A major version the tests run on.
    Tested,
    /// Newer than any tested: accepted, with [`PostgresSupport::warning`].
    Newer { server: String },
}

impl PostgresSupport {
    /// What to tell the user, if anything.
    pub fn warning(&self) -> Option<String> {
        match self {
            PostgresSupport::Tested => None,
            PostgresSupport::Newer { server } => Some(format!(
                "the server runs PostgreSQL {server}, newer than PostgreSQL {POSTGRES_NEWEST_TESTED}, the newest \
                 cargo-migrate is tested with: it should work, but check a release that lists it"
            )),
        }
    }
}

/// Checks a PostgreSQL `server_version_num` (`150004` for 15.4).
///
/// ```
/// use migrate_runtime::database::{check_postgres_version, PostgresSupport};
/// assert_eq!(check_postgres_version(150004), Ok(PostgresSupport::Tested));
/// assert!(check_postgres_version(120022).unwrap_err().to_string().contains("PostgreSQL 12.22, older than PostgreSQL 13"));
/// assert!(check_postgres_version(190000).unwrap().warning().is_some());
/// ```
pub fn check_postgres_version(version_num: u32) -> Result<PostgresSupport, VersionError> {
    let server = postgres_text(version_num);
    match version_num / 10_000 {
        major if major < POSTGRES_OLDEST => {
            Err(VersionError::PostgresTooOld { server, minimum: POSTGRES_OLDEST })
        }
        major if major > POSTGRES_NEWEST_TESTED => Ok(PostgresSupport::Newer { server }),
        _ => Ok(PostgresSupport::Tested),
    }
}

/// Checks the SQLite library's version number (`3045001` for 3.45.1).
pub fn check_sqlite_version(version_number: u32) -> Result<(), VersionError> {
    if version_number >= SQLITE_OLDEST {
        return Ok(());
    }
    Err(VersionError::SqliteTooOld { linked: sqlite_text(version_number), minimum: SQLITE_OLDEST })
}

/// `15.4` for 150004; `9.6.24` for 90624 (before 10, two numbers made
/// the major version).
fn postgres_text(version_num: u32) -> String {
    if version_num >= 100_000 {
        format!("{}.{}", version_num / 10_000, version_num % 10_000)
    } else {
        format!("{}.{}.{}", version_num / 10_000, version_num / 100 % 100, version_num % 100)
    }
}

/// `3.38.0` for 3038000.
fn sqlite_text(version_number: u32) -> String {
    format!("{}.{}.{}", version_number / 1_000_000, version_number / 1_000 % 1_000, version_number % 1_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_versions() {
        for (number, expected) in [
            (130000, Ok(PostgresSupport::Tested)),
            (180001, Ok(PostgresSupport::Tested)),
            (190002, Ok(PostgresSupport::Newer { server: "19.2".to_string() })),
            (120022, Err(VersionError::PostgresTooOld { server: "12.22".to_string(), minimum: 13 })),
            (90624, Err(VersionError::PostgresTooOld { server: "9.6.24".to_string(), minimum: 13 })),
        ] {
            assert_eq!(check_postgres_version(number), expected, "{number}");
        }
        let refused = check_postgres_version(120022).unwrap_err().to_string();
        assert_eq!(
            refused,
            "the server runs PostgreSQL 12.22, older than PostgreSQL 13, the oldest cargo-migrate supports \
             (older majors are past their end of life and never tested)"
        );
    }

    #[test]
    fn sqlite_versions() {
        assert_eq!(check_sqlite_version(3_038_000), Ok(()));
        assert_eq!(check_sqlite_version(3_050_004), Ok(()));
        let old = check_sqlite_version(3_031_001).unwrap_err().to_string();
        assert!(old.starts_with("the linked SQLite is 3.31.1, older than 3.38.0,"), "{old}");
    }
}
