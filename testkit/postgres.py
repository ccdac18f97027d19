"""A throwaway PostgreSQL cluster for tests: initdb + pg_ctl on a free port, in a temporary folder.

    cluster = PostgresCluster.start()          # a few seconds
    url = cluster.new_database("test_x")       # a fresh, empty database; its URL
    ...
    cluster.stop()                             # stops the server and deletes the folder

The server is Debian's `postgresql` package (binaries under /usr/lib/postgresql/<version>/bin).
PostgreSQL refuses to run as root, so as root every server command runs as the `postgres` user
(`runuser -u postgres`) and the folder belongs to it. The server listens on 127.0.0.1 only, with its
socket in the same folder, trusts local connections, and skips fsync: it holds test data only.
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg

INSTALL_HINT = "PostgreSQL is not installed: install Debian's package with `apt-get install -y postgresql`"
START_SECONDS = 60  # a loaded 2-core runner can take a while; a healthy start takes 1-3 s
SUPERUSER = "staffsafe"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server can be started here (not installed, or it failed to start)."""


def find_bin_dir() -> Path | None:
    """The newest installed PostgreSQL server's binaries, or None.

    PG_BIN_DIR names the folder instead (another installation; tests point it at an empty one).
    """
    if os.environ.get("PG_BIN_DIR"):
        chosen = Path(os.environ["PG_BIN_DIR"])
        return chosen if (chosen / "initdb").exists() and (chosen / "postgres").exists() else None
    found = [Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/pg_ctl")]
    on_path = shutil.which("pg_ctl")
    if on_path:
        found.append(Path(os.path.realpath(on_path)).parent)
    usable = [d for d in found if (d / "initdb").exists() and (d / "postgres").exists()]
    return max(usable, key=_version_of, default=None)


def _version_of(bin_dir: Path) -> int:
    try:
        return int(bin_dir.parent.name)
    except ValueError:
        return 0


class PostgresCluster:
    """One running test server; `new_database` hands out fresh databases on it."""

    def __init__(self, *, root: Path, bin_dir: Path, port: int, run_as: str | None) -> None:
        self.root = root
        self.bin_dir = bin_dir
        self.port = port
        self._run_as = run_as
        self._stopped = False
        self._template_ready = False

    @property
    def data_dir(self) -> Path:
        """The cluster's data folder."""
        return self.root / "data"

    @classmethod
    def start(cls) -> PostgresCluster:
        """initdb and start a server on a free port; PostgresUnavailable if it cannot."""
        bin_dir = find_bin_dir()
        if bin_dir is None:
            raise PostgresUnavailable(INSTALL_HINT)
        run_as = "postgres" if os.geteuid() == 0 else None
        root = Path(tempfile.mkdtemp(prefix="staffsafe-pg-"))
        if run_as:
            user = pwd.getpwnam(run_as)
            os.chown(root, user.pw_uid, user.pw_gid)
        cluster = cls(root=root, bin_dir=bin_dir, port=_free_port(), run_as=run_as)
        atexit.register(cluster.stop)
        try:
            cluster._initdb()
            cluster._pg_ctl("start", "-w", "-t", str(START_SECONDS), "-l", str(root / "server.log"), "-o",
                            f"-c port={cluster.port} -c listen_addresses=127.0.0.1 "
                            f"-c unix_socket_directories={root} -c fsync=off -c synchronous_commit=off "
                            "-c full_page_writes=off -c max_connections=200")
        except (OSError, subprocess.SubprocessError) as exc:
            log = cluster.server_log()
            cluster.stop()
            raise PostgresUnavailable(f"the test PostgreSQL server did not start ({exc}); its log:\n{log}") from None
        return cluster

    def url(self, database: str = "postgres") -> str:
        """A connection URL for one database of this cluster, as the superuser."""
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def new_database(self, name: str, *, template: str = "template0") -> str:
        """Create an empty database (a copy of `template`) and return its URL."""
        with psycopg.connect(self.url(), autocommit=True) as conn:
            # FILE_COPY (PostgreSQL 15+): a plain copy of the template's files, faster than WAL-logging it.
            strategy = " STRATEGY FILE_COPY" if conn.info.server_version >= 150000 else ""
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"{strategy}')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop a database, closing whatever is still connected to it."""
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def terminate_backends(self, database: str) -> int:
        """Kill every server process serving `database` (a crash, a failover); how many were killed."""
        with psycopg.connect(self.url(), autocommit=True) as conn:
            row = conn.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()", (database,)).fetchone()
        return int(row[0]) if row else 0

    def server_log(self) -> str:
        """The server's log so far (for a failure message)."""
        try:
            return (self.root / "server.log").read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self) -> None:
        """Stop the server at once and delete its folder."""
        if self._stopped:
            return
        self._stopped = True
        if (self.data_dir / "postmaster.pid").exists():
            try:
                self._pg_ctl("stop", "-m", "immediate", "-w", "-t", "30")
            except (OSError, subprocess.SubprocessError):
                pass
        shutil.rmtree(self.root, ignore_errors=True)

    def _initdb(self) -> None:
        self._run(self.bin_dir / "initdb", "-D", str(self.data_dir), "-U", SUPERUSER, "-A", "trust",
                  "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions")

    def _pg_ctl(self, *args: str) -> None:
        self._run(self.bin_dir / "pg_ctl", "-D", str(self.data_dir), *args)

    def _run(self, program: Path, *args: str) -> None:
        command = [str(program), *args]
        if self._run_as:
            command = ["runuser", "-u", self._run_as, "--", *command]
        # Bounded: a wedged initdb or start must fail the run, not hang it.
        subprocess.run(command, check=True, capture_output=True, timeout=START_SECONDS + 30, cwd=self.root)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main(argv: list[str]) -> int:
    """Run a command with STAFFSAFE_DATABASE_URL set to a throwaway server's database (deleted when it ends)."""
    if not argv:
        print("usage: python -m testkit.postgres COMMAND [ARG...]", file=sys.stderr)
        return 2
    try:
        cluster = PostgresCluster.start()
    except PostgresUnavailable as exc:
        print(exc, file=sys.stderr)
        return 1
    try:
        url = cluster.new_database("staffsafe")
        print(f"A throwaway PostgreSQL server holds this session's data ({url}); it is deleted at the end.",
              file=sys.stderr)
        return subprocess.call(argv, env=os.environ | {"STAFFSAFE_DATABASE_URL": url})
    finally:
        cluster.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
