//! A throw-away PostgreSQL server started from the local PostgreSQL binaries,
//! for tests, `cargo migrate walk`/`check` and benchmarks.
//!
//! [`ThrowawayServer::start`] finds `initdb` and `pg_ctl` (the folder
//! `MIGRATE_TEST_POSTGRES_BIN` names, else the newest
//! `/usr/lib/postgresql/*/bin`, else `pg_config --bindir`, else `PATH`),
//! creates a cluster in a temporary directory and starts it on a free port of
//! 127.0.0.1 only, its unix sockets inside that directory, with durability
//! switched off (`fsync`, `synchronous_commit`, `full_page_writes`) since the
//! data is thrown away. Dropping the server stops it and removes the
//! directory. Everything here is synchronous `std::process`: no async runtime
//! is involved in starting or stopping a server.
//!
//! PostgreSQL refuses to run as root. When this process runs as root, the
//! server binaries run as the `postgres` OS user (through `runuser`, else
//! `su`) and the temporary directory is handed to that user.
//!
//! Each server also has a guard: a small `sh` process that waits on a pipe
//! from this process. If the process ends without dropping the server — a
//! `static` is never dropped, and neither is anything on `exit`, `abort`, a
//! kill or Ctrl-C — the pipe closes and the guard stops the server and removes
//! its directory. So the shared server of [`test_server`] lives exactly as long
//! as the test binary, and nothing is left running in `/tmp` after it.
//!
//! ```no_run
//! use migrate_runtime::testing::ThrowawayServer;
//!
//! let server = ThrowawayServer::start()?;
//! let url = server.create_database("walk")?;
//! // connect to `url`, e.g. with tokio-postgres
//! drop(server); // stops the server and removes its files
//! # Ok::<(), migrate_runtime::testing::ServerError>(())
//! ```

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::{env, iter};
use tempfile::TempDir;

/// The environment variable that points test suites at an existing server
/// instead of a throw-away one.
pub const TEST_URL_VAR: &str = "MIGRATE_TEST_POSTGRES_URL";

/// The environment variable naming the folder of the PostgreSQL binaries
/// (`initdb`, `pg_ctl`, `pg_dump`) throw-away servers use. When set, it is
/// the only place looked: a machine with several versions picks one, and a
/// test can make PostgreSQL look not installed.
pub const BIN_DIR_VAR: &str = "MIGRATE_TEST_POSTGRES_BIN";

/// The superuser of the cluster, and the OS user servers run as under root.
const SUPERUSER: &str = "postgres";
/// Free ports are picked by binding port 0 and releasing it; another process
/// may take the port in between, so starting is retried on a new one.
const PORT_ATTEMPTS: usize = 5;
const START_TIMEOUT_SECS: &str = "30";
/// Appended to `postgresql.conf`: TCP on loopback only, no durability.
const SETTINGS: &str = "
# cargo-migrate throw-away server: the data is deleted when it stops
listen_addresses = '127.0.0.1'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 100
";
/// The guard: ignore the signals a terminal or test runner sends to the whole
/// process group, wait for the pipe from the owner to close, then run the
/// stop command (`"$@"`) and remove the directory (`$0`).
const GUARD_SCRIPT: &str = r#"trap '' HUP INT TERM; read -r _; "$@" >/dev/null 2>&1; rm -rf -- "$0""#;

/// Why no server could be started or used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServerError {
    #[error("no PostgreSQL server binaries found in MIGRATE_TEST_POSTGRES_BIN, under /usr/lib/postgresql/*/bin or on PATH: install the `postgresql` package, or set MIGRATE_TEST_POSTGRES_URL")]
    NotInstalled,
    #[error("running as root, which PostgreSQL refuses, and {reason}: run as a normal user, or set MIGRATE_TEST_POSTGRES_URL")]
    Root { reason: &'static str },
    #[error("cannot {action}: {reason}")]
    Io { action: String, reason: String },
    #[error("`{command}` failed: {output}")]
    Command { command: String, output: String },
    #[error("the PostgreSQL server did not start: {reason}\nthe end of its log:\n{log}")]
    Start { reason: String, log: String },
    #[error("MIGRATE_TEST_POSTGRES_URL is `{url}`, which is not a `postgres://` URL: set it to one (e.g. `postgres://postgres@localhost:5432/postgres`), or unset it to use a throw-away server")]
    BadTestUrl { url: String },
}

