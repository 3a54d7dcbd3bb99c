"""A throwaway local PostgreSQL (Debian's ``postgresql`` package) for tests, benchmarks and stacks.

Prefect's production topology keeps its state in PostgreSQL, not SQLite; this starts a real
one with ``initdb`` and ``pg_ctl`` in a temporary directory, listening on a free 127.0.0.1 port
only (its socket in the same directory), and removes it afterwards. ``initdb`` refuses to run
as root, so as root every PostgreSQL command runs as the ``postgres`` user via ``runuser``.

Trust authentication for 127.0.0.1 is enough here: nothing but this host can connect and the
cluster lives as long as its test. Durability settings stay PostgreSQL's defaults, so the
benchmark figures are those of a real server.

>>> with LocalPostgres() as db:
...     server = LocalPrefectServer(database_url=db.prefect_url)
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

from drills.prefect_server import free_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")
SERVICE_USER = "postgres"
DATABASE = "prefect"


class PostgresError(RuntimeError):
    """PostgreSQL is missing or did not start (the command's output says why)."""


def _bin(name: str) -> str:
    found = PG_BIN / name
    if found.exists():
        return str(found)
    on_path = shutil.which(name)
    if on_path is None:
        raise PostgresError(f"{name} not found in {PG_BIN} or on PATH: apt-get install -y postgresql")
    return on_path


class LocalPostgres:
    """``with LocalPostgres() as db: ...`` -> db.prefect_url, for PREFECT_SERVER_DATABASE_CONNECTION_URL."""

    def __init__(self, *, port: int | None = None, max_connections: int = 200) -> None:
        self.port = port or free_port()
        self.max_connections = max_connections
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._started = False

    @property
    def directory(self) -> Path:
        if self._tmp is None:
            raise PostgresError("LocalPostgres is not started")
        return Path(self._tmp.name)

    @property
    def data_dir(self) -> Path:
        return self.directory / "data"

    @property
    def log_path(self) -> Path:
        return self.directory / "postgres.log"

    @property
    def prefect_url(self) -> str:
        """The SQLAlchemy URL Prefect's server takes (asyncpg comes with Prefect)."""
        return f"postgresql+asyncpg://{SERVICE_USER}@127.0.0.1:{self.port}/{DATABASE}"

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", SERVICE_USER, "--"] if os.geteuid() == 0 else []
        done = subprocess.run(
            [*prefix, *command], capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL
        )
        if done.returncode != 0:
            output = f"{done.stdout}\n{done.stderr}"
            raise PostgresError(f"{' '.join(command)} exited {done.returncode}:\n{output}")

    def start(self) -> LocalPostgres:
        self._tmp = tempfile.TemporaryDirectory(prefix="firebreak-postgres-")
        if os.geteuid() == 0:
            account = pwd.getpwnam(SERVICE_USER)
            os.chown(self.directory, account.pw_uid, account.pw_gid)
        self._run(_bin("initdb"), "-D", str(self.data_dir), "-U", SERVICE_USER, "--auth=trust", "-E", "UTF8")
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.directory} "
            f"-c max_connections={self.max_connections}"
        )
        self._run(
            _bin("pg_ctl"), "-D", str(self.data_dir), "-l", str(self.log_path), "-o", options, "-w", "start"
        )
        self._started = True
        self._run(_bin("createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", SERVICE_USER, DATABASE)
        return self

    def stop(self) -> None:
        if self._started:
            self._run(_bin("pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop")
            self._started = False

    def cleanup(self) -> None:
        self.stop()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> LocalPostgres:
        try:
            return self.start()
        except BaseException:
            self.cleanup()
            raise

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.cleanup()
