//! Reliability under attack: stampedes of OS processes, `kill -9` inside a
//! revision, lock holders that die, hostile names and URLs, non-empty
//! databases, statements that refuse a transaction. Each test's name says
//! what it proves; `RELIABILITY.md` lists them with the command for each.
//!
//! Randomness (start jitter, kill points) comes from a small seeded
//! generator: the seed is printed on failure and `MIGRATE_SEED=N` replays
//! it. The short variants always run; `MIGRATE_LONG_TESTS=1` runs the long
//! ones (20+ stampede rounds, 50+ kills per database).

use crate::support::pg::{self, database as pg_database};
use crate::support::sqlite::{history, schema, tables};
use crate::support::{finish, Fixture, Run};
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant, SystemTime};

// ---------------------------------------------------------------------------
// Harness

/// SplitMix64: a few lines, good enough for jitter and kill points.
struct Rng {
    seed: u64,
    state: u64,
}

impl Rng {
    /// Seeded from `MIGRATE_SEED`, else the clock.
    fn new() -> Rng {
        let seed = std::env::var("MIGRATE_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
            SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(7, |d| d.as_nanos() as u64)
        });
        Rng { seed, state: seed }
    }

    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A duration in `[0, max)`.
    fn below(&mut self, max: Duration) -> Duration {
        let nanos = max.as_nanos().max(1) as u64;
        Duration::from_nanos(self.next() % nanos)
    }

    /// `MIGRATE_SEED=… to replay`, for failure messages.
    fn replay(&self) -> String {
        format!("replay with MIGRATE_SEED={}", self.seed)
    }
}

/// `short` rounds, or `long` ones under `MIGRATE_LONG_TESTS=1`.
fn rounds(short: usize, long: usize) -> usize {
    if std::env::var("MIGRATE_LONG_TESTS").is_ok_and(|v| v == "1") {
        long
    } else {
        short
    }
}

/// A copy of the demo fixture whose migrations folder holds `chain` instead.
fn project(chain: &[Rev]) -> Fixture {
    let fixture = Fixture::copy("demo");
    let folder = fixture.path().join("migrations");
    std::fs::remove_dir_all(&folder).expect("clear migrations");
    std::fs::create_dir(&folder).expect("migrations");
    // The demo's desired schema is not this chain's: `check` would compare them.
    std::fs::remove_file(fixture.path().join("schema.sql")).expect("remove schema.sql");
    for (i, rev) in chain.iter().enumerate() {
        let parent = if i == 0 { String::new() } else { chain[i - 1].id() };
        fixture.write(&format!("migrations/{}_.sql", rev.id()), &rev.text(&parent));
    }
    fixture
}

/// One revision of a linear test chain, numbered from 1.
struct Rev {
    n: usize,
    upgrade: String,
    downgrade: String,
    no_transaction: bool,
}

impl Rev {
    fn new(n: usize, upgrade: &str, downgrade: &str) -> Rev {
        Rev { n, upgrade: upgrade.to_string(), downgrade: downgrade.to_string(), no_transaction: false }
    }

    fn no_transaction(mut self) -> Rev {
        self.no_transaction = true;
        self
    }

    fn id(&self) -> String {
        id(self.n)
    }

    fn text(&self, parent: &str) -> String {
        let mode = if self.no_transaction { "-- transaction: none\n" } else { "" };
        format!(
            "-- revision: {}\n-- revises: {parent}\n-- message: step {}\n{mode}\n-- migrate:upgrade\n{}\n\n-- migrate:downgrade\n{}\n",
            self.id(),
            self.n,
            self.upgrade,
            self.downgrade
        )
    }
}

fn id(n: usize) -> String {
    format!("ab{n:010}")
}

/// `kill -9` (what `Child::kill` sends on Unix), then reaps the process.
fn kill_9(mut child: Child) {
    child.kill().expect("kill -9 cargo-migrate");
    child.wait().expect("reap cargo-migrate");
}

/// `processes` migrators running `args` at once, each started after a
/// random delay of up to `jitter`; their runs, in start order.
fn stampede(fixture: &Fixture, args: &[&str], processes: usize, jitter: Duration, rng: &mut Rng) -> Vec<Run> {
    let mut delays: Vec<Duration> = (0..processes).map(|_| rng.below(jitter)).collect();
    delays.sort();
    let started = Instant::now();
    let children: Vec<Child> = delays
        .iter()
        .map(|delay| {
            std::thread::sleep(delay.saturating_sub(started.elapsed()));
            fixture.spawn(args)
        })
        .collect();
    children.into_iter().map(finish).collect()
}

/// Every run exited 0, and none showed SQLite's busy error.
#[track_caller]
fn all_succeeded(runs: &[Run], context: &str) {
    for (i, run) in runs.iter().enumerate() {
        let shown = format!("{}{}", run.stdout, run.stderr);
        assert_eq!(run.code, 0, "{context}: migrator {i} failed:\n{shown}");
        for busy in ["database is locked", "SQLITE_BUSY", "database is busy"] {
            assert!(!shown.contains(busy), "{context}: migrator {i} surfaced `{busy}`:\n{shown}");
        }
    }
}

fn sqlite_url(db: &Path) -> String {
    format!("sqlite:{}", db.display())
}

/// A new SQLite file in `journal` mode (`delete` or `wal`), with no table.
fn sqlite_file(fixture: &Fixture, name: &str, journal: &str) -> PathBuf {
    let db = fixture.path().join(name);
    let conn = Connection::open(&db).expect("create database");
    let mode: String =
        conn.query_row(&format!("PRAGMA journal_mode = {journal}"), [], |r| r.get(0)).expect("journal mode");
    assert_eq!(mode, journal);
    db
}

/// Whether another connection holds `db`'s write lock (a migrator inside a
/// revision's transaction): a `BEGIN IMMEDIATE` that may not wait fails.
fn sqlite_write_locked(db: &Path) -> bool {
    let Ok(conn) = Connection::open(db) else { return false };
    let _ = conn.busy_timeout(Duration::ZERO);
    match conn.execute_batch("BEGIN IMMEDIATE") {
        Ok(()) => {
            let _ = conn.execute_batch("ROLLBACK");
            false
        }
        Err(_) => true,
    }
}

