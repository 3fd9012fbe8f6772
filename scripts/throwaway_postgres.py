"""A throw-away PostgreSQL server from the local binaries, for the benchmark
scripts (the Rust tests have their own in migrate-runtime's testing::server).

    from throwaway_postgres import Server
    server = Server(work_folder)   # initdb + pg_ctl start on a free port
    server.psql("postgres", "-c", "SELECT 1")
    server.stop()
"""

import os
import shutil
import socket
import subprocess


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A throw-away PostgreSQL server from the local binaries."""

    def __init__(self, work):
        # PostgreSQL refuses to run as root: then the `postgres` OS user runs it.
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        home = work / "pg"
        home.mkdir()
        if self.as_user:
            os.chmod(work, 0o755)
            shutil.chown(home, "postgres")
        self.data = home / "data"
        self.port = free_port()
        self.pg(["initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8"])
        options = f"-p {self.port} -k {home} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        self.pg(["pg_ctl", "-D", str(self.data), "-o", options, "-l", str(home / "server.log"), "-w", "start"])
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def pg(self, command, check=True):
        return subprocess.run(self.as_user + command, check=check, capture_output=True)

    def psql(self, database, *args):
        url = self.url.rsplit("/", 1)[0] + f"/{database}"
        return subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, *args], check=True,
                              capture_output=True, text=True)

    def stop(self):
        self.pg(["pg_ctl", "-D", str(self.data), "-m", "immediate", "stop"], check=False)
