//! Connections to a real PostgreSQL server, the way production reaches one:
//! TLS per `sslmode`, certificates checked or not, client certificates,
//! `pg_hba.conf` rules that want TLS, `PG*` variables, password files,
//! `key=value` strings, and passwords that never show in any message.
//!
//! A throw-away server of its own serves TLS with certificates made here
//! (a CA, a server certificate for `localhost` and 127.0.0.1, a client
//! certificate); the shared server of `test_server` has TLS off. Outside
//! CI, a machine without PostgreSQL skips; under `CI` it fails. Variables
//! are injected through `Connector::environment`, never set on the process.

use migrate_runtime::database::{ConnectError, Connector, Database, DatabaseUrl, PostgresConnection};
use migrate_runtime::testing::{ServerError, ThrowawayServer};
use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The role's password: `@`, `:`, `/` and `%` all need care in a URL.
const PASSWORD: &str = "p@ss:w/rd%1";
const ENCODED: &str = "p%40ss%3Aw%2Frd%251";

/// The TLS server and the files the tests point at.
struct Fixture {
    server: ThrowawayServer,
    files: PathBuf,
}

impl Fixture {
    fn file(&self, name: &str) -> String {
        self.files.join(name).display().to_string()
    }

    /// `postgres://USER:PASSWORD@HOST:PORT/postgres?PARAMETERS`.
    fn url(&self, user: &str, host: &str, parameters: &str) -> String {
        format!("postgres://{user}:{ENCODED}@{host}:{}/postgres?{parameters}", self.server.port())
    }
}

/// The shared TLS server, or `None` where PostgreSQL is not installed
/// (outside CI only).
fn fixture() -> Option<&'static Fixture> {
    static FIXTURE: OnceLock<Option<Fixture>> = OnceLock::new();
    FIXTURE.get_or_init(start).as_ref()
}

fn start() -> Option<Fixture> {
    let files = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("connections-{}", std::process::id()));
    std::fs::create_dir_all(&files).expect("a folder for the certificates");
    let (ca, ca_key) = certificate_authority("test CA");
    std::fs::write(files.join("ca.crt"), ca.pem()).unwrap();
    std::fs::write(files.join("other-ca.crt"), certificate_authority("unknown CA").0.pem()).unwrap();
    let issuer = Issuer::new(ca_params("test CA"), ca_key);
    let (server_cert, server_key) =
        leaf(&issuer, &["localhost", "127.0.0.1"], "server", ExtendedKeyUsagePurpose::ServerAuth);
    let (client_cert, client_key) = leaf(&issuer, &[], "certuser", ExtendedKeyUsagePurpose::ClientAuth);
    std::fs::write(files.join("client.crt"), client_cert).unwrap();
    write_private(&files.join("client.key"), &client_key);
    let started = ThrowawayServer::builder()
        .tls(&server_cert, &server_key)
        .client_ca(&ca.pem())
        .hba_rule("hostssl all certuser 127.0.0.1/32 cert")
        .hba_rule("hostnossl all sslonly 0.0.0.0/0 reject")
        .hba_rule("host all app,sslonly 127.0.0.1/32 scram-sha-256")
        .start();
    let server = match started {
        Ok(server) => server,
        Err(error @ (ServerError::NotInstalled | ServerError::Root { .. })) if !in_ci() => {
            eprintln!("skipped: {error}");
            return None;
        }
        Err(error) => panic!("{error}"),
    };
    let setup = format!(
        // PostgreSQL 13 stores md5 by default; the roles log in by scram.
        "SET password_encryption = 'scram-sha-256'; CREATE ROLE app LOGIN PASSWORD '{PASSWORD}'; CREATE ROLE sslonly LOGIN PASSWORD '{PASSWORD}'; \
         CREATE ROLE certuser LOGIN;"
    );
    let admin = open(&server.url(), &[]).expect("the superuser connects");
    admin.block_on(admin.client().batch_execute(&setup)).expect("the test roles");
    Some(Fixture { server, files })
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| !matches!(value.as_str(), "" | "0" | "false"))
}

fn ca_params(name: &str) -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params
}

fn certificate_authority(name: &str) -> (rcgen::Certificate, KeyPair) {
    let key = KeyPair::generate().unwrap();
    (ca_params(name).self_signed(&key).unwrap(), key)
}