/// One value of a query on a SQLite file, opened read-write so that a hot
/// journal left by a killed process is rolled back first, as any next
/// connection would.
fn sqlite_value(db: &Path, sql: &str) -> i64 {
    let conn = Connection::open(db).expect("open database");
    conn.busy_timeout(Duration::from_secs(10)).expect("busy timeout");
    conn.query_row(sql, [], |r| r.get(0)).unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// The chain the stampedes run: `count` revisions, each creating a table
/// and counting its own runs in `applied`; revisions 2 and 3 are
/// `transaction: none`, and revision 4 bumps a counter (`warm` tests start
/// at 2).
fn stampede_chain(count: usize) -> Vec<Rev> {
    (1..=count)
        .map(|n| {
            let setup = if n == 1 {
                "CREATE TABLE applied (revision INTEGER NOT NULL);\nCREATE TABLE counter (n INTEGER NOT NULL);\nINSERT INTO counter VALUES (0);\n"
            } else {
                ""
            };
            let bump = if n == 4 { "UPDATE counter SET n = n + 1;\n" } else { "" };
            let upgrade = format!("{setup}CREATE TABLE t{n} (id INTEGER PRIMARY KEY);\n{bump}INSERT INTO applied VALUES ({n});");
            let rev = Rev::new(n, &upgrade, &format!("DROP TABLE t{n};"));
            if n == 2 || n == 3 {
                rev.no_transaction()
            } else {
                rev
            }
        })
        .collect()
}

const STAMPEDE_REVISIONS: usize = 6;
const PROCESSES: usize = 8;
const JITTER: Duration = Duration::from_millis(40);

/// `applied` has each revision exactly once, the history all of them.
#[track_caller]
fn applied_once_sqlite(db: &Path, context: &str) {
    let runs = sqlite_value(db, "SELECT count(*) FROM applied");
    let distinct = sqlite_value(db, "SELECT count(DISTINCT revision) FROM applied");
    assert_eq!((runs, distinct), (STAMPEDE_REVISIONS as i64, STAMPEDE_REVISIONS as i64), "{context}");
    let rows = sqlite_value(db, "SELECT count(*) FROM migrate_history WHERE dirty IS NULL");
    assert_eq!(rows, STAMPEDE_REVISIONS as i64, "{context}: history rows");
}

#[track_caller]
fn applied_once_pg(url: &str, context: &str) {
    let counts = pg::sql(url, "SELECT count(*), count(DISTINCT revision) FROM applied");
    let expected = STAMPEDE_REVISIONS.to_string();
    assert_eq!(counts[0], [expected.clone(), expected.clone()], "{context}");
    let rows = pg::sql(url, "SELECT count(*) FROM migrate_history WHERE dirty IS NULL");
    assert_eq!(rows[0][0], expected, "{context}: history rows");
}

// ---------------------------------------------------------------------------
// 1-3. Stampedes

fn sqlite_cold_stampede(journal: &str) {
    let mut rng = Rng::new();
    let fixture = project(&stampede_chain(STAMPEDE_REVISIONS));
    for round in 0..rounds(3, 25) {
        let db = sqlite_file(&fixture, &format!("cold-{round}.db"), journal);
        let url = sqlite_url(&db);
        let runs = stampede(&fixture, &["upgrade", "--database-url", &url], PROCESSES, JITTER, &mut rng);
        let context = format!("{journal} round {round} ({})", rng.replay());
        all_succeeded(&runs, &context);
        applied_once_sqlite(&db, &context);
    }
}

#[test]
fn cold_stampede_sqlite_rollback_journal_applies_each_revision_once_without_busy_errors() {
    sqlite_cold_stampede("delete");
}

#[test]
fn cold_stampede_sqlite_wal_applies_each_revision_once_without_busy_errors() {
    sqlite_cold_stampede("wal");
}

/// Without the advisory lock, two runs creating the history table at once
/// fail on PostgreSQL's catalog (`duplicate key value violates unique
/// constraint "pg_type_typname_nsp_index"`): every run exiting 0 shows that
/// exactly one created it.
#[test]
fn cold_stampede_postgres_creates_the_history_table_once_and_applies_each_revision_once() {
    let mut rng = Rng::new();
    let fixture = project(&stampede_chain(STAMPEDE_REVISIONS));
    for round in 0..rounds(2, 20) {
        let Some(url) = pg_database() else { return };
        let runs = stampede(&fixture, &["upgrade", "--database-url", &url], PROCESSES, JITTER, &mut rng);
        let context = format!("round {round} ({})", rng.replay());
        all_succeeded(&runs, &context);
        applied_once_pg(&url, &context);
    }
}

fn sqlite_warm_stampede(journal: &str) {
    let mut rng = Rng::new();
    let fixture = project(&stampede_chain(STAMPEDE_REVISIONS));
    for round in 0..rounds(2, 20) {
        let db = sqlite_file(&fixture, &format!("warm-{round}.db"), journal);
        let url = sqlite_url(&db);
        fixture.run(&["upgrade", &id(2), "--database-url", &url]).ok();
        let runs = stampede(&fixture, &["upgrade", "--database-url", &url], PROCESSES, JITTER, &mut rng);
        let context = format!("{journal} round {round} ({})", rng.replay());
        all_succeeded(&runs, &context);
        applied_once_sqlite(&db, &context);
        assert_eq!(
            sqlite_value(&db, "SELECT n FROM counter"),
            1,
            "{context}: the counter moved by exactly 1"
        );
    }
}

#[test]
fn warm_stampede_sqlite_rollback_journal_bumps_the_counter_exactly_once() {
    sqlite_warm_stampede("delete");
}

#[test]
fn warm_stampede_sqlite_wal_bumps_the_counter_exactly_once() {
    sqlite_warm_stampede("wal");
}

#[test]
fn warm_stampede_postgres_bumps_the_counter_exactly_once() {
    let mut rng = Rng::new();
    let fixture = project(&stampede_chain(STAMPEDE_REVISIONS));
    for round in 0..rounds(2, 20) {
        let Some(url) = pg_database() else { return };
        fixture.run(&["upgrade", &id(2), "--database-url", &url]).ok();
        let runs = stampede(&fixture, &["upgrade", "--database-url", &url], PROCESSES, JITTER, &mut rng);
        let context = format!("round {round} ({})", rng.replay());
        all_succeeded(&runs, &context);
        applied_once_pg(&url, &context);
        assert_eq!(
            pg::sql(&url, "SELECT n FROM counter")[0][0],
            "1",
            "{context}: the counter moved by exactly 1"
        );
    }
}

// ---------------------------------------------------------------------------
// 4. kill -9 inside a transactional revision

/// Polls `done` every 20 ms for up to `limit`; whether it became true.
fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    done()
}

/// A base revision, then a slow transactional one of five statements.
fn slow_chain(slow: &str) -> Vec<Rev> {
    vec![
        Rev::new(1, "CREATE TABLE base (id INTEGER);", "DROP TABLE base;"),
        Rev::new(2, slow, "DROP TABLE slow_b;\nDROP TABLE slow_a;"),
    ]
}

const SQLITE_SLOW: &str = "\
CREATE TABLE slow_a (id INTEGER);
INSERT INTO slow_a WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000) SELECT x FROM c;
CREATE TABLE slow_b (id INTEGER);
INSERT INTO slow_b SELECT id FROM slow_a;
CREATE INDEX slow_b_id ON slow_b (id);";

/// What a kill left, checked: the schema and the history are both those
/// from before revision 2 or both those from after it. Returns `true` for
/// "after".
#[track_caller]
fn sqlite_before_or_after(db: &Path, before: &[String], after: &[String], context: &str) -> bool {
    // A read-write open rolls back the hot journal a killed writer left, as
    // the next migrator's would.
    sqlite_value(db, "SELECT count(*) FROM sqlite_master");
    let (schema, history) = (schema(db), history(db, "migrate_history"));
    if schema == before {
        assert_eq!(history, [id(1)], "{context}: schema from before revision 2, history says otherwise");
        return false;
    }
    assert_eq!(schema, after, "{context}: the schema is neither that before nor that after revision 2");
    assert_eq!(history, [id(1), id(2)], "{context}: schema from after revision 2, history says otherwise");
    assert_eq!(sqlite_value(db, "SELECT count(*) FROM slow_b"), 100_000, "{context}: half the rows");
    true
}

#[test]
fn kill_9_inside_a_transactional_revision_leaves_sqlite_before_or_after_and_the_next_upgrade_just_works() {
    let mut rng = Rng::new();
    let fixture = project(&slow_chain(SQLITE_SLOW));
    for journal in ["delete", "wal"] {
        let (mut outcomes, mut inside) = ([0; 2], 0);
        // Templates at revision 1, and the time a run takes, untouched.
        let template = sqlite_file(&fixture, &format!("template-{journal}.db"), journal);
        fixture.run(&["upgrade", &id(1), "--database-url", &sqlite_url(&template)]).ok();
        let before = schema(&template);
        let timed = fixture.path().join(format!("timed-{journal}.db"));
        std::fs::copy(&template, &timed).expect("copy template");
        let started = Instant::now();
        fixture.run(&["current", "--database-url", &sqlite_url(&timed)]).ok();
        let startup = started.elapsed();
        let started = Instant::now();
        fixture.run(&["upgrade", "--database-url", &sqlite_url(&timed)]).ok();
        let full = started.elapsed();
        let after = schema(&timed);
        for round in 0..rounds(3, 50) {
            let db = fixture.path().join(format!("kill-{journal}-{round}.db"));
            std::fs::copy(&template, &db).expect("copy template");
            let url = sqlite_url(&db);
            // Once the run holds the write lock, its revision is under way:
            // kill it at a random point of the time the revision takes.
            let child = fixture.spawn(&["upgrade", "--database-url", &url]);
            assert!(
                wait_until(Duration::from_secs(10), || sqlite_write_locked(&db)),
                "{journal}: never started"
            );
            let delay = rng.below(full.saturating_sub(startup * 2));
            std::thread::sleep(delay);
            let writing = sqlite_write_locked(&db);
            kill_9(child);
            inside += usize::from(writing);
            let context =
                format!("{journal} round {round}, killed {delay:?} into revision 2 ({})", rng.replay());
            let was_after = sqlite_before_or_after(&db, &before, &after, &context);
            outcomes[usize::from(was_after)] += 1;
            fixture.run(&["upgrade", "--database-url", &url]).ok();
            assert!(
                sqlite_before_or_after(&db, &before, &after, &context),
                "{context}: upgrade after the kill"
            );
        }
        eprintln!(
            "sqlite {journal}: {} kills, {inside} while the revision was writing, {} left it before and {} after \
             (start-up {startup:?}, whole run {full:?})",
            outcomes[0] + outcomes[1],
            outcomes[0],
            outcomes[1]
        );
    }
}

const PG_SLOW: &str = "\
CREATE TABLE slow_a (id INTEGER);
SELECT pg_sleep(0.6);
INSERT INTO slow_a SELECT generate_series(1, 1000);
SELECT pg_sleep(0.6);
CREATE TABLE slow_b (id INTEGER);";

/// Backends other than the caller's connected to `url`'s database.
fn pg_other_sessions(url: &str) -> usize {
    let sql = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()";
    pg::sql(url, sql)[0][0].parse().expect("a count")
}

/// Whether a session of `url`'s database is running a statement with `text`.
fn pg_running(url: &str, text: &str) -> bool {
    let sql = format!(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() \
         AND state = 'active' AND query LIKE '%{text}%'"
    );
    pg::sql(url, &sql)[0][0] != "0"
}

