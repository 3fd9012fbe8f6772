//! libpq's connection settings, driver-free: `key=value` strings, the
//! parameters the driver does not know (the `verify-*` modes, certificate
//! files, `passfile`), which are taken out of the string before the driver
//! parses it, and the `PG*` environment variables that default them.
//!
//! libpq is the reference users already configure (psql, pg_dump, every
//! libpq-based tool), so its meanings are kept; where this crate differs it
//! says so next to the code.

use super::url::PostgresUrl;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// One `key=value` pair; `span` is where its value (quotes included) is
/// written, for redaction.
pub(crate) struct Pair {
    pub key: String,
    pub value: String,
    pub span: Range<usize>,
}

/// Whether `text` reads as libpq `key=value` pairs: its first word is an
/// identifier followed by `=`. URLs and paths never start that way.
pub(crate) fn looks_like_key_values(text: &str) -> bool {
    let text = text.trim_start();
    let key_end = text.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(text.len());
    key_end > 0 && text[key_end..].trim_start().starts_with('=')
}

/// libpq's `conninfo_parse`: pairs separated by white space, white space
/// allowed around `=`, values bare or in single quotes, `\` escaping the
/// next character in either.
pub(crate) fn key_values(text: &str) -> Result<Vec<Pair>, String> {
    let mut pairs = Vec::new();
    let mut rest = skip_space(text, 0);
    while rest < text.len() {
        let key_end =
            text[rest..].find(|c: char| c == '=' || c.is_whitespace()).map_or(text.len(), |i| rest + i);
        let key = &text[rest..key_end];
        let equals = skip_space(text, key_end);
        if !text[equals..].starts_with('=') {
            return Err(format!("missing `=` after `{key}` in the connection string"));
        }
        let start = skip_space(text, equals + 1);
        let (value, end) = read_value(text, start)?;
        pairs.push(Pair { key: key.to_string(), value, span: start..end });
        rest = skip_space(text, end);
    }
    Ok(pairs)
}

fn skip_space(text: &str, from: usize) -> usize {
    text[from..].find(|c: char| !c.is_whitespace()).map_or(text.len(), |i| from + i)
}

/// A value starting at `start` and the index just past it.
fn read_value(text: &str, start: usize) -> Result<(String, usize), String> {
    let quoted = text[start..].starts_with('\'');
    let mut value = String::new();
    let mut chars = text[start..].char_indices().skip(usize::from(quoted));
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, escaped)) => value.push(escaped),
                None => break,
            },
            '\'' if quoted => return Ok((value, start + i + 1)),
            c if c.is_whitespace() && !quoted => return Ok((value, start + i)),
            c => value.push(c),
        }
    }
    if quoted {
        return Err("unterminated quoted value in the connection string".to_string());
    }
    Ok((value, text.len()))
}

/// `value` quoted for a `key=value` string.
pub(crate) fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\\', r"\\").replace('\'', r"\'"))
}

/// The parameters this crate handles itself, as the string gave them.
#[derive(Default, Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ours {
    pub sslmode: Option<String>,
    pub sslrootcert: Option<String>,
    pub sslcert: Option<String>,
    pub sslkey: Option<String>,
    pub passfile: Option<String>,
}

impl Ours {
    /// Takes `key` if it is one of ours. `sslmode` is always ours: the
    /// driver knows neither `verify-ca` nor `verify-full`, and whether the
    /// string set it decides if `PGSSLMODE` applies.
    fn take(&mut self, key: &str, value: &str) -> bool {
        let slot = match key {
            "sslmode" => &mut self.sslmode,
            "sslrootcert" => &mut self.sslrootcert,
            "sslcert" => &mut self.sslcert,
            "sslkey" => &mut self.sslkey,
            "passfile" => &mut self.passfile,
            _ => return false,
        };
        *slot = Some(value.to_string());
        true
    }
}

/// `url` split into the text the driver parses (same form, our parameters
/// removed; it may hold the password: never print it) and our parameters.
/// `PGPORT` is written into a URL's hosts that have no port, since the
/// driver would give them 5432.
pub(crate) fn split(url: &PostgresUrl, env: &Env) -> Result<(String, Ours), String> {
    if url.is_key_values() {
        return split_key_values(url.text());
    }
    let (text, ours) = split_query(url.text());
    match env.get("PGPORT") {
        Some(port) => Ok((default_ports(&text, &port)?, ours)),
        None => Ok((text, ours)),
    }
}

