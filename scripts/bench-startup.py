#!/usr/bin/env python3
"""Start-up benchmark: what a command costs when there is nothing to do.

Builds, in a temporary folder, a cargo package with 1,000 revisions (a table
and an index each) and one with 10,000, brings a SQLite database to head,
and runs hyperfine, in one run, on:

- `cargo migrate upgrade` at head, cargo mode and standalone mode
  (`--migrations-dir`), 1,000 revisions;
- `cargo migrate heads` on 10,000 revisions, cargo mode;
- `cargo metadata --no-deps` on the same packages (what every cargo-mode
  command paid before its answer was cached);
- `sqlite3 DB 'SELECT 1'`, the floor, and `sqlite3 DB 'SELECT count(*)
  FROM migrate_history'`, the floor for any tool that reads its history
  (SQLite parses the whole schema, 2,000 objects here, on the first
  statement that touches a table);
- with `--postgres`, the same at head on a throw-away PostgreSQL server
  (scripts/throwaway_postgres.py): standalone cargo-migrate, sqlx-cli and
  refinery_cli, against `psql -c 'SELECT 1'`;
- `sqlx migrate run` and `refinery migrate` at head on the same 1,000
  revisions, when found (`--tools DIR`, default /work/bench-tools/bin).

Prints the medians and their ratios to `cargo metadata` and to the fastest
other migration tool. Timings belong here, never in tests.

Run: scripts/bench-startup.py [--binary target/release/cargo-migrate]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def revision_text(i, parent):
    return (
        f"-- revision: {i:012x}\n"
        f"-- revises: {'' if parent is None else f'{parent:012x}'}\n"
        f"-- message: revision {i}\n"
        f"-- created: 2026-11-22T20:00:00Z\n\n"
        f"-- migrate:upgrade\n{upgrade_sql(i)}\n\n"
        f"-- migrate:downgrade\nDROP TABLE t_{i};\n"
    )


def upgrade_sql(i):
    return f"CREATE TABLE t_{i} (id INTEGER PRIMARY KEY, name TEXT);\nCREATE INDEX t_{i}_name ON t_{i} (name);"


def write_package(folder, name, count):
    """A cargo package `name` whose migrations folder holds `count` revisions."""
    (folder / "src").mkdir(parents=True)
    (folder / "src" / "lib.rs").write_text("")
    (folder / "Cargo.toml").write_text(
        f'[package]\nname = "{name}"\nversion = "0.1.0"\nedition = "2021"\n\n[workspace]\n'
    )
    migrations = folder / "migrations"
    migrations.mkdir()
    (migrations / "migrate.toml").write_text(f'package = "{name}"\n')
    for i in range(count):
        parent = None if i == 0 else i - 1
        (migrations / f"{i:012x}_revision_{i}.sql").write_text(revision_text(i, parent))


def write_other_tools(folder, count):
    """The same SQL for sqlx-cli (`<version>_<name>.sql`) and refinery
    (`V<n>__<name>.sql`)."""
    sqlx = folder / "sqlx"
    refinery = folder / "refinery"
    sqlx.mkdir()
    refinery.mkdir()
    for i in range(count):
        (sqlx / f"{i + 1}_revision_{i}.sql").write_text(upgrade_sql(i) + "\n")
        (refinery / f"V{i + 1}__revision_{i}.sql").write_text(upgrade_sql(i) + "\n")


def run(command, **kwargs):
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, **kwargs)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=str(ROOT / "target/release/cargo-migrate"))
    parser.add_argument("--tools", default="/work/bench-tools/bin")
    parser.add_argument("--runs", default="30")
    parser.add_argument("--baseline", help="an older cargo-migrate binary to measure beside this one")
    parser.add_argument("--postgres", action="store_true", help="also measure at head on a throw-away PostgreSQL server")
    args = parser.parse_args()
    binary = args.binary
    if not shutil.which("hyperfine"):
        sys.exit("hyperfine not found: `cargo install hyperfine` or your package manager's")
    work = Path(tempfile.mkdtemp(prefix="migrate-bench-"))
    small, big = work / "small", work / "big"
    write_package(small, "small", 1_000)
    write_package(big, "big", 10_000)
    write_other_tools(work, 1_000)
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    env.pop("CARGO_TARGET_DIR", None)
    db = small / "target/migrate/small.sqlite3"
    standalone_db = work / "standalone.sqlite3"
    sqlx_db, refinery_db = work / "sqlx.sqlite3", work / "refinery.sqlite3"
    migrate = f"{binary} migrate"
    run([binary, "migrate", "upgrade"], cwd=small, env=env)
    run([binary, "migrate", "--migrations-dir", "migrations", "--database-url", f"sqlite:{standalone_db}", "upgrade"], cwd=small, env=env)
    # Files younger than two seconds are never cached (see chain/cache.rs).
    time.sleep(2.5)
    commands = {
        "sqlite3 DB 'SELECT 1' (floor)": f"sqlite3 {db} 'SELECT 1'",
        "sqlite3 DB history count (floor)": f"sqlite3 {db} 'SELECT count(*) FROM migrate_history'",
        "cargo metadata --no-deps (1,000)": f"cd {small} && cargo metadata --no-deps --format-version 1",
        "upgrade at head, cargo mode (1,000)": f"cd {small} && {migrate} upgrade",
        "upgrade at head, standalone (1,000)": f"cd {small} && {migrate} --migrations-dir migrations --database-url sqlite:{standalone_db} upgrade",
        "cargo metadata --no-deps (10,000)": f"cd {big} && cargo metadata --no-deps --format-version 1",
        "heads, cargo mode (10,000)": f"cd {big} && {migrate} heads",
        "history, cargo mode (10,000)": f"cd {big} && {migrate} history",
    }
    if args.baseline:
        old = f"{args.baseline} migrate"
        commands["before: upgrade at head, cargo mode (1,000)"] = f"cd {small} && {old} upgrade"
        commands["before: heads, cargo mode (10,000)"] = f"cd {big} && {old} heads"
    tools = Path(args.tools)
    if (tools / "sqlx").exists():
        run([str(tools / "sqlx"), "database", "create", "--database-url", f"sqlite:{sqlx_db}"], env=env)
        run([str(tools / "sqlx"), "migrate", "run", "--source", str(work / "sqlx"), "--database-url", f"sqlite:{sqlx_db}"], env=env)
        commands["sqlx migrate run at head (1,000)"] = (
            f"{tools / 'sqlx'} migrate run --source {work / 'sqlx'} --database-url sqlite:{sqlx_db}"
        )
    if (tools / "refinery").exists():
        refinery_db.touch()  # refinery opens SQLite files without creating them
        refinery_env = dict(env, REFINERY_DB=f"sqlite://{refinery_db}")
        refinery = f"{tools / 'refinery'} migrate -e REFINERY_DB -p {work / 'refinery'}"
        run(refinery, shell=True, env=refinery_env)
        commands["refinery migrate at head (1,000)"] = f"REFINERY_DB=sqlite://{refinery_db} {refinery}"
    server = postgres_commands(commands, work, small, binary, tools, env) if args.postgres else None
    export = work / "hyperfine.json"
    hyperfine = ["hyperfine", "--shell", "bash", "--warmup", "3", "--runs", args.runs, "--export-json", str(export)]
    for name, command in commands.items():
        hyperfine += ["-n", name, command]
    try:
        subprocess.run(hyperfine, check=True, env=env, stdout=subprocess.DEVNULL)
    finally:
        if server:
            server.stop()
    report(json.loads(export.read_text())["results"])
    shutil.rmtree(work)


def postgres_commands(commands, work, small, binary, tools, env):
    """Brings three databases of a throw-away server to head (one per tool)
    and adds the at-head commands and the psql floor to `commands`."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from throwaway_postgres import Server

    server = Server(work)
    base = server.url.rsplit("/", 1)[0]
    for name in ("migrate", "sqlx", "refinery"):
        server.psql("postgres", "-c", f"CREATE DATABASE {name}")
    url = f"{base}/migrate"
    standalone = f"{binary} migrate --migrations-dir migrations --database-url {url} upgrade"
    run(standalone, shell=True, cwd=small, env=env)
    time.sleep(2.5)
    commands["psql -c 'SELECT 1' (PostgreSQL floor)"] = f"psql -X -q -d {url} -c 'SELECT 1'"
    commands["upgrade at head, standalone, PostgreSQL (1,000)"] = f"cd {small} && {standalone}"
    if (tools / "sqlx").exists():
        sqlx = f"{tools / 'sqlx'} migrate run --source {work / 'sqlx'} --database-url {base}/sqlx"
        run(sqlx, shell=True, env=env)
        commands["sqlx migrate run at head, PostgreSQL (1,000)"] = sqlx
    if (tools / "refinery").exists():
        refinery = f"REFINERY_PG={base}/refinery {tools / 'refinery'} migrate -e REFINERY_PG -p {work / 'refinery'}"
        run(refinery, shell=True, env=env)
        commands["refinery migrate at head, PostgreSQL (1,000)"] = refinery
    return server