#[track_caller]
fn pg_before_or_after(url: &str, before: &[String], after: &[String], context: &str) -> bool {
    let (schema, history) = (pg::schema(url), pg::history(url));
    if schema == before {
        assert_eq!(history, [id(1)], "{context}: schema from before revision 2, history says otherwise");
        return false;
    }
    assert_eq!(schema, after, "{context}: the schema is neither that before nor that after revision 2");
    assert_eq!(history, [id(1), id(2)], "{context}: schema from after revision 2, history says otherwise");
    assert_eq!(pg::sql(url, "SELECT count(*) FROM slow_a")[0][0], "1000", "{context}: half the rows");
    true
}

#[test]
fn kill_9_inside_a_transactional_revision_leaves_postgres_before_or_after_and_the_next_upgrade_just_works() {
    let mut rng = Rng::new();
    let fixture = project(&slow_chain(PG_SLOW));
    let (Some(template), Some(timed)) = (pg_database(), pg_database()) else { return };
    fixture.run(&["upgrade", &id(1), "--database-url", &template]).ok();
    fixture.run(&["upgrade", "--database-url", &timed]).ok();
    let (before, after) = (pg::schema(&template), pg::schema(&timed));
    let template_name = template.rsplit('/').next().expect("a database name").to_string();
    let mut outcomes = [0; 2];
    for round in 0..rounds(2, 50) {
        let name = format!("{template_name}_kill_{round}");
        pg::sql(
            &template.replace(&template_name, "postgres"),
            &format!("CREATE DATABASE {name} TEMPLATE {template_name}"),
        );
        let url = template.replace(&template_name, &name);
        let child = fixture.spawn(&["upgrade", "--database-url", &url]);
        assert!(
            wait_until(Duration::from_secs(20), || pg_running(&url, "pg_sleep")),
            "revision 2 never started"
        );
        let delay = rng.below(Duration::from_millis(1250));
        std::thread::sleep(delay);
        kill_9(child);
        let context = format!("round {round}, killed {delay:?} into revision 2 ({})", rng.replay());
        // The server notices the vanished client within a second
        // (`client_connection_check_interval`), rolls back and ends the session.
        assert!(
            wait_until(Duration::from_secs(5), || pg_other_sessions(&url) == 0),
            "{context}: the killed migrator's session lives on"
        );
        let was_after = pg_before_or_after(&url, &before, &after, &context);
        outcomes[usize::from(was_after)] += 1;
        fixture.run(&["upgrade", "--database-url", &url]).ok();
        assert!(pg_before_or_after(&url, &before, &after, &context), "{context}: upgrade after the kill");
    }
    eprintln!("postgres: kills left {} before and {} after", outcomes[0], outcomes[1]);
}

// ---------------------------------------------------------------------------
// 5. kill -9 inside a `transaction: none` revision

/// A base revision with a marker row, then a `transaction: none` revision
/// whose second statement is endless while the marker is there.
fn stuck_chain(endless: &str) -> Vec<Rev> {
    vec![
        Rev::new(1, "CREATE TABLE marker (x INTEGER);\nINSERT INTO marker VALUES (1);", "DROP TABLE marker;"),
        Rev::new(
            2,
            &format!("CREATE TABLE first (id INTEGER);\n{endless};\nCREATE TABLE third (id INTEGER);"),
            "DROP TABLE third;\nDROP TABLE first;",
        )
        .no_transaction(),
    ]
}

/// The revision file's line of the endless statement: four header lines, a
/// blank one, the section marker, then `CREATE TABLE first`.
const STUCK_LINE: usize = 8;

/// After the kill: refused with the statement reached, explained by
/// `repair`, settled by hand and `repair --mark reverted`, then applied.
fn refused_explained_repaired(fixture: &Fixture, url: &str, undo: impl Fn()) {
    let mark = format!("at statement 2 of 3 (line {STUCK_LINE})");
    let stderr = fixture.run(&["upgrade", "--database-url", url, "--lock-timeout", "10"]).fails();
    let refusal = format!("revision `{}` was partially applied ({mark})", id(2));
    assert!(stderr.contains(&refusal), "{stderr}");
    assert!(stderr.contains("cargo migrate repair --mark applied"), "{stderr}");
    let explained = fixture.run(&["repair", "--database-url", url]).ok();
    assert!(explained.contains(&format!("{} was partially applied: {mark}", id(2))), "{explained}");
    assert!(explained.contains("--mark applied") && explained.contains("--mark reverted"), "{explained}");
    undo();
    let repaired = fixture.run(&["repair", "--mark", "reverted", "--database-url", url]).ok();
    assert!(repaired.contains(&format!("repaired {} (was {mark}): marked reverted", id(2))), "{repaired}");
    fixture.run(&["upgrade", "--database-url", url]).ok();
}

#[test]
fn kill_9_inside_a_no_transaction_revision_on_sqlite_is_refused_until_repair_explains_and_clears_it() {
    let endless = "SELECT count(*) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c \
                   WHERE (SELECT count(*) FROM marker) > 0) SELECT x FROM c)";
    let fixture = project(&stuck_chain(endless));
    let db = sqlite_file(&fixture, "stuck.db", "delete");
    let url = sqlite_url(&db);
    fixture.run(&["upgrade", &id(1), "--database-url", &url]).ok();
    let child = fixture.spawn(&["upgrade", "--database-url", &url]);
    let dirty = |db: &Path| {
        let conn = Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).ok()?;
        conn.query_row("SELECT dirty FROM migrate_history WHERE dirty IS NOT NULL", [], |r| {
            r.get::<_, String>(0)
        })
        .ok()
    };
    let reached =
        wait_until(Duration::from_secs(20), || dirty(&db).is_some_and(|d| d.starts_with("at statement 2")));
    kill_9(child);
    assert!(reached, "the run never reached statement 2: {:?}", dirty(&db));
    refused_explained_repaired(&fixture, &url, || {
        Connection::open(&db)
            .and_then(|c| c.execute_batch("DROP TABLE first; DELETE FROM marker;"))
            .expect("undo by hand")
    });
    assert_eq!(history(&db, "migrate_history"), [id(1), id(2)]);
    assert!(tables(&db).contains(&"third".to_string()));
}

#[test]
fn kill_9_inside_a_no_transaction_revision_on_postgres_is_refused_until_repair_explains_and_clears_it() {
    let Some(url) = pg_database().filter(|url| pg::notices_dead_clients(url)) else { return };
    let fixture =
        project(&stuck_chain("SELECT pg_sleep(CASE WHEN EXISTS (SELECT 1 FROM marker) THEN 60 ELSE 0 END)"));
    fixture.run(&["upgrade", &id(1), "--database-url", &url]).ok();
    let child = fixture.spawn(&["upgrade", "--database-url", &url]);
    let reached = wait_until(Duration::from_secs(20), || pg_running(&url, "pg_sleep(CASE"));
    kill_9(child);
    assert!(reached, "the run never reached its endless statement");
    // Killed mid-statement, its session goes within a second, lock and all,
    // instead of sleeping out its minute.
    assert!(
        wait_until(Duration::from_secs(5), || pg_other_sessions(&url) == 0),
        "the killed session lives on"
    );
    refused_explained_repaired(&fixture, &url, || {
        pg::sql(&url, "DROP TABLE first; DELETE FROM marker;");
    });
    assert_eq!(pg::history(&url), [id(1), id(2)]);
    assert!(pg::schema(&url).iter().any(|c| c.starts_with("third.")));
}

// ---------------------------------------------------------------------------
// 6. The lock holder dies

/// A base revision with a marker row, then a transactional revision that
/// sleeps a minute while the marker is there.
fn sleepy_chain() -> Vec<Rev> {
    vec![
        Rev::new(1, "CREATE TABLE marker (x INTEGER);\nINSERT INTO marker VALUES (1);", "DROP TABLE marker;"),
        Rev::new(2, "CREATE TABLE slept (id INTEGER);\nSELECT pg_sleep(CASE WHEN EXISTS (SELECT 1 FROM marker) THEN 60 ELSE 0 END);", "DROP TABLE slept;"),
    ]
}

/// A migrator asleep in revision 2 with the lock; `end` gets rid of it,
/// then another migrator must get through well within its lock timeout.
fn lock_holder_dies(end: impl FnOnce(Child, &str)) {
    lock_holder_dies_on(pg_database(), end);
}

fn lock_holder_dies_on(url: Option<String>, end: impl FnOnce(Child, &str)) {
    let Some(url) = url else { return };
    let fixture = project(&sleepy_chain());
    fixture.run(&["upgrade", &id(1), "--database-url", &url]).ok();
    let holder = fixture.spawn(&["upgrade", "--database-url", &url]);
    assert!(
        wait_until(Duration::from_secs(20), || pg_running(&url, "pg_sleep(CASE")),
        "the holder never slept"
    );
    end(holder, &url);
    // Whatever ended it, the revision it was in is not applied.
    let current = fixture.run(&["current", "--database-url", &url]).ok();
    assert!(current.contains(&format!("current {}", id(1))), "{current}");
    assert!(!pg::schema(&url).iter().any(|c| c.starts_with("slept.")), "nothing of it applied");
    pg::sql(&url, "DELETE FROM marker");
    let started = Instant::now();
    let out = fixture.run(&["upgrade", "--database-url", &url, "--lock-timeout", "20"]).ok();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "waited {:?} for a dead holder's lock",
        started.elapsed()
    );
    assert!(out.contains(&format!("applied  {}", id(2))), "{out}");
    assert_eq!(pg::history(&url), [id(1), id(2)]);
}

