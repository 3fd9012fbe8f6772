//! Opening a PostgreSQL session the way libpq would: the connection string
//! (URL or `key=value`) read by the driver's own parser, the parameters it
//! does not know handled here, `PG*` variables for what the string leaves
//! out, the password file, TLS per `sslmode`.
//!
//! Defaults where neither string nor environment says: host `localhost`
//! (libpq uses its Unix socket folder, which differs between builds; TCP to
//! `localhost` is the same everywhere and can use TLS), port 5432, user the
//! OS user, database the user's name.

use super::describe;
use super::tls;
use crate::database::libpq::{self, Env, Ours, SslMode, TlsSettings};
use crate::database::pgpass::{self, Key, Lookup};
use crate::database::url::PostgresUrl;
use std::error::Error as _;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;
use tokio_postgres::config::{Host, SslMode as DriverMode};
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, Config};
use tokio_postgres_rustls::MakeRustlsConnect;

/// The task that drives a session's socket; it ends with the session.
pub(crate) type Connection = Pin<Box<dyn Future<Output = Result<(), tokio_postgres::Error>> + Send>>;

/// Everything a connection needs, resolved. Holds the password: no `Debug`.
pub(crate) struct Target {
    config: Config,
    tls: TlsSettings,
    connector: MakeRustlsConnect,
    /// Why no password was found, said if the server then wants one.
    notes: Vec<String>,
}

/// The driver's reading of `url` (without our parameters, with `PGPORT`
/// for hosts without a port): the URL's own problems.
pub(crate) fn parse(url: &PostgresUrl, env: &Env) -> Result<(Config, Ours), String> {
    let (text, ours) = libpq::split(url, env)?;
    let config = text.parse::<Config>().map_err(|e| describe(&e))?;
    Ok((config, ours))
}

/// `config` completed from `env`, the password file and the TLS settings;
/// `application_name` is used when neither the string nor `PGAPPNAME` names
/// one (libpq's `fallback_application_name`).
pub(crate) fn resolve(
    mut config: Config,
    ours: &Ours,
    env: &Env,
    application_name: &str,
) -> Result<Target, String> {
    apply_environment(&mut config, env)?;
    if config.get_application_name().is_none() {
        config.application_name(env.get("PGAPPNAME").as_deref().unwrap_or(application_name));
    }
    let notes = apply_password_file(&mut config, ours, env);
    let tls = libpq::tls_settings(ours, env)?;
    let connector = tls::connector(&tls)?;
    Ok(Target { config, tls, connector, notes })
}

/// `PGHOST`, `PGPORT`, `PGUSER`, `PGDATABASE`, `PGPASSWORD`,
/// `PGCONNECT_TIMEOUT` for what the string does not set, then the defaults.
fn apply_environment(config: &mut Config, env: &Env) -> Result<(), String> {
    if config.get_hosts().is_empty() && config.get_hostaddrs().is_empty() {
        let hosts = env.get("PGHOST").unwrap_or_else(|| "localhost".to_string());
        for host in hosts.split(',') {
            config.host(host.trim());
        }
    }
    if config.get_ports().is_empty() {
        for port in env.get("PGPORT").iter().flat_map(|ports| ports.split(',')) {
            config.port(
                port.trim()
                    .parse()
                    .map_err(|_| format!("invalid PGPORT `{port}`: expected a port number"))?,
            );
        }
    }
    if config.get_user().is_none() {
        let user = env.get("PGUSER").or_else(|| env.os_user());
        config.user(user.ok_or("no user name: give one in the URL (`user=`) or in PGUSER")?);
    }
    if config.get_dbname().is_none() {
        let database = env.get("PGDATABASE").or_else(|| config.get_user().map(str::to_string));
        config.dbname(database.unwrap_or_default());
    }
    if config.get_password().is_none() {
        if let Some(password) = env.get("PGPASSWORD") {
            config.password(password);
        }
    }
    if config.get_connect_timeout().is_none() {
        apply_connect_timeout(config, env)?;
    }
    Ok(())
}

/// libpq reads `PGCONNECT_TIMEOUT` as whole seconds, 0 or less meaning
/// none and anything below 2 meaning 2.
fn apply_connect_timeout(config: &mut Config, env: &Env) -> Result<(), String> {
    let Some(text) = env.get("PGCONNECT_TIMEOUT") else { return Ok(()) };
    let seconds: i64 =
        text.trim().parse().map_err(|_| format!("invalid PGCONNECT_TIMEOUT `{text}`: expected seconds"))?;
    if seconds > 0 {
        config.connect_timeout(Duration::from_secs(seconds.max(2) as u64));
    }
    Ok(())
}

