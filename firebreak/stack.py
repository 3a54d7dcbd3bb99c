"""A production-shaped Firebreak stack on one host: PostgreSQL, a Prefect server, workers, receivers.

The same topology Prefect documents for production, started as separate processes on
127.0.0.1 so that tests, benchmarks and ``firebreak stack up`` run on it rather than on the
embedded SQLite server of the quick start:

- a PostgreSQL (drills.postgres.LocalPostgres) unless ``database_url`` names one (or
  ``postgres=False``: Prefect's embedded SQLite, for comparisons);
- ``prefect server start`` on it (drills.prefect_server.LocalPrefectServer);
- the ``firebreak`` process pool (its concurrency limit set when given), the
  ``firebreak_run_settings`` Variable, and prefect.yaml deployed with ``prefect deploy --all``;
- ``workers`` x ``python -m firebreak.worker --pool firebreak`` (Prefect's process worker that
  starts a run only when its command is the pool's, the engine client firebreak.engine_client,
  which makes the host's run checks), running flows from this checkout; beside each, a fork
  server (firebreak.forkserver) its runs start from, warm; ``warm_engines=False`` starts no fork
  server, and the engine client then checks each run itself and becomes a new
  ``python -m prefect.engine``;
- ``receivers`` x ``firebreak serve`` on consecutive ports from ``receiver_port``;
- ``python -m flows.watchdog``: crashed incident runs marked and re-run (flows/watchdog.py);
  workers send heartbeats every ``heartbeat_seconds``.

AWS credentials, endpoints and receiver tokens come from ``env`` (the caller's environment by
default). Every process logs to a file under ``workdir``; they stop in reverse order.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import httpx

from drills.postgres import LocalPostgres
from drills.prefect_server import LocalPrefectServer, free_port
from firebreak.engine_protocol import SOCKET_ENV
from firebreak.pool_command import engine_client_command
from flows.host_config import POLICY_ENV

REPO_ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
READY_TIMEOUT = 90.0
WORK_POOL = "firebreak"  # flows.deployments.WORK_POOL; not imported: that pulls in Prefect's client


class ProcessNotReadyError(RuntimeError):
    """A component's process exited or did not become ready (its log's tail says why)."""


class Background:
    """A subprocess in its own process group, logging to a file, stopped with SIGINT then SIGKILL.

    Its own group, so that stopping it also ends what it started (a worker's flow-run processes).
    """

    def __init__(self, name: str, command: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.command = command
        self.env = env
        self.log_path = log_path
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command,
                cwd=REPO_ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def wait_until(self, ready: Callable[[], bool], timeout: float = READY_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                code = self.process.returncode
                raise ProcessNotReadyError(f"{self.name} exited with {code}:\n{self.tail()}")
            if ready():
                return
            time.sleep(0.5)
        raise ProcessNotReadyError(f"{self.name} not ready after {timeout}s:\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=15)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # whatever is left of the group
        self.process.wait(timeout=5)

    def restarted(self) -> Background:
        """Stop this process and start the same command again (same log, appended)."""
        self.stop()
        return Background(self.name, self.command, self.env, self.log_path)


def http_ready(url: str) -> Callable[[], bool]:
    """True once ``url`` answers 200."""

    def ready() -> bool:
        try:
            return httpx.get(url, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    return ready


def run_cli(args: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(args, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=180)
    if done.returncode != 0:
        output = f"{done.stdout}\n{done.stderr}"
        raise ProcessNotReadyError(f"{' '.join(args)} exited {done.returncode}:\n{output}")


AUTH_USER = "firebreak"


def write_auth_string(workdir: Path) -> tuple[str, Path]:
    """A fresh Prefect API auth string (``firebreak:`` and 32 random bytes, URL-safe base64),
    kept in ``workdir/prefect-auth-string``, created mode 0600 for the operator to read."""
    workdir.mkdir(parents=True, exist_ok=True)
    auth = f"{AUTH_USER}:{secrets.token_urlsafe(32)}"
    path = workdir / "prefect-auth-string"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(auth + "\n")
    os.chmod(path, 0o600)  # an existing file keeps its mode through O_CREAT
    return auth, path


@dataclass
class StackSpec:
    """What to start. ``run_settings`` is RunSettings JSON, published before deploying;
    ``host_env`` the host's configuration (flows/host_config.py: the catalog, the policy, the
    role), given to every process the stack starts."""

    workdir: Path
    run_settings: str
    host_env: dict[str, str] = field(default_factory=dict)
    workers: int = 2
    receivers: int = 2
    server_port: int | None = None
    receiver_port: int | None = None
    pool_limit: int | None = None
    database_url: str | None = None
    postgres: bool = True  # False (and no database_url): Prefect's embedded SQLite, as in drills
    heartbeat_seconds: int = 30
    warm_engines: bool = True
    auth_string: str | None = None  # "user:password": Prefect's API answers only with it
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    worker_env: dict[str, str] = field(default_factory=dict)


class LocalStack:
    """``with LocalStack(spec) as stack: stack.receiver_urls, stack.server, stack.workers``."""

    def __init__(self, spec: StackSpec) -> None:
        self.spec = spec
        self.postgres: LocalPostgres | None = None
        self.server: LocalPrefectServer | None = None
        self.workers: list[Background] = []
        self.forkservers: list[Background] = []
        self.receivers: list[Background] = []
        self.receiver_urls: list[str] = []
        self.watchdog: Background | None = None
        self._stack = contextlib.ExitStack()

    @property
    def client_env(self) -> dict[str, str]:
        assert self.server is not None
        return {**self.spec.env, **self.spec.host_env, **self.server.env}

    def start(self) -> LocalStack:
        spec = self.spec
        database_url = spec.database_url
        if database_url is None and spec.postgres:
            self.postgres = self._stack.enter_context(LocalPostgres())
            database_url = self.postgres.prefect_url
        home = spec.workdir / "prefect"
        home.mkdir(parents=True, exist_ok=True)
        self.server = self._stack.enter_context(
            LocalPrefectServer(
                port=spec.server_port, database_url=database_url, home=home, auth_string=spec.auth_string
            )
        )
        self._configure_server()
        self._stack.callback(self._stop_processes)
        watchdog = [sys.executable, "-m", "flows.watchdog", "--api-url", self.server.api_url]
        policy = spec.host_env.get(POLICY_ENV)
        watchdog += ["--policy", policy] if policy else []  # its incidents.max_open_minutes
        self.watchdog = Background("watchdog", watchdog, self.client_env, spec.workdir / "watchdog.log")
        if spec.warm_engines:
            self.forkservers = [self._start_forkserver(i) for i in range(spec.workers)]
            for i, forkserver in enumerate(self.forkservers):
                forkserver.wait_until(self.engine_socket(i).exists)
        for i in range(spec.workers):
            self.workers.append(self.start_worker(i))
        if self.workers:
            self.workers[0].wait_until(self.worker_online)
        base = spec.receiver_port or free_port()
        for i in range(spec.receivers):
            self.receivers.append(self._start_receiver(i, base + i if spec.receiver_port else free_port()))
        for receiver, url in zip(self.receivers, self.receiver_urls, strict=True):
            receiver.wait_until(http_ready(f"{url}/healthz"))
        return self

    def _configure_server(self) -> None:
        env, prefect = self.client_env, str(BIN / "prefect")
        create = [prefect, "work-pool", "create", WORK_POOL, "--type", "process", "--overwrite"]
        run_cli([*create, "--base-job-template", str(self._job_template())], env)
        if self.spec.pool_limit is not None:
            limit = str(self.spec.pool_limit)
            run_cli([prefect, "work-pool", "set-concurrency-limit", WORK_POOL, limit], env)
        settings = self.spec.run_settings
        run_cli([prefect, "variable", "set", "firebreak_run_settings", settings, "--overwrite"], env)
        run_cli([prefect, "--no-prompt", "deploy", "--all"], env)

    def _job_template(self) -> Path:
        """The process pool's default job template, its ``command`` defaulting to the engine client
        (the only command firebreak.worker starts), with or without fork servers."""
        prefect = str(BIN / "prefect")
        args = [prefect, "work-pool", "get-default-base-job-template", "--type", "process"]
        done = subprocess.run(args, env=self.client_env, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise ProcessNotReadyError(f"{' '.join(args)} exited {done.returncode}:\n{done.stderr}")
        template = json.loads(done.stdout)
        template["variables"]["properties"]["command"]["default"] = engine_client_command(sys.executable)
        path = self.spec.workdir / "process-job-template.json"
        path.write_text(json.dumps(template, indent=2))
        return path

    def engine_socket(self, index: int) -> Path:
        return self.spec.workdir / f"engine-{index}.sock"

    def _worker_env(self, index: int) -> dict[str, str]:
        env = {
            **self.client_env,
            "FIREBREAK_HOME": str(REPO_ROOT),
            "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": str(self.spec.heartbeat_seconds),
            **self.spec.worker_env,
        }
        if self.spec.warm_engines:
            env[SOCKET_ENV] = str(self.engine_socket(index))
        return env

    def _start_forkserver(self, index: int) -> Background:
        """Worker ``index``'s fork server, with the worker's environment (its runs inherit it)."""
        command = [sys.executable, "-m", "firebreak.forkserver", "--socket", str(self.engine_socket(index))]
        log = self.spec.workdir / f"forkserver-{index}.log"
        return Background(f"forkserver {index}", command, self._worker_env(index), log)

    def start_worker(self, index: int) -> Background:
        """One more Firebreak worker (firebreak.worker) on the pool (stopped with the stack)."""
        env = self._worker_env(index)
        command = [sys.executable, "-m", "firebreak.worker", "--pool", WORK_POOL]
        command += ["--name", f"firebreak-worker-{index}"]
        return Background(f"worker {index}", command, env, self.spec.workdir / f"worker-{index}.log")

    def _start_receiver(self, index: int, port: int) -> Background:
        assert self.server is not None
        env = {
            **self.client_env,
            "FIREBREAK_PREFECT_API_URL": self.server.api_url,
            "FIREBREAK_DEAD_LETTER_DIR": str(self.spec.workdir / f"dead-letters-{index}"),
        }
        command = [str(BIN / "firebreak"), "serve", "--host", "127.0.0.1", "--port", str(port)]
        self.receiver_urls.append(f"http://127.0.0.1:{port}")
        return Background(f"receiver {index}", command, env, self.spec.workdir / f"receiver-{index}.log")

    def _stop_processes(self) -> None:
        """Receivers first (no new runs), then workers (and the flow-run processes they started)."""
        watchdog = [self.watchdog] if self.watchdog is not None else []
        processes = [*reversed(self.receivers), *reversed(self.workers), *self.forkservers, *watchdog]
        for process in processes:
            process.stop()

    def worker_online(self) -> bool:
        """True once a worker has registered with the pool (its first heartbeat)."""
        assert self.server is not None
        url = f"{self.server.api_url}/work_pools/{WORK_POOL}/workers/filter"
        answer = httpx.post(url, json={}, timeout=5)
        return answer.status_code == 200 and bool(answer.json())

    def restart_receiver(self, index: int) -> None:
        """Stop receiver ``index`` and start it again on the same port; return once it answers."""
        self.receivers[index] = self.receivers[index].restarted()
        self.receivers[index].wait_until(http_ready(f"{self.receiver_urls[index]}/healthz"))

    def stop(self) -> None:
        self._stack.close()

    def __enter__(self) -> LocalStack:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
