#!/usr/bin/env python3
"""Fresh-database benchmark: a new SQLite file brought to head over 1,000
revisions (a table and an index each) in one step.

- From a snapshot: `cargo migrate snapshot` is written once, then
  `cargo-migrate --migrations-dir DIR upgrade` on a new file applies it
  (and records the 1,000 history rows) in one transaction. Baseline: the
  `sqlite3` command-line shell applying the snapshot's SQL to a new file in
  one transaction (`BEGIN; … COMMIT;`). Goals: at most 0.15 s, and at most
  1.3x the baseline.
- `upgrade --transaction all` without a snapshot: every revision and its
  history row in one transaction. Baseline: `sqlite3` applying every
  revision's upgrade SQL to a new file in one transaction. Goal: at most
  1.2x.

With `--postgres` (PostgreSQL server binaries and `psql` on PATH), the same
two on a throw-away server (`fsync` off), each run on a new database,
against `psql -1 -f` of the same SQL.

The baselines write no history rows; cargo-migrate writes 1,000. Each
measurement is the whole process, start-up included, on a new file in a
temporary folder. Prints the median of `--runs` runs and the ratios.
Timings belong here, never in tests.

Run: scripts/bench-fresh.py [--binary target/release/cargo-migrate]
     [--revisions 1000] [--runs 5] [--postgres | --postgres-only]

Each measurement alternates with its baseline's, run for run.
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from importlib import import_module  # noqa: E402

walk = import_module("bench-walk")
ROOT = Path(__file__).resolve().parent.parent


def run(argv, **kwargs):
    done = subprocess.run(argv, capture_output=True, text=True, **kwargs)
    if done.returncode != 0:
        sys.exit(f"{' '.join(map(str, argv))} failed:\n{done.stdout}{done.stderr}")
    return done


class Fresh:
    """A new database file for each run, in `work`."""

    def __init__(self, work):
        self.work = work
        self.count = 0

    def next(self):
        self.count += 1
        return self.work / f"fresh-{self.count}.sqlite3"


def timed_upgrade(binary, folder, fresh, *extra):
    def measure():
        db = fresh.next()
        started = time.perf_counter()
        run([binary, "--migrations-dir", str(folder), "upgrade", "--database-url", f"sqlite:{db}", *extra])
        return time.perf_counter() - started

    return measure


def timed_sqlite3(script, fresh):
    def measure():
        db = fresh.next()
        started = time.perf_counter()
        run(["sqlite3", str(db)], input=script)
        return time.perf_counter() - started

    return measure


class FreshPostgres:
    """A new database on `server` for each run."""

    def __init__(self, server):
        self.server = server
        self.count = 0

    def next(self):
        self.count += 1
        name = f"fresh_{self.count}"
        self.server.psql("postgres", "-c", f"CREATE DATABASE {name}")
        return name

    def url(self, name):
        return self.server.url.rsplit("/", 1)[0] + f"/{name}"


def timed_pg_upgrade(binary, folder, fresh, *extra):
    def measure():
        url = fresh.url(fresh.next())
        started = time.perf_counter()
        run([binary, "--migrations-dir", str(folder), "upgrade", "--database-url", url, *extra])
        return time.perf_counter() - started

    return measure


def timed_psql(script, fresh):
    def measure():
        name = fresh.next()
        started = time.perf_counter()
        fresh.server.psql(name, "-q", "-1", "-f", str(script))
        return time.perf_counter() - started

    return measure


def postgres(args, work):
    server = walk.Server(work)
    try:
        fresh = FreshPostgres(server)
        folder = work / "pg-migrations"
        walk.write_chain(folder, args.revisions, "postgres")
        every = work / "every.sql"
        every.write_text("\n".join(walk.upgrade_sql(i) for i in range(args.revisions)) + "\n")
        ours, base = interleaved(
            args.runs, timed_pg_upgrade(args.binary, folder, fresh, "--transaction", "all"), timed_psql(every, fresh)
        )
        report(f"PostgreSQL --transaction all, {args.revisions} revisions", ours, base, 1.2, baseline="psql -1")
        run([args.binary, "--migrations-dir", str(folder), "snapshot", "--database-url", server.url])
        snapshot = next((folder / "snapshots").glob("*.sql"))
        ours, base = interleaved(args.runs, timed_pg_upgrade(args.binary, folder, fresh), timed_psql(snapshot, fresh))
        report(f"PostgreSQL from a snapshot, {args.revisions} revisions", ours, base, 1.3, baseline="psql -1")
    finally:
        server.stop()


def interleaved(runs, ours, base):
    """`(median, times)` of each side, the two run in turn so that a change
    in the machine's load falls on both alike."""
    times = [(ours(), base()) for _ in range(runs)]
    mine, theirs = [t for t, _ in times], [t for _, t in times]
    return (statistics.median(mine), mine), (statistics.median(theirs), theirs)


def report(name, ours, base, goal, absolute=None, baseline="sqlite3"):
    (ours_time, ours_runs), (base_time, base_runs) = ours, base
    ratio = ours_time / base_time
    line = (f"{name}: cargo-migrate {ours_time:.3f} s (runs {', '.join(f'{t:.3f}' for t in ours_runs)}), "
            f"{baseline} {base_time:.3f} s (runs {', '.join(f'{t:.3f}' for t in base_runs)}): "
            f"{ratio:.2f}x, {'within' if ratio <= goal else 'over'} the {goal}x goal")
    if absolute is not None:
        line += f"; {'within' if ours_time <= absolute else 'over'} the {absolute} s goal"
    print(line)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=str(ROOT / "target/release/cargo-migrate"))
    parser.add_argument("--revisions", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--postgres-only", action="store_true", help="skip the SQLite measurements")
    args = parser.parse_args()
    if not Path(args.binary).is_file():
        sys.exit(f"{args.binary} not found: build it with `cargo build --release -p cargo-migrate`")
    n = args.revisions
    with tempfile.TemporaryDirectory(prefix="bench-fresh-") as work:
        work = Path(work)
        if args.postgres_only:
            return postgres(args, work)
        fresh = Fresh(work)
        folder = work / "migrations"
        walk.write_chain(folder, n, "sqlite")
        every = "BEGIN;\n" + "\n".join(walk.upgrade_sql(i) for i in range(n)) + "\nCOMMIT;\n"
        ours, base = interleaved(
            args.runs, timed_upgrade(args.binary, folder, fresh, "--transaction", "all"), timed_sqlite3(every, fresh)
        )
        report(f"--transaction all, {n} revisions", ours, base, 1.2)

        run([args.binary, "--migrations-dir", str(folder), "snapshot"])
        snapshot = next((folder / "snapshots").glob("*.sql")).read_text()
        ours, base = interleaved(
            args.runs, timed_upgrade(args.binary, folder, fresh), timed_sqlite3(f"BEGIN;\n{snapshot}\nCOMMIT;\n", fresh)
        )
        report(f"from a snapshot, {n} revisions", ours, base, 1.3, absolute=0.15)
        if args.postgres:
            postgres(args, work)


if __name__ == "__main__":
    main()