/// A certificate (PEM) signed by `issuer` and its key (PEM).
fn leaf(
    issuer: &Issuer<'_, KeyPair>,
    names: &[&str],
    common_name: &str,
    usage: ExtendedKeyUsagePurpose,
) -> (String, String) {
    let mut params =
        CertificateParams::new(names.iter().map(ToString::to_string).collect::<Vec<_>>()).unwrap();
    params.distinguished_name.push(DnType::CommonName, common_name);
    params.extended_key_usages = vec![usage];
    let key = KeyPair::generate().unwrap();
    (params.signed_by(&key, issuer).unwrap().pem(), key.serialize_pem())
}

/// `text` in a file only its owner may read (0600).
fn write_private(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    set_mode(path, 0o600);
}

fn set_mode(path: &Path, mode: u32) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
}

/// Opens `url` with exactly the variables `vars` (and a `HOME` of its own
/// without any `~/.postgresql` or `~/.pgpass`, unless `vars` gives one).
fn open(url: &str, vars: &[(&str, &str)]) -> Result<PostgresConnection, ConnectError> {
    let home = std::env::temp_dir().join("migrate-connections-empty-home");
    let mut vars: HashMap<String, String> =
        vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    vars.entry("HOME".to_string()).or_insert_with(|| home.display().to_string());
    let parsed = DatabaseUrl::parse(url).unwrap_or_else(|e| panic!("{e}"));
    let connector = Connector::default().environment(move |name| vars.get(name).cloned());
    match connector.open(&parsed)? {
        Database::Postgres(connection) => Ok(connection),
        #[allow(unreachable_patterns)]
        _ => panic!("{parsed} opened something else than PostgreSQL"),
    }
}

/// One value of the first row of `sql`, as text.
fn query(connection: &PostgresConnection, sql: &str) -> String {
    let row = connection.block_on(connection.client().query_one(sql, &[])).unwrap_or_else(|e| panic!("{e}"));
    row.get::<usize, String>(0)
}

/// Whether this session is encrypted, as the server sees it.
fn encrypted(connection: &PostgresConnection) -> bool {
    query(connection, "SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()") == "true"
}

fn connect_encrypted(url: &str, vars: &[(&str, &str)]) -> bool {
    encrypted(&open(url, vars).unwrap_or_else(|e| panic!("{url}: {e}")))
}

/// The error opening `url`, as the CLI would print it (`{:#}`-like: the
/// message and its sources).
fn failure(url: &str, vars: &[(&str, &str)]) -> String {
    let Err(error) = open(url, vars) else { panic!("{url} connected") };
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text += &format!(": {cause}");
        source = cause.source();
    }
    assert!(!text.contains(PASSWORD) && !text.contains(ENCODED), "the password shows: {text}");
    text
}

#[test]
fn require_encrypts_disable_does_not() {
    let Some(fx) = fixture() else { return };
    assert!(connect_encrypted(&fx.url("app", "127.0.0.1", "sslmode=require"), &[]));
    assert!(!connect_encrypted(&fx.url("app", "127.0.0.1", "sslmode=disable"), &[]));
    let port = fx.server.port();
    let key_values = format!("host=127.0.0.1 port={port} user=app password='{PASSWORD}' dbname=postgres");
    assert!(connect_encrypted(&format!("{key_values} sslmode=require"), &[]));
    assert!(!connect_encrypted(&format!("{key_values} sslmode = 'disable'"), &[]));
}

#[test]
fn prefer_uses_tls_when_the_server_offers_it() {
    let Some(fx) = fixture() else { return };
    assert!(connect_encrypted(&fx.url("app", "127.0.0.1", ""), &[]), "prefer is the default");
    assert!(connect_encrypted(&fx.url("app", "127.0.0.1", "sslmode=prefer"), &[]));
    let plain = migrate_runtime::testing::test_server().expect("the shared server").expect("it runs");
    assert!(!connect_encrypted(&format!("{plain}?sslmode=prefer"), &[]), "the shared server has TLS off");
    let error = failure(&format!("{plain}?sslmode=require"), &[]);
    assert!(
        error.contains("the server does not accept TLS connections, which sslmode=require needs"),
        "{error}"
    );
}

#[test]
fn verify_full_checks_chain_and_host_name() {
    let Some(fx) = fixture() else { return };
    let ca = fx.file("ca.crt");
    for host in ["localhost", "127.0.0.1"] {
        assert!(connect_encrypted(
            &fx.url("app", host, &format!("sslmode=verify-full&sslrootcert={ca}")),
            &[]
        ));
    }
    let port = fx.server.port();
    let wrong_name = format!(
        "host=wrong.example hostaddr=127.0.0.1 port={port} user=app password='{PASSWORD}' dbname=postgres \
         sslrootcert={ca}"
    );
    let error = failure(&format!("{wrong_name} sslmode=verify-full"), &[]);
    assert!(error.contains("the server's certificate is not valid for host `wrong.example`"), "{error}");
    assert!(error.contains("host=wrong.example") && error.contains("password=***"), "{error}");
    assert!(connect_encrypted(&format!("{wrong_name} sslmode=verify-ca"), &[]), "verify-ca ignores the name");
}