/// The password of the password file's first matching line, when there is
/// no other; notes why the file was not read if it was not.
fn apply_password_file(config: &mut Config, ours: &Ours, env: &Env) -> Vec<String> {
    let Some(path) = libpq::passfile(ours, env).filter(|_| config.get_password().is_none()) else {
        return Vec::new();
    };
    let host = first_host(config);
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let (database, user) = (config.get_dbname().unwrap_or(""), config.get_user().unwrap_or(""));
    match pgpass::password(&path, &Key { host: &host, port, database, user }) {
        Lookup::Found(password) => {
            config.password(password);
            Vec::new()
        }
        Lookup::NotFound => Vec::new(),
        Lookup::Ignored(note) => vec![note],
    }
}

/// The first host as libpq names it: a name, an address, or a socket folder.
fn first_host(config: &Config) -> String {
    match config.get_hosts().first() {
        Some(Host::Tcp(host)) => host.clone(),
        #[cfg(unix)]
        Some(Host::Unix(path)) => path.display().to_string(),
        None => config.get_hostaddrs().first().map(ToString::to_string).unwrap_or_default(),
    }
}

/// Connects; under `prefer` a session TLS could not set up (a handshake
/// error, or the server refusing it) is tried again in plain text, under
/// `allow` a plain one the server refused is tried again with TLS, as
/// libpq does.
pub(crate) async fn connect(target: &Target) -> Result<(Client, Connection), String> {
    let (first, second) = match target.tls.mode {
        SslMode::Disable => (DriverMode::Disable, None),
        SslMode::Allow => (DriverMode::Disable, Some(DriverMode::Require)),
        SslMode::Prefer => (DriverMode::Prefer, Some(DriverMode::Disable)),
        SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => (DriverMode::Require, None),
    };
    let error = match attempt(target, first).await {
        Ok(session) => return Ok(session),
        Err(error) => error,
    };
    let Some(second) = second.filter(|_| worth_another_try(&error)) else {
        return Err(explain(&error, target, first));
    };
    attempt(target, second).await.map_err(|again| {
        format!(
            "{}; tried again {}: {}",
            explain(&error, target, first),
            kind(second),
            explain(&again, target, second)
        )
    })
}

async fn attempt(target: &Target, mode: DriverMode) -> Result<(Client, Connection), tokio_postgres::Error> {
    let mut config = target.config.clone();
    config.ssl_mode(mode);
    let (client, connection) = config.connect(target.connector.clone()).await?;
    Ok((client, Box::pin(connection)))
}

fn kind(mode: DriverMode) -> &'static str {
    match mode {
        DriverMode::Disable => "without TLS",
        _ => "with TLS",
    }
}

/// A handshake that failed, or a server that refused the session
/// (authentication or `pg_hba.conf`): the other kind of session may do.
fn worth_another_try(error: &tokio_postgres::Error) -> bool {
    cause::<rustls::Error>(error).is_some() || is_refusal(error)
}

/// SQLSTATE class 28: `pg_hba.conf` rejected the session or a password was
/// wrong.
fn is_refusal(error: &tokio_postgres::Error) -> bool {
    error.code().is_some_and(|code| code.code().starts_with("28"))
}

/// The driver's error in words that name the setting at fault.
fn explain(error: &tokio_postgres::Error, target: &Target, mode: DriverMode) -> String {
    // The driver's own words hold its cause; its `Display` does not.
    let words = describe(error);
    let mut text = match cause::<rustls::Error>(error) {
        Some(tls_error) => tls::explain(tls_error, &target.tls, &first_host(&target.config)),
        None if words.contains("server does not support TLS") => format!(
            "the server does not accept TLS connections, which sslmode={} needs",
            target.tls.mode.name()
        ),
        None if words.contains("password missing") => {
            "the server wants a password and none was given (in the URL, PGPASSWORD or a password file)"
                .to_string()
        }
        None => words.clone(),
    };
    if mode == DriverMode::Disable && is_refusal(error) && error.code() != Some(&SqlState::INVALID_PASSWORD) {
        text += "; this session was not encrypted: the server may accept only TLS sessions (sslmode=require)";
    }
    if error.code() == Some(&SqlState::INVALID_PASSWORD) || words.contains("password missing") {
        target.notes.iter().for_each(|note| text += &format!("; {note}"));
    }
    text
}

