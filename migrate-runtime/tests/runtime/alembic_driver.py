"""Runs upgrade and downgrade steps through Alembic itself, one at a time.

The other half of `alembic.rs`, the differential test of cargo-migrate's
planner against Alembic. Usage:

    python3 alembic_driver.py SCRIPT_LOCATION DB

SCRIPT_LOCATION holds the version files in versions/, each creating and
dropping one table `t_<id>`; the driver writes SCRIPT_LOCATION/env.py
itself, so all the Python lives in this file. DB is the SQLite file.

The driver first checks the revision graph and writes one JSON line on
stdout, `{"load_error": TEXT}` when Alembic refuses the graph (then it
exits) or `{"load_error": null}`. Then it reads one JSON request a line on
stdin and answers each with one JSON line on stdout, until end of input:

    {"step": [COMMAND, TARGET]}     COMMAND is "upgrade" or "downgrade"
        -> {"ok": BOOL, "error": TEXT | null, "warnings": [TEXT],
            "tables": [NAME]}
    {"restore": true}
        -> {"tables": [NAME]}

`tables` are the `t_<id>` tables, sorted: the truth of what is applied,
since Alembic's version table holds only the heads. A step that raises is
recorded as failed (`error` is "ExceptionType: message", plus
" (at alembic/FILE:LINE)" when it is a crash inside Alembic rather than one
of its CommandError refusals) and the next step runs on whatever state it
left. Before each step the driver copies DB aside; `restore` puts that copy
back, so the database is as it was before the last step (a crash can leave
Alembic's DDL committed while its version table rolls back).
"""

import io
import json
import os
import shutil
import sqlite3
import sys
import traceback
import warnings

from alembic import command, util
from alembic.config import Config
from alembic.script import ScriptDirectory


# Online migrations on the SQLite file named by the config's URL. NullPool:
# no connection outlives a step, so nothing holds the file between steps.
ENV_PY = """\
from alembic import context
from sqlalchemy import create_engine, pool

url = context.config.get_main_option("sqlalchemy.url")
engine = create_engine(url, poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()
"""


def config_for(script_location, db):
    # A Config without a file: env.py reads the URL from it. Alembic's own
    # stdout writes go to a buffer so that only our JSON reaches stdout.
    config = Config(stdout=io.StringIO())
    config.set_main_option("script_location", script_location)
    config.set_main_option("sqlalchemy.url", "sqlite:///" + db)
    return config


def load_error(config):
    """Alembic checks the graph lazily: build the revision map now so that a
    graph it refuses is reported once, not as a failure of every step."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            script = ScriptDirectory.from_config(config)
            script.revision_map.heads
            script.revision_map._real_heads
    except Exception as error:  # noqa: BLE001 - any refusal ends the run
        return describe(error)
    return None


def describe(error):
    text = "%s: %s" % (type(error).__name__, " ".join(str(error).split()))
    if isinstance(error, util.CommandError):
        return text
    # Not one of Alembic's refusals but a crash inside it (KeyError,
    # AssertionError): say where, so the report can point at the line.
    frames = [f for f in traceback.extract_tb(error.__traceback__) if "alembic" in f.filename]
    if frames:
        where = frames[-1].filename.split("site-packages/")[-1]
        text += " (at %s:%d)" % (where, frames[-1].lineno)
    return text


def tables(db):
    connection = sqlite3.connect(db)
    try:
        rows = connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name GLOB 't_*'"
        ).fetchall()
    finally:
        connection.close()
    return sorted(name for (name,) in rows)


def run_step(config, db, step):
    name, target = step
    run = {"upgrade": command.upgrade, "downgrade": command.downgrade}[name]
    error = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            run(config, target)
        except Exception as exception:  # noqa: BLE001 - recorded, compared
            error = describe(exception)
    return {
        "ok": error is None,
        "error": error,
        "warnings": [" ".join(str(w.message).split()) for w in caught],
        "tables": tables(db),
    }


def answer(out, document):
    out.write(json.dumps(document) + "\n")
    out.flush()


def serve(config, db, out):
    """Answers requests from stdin until end of input."""
    saved = db + ".before"
    # An empty file is an empty SQLite database: there is always one to copy.
    open(db, "ab").close()
    for line in sys.stdin:
        request = json.loads(line)
        if "step" in request:
            shutil.copyfile(db, saved)
            answer(out, run_step(config, db, request["step"]))
        elif request.get("restore"):
            shutil.copyfile(saved, db)
            answer(out, {"tables": tables(db)})
        else:
            raise ValueError("unknown request: %r" % line)


def main():
    script_location, db = sys.argv[1:]
    with open(os.path.join(script_location, "env.py"), "w") as file:
        file.write(ENV_PY)
    config = config_for(script_location, db)
    out = sys.stdout
    # Whatever Alembic or SQLAlchemy print must not corrupt the JSON.
    sys.stdout = sys.stderr
    refused = load_error(config)
    answer(out, {"load_error": refused})
    if refused is None:
        serve(config, db, out)


if __name__ == "__main__":
    main()
