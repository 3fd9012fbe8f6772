//! Database URLs: which driver and where, and a form safe to print.
//!
//! `sqlite:PATH`, `sqlite://PATH`, `sqlite::memory:`, `postgres://…`,
//! `postgresql://…` and libpq's `key=value` connection strings
//! (`host=db user=app dbname=x`). A password never leaves this module except
//! inside the text handed to a driver: [`redact`] is what messages show.

use super::libpq::{key_values, looks_like_key_values};
use std::fmt;
use std::path::PathBuf;

/// The database a PostgreSQL URL or `key=value` string names (its path, or
/// `dbname`); `None` when it names none (libpq would take the user's name,
/// which `database create` does not guess).
pub fn database_name(url: &str) -> Option<String> {
    if !url.contains("://") {
        let pairs = key_values(url).ok()?;
        return pairs.into_iter().rev().find(|pair| pair.key == "dbname").map(|pair| pair.value);
    }
    let base = url.split_once('?').map_or(url, |(base, _)| base);
    let authority = base.find("://")? + 3;
    let path = &base[authority..][base[authority..].find('/')? + 1..];
    let name = super::libpq::percent_decode(path);
    (!name.is_empty()).then_some(name)
}

/// `url` naming database `name` instead: a URL's path replaced, a
/// `key=value` string given a last `dbname` (libpq takes the last).
pub fn with_database_name(url: &str, name: &str) -> String {
    if !url.contains("://") {
        return format!("{url} dbname={}", super::libpq::quote(name));
    }
    let (base, query) = url.split_once('?').map_or((url, None), |(base, query)| (base, Some(query)));
    let authority = base.find("://").map_or(0, |i| i + 3);
    let path = base[authority..].find('/').map_or(base.len(), |i| authority + i);
    match query {
        Some(query) => format!("{}/{name}?{query}", &base[..path]),
        None => format!("{}/{name}", &base[..path]),
    }
}

/// A parsed database URL.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    SqliteFile(PathBuf),
    SqliteMemory,
    /// A PostgreSQL URL or `key=value` string, kept for the driver.
    Postgres(PostgresUrl),
}

/// A PostgreSQL connection string as given: a `postgres://` or
/// `postgresql://` URL, or libpq `key=value` pairs. Its text, which may hold
/// a password, stays inside this crate; `Display` and `Debug` redact it.
#[derive(Clone, PartialEq, Eq)]
pub struct PostgresUrl {
    text: String,
}

impl PostgresUrl {
    /// The text as given, password included: only for the driver.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    pub(crate) fn is_key_values(&self) -> bool {
        !is_postgres_url(&self.text)
    }
}

impl DatabaseUrl {
    /// Parses a URL; the error quotes it redacted.
    ///
    /// ```
    /// use migrate_runtime::database::DatabaseUrl;
    /// assert_eq!(DatabaseUrl::parse("sqlite:app.db").unwrap(), DatabaseUrl::SqliteFile("app.db".into()));
    /// assert!(DatabaseUrl::parse("mysql://u:secret@h/db").unwrap_err().to_string().contains("mysql://u:***@h/db"));
    /// assert_eq!(DatabaseUrl::parse("host=db password='s e' dbname=x").unwrap().to_string(), "host=db password=*** dbname=x");
    /// ```
    pub fn parse(url: &str) -> Result<DatabaseUrl, UrlError> {
        if let Some(rest) = url.strip_prefix("sqlite:") {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            return match path {
                ":memory:" | "" => Ok(DatabaseUrl::SqliteMemory),
                path => Ok(DatabaseUrl::SqliteFile(PathBuf::from(path.split('?').next().unwrap_or(path)))),
            };
        }
        if is_postgres_url(url) {
            check_user_info(url).map_err(|reason| UrlError::Invalid { redacted: redact(url), reason })?;
            return Ok(DatabaseUrl::Postgres(PostgresUrl { text: url.to_string() }));
        }
        if looks_like_key_values(url) {
            key_values(url).map_err(|reason| UrlError::Invalid { redacted: redact(url), reason })?;
            return Ok(DatabaseUrl::Postgres(PostgresUrl { text: url.to_string() }));
        }
        Err(UrlError::Unsupported { redacted: redact(url) })
    }