/// The first error of type `T` among `error`'s causes, looking inside
/// `io::Error`s too (their `source()` skips the error they wrap).
fn cause<T: std::error::Error + 'static>(error: &tokio_postgres::Error) -> Option<&T> {
    let mut next: Option<&(dyn std::error::Error + 'static)> = error.source();
    while let Some(current) = next {
        if let Some(found) = current.downcast_ref::<T>() {
            return Some(found);
        }
        next = match current.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => current.source(),
        };
    }
    None
}

/// Cancels whatever `client` is running, as psql's Ctrl-C does: a cancel
/// request on a new socket (TLS as the session negotiated it), sent from
/// the calling thread, which may be a signal handler's: it gets a runtime
/// of its own. Best effort: a request that cannot be sent changes nothing.
pub(crate) fn canceller(client: &Client, target: &Target) -> impl Fn() + Send + Sync + 'static {
    let token = client.cancel_token();
    let connector = target.connector.clone();
    move || {
        if let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() {
            let _ = runtime.block_on(token.cancel_query(connector.clone()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::database::DatabaseUrl;
    use std::collections::HashMap;

    fn resolved(text: &str, vars: &[(&str, &str)]) -> Result<Config, String> {
        let DatabaseUrl::Postgres(url) = DatabaseUrl::parse(text).unwrap() else { panic!("{text}") };
        let vars: HashMap<String, String> =
            vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let env = Env::new(move |name| vars.get(name).cloned());
        let (config, ours) = parse(&url, &env)?;
        resolve(config, &ours, &env, "fallback").map(|target| target.config)
    }

    #[test]
    fn the_string_wins_over_the_environment_which_wins_over_defaults() {
        let vars = [
            ("PGHOST", "envhost"),
            ("PGPORT", "6543"),
            ("PGUSER", "envuser"),
            ("PGDATABASE", "envdb"),
            ("PGPASSWORD", "envpw"),
            ("PGAPPNAME", "envapp"),
            ("PGCONNECT_TIMEOUT", "1"),
        ];
        let config = resolved("postgresql://", &vars).unwrap();
        assert_eq!(config.get_hosts(), [Host::Tcp("envhost".to_string())]);
        assert_eq!(config.get_ports(), [6543]);
        assert_eq!((config.get_user(), config.get_dbname()), (Some("envuser"), Some("envdb")));
        assert_eq!(config.get_password(), Some(&b"envpw"[..]));
        assert_eq!(config.get_application_name(), Some("envapp"));
        assert_eq!(config.get_connect_timeout(), Some(&Duration::from_secs(2)));

        let config = resolved("host=h port=1 user=u dbname=d password=p application_name=a", &vars).unwrap();
        assert_eq!(config.get_hosts(), [Host::Tcp("h".to_string())]);
        assert_eq!(
            (config.get_ports(), config.get_user(), config.get_dbname()),
            (&[1][..], Some("u"), Some("d"))
        );
        assert_eq!((config.get_password(), config.get_application_name()), (Some(&b"p"[..]), Some("a")));

        let config = resolved("postgres://", &[("USER", "me")]).unwrap();
        assert_eq!(config.get_hosts(), [Host::Tcp("localhost".to_string())]);
        assert_eq!((config.get_user(), config.get_dbname()), (Some("me"), Some("me")));
        assert_eq!(config.get_application_name(), Some("fallback"));
        assert!(config.get_ports().is_empty(), "the driver's default, 5432");
    }

    #[test]
    fn settings_that_cannot_be_used_are_named() {
        type Vars = &'static [(&'static str, &'static str)];
        let cases: [(&str, Vars, &str); 4] = [
            ("postgresql://", &[], "no user name"),
            ("postgresql://u@h", &[("PGPORT", "x")], "invalid PGPORT `x`"),
            (
                "postgres://u@h/d?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem",
                &[],
                "cannot read sslrootcert=/nonexistent/ca.pem",
            ),
            ("host=h user=u sslmode=sometimes", &[], "invalid sslmode `sometimes`"),
        ];
        for (text, vars, expected) in cases {
            let error = resolved(text, vars).err().unwrap_or_else(|| panic!("{text} resolved"));
            assert!(error.contains(expected), "{text}: {error}");
        }
    }
}