#[test]
fn a_killed_lock_holder_on_postgres_does_not_block_the_next_migrator() {
    let url = pg_database().filter(|url| pg::notices_dead_clients(url));
    lock_holder_dies_on(url, |holder, _| kill_9(holder));
}

#[test]
fn a_lock_holder_whose_backend_is_terminated_fails_cleanly_and_does_not_block_the_next_migrator() {
    lock_holder_dies(|holder, url| {
        let terminated = pg::sql(
            url,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() \
             AND pid <> pg_backend_pid() AND query LIKE '%pg_sleep(CASE%'",
        );
        assert_eq!(terminated, [["t"]]);
        let run = finish(holder);
        let stderr = run.fails();
        let ended = format!(
            "the upgrade of package `demo` stopped: the database ended the session while revision `{}` ran: \
             terminating connection due to administrator command (SQLSTATE 57P01); its transaction was rolled \
             back, so nothing of it is applied (the revisions before it stay as they are); run the command again \
             once the database accepts connections",
            id(2)
        );
        assert!(stderr.contains(&ended), "{stderr}");
        assert!(!stderr.contains("connection closed"), "the server's reason, not the driver's: {stderr}");
    });
}

/// A downgrade whose backend is terminated mid-revision: the revision was
/// rolled back, so it is still applied, and the error says so.
#[test]
fn a_backend_terminated_inside_a_downgrade_says_the_revision_is_still_applied() {
    let Some(url) = pg_database() else { return };
    let fixture = project(&[
        Rev::new(1, "CREATE TABLE marker (x INTEGER);\nINSERT INTO marker VALUES (1);", "DROP TABLE marker;"),
        Rev::new(
            2,
            "CREATE TABLE slept (id INTEGER);",
            "DROP TABLE slept;\nSELECT pg_sleep(CASE WHEN EXISTS (SELECT 1 FROM marker) THEN 60 ELSE 0 END);",
        ),
    ]);
    fixture.run(&["upgrade", "--database-url", &url]).ok();
    let child = fixture.spawn(&["downgrade", "-1", "--database-url", &url]);
    assert!(wait_until(Duration::from_secs(20), || pg_running(&url, "pg_sleep(CASE")), "never reached");
    pg::sql(
        &url,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() \
         AND pid <> pg_backend_pid() AND query LIKE '%pg_sleep(CASE%'",
    );
    let stderr = finish(child).fails();
    let ended = format!(
        "the database ended the session while revision `{}` ran: terminating connection due to administrator \
         command (SQLSTATE 57P01); its transaction was rolled back, so it is still applied",
        id(2)
    );
    assert!(stderr.contains(&ended), "{stderr}");
    assert_eq!(pg::history(&url), [id(1), id(2)]);
    assert!(pg::schema(&url).iter().any(|c| c.starts_with("slept.")), "the table is still there");
}

/// A `transaction: none` revision whose backend is terminated mid-statement:
/// the error quotes the server, names the statement and the mark the
/// revision keeps, and `repair` settles it as after a crash.
#[test]
fn a_backend_terminated_inside_a_no_transaction_revision_names_the_statement_and_points_to_repair() {
    let Some(url) = pg_database() else { return };
    let fixture =
        project(&stuck_chain("SELECT pg_sleep(CASE WHEN EXISTS (SELECT 1 FROM marker) THEN 60 ELSE 0 END)"));
    fixture.run(&["upgrade", &id(1), "--database-url", &url]).ok();
    let child = fixture.spawn(&["upgrade", "--database-url", &url]);
    assert!(wait_until(Duration::from_secs(20), || pg_running(&url, "pg_sleep(CASE")), "never reached");
    let terminated = pg::sql(
        &url,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() \
         AND pid <> pg_backend_pid() AND query LIKE '%pg_sleep(CASE%'",
    );
    assert_eq!(terminated, [["t"]]);
    let stderr = finish(child).fails();
    let ended = format!(
        ":{STUCK_LINE}: the database ended the session inside revision `{}`, which runs outside a transaction: \
         terminating connection due to administrator command (SQLSTATE 57P01); the statements before this one \
         stay applied, this one may or may not have finished, and the revision stays marked \
         `at statement 2 of 3 (line {STUCK_LINE})`: see what its statements did, then settle it with \
         `cargo migrate repair`",
        id(2)
    );
    assert!(stderr.contains(&ended), "{stderr}");
    refused_explained_repaired(&fixture, &url, || {
        pg::sql(&url, "DROP TABLE first; DELETE FROM marker;");
    });
    assert_eq!(pg::history(&url), [id(1), id(2)]);
}

#[test]
fn a_killed_lock_holder_on_sqlite_does_not_block_the_waiting_migrator() {
    for journal in ["delete", "wal"] {
        // Slow enough that the holder is still writing when it is killed,
        // however loaded the machine is.
        let fixture = project(&slow_chain(&SQLITE_SLOW.replace("x < 100000", "x < 1000000")));
        let db = sqlite_file(&fixture, "holder.db", journal);
        let url = sqlite_url(&db);
        fixture.run(&["upgrade", &id(1), "--database-url", &url]).ok();
        let holder = fixture.spawn(&["upgrade", "--database-url", &url]);
        let writing = wait_until(Duration::from_secs(10), || sqlite_write_locked(&db));
        let waiter = fixture.spawn(&["upgrade", "--database-url", &url, "--lock-timeout", "20"]);
        std::thread::sleep(Duration::from_millis(100));
        kill_9(holder);
        assert!(writing, "{journal}: the holder never wrote");
        let out = finish(waiter).ok();
        assert!(out.contains(&format!("applied  {}", id(2))), "{journal}: {out}");
        assert_eq!(history(&db, "migrate_history"), [id(1), id(2)], "{journal}");
    }
}

/// `current`, `check` and `diff` are what an operator runs after a crash:
/// they read a database whose writer was killed mid-revision, whatever it
/// left beside the file (a hot journal, a WAL to recover), and see the
/// last committed state.
#[test]
fn read_commands_work_on_a_sqlite_database_a_killed_writer_left() {
    for journal in ["delete", "wal"] {
        // Revision 2 rewrites every page revision 1 filled, so the
        // journal (or WAL) holds real changes when the writer dies.
        let fill = "CREATE TABLE big (v INTEGER, pad BLOB);\nINSERT INTO big WITH RECURSIVE c(x) AS \
                    (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000) SELECT x, randomblob(100) FROM c;";
        let rewrite = "UPDATE big SET v = v + 1;\n".repeat(50);
        let fixture = project(&[Rev::new(1, fill, "DROP TABLE big;"), Rev::new(2, &rewrite, "SELECT 1;")]);
        let db = sqlite_file(&fixture, "crashed.db", journal);
        let url = sqlite_url(&db);
        fixture.run(&["upgrade", &id(1), "--database-url", &url]).ok();
        let holder = fixture.spawn(&["upgrade", "--database-url", &url]);
        let leftover = if journal == "wal" { "-wal" } else { "-journal" };
        let mut name = db.as_os_str().to_owned();
        name.push(leftover);
        let name = std::path::PathBuf::from(name);
        // Killed once its changes have reached the files (SQLite spills
        // its page cache as the revision grows), not while still in memory.
        let size = || std::fs::metadata(&name).map_or(0, |m| m.len());
        let spilled = wait_until(Duration::from_secs(20), || size() > 1 << 20);
        kill_9(holder);
        assert!(spilled, "{journal}: the holder never spilled to {leftover}");
        // A copy of the files (a backup restored, a volume snapshot) often
        // lacks the WAL index: SQLite must then rebuild it from the WAL.
        let mut shm = db.as_os_str().to_owned();
        shm.push("-shm");
        let _ = std::fs::remove_file(&shm);

        let out = fixture.run(&["current", "--database-url", &url]).ok();
        assert!(out.contains(&format!("current {}", id(1))), "{journal}: {out}");
        let out = fixture.run(&["diff", "--database-url", &url]).ok();
        assert!(out.contains("no differences"), "{journal}: {out}");
        let out = fixture.run(&["check", "--database-url", &url]).ok();
        assert!(out.contains("ok: package"), "{journal}: {out}");
        assert_eq!(history(&db, "migrate_history"), [id(1)], "{journal}");
    }
}