    /// The URL as given, password included: what a program hands to
    /// another it starts (on a pipe, never on its command line), and
    /// nothing ever prints.
    pub fn to_unredacted(&self) -> String {
        match self {
            DatabaseUrl::Postgres(url) => url.text.clone(),
            other => other.to_string(),
        }
    }

    pub fn dialect(&self) -> crate::Dialect {
        match self {
            DatabaseUrl::Postgres(_) => crate::Dialect::Postgres,
            _ => crate::Dialect::Sqlite,
        }
    }
}

fn is_postgres_url(text: &str) -> bool {
    text.starts_with("postgres://") || text.starts_with("postgresql://")
}

/// The driver ends the user name and password at the first `@` of the whole
/// URL, so an unencoded `@` in a password, or an `@` in a parameter, would
/// silently send it to the wrong host: refuse what it would misread.
fn check_user_info(url: &str) -> Result<(), String> {
    let rest = &url[url.find("://").map_or(0, |i| i + 3)..];
    let Some(first) = rest.find('@') else { return Ok(()) };
    if rest[first + 1..].contains('@') || rest[..first].contains(['/', '?', '#']) {
        return Err("an `@` that does not end the user name and password: percent-encode `@`, `/`, `?` \
                    and `#` in a user name, password or parameter (`%40`, `%2F`, `%3F`, `%23`)"
            .to_string());
    }
    Ok(())
}

/// Why a string is not a database URL this crate can open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, strum::IntoStaticStr)]
#[strum(serialize_all = "kebab-case", prefix = "url-")]
pub enum UrlError {
    /// `redacted` is the URL as [`redact`] prints it: the error never
    /// holds the password.
    #[error(
        "unsupported database URL `{redacted}`: expected `sqlite:PATH`, `sqlite::memory:`, `postgres://…` \
         or `key=value` pairs (`host=… dbname=…`)"
    )]
    Unsupported { redacted: String },
    /// A PostgreSQL URL or `key=value` string that cannot be read.
    #[error("invalid database URL `{redacted}`: {reason}")]
    Invalid { redacted: String, reason: String },
}

impl UrlError {
    /// A stable name for the kind of problem (`url-invalid`), as
    /// [`ChainError::code`](crate::ChainError::code).
    pub fn code(&self) -> &'static str {
        self.into()
    }
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
            DatabaseUrl::Postgres(url) => url.fmt(f),
        }
    }
}

impl fmt::Debug for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PostgresUrl({self})")
    }
}

impl fmt::Display for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact(&self.text))
    }
}

/// `url` with every password replaced by `***`: the user-info's, a
/// `password=` query parameter, a `password=` pair of a `key=value` string
/// (quoted or not). What cannot be read is cut from its first `password`.
///
/// ```
/// use migrate_runtime::database::redact;
/// assert_eq!(redact("postgres://app:s3cr%40t@db:5432/x"), "postgres://app:***@db:5432/x");
/// assert_eq!(redact("postgres://db/x?user=a&password=pw&sslmode=require"), "postgres://db/x?user=a&password=***&sslmode=require");
/// assert_eq!(redact("postgres://app@db/x"), "postgres://app@db/x");
/// assert_eq!(redact("postgres://app:s3/cr?t@db/x"), "postgres://app:***@db/x");
/// assert_eq!(redact(r"host=db password = 'it\'s' user=a"), "host=db password = *** user=a");
/// assert_eq!(redact("host=db password='unterminated"), "host=db password=***");
/// ```
pub fn redact(url: &str) -> String {
    let redacted = if looks_like_key_values(url) && !is_postgres_url(url) {
        redact_key_values(url)
    } else {
        redact_query_password(&redact_user_info(url))
    };
    cut_remaining_password(&redacted)
}