#[test]
fn an_unknown_authority_is_refused() {
    let Some(fx) = fixture() else { return };
    let other = fx.file("other-ca.crt");
    let expected =
        format!("the server's certificate is not signed by a trusted authority (sslrootcert={other})");
    // `require` with root certificates checks the chain, as libpq does.
    for mode in ["verify-full", "verify-ca", "require"] {
        let error = failure(&fx.url("app", "localhost", &format!("sslmode={mode}&sslrootcert={other}")), &[]);
        assert!(error.contains(&expected), "{mode}: {error}");
    }
    // From the environment, and libpq's default file in `HOME`.
    let error = failure(&fx.url("app", "localhost", "sslmode=verify-ca"), &[("PGSSLROOTCERT", &other)]);
    assert!(error.contains(&expected), "{error}");
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir(home.path().join(".postgresql")).unwrap();
    std::fs::copy(&other, home.path().join(".postgresql/root.crt")).unwrap();
    let home_var = home.path().to_str().unwrap();
    let error = failure(&fx.url("app", "localhost", "sslmode=require"), &[("HOME", home_var)]);
    assert!(error.contains("not signed by a trusted authority"), "{error}");
}

#[test]
fn missing_certificate_files_are_named() {
    let Some(fx) = fixture() else { return };
    let home = tempfile::tempdir().unwrap();
    let home_var = home.path().to_str().unwrap();
    let error = failure(&fx.url("app", "localhost", "sslmode=verify-full"), &[("HOME", home_var)]);
    let default = home.path().join(".postgresql").join("root.crt");
    assert!(error.contains(&format!("{} does not exist", default.display())), "{error}");
    let error =
        failure(&fx.url("app", "localhost", "sslmode=verify-ca&sslrootcert=/nonexistent/ca.pem"), &[]);
    assert!(error.contains("cannot read sslrootcert=/nonexistent/ca.pem"), "{error}");
    let error = failure(
        &fx.url("certuser", "localhost", "sslmode=require&sslcert=/nonexistent/c.crt&sslkey=/k"),
        &[],
    );
    assert!(error.contains("cannot read sslcert=/nonexistent/c.crt"), "{error}");
}

#[test]
fn a_tls_only_rule_refuses_plain_sessions() {
    let Some(fx) = fixture() else { return };
    let error = failure(&fx.url("sslonly", "127.0.0.1", "sslmode=disable"), &[]);
    // PostgreSQL 13 says "SSL off", later versions "no encryption".
    let plain = error.contains("no encryption") || error.contains("SSL off");
    assert!(error.contains("rejects connection") && plain, "{error}");
    assert!(error.contains("the server may accept only TLS sessions (sslmode=require)"), "{error}");
    assert!(connect_encrypted(&fx.url("sslonly", "127.0.0.1", "sslmode=prefer"), &[]));
    assert!(
        connect_encrypted(&fx.url("sslonly", "127.0.0.1", "sslmode=allow"), &[]),
        "allow retries with TLS"
    );
}

#[test]
fn client_certificates_authenticate() {
    let Some(fx) = fixture() else { return };
    let port = fx.server.port();
    let (cert, key) = (fx.file("client.crt"), fx.file("client.key"));
    let url = format!("host=localhost port={port} user=certuser dbname=postgres sslmode=verify-full");
    let vars = [("PGSSLROOTCERT", fx.file("ca.crt")), ("PGSSLCERT", cert.clone()), ("PGSSLKEY", key.clone())];
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let connection = open(&url, &vars).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(query(&connection, "SELECT current_user::text"), "certuser");
    assert!(encrypted(&connection));
    let error = failure(&format!("{url} sslrootcert={}", fx.file("ca.crt")), &[]);
    assert!(error.contains("certificate"), "without a client certificate: {error}");
}