/// `url` with `port` after each host that has none.
fn default_ports(url: &str, port: &str) -> Result<String, String> {
    let port: u16 =
        port.trim().parse().map_err(|_| format!("invalid PGPORT `{port}`: expected a port number"))?;
    let start = url.find("://").map_or(0, |i| i + 3);
    let hosts_start = url[start..].find('@').map_or(start, |at| start + at + 1);
    let hosts_end = url[hosts_start..].find(['/', '?']).map_or(url.len(), |end| hosts_start + end);
    let hosts = &url[hosts_start..hosts_end];
    if hosts.is_empty() {
        return Ok(url.to_string());
    }
    let with_ports: Vec<String> = hosts
        .split(',')
        .map(|host| if has_port(host) { host.to_string() } else { format!("{host}:{port}") })
        .collect();
    Ok(format!("{}{}{}", &url[..hosts_start], with_ports.join(","), &url[hosts_end..]))
}

/// `db:5433`, `[::1]:5433`; not `db` or `[::1]`.
fn has_port(host: &str) -> bool {
    let after_address = host.rfind(']').map_or(host, |close| &host[close..]);
    after_address.contains(':')
}

fn split_key_values(text: &str) -> Result<(String, Ours), String> {
    let mut ours = Ours::default();
    let mut kept = Vec::new();
    for pair in key_values(text)? {
        if !ours.take(&pair.key, &pair.value) {
            kept.push(format!("{}={}", pair.key, quote(&pair.value)));
        }
    }
    Ok((kept.join(" "), ours))
}

fn split_query(url: &str) -> (String, Ours) {
    let mut ours = Ours::default();
    let Some((base, query)) = url.split_once('?') else { return (url.to_string(), ours) };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            !ours.take(&percent_decode(key), &percent_decode(value))
        })
        .collect();
    match kept.is_empty() {
        true => (base.to_string(), ours),
        false => (format!("{base}?{}", kept.join("&")), ours),
    }
}

/// `%XX` sequences decoded; anything else (a lone `%`, bad UTF-8) as is,
/// the way the driver reads query values.
pub(crate) fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = text.get(i + 1..i + 3).and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| text.to_string())
}

/// Where settings the string leaves out come from: environment variables,
/// by name. The process environment by default; tests pass their own so
/// they never change the process's (tests run on parallel threads).
pub(crate) struct Env(Box<Lookup>);

/// A variable's value by name.
type Lookup = dyn Fn(&str) -> Option<String> + Send + Sync;

impl Default for Env {
    fn default() -> Env {
        Env(Box::new(|name| std::env::var(name).ok()))
    }
}

