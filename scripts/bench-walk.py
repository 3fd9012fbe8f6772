#!/usr/bin/env python3
"""Walk benchmark: `cargo migrate walk` on 1,000 revisions (a table and an
index each) against running the same SQL without the walk's checks.

- PostgreSQL: `cargo-migrate --migrations-dir DIR walk --database-url URL`
  (a scratch database on a throw-away server this script starts) against
  one `psql` session running the same sequence the walk runs, one revision
  at a time, each step its own transaction: every revision up, down and up
  again, then every revision down, newest first. Goal: at most 5x.
- SQLite: the walk on in-memory SQLite against the same sequence through
  Python's `sqlite3` module (the SQLite C library) on an in-memory
  database, each step its own transaction. Goal: at most 3x.

Neither baseline writes history rows; the walk writes one per step, as
`upgrade` does. Both sides run on the same server with the same settings
(`fsync` off, as the test server). Prints the median of `--runs` runs and
the ratios. Timings belong here, never in tests.

Run: scripts/bench-walk.py [--binary target/release/cargo-migrate]
     [--revisions 1000] [--runs 3] [--only sqlite|postgres]
"""

import argparse
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from throwaway_postgres import Server  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def upgrade_sql(i):
    return f"CREATE TABLE t_{i} (id INTEGER PRIMARY KEY, name TEXT);\nCREATE INDEX t_{i}_name ON t_{i} (name);"


def downgrade_sql(i):
    return f"DROP TABLE t_{i};"


def revision_text(i):
    parent = "" if i == 0 else f"{i - 1:012x}"
    return (
        f"-- revision: {i:012x}\n-- revises: {parent}\n-- message: revision {i}\n"
        f"-- created: 2026-11-22T20:00:00Z\n\n"
        f"-- migrate:upgrade\n{upgrade_sql(i)}\n\n-- migrate:downgrade\n{downgrade_sql(i)}\n"
    )


def write_chain(folder, n, dialect):
    folder.mkdir(parents=True)
    (folder / "migrate.toml").write_text(f'package = "bench"\ndialect = "{dialect}"\n')
    for i in range(n):
        (folder / f"{i:012x}_revision_{i}.sql").write_text(revision_text(i))


def steps(n):
    """The walk's sequence: each revision up, down, up; then all down."""
    for i in range(n):
        yield upgrade_sql(i)
        yield downgrade_sql(i)
        yield upgrade_sql(i)
    for i in reversed(range(n)):
        yield downgrade_sql(i)


def timed(run):
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def median_of(runs, measure):
    times = [measure() for _ in range(runs)]
    return statistics.median(times), times


def walk(binary, folder, *extra):
    def run():
        done = subprocess.run(
            [binary, "--migrations-dir", str(folder), "walk", *extra],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            sys.exit(f"the walk failed:\n{done.stdout}{done.stderr}")

    return run


def sqlite_baseline(n):
    def run():
        conn = sqlite3.connect(":memory:", isolation_level=None)
        for sql in steps(n):
            conn.executescript(f"BEGIN;\n{sql}\nCOMMIT;")
        conn.close()

    return run


def psql_baseline(server, script):
    counter = iter(range(1_000_000))

    def run():
        name = f"baseline_{next(counter)}"
        server.psql("postgres", "-c", f"CREATE DATABASE {name}")
        started = time.perf_counter()
        server.psql(name, "-f", str(script))
        elapsed = time.perf_counter() - started
        server.psql("postgres", "-c", f"DROP DATABASE {name}")
        return elapsed

    return run


def report(name, walk_time, base_time, goal, walk_runs, base_runs):
    ratio = walk_time / base_time
    verdict = "within" if ratio <= goal else "over"
    print(f"{name}: walk {walk_time:.2f} s (runs {', '.join(f'{t:.2f}' for t in walk_runs)}), "
          f"baseline {base_time:.2f} s (runs {', '.join(f'{t:.2f}' for t in base_runs)}): "
          f"{ratio:.1f}x, {verdict} the {goal}x goal")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=str(ROOT / "target/release/cargo-migrate"))
    parser.add_argument("--revisions", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    args = parser.parse_args()
    if not Path(args.binary).is_file():
        sys.exit(f"{args.binary} not found: build it with `cargo build --release -p cargo-migrate`")
    n = args.revisions
    with tempfile.TemporaryDirectory(prefix="bench-walk-") as work:
        work = Path(work)
        if args.only != "postgres":
            folder = work / "sqlite"
            write_chain(folder, n, "sqlite")
            walk_time, walk_runs = median_of(args.runs, lambda: timed(walk(args.binary, folder)))
            base_time, base_runs = median_of(args.runs, lambda: timed(sqlite_baseline(n)))
            report(f"SQLite in memory, {n} revisions", walk_time, base_time, 3, walk_runs, base_runs)
        if args.only != "sqlite":
            if shutil.which("initdb") is None or shutil.which("psql") is None:
                sys.exit("PostgreSQL server binaries and psql are needed on PATH")
            folder = work / "postgres"
            write_chain(folder, n, "postgres")
            script = work / "baseline.sql"
            script.write_text("".join(f"BEGIN;\n{sql}\nCOMMIT;\n" for sql in steps(n)))
            server = Server(work)
            try:
                run = walk(args.binary, folder, "--database-url", server.url)
                walk_time, walk_runs = median_of(args.runs, lambda: timed(run))
                base_time, base_runs = median_of(args.runs, psql_baseline(server, script))
                report(f"PostgreSQL, {n} revisions", walk_time, base_time, 5, walk_runs, base_runs)
            finally:
                server.stop()


if __name__ == "__main__":
    main()