#[test]
fn the_environment_fills_what_the_string_leaves_out() {
    let Some(fx) = fixture() else { return };
    let port = fx.server.port().to_string();
    let vars = [
        ("PGHOST", "127.0.0.1"),
        ("PGPORT", port.as_str()),
        ("PGUSER", "app"),
        ("PGPASSWORD", PASSWORD),
        ("PGDATABASE", "postgres"),
        ("PGSSLMODE", "require"),
        ("PGAPPNAME", "from-env"),
        ("PGCONNECT_TIMEOUT", "5"),
    ];
    let connection = open("postgresql://", &vars).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(query(&connection, "SELECT current_user::text"), "app");
    assert_eq!(query(&connection, "SELECT current_setting('application_name')"), "from-env");
    assert!(encrypted(&connection));

    // The string wins over every variable it sets.
    let url = fx.url("app", "127.0.0.1", "sslmode=disable&application_name=from-url");
    let wrong = [("PGUSER", "nobody"), ("PGPASSWORD", "wrong"), ("PGPORT", "1"), ("PGSSLMODE", "require")];
    let connection = open(&url, &[&vars[..], &wrong].concat()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(query(&connection, "SELECT current_user::text"), "app");
    assert_eq!(query(&connection, "SELECT current_setting('application_name')"), "from-url");
    assert!(!encrypted(&connection));
}

#[test]
fn the_password_file_supplies_the_password() {
    let Some(fx) = fixture() else { return };
    let port = fx.server.port();
    let dir = tempfile::tempdir().unwrap();
    let passfile = dir.path().join("pgpass");
    let escaped = PASSWORD.replace('\\', r"\\").replace(':', r"\:");
    let text = format!("# test\n127.0.0.1:{port}:postgres:nobody:x\n127.0.0.1:*:*:app:{escaped}\n");
    write_private(&passfile, &text);
    let shown = passfile.display().to_string();
    let url = format!("host=127.0.0.1 port={port} user=app dbname=postgres");
    assert!(!connect_encrypted(&format!("{url} sslmode=disable passfile='{shown}'"), &[]));
    assert!(connect_encrypted(
        &format!("postgres://app@127.0.0.1:{port}/postgres"),
        &[("PGPASSFILE", &shown)]
    ));
    let home = dir.path().to_str().unwrap();
    std::fs::copy(&passfile, dir.path().join(".pgpass")).unwrap();
    set_mode(&dir.path().join(".pgpass"), 0o600);
    assert!(connect_encrypted(&url, &[("HOME", home)]), "~/.pgpass by default");

    set_mode(&passfile, 0o644);
    let error = failure(&format!("{url} passfile='{shown}'"), &[]);
    assert!(error.contains("the server wants a password and none was given"), "{error}");
    assert!(
        error.contains(&format!("{shown} was ignored: permissions 0644 should be 0600 or less")),
        "{error}"
    );
}

#[test]
fn no_message_shows_the_password() {
    let Some(fx) = fixture() else { return };
    let port = fx.server.port();
    let forms = [
        fx.url("app", "127.0.0.1", "sslmode=require"),
        format!("postgres://app@127.0.0.1:{port}/postgres?password={ENCODED}"),
        format!("host=127.0.0.1 port={port} user=app password={PASSWORD} dbname=postgres"),
        format!("host=127.0.0.1 port={port} user=app password = '{PASSWORD}' dbname=postgres"),
    ];
    for form in &forms {
        let url = DatabaseUrl::parse(form).unwrap_or_else(|e| panic!("{e}"));
        let shown = format!("{url} {url:?}");
        assert!(!shown.contains(PASSWORD) && !shown.contains(ENCODED) && shown.contains("***"), "{shown}");
    }
    // A bad URL: the password's `@` unencoded.
    let error = DatabaseUrl::parse(&format!("postgres://app:{PASSWORD}@127.0.0.1/postgres")).unwrap_err();
    assert!(!error.to_string().contains("rd%1") && error.to_string().contains("percent-encode"), "{error}");
    let error = DatabaseUrl::parse(&format!("host=h password='{PASSWORD}")).unwrap_err().to_string();
    assert!(!error.contains("rd%1") && error.contains("password=***"), "{error}");
    // A wrong password, a wrong host name, an unknown authority: `failure`
    // checks each message.
    let wrong = format!("host=127.0.0.1 port={port} user=app dbname=postgres password='{PASSWORD}x'");
    assert!(failure(&wrong, &[]).contains("password authentication failed"));
    let ca = fx.file("other-ca.crt");
    failure(&format!("{} sslmode=verify-full sslrootcert={ca}", forms[2]), &[]);
    let name = forms[2].replace("host=127.0.0.1", "host=wrong.example hostaddr=127.0.0.1");
    failure(&format!("{name} sslmode=verify-full sslrootcert={}", fx.file("ca.crt")), &[]);
}