impl ServerError {
    /// True when this machine cannot run a server at all (no binaries, or
    /// root without a `postgres` user), as opposed to a server that failed.
    pub(crate) fn is_unavailable(&self) -> bool {
        matches!(self, ServerError::NotInstalled | ServerError::Root { .. })
    }
}

/// A running PostgreSQL server in a temporary directory, stopped and deleted
/// on drop.
///
/// Its superuser is `postgres`, with `trust` authentication (no password) on
/// 127.0.0.1.
#[derive(Debug)]
pub struct ThrowawayServer {
    port: u16,
    bin: PathBuf,
    user: RunAs,
    guard: Option<Child>,
    /// Declared last so it is removed after `Drop::drop` stopped the server.
    dir: TempDir,
}

/// A separate throw-away server with options the shared one does not have:
/// TLS (`ssl = on` with a given certificate), client certificates, and
/// `pg_hba.conf` rules of its own.
///
/// ```no_run
/// use migrate_runtime::testing::ThrowawayServer;
/// # let (cert_pem, key_pem) = (String::new(), String::new());
///
/// let server = ThrowawayServer::builder()
///     .tls(&cert_pem, &key_pem)
///     .hba_rule("hostssl all app 127.0.0.1/32 scram-sha-256")
///     .start()?;
/// # Ok::<(), migrate_runtime::testing::ServerError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct ServerBuilder {
    tls: Option<(String, String)>,
    client_ca: Option<String>,
    hba: Vec<String>,
    also_listen: Vec<String>,
}

/// The first `pg_hba.conf` rules of a server given rules of its own: the
/// superuser keeps `trust`, so the server's tools and the tests' set-up
/// work whatever the rules after them say.
const SUPERUSER_RULES: &str = "local all postgres trust\nhost all postgres 127.0.0.1/32 trust\n";

impl ServerBuilder {
    /// Serves TLS with this certificate (PEM, the chain the server sends)
    /// and its private key (PEM).
    pub fn tls(mut self, cert_pem: &str, key_pem: &str) -> ServerBuilder {
        self.tls = Some((cert_pem.to_string(), key_pem.to_string()));
        self
    }

    /// Trusts client certificates signed by this CA (PEM): `ssl_ca_file`,
    /// which `cert` rules and `clientcert=` need.
    pub fn client_ca(mut self, ca_pem: &str) -> ServerBuilder {
        self.client_ca = Some(ca_pem.to_string());
        self
    }

    /// A `pg_hba.conf` line. Given any, they replace initdb's `trust` rules,
    /// after rules that let the superuser `postgres` in without a password.
    pub fn hba_rule(mut self, line: &str) -> ServerBuilder {
        self.hba.push(line.to_string());
        self
    }

    /// Listens on this address too, besides 127.0.0.1 (a machine's own
    /// network address, for what a client treats differently from
    /// loopback); give `hba_rule`s for it.
    pub fn also_listen_on(mut self, address: &str) -> ServerBuilder {
        self.also_listen.push(address.to_string());
        self
    }

    /// Creates the cluster and starts it, as [`ThrowawayServer::start`].
    pub fn start(self) -> Result<ThrowawayServer, ServerError> {
        ThrowawayServer::start_with(&self)
    }
}

/// How the server binaries are run: as this process's user, or (under root)
/// as `postgres` through `runuser` or `su`.
#[derive(Debug, Clone)]
enum RunAs {
    Me,
    Runuser(PathBuf),
    Su(PathBuf),
}

impl ThrowawayServer {
    /// Creates a cluster in a new temporary directory and starts a server on
    /// a free port of 127.0.0.1; returns once it accepts connections.
    ///
    /// ```no_run
    /// use migrate_runtime::testing::ThrowawayServer;
    ///
    /// let server = ThrowawayServer::start()?;
    /// assert!(server.url().starts_with("postgres://postgres@127.0.0.1:"));
    /// # Ok::<(), migrate_runtime::testing::ServerError>(())
    /// ```
    pub fn start() -> Result<ThrowawayServer, ServerError> {
        ThrowawayServer::builder().start()
    }