/// SIGINT or SIGTERM while a SQLite revision runs: `sqlite3_interrupt`
/// stops the statement, the revision rolls back, and the process says so
/// and exits 128 + the signal.
#[test]
fn a_signal_rolls_back_the_running_sqlite_revision_and_says_so() {
    for (signal, code) in [("INT", 130), ("TERM", 143)] {
        let fixture = project(&slow_chain(&SQLITE_SLOW.replace("x < 100000", "x < 5000000")));
        let db = sqlite_file(&fixture, "interrupted.db", "delete");
        let url = sqlite_url(&db);
        fixture.run(&["upgrade", &id(1), "--database-url", &url]).ok();
        let before = std::fs::metadata(&db).expect("database file").len();
        let child = fixture.spawn(&["upgrade", "--database-url", &url]);
        // The write lock alone is taken before the revision starts (a signal
        // then stops the run before it, which is another path): wait until
        // the revision's rows spill into the file, so it is surely running.
        let grown = || std::fs::metadata(&db).map_or(0, |m| m.len()) > before + (4 << 20);
        assert!(wait_until(Duration::from_secs(20), grown), "revision 2 never wrote");
        let status =
            std::process::Command::new("kill").args(["-s", signal, &child.id().to_string()]).status();
        assert!(status.expect("run kill").success());
        let run = finish(child);
        assert_eq!(run.code, code, "{run:?}");
        assert!(
            run.stderr.contains(&format!("interrupted: revision `{}` was rolled back", id(2))),
            "{run:?}"
        );
        assert_eq!(history(&db, "migrate_history"), [id(1)]);
        assert!(!tables(&db).contains(&"slow_a".to_string()), "rolled back: {:?}", tables(&db));
    }
}

// ---------------------------------------------------------------------------
// 7. Lock timeout (PostgreSQL: `postgres::a_held_lock_times_out_naming_its_holder_and_changes_nothing`)

#[test]
fn a_held_sqlite_write_lock_times_out_naming_it_and_changes_nothing() {
    for journal in ["delete", "wal"] {
        let fixture = project(&slow_chain(SQLITE_SLOW));
        let db = sqlite_file(&fixture, "held.db", journal);
        let holder = Connection::open(&db).expect("open");
        holder.execute_batch("BEGIN IMMEDIATE").expect("take the write lock");
        let started = Instant::now();
        let stderr =
            fixture.run(&["upgrade", "--database-url", &sqlite_url(&db), "--lock-timeout", "1"]).fails();
        assert!(started.elapsed() < Duration::from_secs(5), "{journal}: waited {:?}", started.elapsed());
        let busy = format!(
            "the SQLite database `{}` stayed locked by another connection for longer than the busy timeout, 1 s; \
             run again once the other connection is done, or wait longer with `--lock-timeout SECONDS`",
            db.display()
        );
        assert!(stderr.contains(&busy), "{journal}: {stderr}");
        holder.execute_batch("ROLLBACK").expect("release");
        assert!(tables(&db).is_empty(), "{journal}: the run changed something");
    }
}

/// `--lock-timeout 0` waits forever for a held lock, live as in `--sql`
/// scripts (whose `lock_timeout` of `0ms` is PostgreSQL's "forever"), and
/// goes on once the holder lets go.
#[test]
fn a_lock_timeout_of_zero_waits_for_the_holder_on_sqlite_and_postgres() {
    let fixture =
        project(&slow_chain("CREATE TABLE slow_a (id INTEGER);\nCREATE TABLE slow_b (id INTEGER);"));
    let db = sqlite_file(&fixture, "held.db", "delete");
    let holder = Connection::open(&db).expect("open");
    holder.execute_batch("BEGIN IMMEDIATE").expect("take the write lock");
    let waiter = fixture.spawn(&["upgrade", "--database-url", &sqlite_url(&db), "--lock-timeout", "0"]);
    let said = still_waiting_after_a_while(waiter, || holder.execute_batch("ROLLBACK").expect("release"));
    assert!(
        said.contains(&format!(
            "waiting for the lock (1 s so far): another connection holds the write lock of `{}`",
            db.display()
        )),
        "{said}"
    );
    assert_eq!(history(&db, "migrate_history"), [id(1), id(2)]);

    let Some(url) = pg_database() else { return };
    let key = migrate_runtime::postgres::lock_key("migrate_history");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let client = runtime.block_on(async {
        let (client, connection) =
            tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("connect");
        tokio::spawn(connection);
        client.query_one("SELECT pg_advisory_lock($1)", &[&key]).await.expect("lock");
        client
    });
    let waiter = fixture.spawn(&["upgrade", "--database-url", &url, "--lock-timeout", "0"]);
    let said = still_waiting_after_a_while(waiter, || {
        runtime.block_on(client.query_one("SELECT pg_advisory_unlock($1)", &[&key])).expect("unlock");
    });
    let holder = format!("advisory lock {key} on the history table `migrate_history` is held by backend pid");
    assert!(said.contains("waiting for the lock (1 s so far): ") && said.contains(&holder), "{said}");
    assert_eq!(pg::history(&url), [id(1), id(2)]);
    let script = fixture.run(&["upgrade", "--sql", "--dialect", "postgres", "--lock-timeout", "0"]).ok();
    assert!(
        script.contains(&format!("SET LOCAL lock_timeout = '0ms';\nSELECT pg_advisory_xact_lock({key});"))
    );
}

/// Asserts `waiter` is still running 2 s on, then lets `release` free
/// what it waits for and expects it to succeed.
/// Returns the waiter's stderr, which says it waits once it has waited a
/// second.
fn still_waiting_after_a_while(mut waiter: Child, release: impl FnOnce()) -> String {
    std::thread::sleep(Duration::from_secs(2));
    let exited = waiter.try_wait().expect("poll the waiter");
    release();
    let run = finish(waiter);
    assert!(exited.is_none(), "gave up instead of waiting: {}", run.stderr);
    let stderr = run.stderr.clone();
    run.ok();
    stderr
}

/// A timeout under a millisecond is the shortest PostgreSQL takes, 1 ms,
/// never `0ms`, which would wait forever; a `transaction: none` revision's
/// text says it lacks the live run's lock, guard and marks.
#[test]
fn offline_sql_never_rounds_a_short_timeout_to_forever_and_says_what_a_no_transaction_revision_lacks() {
    let fixture = project(&stuck_chain("SELECT 1"));
    let script = fixture
        .run(&["upgrade", "--sql", "--dialect", "postgres", "--statement-lock-timeout", "0.0004"])
        .ok();
    assert!(script.contains("SET LOCAL lock_timeout = '1ms';"), "{script}");
    assert!(script.contains("SET lock_timeout = '1ms';"), "{script}");
    assert!(!script.contains("lock_timeout = '0ms'"), "{script}");
    for dialect in ["postgres", "sqlite"] {
        let script = fixture.run(&["upgrade", "--sql", "--dialect", dialect]).ok();
        let notes = script.matches("-- transaction: none: these statements run one by one").count();
        assert_eq!(notes, 1, "only the transaction: none revision: {script}");
        assert!(script.contains("this script does none of that: run it where no migrator runs meanwhile"));
    }
}

/// `cargo-migrate migrate <args>` in standalone mode on the demo chain, as
/// a user the file permissions apply to: `nobody` (through `runuser`) when
/// the tests run as root, whom no permission stops.
fn run_unprivileged(fixture: &Fixture, args: &[&str]) -> Run {
    use std::os::unix::fs::MetadataExt;
    let binary = env!("CARGO_BIN_EXE_cargo-migrate");
    let root = std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false);
    let mut command = if root {
        let mut command = std::process::Command::new("runuser");
        command.args(["-u", "nobody", "--", binary]);
        command
    } else {
        std::process::Command::new(binary)
    };
    let migrations = fixture.path().join("migrations");
    let output = command
        .args(["migrate", "--migrations-dir"])
        .arg(&migrations)
        .args(["--package", "demo"])
        .args(args)
        .env("XDG_CACHE_HOME", fixture.path().join("cache"))
        .env_remove("DATABASE_URL")
        .output()
        .expect("run cargo-migrate");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// A read-only database file, then a writable file in a read-only folder:
