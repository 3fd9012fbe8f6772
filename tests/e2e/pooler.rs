//! Through PgBouncer, the way hosted PostgreSQL is often reached: in
//! transaction pooling mode consecutive statements of one client may run on
//! different server connections, so a session-level advisory lock or a
//! named prepared statement breaks. Eight migrators at once on a fresh
//! database, several rounds, in transaction and in session mode; after each
//! round the server itself is asked what happened.

use crate::support::pg::{database, history, sql};
use crate::support::{finish, Fixture};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// A PgBouncer in front of the test server, stopped on drop.
struct Bouncer {
    port: u16,
    dir: tempfile::TempDir,
    child: Child,
}

impl Drop for Bouncer {
    fn drop(&mut self) {
        // Under `runuser` the child is the switcher: stop PgBouncer itself.
        if let Ok(pid) = std::fs::read_to_string(self.dir.path().join("pgbouncer.pid")) {
            let _ = Command::new("kill").arg(pid.trim()).status();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find_pgbouncer() -> Option<PathBuf> {
    ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer", "/usr/local/bin/pgbouncer"]
        .iter()
        .map(PathBuf::from)
        .find(|path| path.is_file())
}

/// Starts PgBouncer in `mode` in front of the server of `url`; `None` (a
/// skip) when it is not installed, a failure under `CI`.
fn pgbouncer(url: &str, mode: &str) -> Option<Bouncer> {
    let Some(program) = find_pgbouncer() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "PgBouncer is not installed (CI installs the Debian package)"
        );
        eprintln!("skipped: PgBouncer is not installed");
        return None;
    };
    let server_port =
        url.rsplit_once(':').and_then(|(_, rest)| rest.split('/').next()).expect("a port in the URL");
    let port =
        std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
    let dir = tempfile::Builder::new().prefix("pgbouncer-").tempdir().expect("folder");
    let config = format!(
        "[databases]\n* = host=127.0.0.1 port={server_port}\n\n[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\n\
         unix_socket_dir =\nauth_type = trust\nauth_file = {dir}/users.txt\npool_mode = {mode}\nmax_client_conn = 200\n\
         default_pool_size = 4\nignore_startup_parameters = extra_float_digits,options\nlogfile = {dir}/pgbouncer.log\n\
         pidfile = {dir}/pgbouncer.pid\n",
        dir = dir.path().display()
    );
    std::fs::write(dir.path().join("pgbouncer.ini"), config).expect("config");
    std::fs::write(dir.path().join("users.txt"), "\"postgres\" \"\"\n").expect("users");
    let child = as_unprivileged(&program, dir.path()).spawn().expect("start pgbouncer");
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "PgBouncer did not start: {}", log(dir.path()));
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(Bouncer { port, dir, child })
}

/// PgBouncer refuses to run as root: as root, run it as `postgres`.
fn as_unprivileged(program: &Path, dir: &Path) -> Command {
    let config = dir.join("pgbouncer.ini");
    let is_root = Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    if !is_root {
        let mut command = Command::new(program);
        command.arg(config);
        return command;
    }
    let _ = Command::new("chown").args(["-R", "postgres"]).arg(dir).status();
    let mut command = Command::new("runuser");
    command.args(["-u", "postgres", "--"]).arg(program).arg(config);
    command
}

fn log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("pgbouncer.log")).unwrap_or_default()
}

/// Rounds per pooling mode: `POOLER_ROUNDS`, else 5.
fn rounds() -> usize {
    std::env::var("POOLER_ROUNDS").ok().and_then(|n| n.parse().ok()).unwrap_or(5)
}

fn stampede_through(mode: &str) {
    let Some(direct) = database() else { return };
    let Some(bouncer) = pgbouncer(&direct, mode) else { return };
    let demo = Fixture::copy("demo");
    let name = direct.rsplit('/').next().expect("a database name").to_string();
    let pooled = format!("postgres://postgres@127.0.0.1:{}/{name}", bouncer.port);
    let mut report = Vec::new();
    for round in 0..rounds() {
        sql(&direct, "DROP TABLE IF EXISTS migrate_history, migrate_history_format, \"user\", role, roles_users CASCADE");
        let children: Vec<_> = (0..8).map(|_| demo.spawn(&["upgrade", "--database-url", &pooled])).collect();
        let failed: Vec<String> =
            children.into_iter().map(finish).filter(|r| r.code != 0).map(|r| r.stderr).collect();
        let rows = history(&direct);
        let dirty =
            sql(&direct, "SELECT count(*) FROM migrate_history WHERE dirty IS NOT NULL")[0][0].clone();
        let locks = sql(
            &direct,
            "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database \
             WHERE l.locktype = 'advisory' AND d.datname = current_database()",
        )[0][0]
            .clone();
        report.push(format!(
            "round {round}: {} failed, history {rows:?}, {dirty} dirty, {locks} advisory locks",
            failed.len()
        ));
        assert!(failed.is_empty(), "{mode} round {round}: {failed:#?}\n{}", log(bouncer.dir.path()));
        assert_eq!(rows, ["cf0f5b45967a", "20f04b9598da"], "{mode} round {round}");
        assert_eq!((dirty.as_str(), locks.as_str()), ("0", "0"), "{mode} round {round}");
    }
    eprintln!("{mode} pooling:\n{}", report.join("\n"));
    let out = demo.run(&["upgrade", "--database-url", &pooled]).ok();
    assert!(out.contains("nothing to do"), "{out}");
}

#[test]
fn eight_migrators_through_pgbouncer_in_transaction_mode_apply_each_revision_once() {
    stampede_through("transaction");
}

#[test]
fn eight_migrators_through_pgbouncer_in_session_mode_apply_each_revision_once() {
    stampede_through("session");
}