    /// Options for a server of its own: TLS, client certificates,
    /// `pg_hba.conf` rules. See [`ServerBuilder`].
    pub fn builder() -> ServerBuilder {
        ServerBuilder::default()
    }

    fn start_with(options: &ServerBuilder) -> Result<ThrowawayServer, ServerError> {
        let bin = postgres_bin_dir().ok_or(ServerError::NotInstalled)?;
        let dir = tempfile::Builder::new()
            .prefix("migrate-pg-")
            .tempdir()
            .map_err(|e| io_error("create a temporary directory", e))?;
        let user = RunAs::for_dir(dir.path())?;
        let mut server = ThrowawayServer { port: 0, bin, user, guard: None, dir };
        server.init()?;
        server.configure(options)?;
        server.guard = server.spawn_guard();
        server.listen(free_port)?;
        Ok(server)
    }

    /// The URL of the `postgres` database:
    /// `postgres://postgres@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> String {
        self.url_for("postgres")
    }

    /// The URL of another database on this server (the name is
    /// percent-encoded).
    pub fn url_for(&self, database: &str) -> String {
        format!("postgres://{SUPERUSER}@127.0.0.1:{}/{}", self.port, percent_encode(database))
    }

    /// The TCP port the server listens on, on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Creates a database (with the server's `createdb`) and returns its URL.
    pub fn create_database(&self, name: &str) -> Result<String, ServerError> {
        let mut createdb = self.client_command("createdb");
        createdb.arg("--").arg(name);
        run(createdb)?;
        Ok(self.url_for(name))
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    /// `initdb`, then the settings appended to `postgresql.conf`.
    fn init(&self) -> Result<(), ServerError> {
        let data = self.data_dir();
        let mut initdb = Command::new(self.bin.join("initdb"));
        initdb
            .args(["-A", "trust", "-U", SUPERUSER, "--no-sync", "-E", "UTF8", "--locale=C", "-D"])
            .arg(&data);
        run(self.as_server_user(initdb))?;
        let sockets = self.dir.path().to_string_lossy().replace('\'', "''");
        let settings = format!("{SETTINGS}unix_socket_directories = '{sockets}'\n");
        let append = |conf: &Path| OpenOptions::new().append(true).open(conf)?.write_all(settings.as_bytes());
        append(&data.join("postgresql.conf")).map_err(|e| io_error("write postgresql.conf", e))
    }

    /// The builder's TLS files and `pg_hba.conf` rules, written into the
    /// cluster's configuration.
    fn configure(&self, options: &ServerBuilder) -> Result<(), ServerError> {
        let mut settings = String::new();
        if let Some((cert, key)) = &options.tls {
            settings += "ssl = on\n";
            settings += &format!("ssl_cert_file = {}\n", self.private_file("server.crt", cert)?);
            settings += &format!("ssl_key_file = {}\n", self.private_file("server.key", key)?);
        }
        if let Some(ca) = &options.client_ca {
            settings += &format!("ssl_ca_file = {}\n", self.private_file("client-ca.crt", ca)?);
        }
        if !options.also_listen.is_empty() {
            settings += &format!("listen_addresses = '127.0.0.1,{}'\n", options.also_listen.join(","));
        }
        let data = self.data_dir();
        let append = |conf: &Path| OpenOptions::new().append(true).open(conf)?.write_all(settings.as_bytes());
        append(&data.join("postgresql.conf")).map_err(|e| io_error("write postgresql.conf", e))?;
        if options.hba.is_empty() {
            return Ok(());
        }
        let rules = format!("{SUPERUSER_RULES}{}\n", options.hba.join("\n"));
        fs::write(data.join("pg_hba.conf"), rules).map_err(|e| io_error("write pg_hba.conf", e))
    }

    /// Writes `text` to a file of the server user's that only it may read
    /// (PostgreSQL refuses a key others can read); returns its path quoted
    /// for `postgresql.conf`.
    fn private_file(&self, name: &str, text: &str) -> Result<String, ServerError> {
        let path = self.dir.path().join(name);
        fs::write(&path, text).map_err(|e| io_error(&format!("write {name}"), e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600))
                .map_err(|e| io_error(&format!("protect {name}"), e))?;
        }
        if !matches!(self.user, RunAs::Me) {
            let mut chown = Command::new("chown");
            chown.arg(SUPERUSER).arg(&path);
            run(chown)?;
        }
        Ok(format!("'{}'", path.to_string_lossy().replace('\'', "''")))
    }

    /// Starts the server on the port `next_port` gives, and on another if
    /// that one turned out to be taken.
    fn listen(&mut self, mut next_port: impl FnMut() -> Result<u16, ServerError>) -> Result<(), ServerError> {
        let mut attempt = 1;
        loop {
            let port = next_port()?;
            match self.pg_ctl_start(port) {
                Ok(()) => {
                    self.port = port;
                    return Ok(());
                }
                Err(ServerError::Start { log, .. })
                    if attempt < PORT_ATTEMPTS && log.contains("already in use") =>
                {
                    attempt += 1
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// `pg_ctl start -w`: returns once the server accepts connections (or
    /// has failed, or the timeout passed).
    fn pg_ctl_start(&self, port: u16) -> Result<(), ServerError> {
        let (data, log) = (self.data_dir(), self.log_path());
        let _ = fs::remove_file(&log); // only this attempt's log explains its failure
        let mut pg_ctl = Command::new(self.bin.join("pg_ctl"));
        pg_ctl.args(["start", "-w", "-t", START_TIMEOUT_SECS, "-D"]).arg(&data);
        pg_ctl.arg("-l").arg(&log).arg("-o").arg(format!("-p {port}"));
        let reason = match run(self.as_server_user(pg_ctl)) {
            Ok(_) => return Ok(()),
            Err(error) => error.to_string(),
        };
        let log = fs::read_to_string(&log).unwrap_or_default();
        Err(ServerError::Start { reason, log: tail(&log, 20) })
    }

    /// A `sh` process that stops the server and removes the directory when
    /// this process ends without dropping the server. Best effort: without
    /// `sh` there is no guard, and `Drop` still does the work.
    fn spawn_guard(&self) -> Option<Child> {
        let stop = self.stop_command();
        let mut guard = clean(Command::new("sh"));
        guard.arg("-c").arg(GUARD_SCRIPT).arg(self.dir.path());
        guard.arg(stop.get_program()).args(stop.get_args());
        guard.current_dir("/").stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::null());
        guard.spawn().ok()
    }

    fn stop_command(&self) -> Command {
        let mut pg_ctl = Command::new(self.bin.join("pg_ctl"));
        pg_ctl.args(["stop", "-m", "immediate", "-w", "-t", "10", "-D"]).arg(self.data_dir());
        self.as_server_user(pg_ctl)
    }

    /// `pg_ctl stop -m immediate`, else SIGKILL to the postmaster; errors are
    /// ignored (this runs in `Drop`).
    fn stop(&self) {
        let Some(pid) = postmaster_pid(&self.data_dir()) else { return };
        let stopped = self.stop_command().output().is_ok_and(|out| out.status.success());
        if !stopped && is_postgres(pid) {
            let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).output();
        }
    }

    /// `command`, a server binary (`initdb`, `pg_ctl`), run as `postgres`
    /// under root, from the temporary directory (which that user can enter).
    fn as_server_user(&self, command: Command) -> Command {
        let (program, args) = (command.get_program(), command.get_args());
        let mut wrapped = match &self.user {
            RunAs::Me => Command::new(program),
            RunAs::Runuser(runuser) => Command::new(runuser),
            RunAs::Su(su) => Command::new(su),
        };
        match &self.user {
            RunAs::Me => wrapped.args(args),
            RunAs::Runuser(_) => wrapped.args(["-u", SUPERUSER, "--"]).arg(program).args(args),
            RunAs::Su(_) => wrapped
                .args(["-s", "/bin/sh", "-c", &format!("exec {}", shell_line(&command))])
                .arg(SUPERUSER),
        };
        let mut wrapped = clean(wrapped);
        wrapped.current_dir(self.dir.path());
        wrapped
    }

    /// A client binary (`createdb`, `psql`) pointed at this server.
    fn client_command(&self, program: &str) -> Command {
        let mut command = clean(Command::new(self.bin.join(program)));
        command.args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", SUPERUSER]);
        command
    }
}

impl Drop for ThrowawayServer {
    /// Stops the server and removes its directory; never panics.
    fn drop(&mut self) {
        self.stop();
        if let Some(mut guard) = self.guard.take() {
            let _ = guard.kill();
            let _ = guard.wait();
        }
    }
}

impl RunAs {
    /// `Me`, unless this process is root (the owner of the directory it just
    /// created is its effective user): then hands the directory to `postgres`.
    fn for_dir(dir: &Path) -> Result<RunAs, ServerError> {
        if !owned_by_root(dir) {
            return Ok(RunAs::Me);
        }
        let id = Command::new("id").args(["-u", SUPERUSER]).output();
        if !id.is_ok_and(|out| out.status.success()) {
            let reason = "there is no `postgres` user to run it as (create one: `useradd --system postgres`)";
            return Err(ServerError::Root { reason });
        }
        let user = match (find_program("runuser"), find_program("su")) {
            (Some(runuser), _) => RunAs::Runuser(runuser),
            (None, Some(su)) => RunAs::Su(su),
            (None, None) => {
                return Err(ServerError::Root {
                    reason: "neither `runuser` nor `su` is there to switch users",
                })
            }
        };
        let mut chown = Command::new("chown");
        chown.arg(SUPERUSER).arg(dir);
        run(chown)?;
        Ok(user)
    }
}

/// The PostgreSQL server test suites should use, as a base URL: the value of
/// `MIGRATE_TEST_POSTGRES_URL` if set, else a throw-away server shared by the
/// whole process (started on first use, stopped by its guard when the process
/// ends — see the module documentation).
///
/// `Ok(None)` means this machine has no PostgreSQL server binaries (or runs
/// as root without a `postgres` user): the caller may skip. When the `CI`
/// environment variable is set (to anything but `""`, `0` or `false`), that
/// case is an error instead, so a CI job never silently skips PostgreSQL.
/// A server that is installed but fails to start is always an error.
///
/// ```no_run
/// let Some(url) = migrate_runtime::testing::test_server()? else {
///     eprintln!("skipped: no PostgreSQL server");
///     return Ok(());
/// };
/// // create a database per test on `url`, then connect to it
/// # Ok::<(), migrate_runtime::testing::ServerError>(())
/// ```
pub fn test_server() -> Result<Option<String>, ServerError> {
    if let Some(url) = test_url_from_env()? {
        return Ok(Some(url));
    }
    static SHARED: OnceLock<Result<ThrowawayServer, ServerError>> = OnceLock::new();
    match SHARED.get_or_init(ThrowawayServer::start) {
        Ok(server) => Ok(Some(server.url())),
        Err(error) if error.is_unavailable() && !in_ci() => Ok(None),
        Err(error) => Err(error.clone()),
    }
}

fn test_url_from_env() -> Result<Option<String>, ServerError> {
    let Some(url) = env::var_os(TEST_URL_VAR).filter(|url| !url.is_empty()) else {
        return Ok(None);
    };
    let url = url.to_string_lossy().into_owned();
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Some(url))
    } else {
        Err(ServerError::BadTestUrl { url: crate::database::url::redact(&url) })
    }
}