/// writing commands name the file (or folder) and its permissions before
/// running anything, never a revision's SQL line; read commands still work.
#[test]
fn a_read_only_sqlite_file_or_folder_is_named_with_its_permissions_not_a_revision_line() {
    let fixture = Fixture::copy("demo");
    for dir in [fixture.path(), &fixture.path().join("migrations")] {
        chmod(dir, 0o755);
    }
    let folder = fixture.path().join("db");
    std::fs::create_dir(&folder).expect("folder");
    std::fs::create_dir(fixture.path().join("cache")).expect("cache folder");
    chmod(&fixture.path().join("cache"), 0o777);
    let db = folder.join("app.db");
    let url = sqlite_url(&db);
    fixture.run(&["upgrade", "cf0f", "--database-url", &url]).ok();
    let cases = [
        (0o444, 0o777, "the file is read-only for this process (mode 0444, owner uid".to_string()),
        (
            0o666,
            0o555,
            format!(
                "its folder `{}` does not let this process create SQLite's journal there (mode 0555",
                folder.display()
            ),
        ),
    ];
    for (file_mode, folder_mode, reason) in cases {
        chmod(&db, file_mode);
        chmod(&folder, folder_mode);
        let named = format!("the SQLite database `{}` cannot be written: {reason}", db.display());
        for args in [&["upgrade"][..], &["stamp", "head"], &["downgrade", "base"]] {
            let stderr = run_unprivileged(&fixture, &[args, &["--database-url", &url][..]].concat()).fails();
            assert!(stderr.contains(&named), "{args:?}: {stderr}");
            assert!(stderr.contains("give this user write access to the file and its folder"), "{stderr}");
            assert!(!stderr.contains("migrations/"), "a revision named: {stderr}");
        }
        let current = run_unprivileged(&fixture, &["current", "--database-url", &url]).ok();
        assert!(current.contains("current cf0f5b45967a"), "{current}");
    }
    chmod(&folder, 0o777);
    chmod(&db, 0o666);
    let upgraded = run_unprivileged(&fixture, &["upgrade", "--database-url", &url]).ok();
    assert!(upgraded.contains("applied  20f04b9598da"), "{upgraded}");
}

// ---------------------------------------------------------------------------
// 8. CREATE INDEX CONCURRENTLY while another migrator waits

#[test]
fn create_index_concurrently_completes_while_a_second_migrator_waits_for_the_lock() {
    let Some(url) = pg_database() else { return };
    let fixture = project(&[
        Rev::new(
            1,
            "CREATE TABLE item (id BIGINT PRIMARY KEY, name TEXT NOT NULL);\n\
             INSERT INTO item SELECT i, 'item ' || i FROM generate_series(1, 20000) AS i;",
            "DROP TABLE item;",
        ),
        Rev::new(
            2,
            "SELECT pg_sleep(0.5);\nCREATE INDEX CONCURRENTLY item_name ON item (name);\nSELECT pg_sleep(0.5);",
            "DROP INDEX CONCURRENTLY item_name;",
        )
        .no_transaction(),
    ]);
    fixture.run(&["upgrade", &id(1), "--database-url", &url]).ok();
    let first = fixture.spawn(&["upgrade", "--database-url", &url]);
    let locked = "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
                  WHERE l.locktype = 'advisory' AND l.granted AND a.datname = current_database()";
    assert!(
        wait_until(Duration::from_secs(20), || pg::sql(&url, locked)[0][0] == "1"),
        "the first never locked"
    );
    // The second polls for the lock in short transactions of its own, which
    // the index build does not wait for; a blocking `pg_advisory_lock` in an
    // open transaction would make both wait for each other.
    let second = fixture.spawn(&["upgrade", "--database-url", &url, "--lock-timeout", "30"]);
    let started = Instant::now();
    let (first, second) = (finish(first), finish(second));
    assert!(started.elapsed() < Duration::from_secs(20), "took {:?}", started.elapsed());
    assert!(first.ok().contains(&format!("applied  {}", id(2))));
    assert!(second.ok().contains("nothing to do"));
    let valid =
        pg::sql(&url, "SELECT indisvalid, indisready FROM pg_index WHERE indexrelid = 'item_name'::regclass");
    assert_eq!(valid, [["t", "t"]], "the index is valid");
    // Its downgrade, `DROP INDEX CONCURRENTLY`, runs outside a transaction too.
    fixture.run(&["downgrade", "-1", "--database-url", &url]).ok();
    assert!(!pg::schema(&url).iter().any(|line| line.contains("item_name")), "{:?}", pg::schema(&url));
    assert_eq!(pg::history(&url), [id(1)]);
}

// ---------------------------------------------------------------------------
// 10. Edited history (CRLF and BOM: `apply::crlf_line_endings_and_a_utf8_bom_are_not_drift`)

/// A two-revision chain whose second revision's upgrade is `upgrade`.
fn edited_chain(upgrade: &str) -> Vec<Rev> {
    vec![
        Rev::new(1, "CREATE TABLE account (id INTEGER PRIMARY KEY);", "DROP TABLE account;"),
        Rev::new(2, upgrade, "ALTER TABLE account DROP COLUMN email;"),
    ]
}

/// Applies the chain, edits revision 2's upgrade SQL to `edited`, and
/// returns what the next `upgrade` says.
fn after_edit(url: &str, edited: &str) -> Run {
    let fixture = project(&edited_chain("ALTER TABLE account ADD COLUMN email TEXT;"));
    fixture.run(&["upgrade", "--database-url", url]).ok();
    let path = format!("migrations/{}_.sql", id(2));
    fixture.write(&path, &fixture.read(&path).replace("ALTER TABLE account ADD COLUMN email TEXT;", edited));
    fixture.run(&["upgrade", "--database-url", url])
}

#[test]
fn whitespace_inside_a_statement_is_a_content_change_and_refused_as_drift() {
    let edits = [
        "ALTER TABLE account ADD COLUMN  email TEXT;",
        "ALTER TABLE account\n    ADD COLUMN email TEXT;",
        "ALTER TABLE account ADD COLUMN email TEXT ;",
        "alter table account add column email text;",
    ];
    let fixture = Fixture::copy("demo");
    for (i, edited) in edits.iter().enumerate() {
        let db = fixture.path().join(format!("edited-{i}.db"));
        let mut urls = vec![sqlite_url(&db)];
        urls.extend(pg_database());
        for url in urls {
            let stderr = after_edit(&url, edited).fails();
            let drift = format!("revision `{}` changed after it was applied", id(2));
            assert!(stderr.contains(&drift), "{edited:?} on {url}: {stderr}");
            assert!(stderr.contains(&format!("migrations/{}_.sql:6", id(2))), "{edited:?}: {stderr}");
        }
    }
}

#[test]
fn line_endings_and_a_bom_are_normalised_on_postgres_too() {
    let Some(url) = pg_database() else { return };
    let fixture = project(&edited_chain("ALTER TABLE account ADD COLUMN email TEXT;"));
    fixture.run(&["upgrade", "--database-url", &url]).ok();
    for file in [format!("migrations/{}_.sql", id(1)), format!("migrations/{}_.sql", id(2))] {
        fixture.write(&file, &format!("\u{feff}{}", fixture.read(&file).replace('\n', "\r\n")));
    }
    let out = fixture.run(&["upgrade", "--database-url", &url]).ok();
    assert!(out.contains("nothing to do") && !out.contains("warning"), "{out}");
}

// ---------------------------------------------------------------------------
// 11. Database ahead of code (SQLite: `apply::a_database_ahead_of_the_code_refuses_upgrade_and_reverts_with_the_stored_sql`)

#[test]
fn a_postgres_database_ahead_of_the_code_is_diagnosed_and_reverted_from_the_stored_sql() {
    let Some(url) = pg_database() else { return };
    let fixture = project(&edited_chain("ALTER TABLE account ADD COLUMN email TEXT;"));
    fixture.run(&["upgrade", "--database-url", &url]).ok();
    std::fs::remove_file(fixture.path().join(format!("migrations/{}_.sql", id(2))))
        .expect("remove revision 2");
    let stderr = fixture.run(&["upgrade", "--database-url", &url]).fails();
    let diagnosis = format!(
        "the database is ahead of this code: it has 1 revision that these revision files do not ({}); deploy the newer code, or revert with `cargo migrate downgrade` (the downgrade SQL is stored in the history table)",
        id(2)
    );
    assert!(stderr.contains(&diagnosis), "{stderr}");
    let out = fixture.run(&["downgrade", "-1", "--database-url", &url]).ok();
    assert!(out.contains(&format!("reverted {}", id(2))), "{out}");
    assert_eq!(pg::history(&url), [id(1)]);
    assert_eq!(
        pg::schema(&url),
        ["account.id integer NO", "CREATE UNIQUE INDEX account_pkey ON public.account USING btree (id)"]
    );
}

// ---------------------------------------------------------------------------
// 12. Statements that cannot run in a transaction