def report(results):
    """Each median with its ratios to the baselines of its kind: the
    floors and the fastest other tool on the same database, `cargo
    metadata` of the same package for the read commands."""
    medians = {r["command"]: r["median"] * 1e3 for r in results}

    def fastest(postgres):
        others = [v for k, v in medians.items()
                  if k.startswith(("sqlx", "refinery")) and ("PostgreSQL" in k) == postgres]
        return min(others) if others else None

    sqlite_baselines = {
        "SELECT 1": medians.get("sqlite3 DB 'SELECT 1' (floor)"),
        "history count": medians.get("sqlite3 DB history count (floor)"),
        "fastest other": fastest(False),
    }
    postgres_baselines = {"SELECT 1": medians.get("psql -c 'SELECT 1' (PostgreSQL floor)"), "fastest other": fastest(True)}
    print(f"{'command':<50} {'median':>9}  ratios")
    for name, median in medians.items():
        if "metadata" in name:
            baselines = {}
        elif "(10,000)" in name or name.startswith(("heads", "history")):
            baselines = {"cargo metadata": medians.get("cargo metadata --no-deps (10,000)")}
        elif "PostgreSQL" in name:
            baselines = postgres_baselines
        elif name.startswith("upgrade") or name.startswith("before"):
            baselines = dict(sqlite_baselines, **{"cargo metadata": medians.get("cargo metadata --no-deps (1,000)")})
        else:
            baselines = {"fastest other": sqlite_baselines["fastest other"]} if not name.startswith(("sqlite3", "psql")) else {}
        ratios = ", ".join(f"{median / base:.2f}× {label}" for label, base in baselines.items() if base)
        print(f"{name:<50} {median:>7.1f} ms  {ratios}")


if __name__ == "__main__":
    main()