impl Env {
    pub fn new(lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Env {
        Env(Box::new(lookup))
    }

    /// A variable's value; an empty one counts as unset.
    pub fn get(&self, name: &str) -> Option<String> {
        (self.0)(name).filter(|value| !value.is_empty())
    }

    /// The string's value of a parameter, else the variable's.
    pub fn or(&self, given: &Option<String>, name: &str) -> Option<String> {
        given.clone().or_else(|| self.get(name))
    }

    /// libpq's per-user folder: `~/.postgresql`, or `%APPDATA%\postgresql`
    /// on Windows.
    pub fn postgresql_dir(&self) -> Option<PathBuf> {
        match cfg!(windows) {
            true => self.get("APPDATA").map(|dir| Path::new(&dir).join("postgresql")),
            false => self.get("HOME").map(|dir| Path::new(&dir).join(".postgresql")),
        }
    }

    /// The password file libpq reads by default: `~/.pgpass`, or
    /// `%APPDATA%\postgresql\pgpass.conf` on Windows.
    pub fn default_passfile(&self) -> Option<PathBuf> {
        match cfg!(windows) {
            true => self.postgresql_dir().map(|dir| dir.join("pgpass.conf")),
            false => self.get("HOME").map(|dir| Path::new(&dir).join(".pgpass")),
        }
    }

    /// The OS user name, libpq's default user. libpq asks the system
    /// (`getpwuid`); without a C binding this reads the variables login
    /// shells set.
    pub fn os_user(&self) -> Option<String> {
        ["USER", "LOGNAME", "USERNAME"].iter().find_map(|name| self.get(name))
    }
}

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SslMode {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(text: &str) -> Result<SslMode, String> {
        Ok(match text {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(format!(
                    "invalid sslmode `{other}`: expected disable, allow, prefer, require, verify-ca or verify-full"
                ))
            }
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    fn verifies(self) -> bool {
        matches!(self, SslMode::VerifyCa | SslMode::VerifyFull)
    }
}

/// The certificates a server's must chain to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Roots {
    File(PathBuf),
    /// `sslrootcert=system`: the operating system's store.
    System,
}

/// How a session is encrypted and what is checked, resolved from the string,
/// the environment and libpq's default files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TlsSettings {
    pub mode: SslMode,
    /// `None`: the server's certificate is not checked (`prefer`/`require`
    /// without any root certificate, as libpq does).
    pub roots: Option<Roots>,
    /// A client certificate and its key.
    pub client: Option<(PathBuf, PathBuf)>,
}

impl TlsSettings {
    /// `sslrootcert=…` as messages name it.
    pub fn roots_setting(&self) -> String {
        match &self.roots {
            Some(Roots::File(path)) => format!("sslrootcert={}", path.display()),
            Some(Roots::System) => "sslrootcert=system".to_string(),
            None => "no sslrootcert".to_string(),
        }
    }
}

/// libpq's rules: the string wins, then `PGSSLMODE`, `PGSSLROOTCERT`,
/// `PGSSLCERT`, `PGSSLKEY`, then `prefer` and the files under
/// `~/.postgresql` that exist.
pub(crate) fn tls_settings(ours: &Ours, env: &Env) -> Result<TlsSettings, String> {
    let mode = SslMode::parse(&env.or(&ours.sslmode, "PGSSLMODE").unwrap_or_else(|| "prefer".to_string()))?;
    let roots = roots(mode, env.or(&ours.sslrootcert, "PGSSLROOTCERT"), env)?;
    let client = client_cert(env.or(&ours.sslcert, "PGSSLCERT"), env.or(&ours.sslkey, "PGSSLKEY"), env)?;
    Ok(TlsSettings { mode, roots, client })
}

fn roots(mode: SslMode, given: Option<String>, env: &Env) -> Result<Option<Roots>, String> {
    match given.as_deref() {
        // libpq 16 refuses `system` with a weaker mode: the system store
        // trusts every public CA, so only the host name check makes it safe.
        Some("system") if mode != SslMode::VerifyFull && mode != SslMode::Disable => Err(format!(
            "sslrootcert=system needs sslmode=verify-full (sslmode is {}): any public CA would do otherwise",
            mode.name()
        )),
        Some("system") => Ok(Some(Roots::System)),
        // An explicit file must exist (libpq ignores a missing one below
        // verify-ca; a CA named and silently not checked is worse).
        Some(file) => Ok(Some(Roots::File(PathBuf::from(file)))),
        None => default_roots(mode, env),
    }
}

fn default_roots(mode: SslMode, env: &Env) -> Result<Option<Roots>, String> {
    let default = env.postgresql_dir().map(|dir| dir.join("root.crt"));
    match default {
        Some(file) if file.is_file() => Ok(Some(Roots::File(file))),
        _ if mode.verifies() => Err(format!(
            "sslmode={} needs root certificates to check the server's with, and {} does not exist: \
             set sslrootcert=FILE, or sslrootcert=system with sslmode=verify-full",
            mode.name(),
            default.map_or("~/.postgresql/root.crt".to_string(), |file| file.display().to_string())
        )),
        _ => Ok(None),
    }
}

/// The client certificate and key: both given, or libpq's default files
/// when the certificate's exists.
fn client_cert(
    cert: Option<String>,
    key: Option<String>,
    env: &Env,
) -> Result<Option<(PathBuf, PathBuf)>, String> {
    let dir = env.postgresql_dir();
    let cert = match cert {
        Some(cert) => PathBuf::from(cert),
        None => match dir.as_ref().map(|dir| dir.join("postgresql.crt")) {
            Some(cert) if cert.is_file() => cert,
            _ => return Ok(None),
        },
    };
    let key = key.map(PathBuf::from).or_else(|| dir.map(|dir| dir.join("postgresql.key")));
    match key {
        Some(key) => Ok(Some((cert, key))),
        None => Err(format!("sslcert={} needs a key: set sslkey=FILE", cert.display())),
    }
}

/// The password file: `passfile=`, else `PGPASSFILE`, else the default.
pub(crate) fn passfile(ours: &Ours, env: &Env) -> Option<PathBuf> {
    env.or(&ours.passfile, "PGPASSFILE").map(PathBuf::from).or_else(|| env.default_passfile())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::database::DatabaseUrl;
    use std::collections::HashMap;

    fn env(vars: &[(&str, &str)]) -> Env {
        let vars: HashMap<String, String> =
            vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Env::new(move |name| vars.get(name).cloned())
    }

    fn split_text(text: &str) -> (String, Ours) {
        let DatabaseUrl::Postgres(url) = DatabaseUrl::parse(text).unwrap() else { panic!("{text}") };
        split(&url, &env(&[])).unwrap()
    }

    #[test]
    fn key_values_read_like_libpq() {
        let pairs = key_values(r" host = db  password='a \'b\' \\ c' user=x\ y dbname=").unwrap();
        let read: Vec<(&str, &str)> = pairs.iter().map(|p| (p.key.as_str(), p.value.as_str())).collect();
        assert_eq!(read, [("host", "db"), ("password", r"a 'b' \ c"), ("user", "x y"), ("dbname", "")]);
        assert!(looks_like_key_values("dbname = x"));
        for not in ["postgres://h", "sqlite:x", "x", "=x", "my db=x"] {
            assert!(!looks_like_key_values(not), "{not}");
        }
        assert_eq!(quote(r"it's \"), r"'it\'s \\'");
    }

    #[test]
    fn our_parameters_are_taken_out_of_either_form() {
        let (driver, ours) =
            split_text("postgres://u:p@h/d?sslmode=verify-full&sslrootcert=%2Fca.pem&connect_timeout=3");
        assert_eq!(driver, "postgres://u:p@h/d?connect_timeout=3");
        assert_eq!(ours.sslmode.as_deref(), Some("verify-full"));
        assert_eq!(ours.sslrootcert.as_deref(), Some("/ca.pem"));
        let DatabaseUrl::Postgres(url) = DatabaseUrl::parse("postgres://u:p@a,b:2,[::1]/d").unwrap() else {
            panic!()
        };
        let (driver, _) = split(&url, &env(&[("PGPORT", "7")])).unwrap();
        assert_eq!(driver, "postgres://u:p@a:7,b:2,[::1]:7/d");
        assert!(split(&url, &env(&[("PGPORT", "x")])).unwrap_err().contains("invalid PGPORT `x`"));
        let (driver, ours) = split_text("postgresql://?passfile=/x");
        assert_eq!((driver.as_str(), ours.passfile.as_deref()), ("postgresql://", Some("/x")));
        let (driver, ours) = split_text(r"host=h password='a b\'' sslmode=require sslcert=/c");
        assert_eq!(driver, r"host='h' password='a b\''");
        assert_eq!((ours.sslmode.as_deref(), ours.sslcert.as_deref()), (Some("require"), Some("/c")));
    }

    #[test]
    fn tls_settings_follow_libpq() {
        let home = tempfile::tempdir().unwrap();
        let home_var = home.path().to_str().unwrap();
        let ours = |mode: &str| Ours { sslmode: Some(mode.to_string()), ..Ours::default() };
        let plain = tls_settings(&Ours::default(), &env(&[("HOME", home_var)])).unwrap();
        assert_eq!((plain.mode, plain.roots, plain.client), (SslMode::Prefer, None, None));
        let from_env = env(&[("HOME", home_var), ("PGSSLMODE", "require"), ("PGSSLROOTCERT", "/ca")]);
        assert_eq!(tls_settings(&Ours::default(), &from_env).unwrap().mode, SslMode::Require);
        assert_eq!(tls_settings(&ours("disable"), &from_env).unwrap().mode, SslMode::Disable);
        let error = tls_settings(&ours("verify-ca"), &env(&[("HOME", home_var)])).unwrap_err();
        assert!(error.contains("root.crt does not exist") && error.contains(home_var), "{error}");
        let error = tls_settings(&ours("require"), &env(&[("PGSSLROOTCERT", "system")])).unwrap_err();
        assert!(error.contains("needs sslmode=verify-full"), "{error}");
        assert!(tls_settings(&ours("nope"), &env(&[])).unwrap_err().contains("invalid sslmode `nope`"));

        std::fs::create_dir(home.path().join(".postgresql")).unwrap();
        for file in ["root.crt", "postgresql.crt"] {
            std::fs::write(home.path().join(".postgresql").join(file), "").unwrap();
        }
        let defaults = tls_settings(&ours("verify-ca"), &env(&[("HOME", home_var)])).unwrap();
        let dir = home.path().join(".postgresql");
        assert_eq!(defaults.roots, Some(Roots::File(dir.join("root.crt"))));
        assert_eq!(defaults.client, Some((dir.join("postgresql.crt"), dir.join("postgresql.key"))));
    }

    #[test]
    fn the_password_file_is_given_then_from_the_environment_then_default() {
        let given = Ours { passfile: Some("/given".to_string()), ..Ours::default() };
        let vars = env(&[("PGPASSFILE", "/env"), ("HOME", "/home/me")]);
        assert_eq!(passfile(&given, &vars), Some(PathBuf::from("/given")));
        assert_eq!(passfile(&Ours::default(), &vars), Some(PathBuf::from("/env")));
        let default =
            passfile(&Ours::default(), &env(&[("HOME", "/home/me"), ("APPDATA", "/data")])).unwrap();
        assert!(default.ends_with(if cfg!(windows) { "pgpass.conf" } else { ".pgpass" }));
        assert_eq!(percent_decode("a%40b%zz%"), "a@b%zz%");
    }
}