#[test]
fn check_rejects_statements_that_cannot_run_in_a_transaction_naming_file_line_and_fix() {
    let fixture = project(&[
        Rev::new(
            1,
            "CREATE TYPE mood AS ENUM ('ok');\nCREATE TABLE person (mood mood);",
            "DROP TABLE person;\nDROP TYPE mood;",
        ),
        Rev::new(
            2,
            "CREATE INDEX CONCURRENTLY person_mood ON person (mood);\nVACUUM;",
            "DROP INDEX person_mood;",
        ),
        Rev::new(3, "ALTER TYPE mood ADD VALUE 'meh';\nUPDATE person SET mood = 'meh';", ""),
    ]);
    // A PostgreSQL package: the enum rule is about PostgreSQL.
    fixture.write(
        "Cargo.toml",
        &fixture.read("Cargo.toml").replace("dialect = \"sqlite\"", "dialect = \"postgres\""),
    );
    let run = fixture.run(&["check"]);
    let stderr = run.fails();
    let expected = [
        format!("error: migrations/{}_.sql:6:1: M001 `CREATE INDEX CONCURRENTLY` cannot run inside a transaction; revision `{}` runs in one: add `-- transaction: none` to its header so it runs statement by statement", id(2), id(2)),
        format!("error: migrations/{}_.sql:7:1: M001 `VACUUM` cannot run inside a transaction", id(2)),
        format!("error: migrations/{}_.sql:6:1: M004 `ALTER TYPE mood ADD VALUE 'meh'` is used on line 7 before it is committed", id(3)),
        "error: package `demo`: 3 statements break a lint rule".to_string(),
    ];
    for line in expected {
        assert!(stderr.contains(&line), "missing {line:?} in:\n{stderr}");
    }
    for n in [2, 3] {
        let path = format!("migrations/{}_.sql", id(n));
        fixture
            .write(&path, &fixture.read(&path).replace("-- message:", "-- transaction: none\n-- message:"));
    }
    let out = fixture.run(&["check"]).ok();
    assert!(out.contains("ok: package `demo`: 3 revisions"), "{out}");
}

/// "Only revisions not yet applied anywhere need to pass": with a database,
/// `check` lints only what that database has not applied.
#[test]
fn check_with_a_database_lints_only_the_revisions_it_has_not_applied() {
    let Some(url) = pg_database() else { return };
    let chain = [
        Rev::new(1, "CREATE TABLE person (id bigint PRIMARY KEY, name text);", "DROP TABLE person;"),
        Rev::new(2, "CREATE INDEX person_name ON person (name);", "DROP INDEX person_name;"),
        Rev::new(3, "CREATE INDEX person_id_name ON person (id, name);", "DROP INDEX person_id_name;"),
    ];
    let fixture = project(&chain);
    fixture.write(
        "Cargo.toml",
        &fixture.read("Cargo.toml").replace("dialect = \"sqlite\"", "dialect = \"postgres\""),
    );
    fixture.run(&["upgrade", id(2).as_str(), "--database-url", &url]).ok();
    let unapplied = format!("migrations/{}_.sql:6:1: M101", id(3));
    let applied = format!("migrations/{}_.sql:6:1: M101", id(2));
    // Without a database both are linted.
    let stderr = fixture.run(&["check"]).fails();
    assert!(stderr.contains(&applied) && stderr.contains(&unapplied), "{stderr}");
    // With it, the revision it applied is past changing; the other is not.
    let stderr = fixture.run(&["check", "--database-url", &url]).fails();
    assert!(stderr.contains(&unapplied), "{stderr}");
    assert!(!stderr.contains(&applied), "revision 2 is applied there: {stderr}");
    fixture.run(&["upgrade", "--database-url", &url]).ok();
    let out = fixture.run(&["check", "--database-url", &url]).ok();
    assert!(out.contains("ok: package `demo`: 3 revisions"), "{out}");
    // `--all` lints every revision, applied or not.
    assert!(fixture.run(&["check", "--all", "--database-url", &url]).fails().contains(&applied));
}

#[test]
fn check_lints_operations_for_the_package_database_with_allowances_and_settings() {
    let fixture = project(&[
        Rev::new(1, "CREATE TABLE person (id bigint PRIMARY KEY, name text);", "DROP TABLE person;"),
        Rev::new(
            2,
            "CREATE TABLE pet (id bigint PRIMARY KEY, owner bigint);\nCREATE INDEX pet_owner ON pet (owner);\nCREATE INDEX person_name ON person (name);",
            "DROP TABLE pet;",
        ),
    ]);
    fixture.write(
        "Cargo.toml",
        &fixture.read("Cargo.toml").replace("dialect = \"sqlite\"", "dialect = \"postgres\""),
    );
    let stderr = fixture.run(&["check"]).fails();
    let expected = format!(
        "error: migrations/{}_.sql:8:1: M101 `CREATE INDEX` on `person`, which exists before this revision",
        id(2)
    );
    assert!(stderr.contains(&expected), "missing {expected:?} in:\n{stderr}");
    assert!(
        !stderr.contains("pet_owner") && !stderr.contains("on `pet`"),
        "pet is created in the same revision:\n{stderr}"
    );
    assert!(stderr.contains("error: package `demo`: 1 statement breaks a lint rule"), "{stderr}");

    // An allowance without a reason is an error of its own.
    let path = format!("migrations/{}_.sql", id(2));
    let original = fixture.read(&path);
    fixture.write(&path, &original.replace("-- message:", "-- lint: allow M101\n-- message:"));
    let stderr = fixture.run(&["check"]).fails();
    assert!(stderr.contains("M000 `-- lint: allow M101` gives no reason"), "{stderr}");
    fixture.write(
        &path,
        &original.replace("-- message:", "-- lint: allow M101 \"person has ten rows\"\n-- message:"),
    );
    let out = fixture.run(&["check"]).ok();
    assert!(out.contains("ok: package `demo`: 2 revisions"), "{out}");

    // Or the package makes the rule a warning: printed, not failing.
    fixture.write(&path, &original);
    let manifest = fixture.read("Cargo.toml").replace(
        "[workspace]",
        "[package.metadata.migrate.lint]\nindex-not-concurrent = \"warning\"\n\n[workspace]",
    );
    fixture.write("Cargo.toml", &manifest);
    let run = fixture.run(&["check"]);
    let stderr = run.stderr.clone();
    run.ok();
    assert!(stderr.contains(&format!("warning: migrations/{}_.sql:8:1: M101", id(2))), "{stderr}");

    // Adopting the lint on a deployed chain: revisions up to `shipped` are
    // linted only with `--all`.
    let manifest = fixture
        .read("Cargo.toml")
        .replace("index-not-concurrent = \"warning\"", &format!("shipped = \"{}\"", id(2)));
    fixture.write("Cargo.toml", &manifest);
    let out = fixture.run(&["check"]).ok();
    assert!(out.contains("ok: package `demo`: 2 revisions"), "{out}");
    let run = fixture.run(&["check", "--all", "--format", "json"]);
    let stdout = run.stdout.clone();
    run.fails();
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON document");
    let finding = &report["findings"][0];
    assert_eq!(finding["code"], "M101", "{report}");
    assert_eq!(finding["name"], "index-not-concurrent");
    assert_eq!(finding["level"], "error");
    assert_eq!(finding["spans"][0]["file_name"], format!("migrations/{}_.sql", id(2)));
    assert_eq!(
        (finding["spans"][0]["line_start"].as_u64(), finding["spans"][0]["column_start"].as_u64()),
        (Some(8), Some(1))
    );
    assert!(finding["help"].as_str().is_some_and(|h| h.contains("CONCURRENTLY")), "{finding}");
    assert_eq!(report["packages"][0]["package"], "demo");
}

// ---------------------------------------------------------------------------
// 13. Hostile names and URLs (SQLite: `apply::a_hostile_history_table_name_is_quoted_and_drops_nothing`)

#[test]
fn a_hostile_history_table_name_is_quoted_on_postgres_and_drops_nothing() {
    let Some(url) = pg_database() else { return };
    let hostile = "x\"; DROP TABLE y; --";
    let fixture = project(&edited_chain("ALTER TABLE account ADD COLUMN email TEXT;"));
    let manifest = fixture
        .read("Cargo.toml")
        .replace("dialect = \"sqlite\"", "dialect = \"postgres\"\nhistory-table = 'x\"; DROP TABLE y; --'");
    fixture.write("Cargo.toml", &manifest);
    pg::sql(&url, "CREATE TABLE y (id INTEGER); INSERT INTO y VALUES (42);");
    let run = |args: &[&str]| fixture.run(&[args, &["--database-url", &url]].concat());
    let hostile_history = || {
        let quoted = format!("\"{}\"", hostile.replace('"', "\"\""));
        pg::sql(&url, &format!("SELECT revision FROM {quoted} ORDER BY applied_at, revision"))
            .into_iter()
            .map(|row| row[0].clone())
            .collect::<Vec<_>>()
    };
    let stderr = run(&["upgrade"]).fails();
    assert!(stderr.contains(&format!("no history table `{hostile}`")), "{stderr}");
    run(&["upgrade", "--baseline"]).ok();
    assert_eq!(hostile_history(), [id(1), id(2)]);
    assert!(run(&["current"]).ok().contains(&format!("current {} (head)", id(2))));
    run(&["downgrade", "-1"]).ok();
    assert_eq!(hostile_history(), [id(1)]);
    run(&["stamp", "head"]).ok();
    assert_eq!(hostile_history(), [id(1), id(2)]);
    run(&["stamp", &id(1), "--allow-down"]).ok();
    run(&["repair", "--mark", "applied"]).ok();
    run(&["downgrade", "base"]).ok();
    assert!(hostile_history().is_empty());
    assert_eq!(pg::sql(&url, "SELECT id FROM y"), [["42"]], "y survives");
    let script = fixture.run(&["upgrade", "--sql"]).ok();
    assert!(script.contains("\"x\"\"; DROP TABLE y; --\""), "{script}");
}

