"""A throwaway local Prefect server (with its UI) for drills and integration tests.

Ephemeral mode has no UI and dies with its process, so it cannot serve approvals; this starts
a real ``prefect server start`` on a free 127.0.0.1 port with its own temporary PREFECT_HOME
(SQLite, or the PostgreSQL at ``database_url``: drills.postgres.LocalPostgres), and stops it
afterwards; ``stop()`` then ``start()`` restarts it on the same port and database.
PREFECT_UI_API_URL must point at the same port, or the UI talks to 4200 and shows "Can't
connect to Server API".
"""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from importlib.metadata import version
from pathlib import Path
from tempfile import TemporaryDirectory
from types import TracebackType

import httpx

PREFECT_SCHEMA_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "firebreak"


class PrefectServerError(RuntimeError):
    """The server did not start (its log says why)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _prefect_executable() -> str:
    beside = Path(sys.executable).with_name("prefect")
    return str(beside) if beside.exists() else (shutil.which("prefect") or "prefect")


def empty_prefect_database() -> Path:
    """An SQLite database with this Prefect version's schema and nothing else, made once per
    version (``prefect server database upgrade`` on a scratch home) and kept in
    ``~/.cache/firebreak/``. A server started on a copy migrates nothing; had the copy an older
    schema, the server would migrate it on start as it does any database."""
    cached = PREFECT_SCHEMA_CACHE / f"prefect-{version('prefect')}-empty.db"
    if cached.exists():
        return cached
    with TemporaryDirectory(prefix="firebreak-prefect-schema-") as scratch:
        database = Path(scratch) / "prefect.db"
        env = {
            **os.environ,
            "PREFECT_HOME": scratch,  # never the caller's own database
            "PREFECT_SERVER_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{database}",
            "PREFECT_LOGGING_LEVEL": "WARNING",
        }
        command = [sys.executable, "-m", "prefect", "server", "database", "upgrade", "-y"]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180)
        if done.returncode != 0:
            raise PrefectServerError(f"prefect server database upgrade failed:\n{done.stderr[-2000:]}")
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_name(f"{cached.name}.{os.getpid()}.partial")
        with closing(sqlite3.connect(database)) as source, closing(sqlite3.connect(partial)) as copy:
            source.backup(copy)  # one self-contained file, whatever the journal mode left beside it
        partial.replace(cached)  # atomic: a drill running beside this one reads all or nothing
    return cached


class LocalPrefectServer:
    """``with LocalPrefectServer() as server: ...`` -> server.api_url, server.ui_url, server.env."""

    def __init__(
        self,
        *,
        home: Path | None = None,
        port: int | None = None,
        start_timeout: float = 90,
        database_url: str | None = None,
        auth_string: str | None = None,
    ) -> None:
        self.database_url = database_url
        self.auth_string = auth_string  # "user:password": the API then answers only with it
        self.port = port or free_port()
        self._tmp = None if home else tempfile.TemporaryDirectory(prefix="firebreak-prefect-")
        self.home = home or Path(self._tmp.name)  # type: ignore[union-attr]
        self.start_timeout = start_timeout
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The ``prefect server start`` process, while it runs."""
        return self._process.pid if self._process is not None else None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    @property
    def ui_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.home / "server.log"

    @property
    def env(self) -> dict[str, str]:
        """What a client process (flow, worker, CLI) needs to talk to this server."""
        return {
            "PREFECT_API_URL": self.api_url,
            "PREFECT_UI_API_URL": self.api_url,
            "PREFECT_HOME": str(self.home),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
            **({"PREFECT_API_AUTH_STRING": self.auth_string} if self.auth_string else {}),
        }

    def start(self) -> LocalPrefectServer:
        """Start the server; on SQLite with no database yet, on a copy of the empty one (no migrations)."""
        database = self.home / "prefect.db"
        if self.database_url is None and not database.exists():
            shutil.copyfile(empty_prefect_database(), database)
        env = {**os.environ, **self.env, "PREFECT_LOGGING_LEVEL": "WARNING"}
        if self.database_url is not None:
            env["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = self.database_url
        if self.auth_string is not None:
            env["PREFECT_SERVER_API_AUTH_STRING"] = self.auth_string
        log = self.log_path.open("ab")
        self._process = subprocess.Popen(
            [_prefect_executable(), "server", "start", "--host", "127.0.0.1", "--port", str(self.port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise PrefectServerError(f"prefect server exited early:\n{self._log_tail()}")
            try:
                if httpx.get(f"{self.api_url}/health", timeout=2, auth=self._auth()).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        tail = self._log_tail()
        self.stop()
        raise PrefectServerError(f"prefect server not healthy after {self.start_timeout}s:\n{tail}")

    def _auth(self) -> tuple[str, str] | None:
        if self.auth_string is None:
            return None
        user, _, password = self.auth_string.partition(":")
        return user, password

    def _log_tail(self, lines: int = 15) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=5)
        self._process = None

    def cleanup(self) -> None:
        self.stop()
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> LocalPrefectServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.cleanup()