fn redact_user_info(url: &str) -> String {
    let mut out = url.to_string();
    // Without a scheme, hide from the first `:` all the same: the string is
    // being shown because it could not be read, so hiding too much is fine.
    let rest = out.find("://").map_or(0, |i| i + 3);
    // The user-info ends at the last `@`, not at the first `/` or `?`: a
    // password may hold either unescaped. Hiding too much is harmless.
    if let Some(at) = out[rest..].rfind('@') {
        if let Some(colon) = out[rest..rest + at].find(':') {
            out.replace_range(rest + colon + 1..rest + at, "***");
        }
    }
    out
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

/// Each `password` value (with its quotes) becomes `***`, the rest stays
/// as written; a string that does not parse is left to
/// [`cut_remaining_password`].
fn redact_key_values(text: &str) -> String {
    let Ok(pairs) = key_values(text) else { return text.to_string() };
    let mut out = text.to_string();
    for pair in pairs.iter().rev().filter(|pair| pair.key.eq_ignore_ascii_case("password")) {
        out.replace_range(pair.span.clone(), "***");
    }
    out
}

/// The last line of defence: from any `password` still followed by `=` and
/// something other than `***`, everything is replaced.
fn cut_remaining_password(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    for (at, _) in lower.match_indices("password") {
        let after = text[at + "password".len()..].trim_start();
        let Some(value) = after.strip_prefix('=') else { continue };
        let value = value.trim_start();
        if !value.is_empty() && !value.starts_with("***") {
            return format!("{}password=***", &text[..at]);
        }
    }
    text.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_a_url_names() {
        assert_eq!(database_name("postgres://u:p@h:5/app%20db?sslmode=require").as_deref(), Some("app db"));
        assert_eq!(database_name("postgres://u@h/").as_deref(), None);
        assert_eq!(database_name("host=h dbname='my app' user=u").as_deref(), Some("my app"));
        assert_eq!(database_name("host=h user=u"), None);
        assert_eq!(with_database_name("postgres://u@h/app?x=1", "postgres"), "postgres://u@h/postgres?x=1");
        assert_eq!(
            with_database_name("host=h dbname=app", "postgres"),
            "host=h dbname=app dbname='postgres'"
        );
    }

    #[test]
    fn every_form_is_redacted() {
        let cases = [
            ("postgres://u:p@ss@host/db", "postgres://u:***@host/db"),
            ("postgresql://", "postgresql://"),
            ("host=db password=secret", "host=db password=***"),
            ("host=db password='se cr\\'et' dbname=x", "host=db password=*** dbname=x"),
            ("host=db  password  =  secret", "host=db  password  =  ***"),
            ("host=db PASSWORD=secret", "host=db PASSWORD=***"),
            ("host=db password", "host=db password"),
            ("host=db password='secret", "host=db password=***"),
            ("garbage password=secret", "garbage password=***"),
            ("u:secret@host", "u:***@host"),
            ("postgres://h/d?password=a&password=b", "postgres://h/d?password=***&password=***"),
        ];
        for (url, expected) in cases {
            assert_eq!(redact(url), expected, "{url}");
        }
    }

    #[test]
    fn postgres_forms_parse_and_hide_their_password() {
        for text in
            ["postgresql://", "postgres://app:p%40ss@db/x", "host=db user=app password='a b'", "dbname=x"]
        {
            let url = DatabaseUrl::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(url.dialect(), crate::Dialect::Postgres);
            assert!(!format!("{url} {url:?}").contains("p%40ss"), "{url:?}");
            assert!(!format!("{url} {url:?}").contains("a b"), "{url:?}");
        }
    }

    #[test]
    fn unreadable_postgres_strings_are_refused_redacted() {
        let cases = [
            ("postgres://u:p@ss/w:rd@host/db", "postgres://u:***@host/db", "percent-encode `@`"),
            ("postgres://host/db?user=me@corp", "postgres://host/db?user=me@corp", "percent-encode"),
            ("host=db password='p@ss", "host=db password=***", "unterminated quoted value"),
            ("host=db password", "host=db password", "missing `=` after `password`"),
        ];
        for (text, shown, reason) in cases {
            let error = DatabaseUrl::parse(text).unwrap_err().to_string();
            assert!(error.contains(shown) && error.contains(reason), "{text}: {error}");
            assert!(!error.contains("p@ss") && !error.contains("w:rd"), "{error}");
        }
        assert!(matches!(DatabaseUrl::parse("app.db"), Err(UrlError::Unsupported { .. })));
        assert!(matches!(DatabaseUrl::parse(""), Err(UrlError::Unsupported { .. })));
    }
}