const RIGHT_PASSWORD: &str = "Right-s3cret-pw";
const WRONG_PASSWORD: &str = "Wrong-s3cret-pw";

/// A role `migrate_secret` that must give its password (scram-sha-256)
/// over TCP, with a database of its own; its URL without the password.
/// `None` on a server this suite did not start, whose rules it must not
/// change.
fn password_protected_database(base: &str) -> Option<String> {
    if std::env::var_os(migrate_runtime::testing::TEST_URL_VAR).is_some_and(|v| !v.is_empty()) {
        eprintln!("password checks against a wrong password skipped: MIGRATE_TEST_POSTGRES_URL is set");
        return None;
    }
    let exists = pg::sql(base, "SELECT count(*) FROM pg_roles WHERE rolname = 'migrate_secret'");
    if exists[0][0] == "0" {
        pg::sql(base, &format!("CREATE ROLE migrate_secret LOGIN PASSWORD '{RIGHT_PASSWORD}'"));
        pg::sql(base, "CREATE DATABASE secret_db OWNER migrate_secret");
    }
    // The throw-away server trusts everyone; put a password rule for this
    // role first, keep the rest as initdb wrote it, and reload.
    let hba = pg::sql(base, "SHOW hba_file")[0][0].clone();
    let rules = [
        "host all migrate_secret 127.0.0.1/32 scram-sha-256",
        "local all all trust",
        "host all all 127.0.0.1/32 trust",
        "host all all ::1/128 trust",
        "local replication all trust",
        "host replication all 127.0.0.1/32 trust",
        "host replication all ::1/128 trust",
    ];
    let values = rules.iter().map(|rule| format!("('{rule}')")).collect::<Vec<_>>().join(", ");
    pg::sql(
        base,
        &format!("COPY (SELECT * FROM (VALUES {values}) AS rules) TO '{hba}'; SELECT pg_reload_conf();"),
    );
    let url =
        migrate_runtime::testing::database_url(base, "secret_db").replacen("postgres@", "migrate_secret@", 1);
    let refuses = || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(tokio_postgres::connect(&url, tokio_postgres::NoTls)).is_err()
    };
    assert!(
        wait_until(Duration::from_secs(10), refuses),
        "the server still lets migrate_secret in without a password"
    );
    Some(url)
}

#[test]
fn no_password_appears_in_any_output_of_failing_runs_auth_failure_refused_port_and_failing_sql() {
    let fixture = project(&[
        Rev::new(1, "CREATE TABLE account (id INTEGER);", "DROP TABLE account;"),
        Rev::new(2, "INSERT INTO nowhere VALUES (1);", ""),
    ]);
    let mut urls = vec![
        format!("postgres://app:{WRONG_PASSWORD}@127.0.0.1:1/db"),
        format!("postgres://app@127.0.0.1:1/db?password={WRONG_PASSWORD}&connect_timeout=2"),
        format!("postgres://app:{WRONG_PASSWORD}@127.0.0.1:notaport/db"),
        format!("postgres://app:{WRONG_PASSWORD}@[::1/db"),
    ];
    let base = pg::database().map(|url| migrate_runtime::testing::database_url(&url, "postgres"));
    if let Some(secret) = base.as_deref().and_then(password_protected_database) {
        let (scheme, rest) = secret.split_once("://").expect("a URL");
        let with =
            |password: &str| rest.replacen("migrate_secret@", &format!("migrate_secret:{password}@"), 1);
        urls.push(format!("{scheme}://{}", with(WRONG_PASSWORD)));
        urls.push(format!("{scheme}://{}", with(RIGHT_PASSWORD)));
    }
    let commands: [&[&str]; 9] = [
        &["upgrade"],
        &["upgrade", "--lock-timeout", "1", "--allow-drift"],
        &["downgrade", "-1"],
        &["stamp", "head"],
        &["current", "--verbose"],
        &["current", "--format", "json"],
        &["repair"],
        &["repair", "--mark", "applied"],
        &["stamp", "base", "--allow-down"],
    ];
    let mut failures = 0;
    for url in &urls {
        for command in commands {
            let flag = fixture.run(&[command, &["--database-url", url][..]].concat());
            let env = fixture.run_with_env(&[("DATABASE_URL", url), ("RUST_BACKTRACE", "1")], command);
            for (how, run) in [("--database-url", flag), ("DATABASE_URL", env)] {
                let shown = format!("{}{}", run.stdout, run.stderr);
                failures += usize::from(run.code != 0);
                for password in [RIGHT_PASSWORD, WRONG_PASSWORD] {
                    assert!(!shown.contains(password), "{command:?} with {how} printed a password:\n{shown}");
                }
                assert!(!shown.contains("panicked"), "{command:?} with {how}:\n{shown}");
            }
        }
    }
    assert!(failures >= 4 * commands.len() * 2, "the runs should fail: {failures}");
    if urls.len() > 4 {
        let wrong = fixture.run(&["upgrade", "--database-url", &urls[4]]).fails();
        assert!(wrong.contains("password authentication failed for user \"migrate_secret\""), "{wrong}");
        assert!(wrong.contains("migrate_secret:***@"), "{wrong}");
        let right = fixture.run(&["upgrade", "--database-url", &urls[5]]).fails();
        assert!(right.contains("relation \"nowhere\" does not exist"), "the right password gets in: {right}");
    }
}

// ---------------------------------------------------------------------------
// 14. First run against a database that already has tables

#[test]
fn a_first_upgrade_of_a_sqlite_database_with_tables_is_refused_unless_stamped_or_baselined() {
    let fixture = project(&edited_chain("ALTER TABLE account ADD COLUMN email TEXT;"));
    let db = sqlite_file(&fixture, "legacy.db", "delete");
    let url = sqlite_url(&db);
    Connection::open(&db).and_then(|c| c.execute_batch("CREATE TABLE legacy (id INTEGER);")).expect("legacy");
    let stderr = fixture.run(&["upgrade", "--database-url", &url]).fails();
    let refusal = "the database holds 1 table (legacy) but no history table `migrate_history`, so cargo migrate does not know what it has applied: if its schema is that of a revision, record that with `cargo migrate stamp REV` and upgrade from there; to apply every revision from base on top of what is there, run `cargo migrate upgrade --baseline`";
    assert!(stderr.contains(refusal), "{stderr}");
    assert_eq!(tables(&db), ["legacy"], "the refused run created nothing");
    // `--baseline` is `upgrade`'s alone: `downgrade` does not take it.
    let run = fixture.run(&["downgrade", "-1", "--baseline", "--database-url", &url]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("unexpected argument '--baseline'"), "{run:?}");

    // `--baseline`: every revision from base, on top of what is there.
    fixture.run(&["upgrade", "--baseline", "--database-url", &url]).ok();
    assert_eq!(history(&db, "migrate_history"), [id(1), id(2)]);
    assert_eq!(tables(&db), ["account", "legacy", "migrate_history", "migrate_history_format"]);

    // `stamp`: the schema is that of revision 1 already.
    let db = sqlite_file(&fixture, "stamped.db", "delete");
    let url = sqlite_url(&db);
    Connection::open(&db)
        .and_then(|c| c.execute_batch("CREATE TABLE account (id INTEGER PRIMARY KEY);"))
        .expect("account");
    fixture.run(&["stamp", &id(1), "--database-url", &url]).ok();
    let out = fixture.run(&["upgrade", "--database-url", &url]).ok();
    assert!(
        out.contains(&format!("applied  {}", id(2))) && !out.contains(&format!("applied  {}", id(1))),
        "{out}"
    );
}

#[test]
fn a_first_upgrade_of_a_postgres_database_with_tables_is_refused_unless_stamped_or_baselined() {
    let Some(url) = pg_database() else { return };
    let fixture = project(&edited_chain("ALTER TABLE account ADD COLUMN email TEXT;"));
    pg::sql(&url, "CREATE SCHEMA legacy; CREATE TABLE legacy.person (id INTEGER); CREATE VIEW person_names AS SELECT 1 AS id;");
    let stderr = fixture.run(&["upgrade", "--database-url", &url]).fails();
    assert!(stderr.contains("the database holds 2 tables (legacy.person, person_names) but no history table `migrate_history`"), "{stderr}");
    assert!(
        stderr.contains("`cargo migrate stamp REV`") && stderr.contains("`cargo migrate upgrade --baseline`"),
        "{stderr}"
    );
    assert_eq!(
        pg::sql(&url, "SELECT to_regclass('migrate_history') IS NULL"),
        [["t"]],
        "the refused run created nothing"
    );
    fixture.run(&["upgrade", "--baseline", "--database-url", &url]).ok();
    assert_eq!(pg::history(&url), [id(1), id(2)]);
    // From then on the history table is there: no flag needed.
    fixture.run(&["downgrade", "-1", "--database-url", &url]).ok();
    fixture.run(&["upgrade", "--database-url", &url]).ok();
}