fn in_ci() -> bool {
    env::var("CI").is_ok_and(|value| !matches!(value.as_str(), "" | "0" | "false"))
}

/// The folder of the PostgreSQL server binaries throw-away servers are
/// started from, and where their client programs (`pg_dump`) are:
/// `MIGRATE_TEST_POSTGRES_BIN` when set, else the newest
/// `/usr/lib/postgresql/*/bin` with `initdb` and `pg_ctl`, else `pg_config
/// --bindir`, else the first `PATH` directory with both. `None` when
/// PostgreSQL is not installed.
pub fn postgres_bin_dir() -> Option<PathBuf> {
    let is_server_dir = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(dir) = env::var_os(BIN_DIR_VAR).filter(|dir| !dir.is_empty()) {
        return Some(PathBuf::from(dir)).filter(|dir| is_server_dir(dir));
    }
    let versions = fs::read_dir("/usr/lib/postgresql").into_iter().flatten().flatten();
    let mut names: Vec<String> =
        versions.map(|entry| entry.file_name().to_string_lossy().into_owned()).collect();
    names.sort_by_key(|name| version_key(name));
    let versioned = names.iter().rev().map(|name| Path::new("/usr/lib/postgresql").join(name).join("bin"));
    let pg_config =
        Command::new("pg_config").arg("--bindir").output().ok().filter(|out| out.status.success());
    let pg_config = pg_config.map(|out| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
    let path =
        env::var_os("PATH").map(|path| env::split_paths(&path).collect::<Vec<_>>()).unwrap_or_default();
    versioned.chain(pg_config).chain(path).find(|dir| is_server_dir(dir))
}

/// `"9.6"` → `[9, 6]`, so `15` sorts above `9.6`; names that are not
/// versions sort first.
fn version_key(name: &str) -> Vec<u32> {
    name.split('.').map(|part| part.parse().unwrap_or(0)).collect()
}

/// A program on `PATH` or in the `sbin` folders a root `PATH` may lack.
fn find_program(name: &str) -> Option<PathBuf> {
    let path = env::var_os("PATH").unwrap_or_default();
    let sbin = ["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from);
    env::split_paths(&path).chain(sbin).map(|dir| dir.join(name)).find(|program| program.is_file())
}

#[cfg(unix)]
fn owned_by_root(path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    fs::metadata(path).is_ok_and(|metadata| metadata.uid() == 0)
}

#[cfg(not(unix))]
fn owned_by_root(_: &Path) -> bool {
    false
}

/// Removes `PG*` variables (`PGHOST`, `PGDATABASE`, `PGPASSWORD`…), which
/// would point the binaries elsewhere, and closes stdin.
fn clean(mut command: Command) -> Command {
    for (name, _) in env::vars_os() {
        if name.to_string_lossy().starts_with("PG") {
            command.env_remove(name);
        }
    }
    command.stdin(Stdio::null());
    command
}

/// Runs a command to completion; a failure quotes its output.
fn run(mut command: Command) -> Result<Output, ServerError> {
    let line = command_line(&command);
    let output = command.output().map_err(|e| io_error(&format!("run `{line}`"), e))?;
    if output.status.success() {
        return Ok(output);
    }
    let text =
        format!("{}{}", String::from_utf8_lossy(&output.stderr), String::from_utf8_lossy(&output.stdout));
    let output = if text.trim().is_empty() { output.status.to_string() } else { tail(&text, 20) };
    Err(ServerError::Command { command: line, output })
}

fn command_line(command: &Command) -> String {
    let words = iter::once(command.get_program()).chain(command.get_args());
    words.map(|word| word.to_string_lossy()).collect::<Vec<_>>().join(" ")
}

fn io_error(action: &str, error: std::io::Error) -> ServerError {
    ServerError::Io { action: action.to_string(), reason: error.to_string() }
}

/// A port that was free a moment ago on 127.0.0.1.
fn free_port() -> Result<u16, ServerError> {
    let listener =
        TcpListener::bind(("127.0.0.1", 0)).map_err(|e| io_error("find a free port on 127.0.0.1", e))?;
    listener.local_addr().map(|addr| addr.port()).map_err(|e| io_error("find a free port on 127.0.0.1", e))
}

/// The first line of `postmaster.pid`, if the server may be running.
fn postmaster_pid(data: &Path) -> Option<u32> {
    fs::read_to_string(data.join("postmaster.pid")).ok()?.lines().next()?.trim().parse().ok()
}

/// Guards the SIGKILL fallback against a stale pid file naming a process
/// that is no longer the server.
fn is_postgres(pid: u32) -> bool {
    let ps = Command::new("ps").args(["-p", &pid.to_string(), "-o", "comm="]).output();
    ps.is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains("postgres"))
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.trim_end().lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// The command as one `sh` line, every word quoted.
fn shell_line(command: &Command) -> String {
    let words = iter::once(command.get_program()).chain(command.get_args());
    words.map(|word| shell_quote(&word.to_string_lossy())).collect::<Vec<_>>().join(" ")
}

fn shell_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn percent_encode(text: &str) -> String {
    let keep = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
    text.bytes().map(|b| if keep(b) { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    /// A new server, or `None` (with a note) where PostgreSQL is not
    /// installed; under `CI` a missing server fails the test.
    fn start() -> Option<ThrowawayServer> {
        match ThrowawayServer::start() {
            Ok(server) => Some(server),
            Err(error) if error.is_unavailable() && !in_ci() => {
                eprintln!("skipped: {error}");
                None
            }
            Err(error) => panic!("{error}"),
        }
    }

    fn psql(server: &ThrowawayServer, database: &str, sql: &str) -> String {
        let mut psql = server.client_command("psql");
        psql.args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", database, "-c", sql]);
        let output = run(psql).unwrap_or_else(|error| panic!("{error}"));
        String::from_utf8(output.stdout).unwrap().trim().to_string()
    }

    fn port_is_free(port: u16) -> bool {
        TcpListener::bind(("127.0.0.1", port)).is_ok()
    }

    #[test]
    fn serves_creates_databases_and_cleans_up_on_drop() {
        let started = Instant::now();
        let Some(server) = start() else { return };
        eprintln!("started in {:?}", started.elapsed());
        assert_eq!(psql(&server, "postgres", "select 1"), "1");
        assert!(!port_is_free(server.port()));
        assert_eq!(server.url(), format!("postgres://postgres@127.0.0.1:{}/postgres", server.port()));

        let url = server.create_database("it's a test").unwrap();
        assert_eq!(url, server.url_for("it's a test"));
        assert!(url.ends_with("/it%27s%20a%20test"), "{url}");
        assert_eq!(psql(&server, &url, "select current_database()"), "it's a test");
        let error = server.create_database("it's a test").unwrap_err();
        assert!(error.to_string().contains("already exists"), "{error}");

        let (port, dir) = (server.port(), server.dir.path().to_path_buf());
        let stopping = Instant::now();
        drop(server);
        eprintln!("stopped in {:?}", stopping.elapsed());
        assert!(port_is_free(port));
        assert!(!dir.exists());
    }

    /// A restart on a taken port moves to another one; then the owner
    /// vanishing (its end of the guard's pipe closing) stops the server and
    /// removes its files, and the later drop finds nothing to do. One test,
    /// so one `initdb` (the slow part of starting).
    #[test]
    fn retries_a_taken_port_and_the_guard_cleans_up() {
        let Some(mut server) = start() else { return };
        server.stop();
        let taken = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let mut ports = vec![free_port().unwrap(), taken.local_addr().unwrap().port()];
        let expected = ports[0];
        server.listen(|| Ok(ports.pop().unwrap())).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(server.port(), expected);
        assert_eq!(psql(&server, "postgres", "select 1"), "1");

        let (port, dir) = (server.port(), server.dir.path().to_path_buf());
        let mut guard = server.guard.take().expect("a guard process");
        drop(guard.stdin.take());
        guard.wait().unwrap();
        assert!(port_is_free(port));
        assert!(!dir.exists());
        drop(server);
    }

    #[test]
    fn test_server_is_started_once_per_process() {
        let first = test_server().unwrap_or_else(|error| panic!("{error}"));
        let Some(first) = first else { return };
        assert_eq!(test_server().unwrap(), Some(first));
    }

    #[test]
    fn newest_version_first() {
        let mut names = vec!["9.6", "15", "lost+found", "14"];
        names.sort_by_key(|name| version_key(name));
        assert_eq!(names, ["lost+found", "9.6", "14", "15"]);
    }

    #[test]
    fn quoting() {
        assert_eq!(percent_encode("app_db-1.x~"), "app_db-1.x~");
        assert_eq!(percent_encode("a b/ü"), "a%20b%2F%C3%BC");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(tail("a\nb\nc\n", 2), "b\nc");
    }
}
