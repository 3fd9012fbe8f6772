//! Database URLs: which driver and where, and a form safe to print.
//!
//! `sqlite:PATH`, `sqlite://PATH`, `sqlite::memory:`, `postgres://…` and
//! `postgresql://…`. A password never leaves this module except inside the
//! value handed to a driver: [`redact`] is what messages show.

use std::fmt;
use std::path::PathBuf;

/// A parsed database URL.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    SqliteFile(PathBuf),
    SqliteMemory,
    /// The URL as given, for the driver.
    Postgres(String),
}

impl DatabaseUrl {
    /// Parses a URL; the error quotes it redacted.
    ///
    /// ```
    /// use migrate_runtime::database::DatabaseUrl;
    /// assert_eq!(DatabaseUrl::parse("sqlite:app.db").unwrap(), DatabaseUrl::SqliteFile("app.db".into()));
    /// assert!(DatabaseUrl::parse("mysql://u:secret@h/db").unwrap_err().to_string().contains("mysql://u:***@h/db"));
    /// ```
    pub fn parse(url: &str) -> Result<DatabaseUrl, UrlError> {
        if let Some(rest) = url.strip_prefix("sqlite:") {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            return match path {
                ":memory:" | "" => Ok(DatabaseUrl::SqliteMemory),
                path => Ok(DatabaseUrl::SqliteFile(PathBuf::from(path.split('?').next().unwrap_or(path)))),
            };
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(url.to_string()));
        }
        Err(UrlError::Unsupported { redacted: redact(url) })
    }

    pub fn dialect(&self) -> crate::Dialect {
        match self {
            DatabaseUrl::Postgres(_) => crate::Dialect::Postgres,
            _ => crate::Dialect::Sqlite,
        }
    }
}

/// Why a string is not a database URL this crate can open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// `redacted` is the URL as [`redact`] prints it: the error never
    /// holds the password.
    #[error(
        "unsupported database URL `{redacted}`: expected `sqlite:PATH`, `sqlite::memory:` or `postgres://…`"
    )]
    Unsupported { redacted: String },
}

/// Debug and Display show the redacted URL, so a password cannot leak
/// through a log line or a panic message.
impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatabaseUrl::SqliteFile(path) => write!(f, "sqlite:{}", path.display()),
            DatabaseUrl::SqliteMemory => f.write_str("sqlite::memory:"),
            DatabaseUrl::Postgres(url) => f.write_str(&redact(url)),
        }
    }
}

/// `url` with the password of its user-info and any `password=` query
/// parameter replaced by `***`.
///
/// ```
/// use migrate_runtime::database::redact;
/// assert_eq!(redact("postgres://app:s3cr%40t@db:5432/x"), "postgres://app:***@db:5432/x");
/// assert_eq!(redact("postgres://db/x?user=a&password=pw&sslmode=require"), "postgres://db/x?user=a&password=***&sslmode=require");
/// assert_eq!(redact("postgres://app@db/x"), "postgres://app@db/x");
/// assert_eq!(redact("postgres://app:s3/cr?t@db/x"), "postgres://app:***@db/x");
/// ```
pub fn redact(url: &str) -> String {
    let mut out = url.to_string();
    if let Some(scheme_end) = out.find("://") {
        let rest = scheme_end + 3;
        // The user-info ends at the last `@`, not at the first `/` or `?`: a
        // password may hold either unescaped. Hiding too much is harmless.
        if let Some(at) = out[rest..].rfind('@') {
            if let Some(colon) = out[rest..rest + at].find(':') {
                out.replace_range(rest + colon + 1..rest + at, "***");
            }
        }
    }
    redact_query_password(&out)
}

fn redact_query_password(url: &str) -> String {
    let Some((base, query)) = url.split_once('?') else { return url.to_string() };
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
            _ => pair.to_string(),
        })
        .collect();
    format!("{base}?{}", pairs.join("&"))
}
