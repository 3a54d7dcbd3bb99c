"""The production stack, for real, on 127.0.0.1: one set per module, torn down in reverse order.

- the session's moto sandbox (tests/conftest.py), re-seeded with checkout; the catalog is
  written where the worker's flow processes read it;
- a ``prefect server start`` (drills.prefect_server.LocalPrefectServer);
- the ``firebreak`` process work pool, the ``firebreak_run_settings`` Variable, and every
  deployment of prefect.yaml made by ``prefect --no-prompt deploy --all``, as an operator would;
- a ``prefect worker start --pool firebreak`` subprocess that reaches the sandbox through its
  environment (Sandbox.env) and runs flows from FIREBREAK_HOME (this checkout);
- ``firebreak serve`` on a free port, EventBridge bearer auth configured by environment.

Subprocess output goes to log files under the module's temporary directory; a failing
readiness check puts the log's tail in its message.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from unittest.mock import patch

import httpx
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.settings import PREFECT_API_URL, temporary_settings

from drills.prefect_server import LocalPrefectServer, free_port
from drills.sandbox import Sandbox
from drills.seed import seed_checkout, write_catalog
from flows.deployments import WORK_POOL, publish_run_settings
from flows.settings import RunSettings
from tasks.catalog import Catalog

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
EVENTBRIDGE_TOKEN = "integration-eventbridge-token"  # not a secret: lives as long as the test
READY_TIMEOUT = 60.0


class ProcessNotReadyError(RuntimeError):
    """A component's process exited or did not become ready (its log's tail says why)."""


class Background:
    """A subprocess in its own process group, logging to a file, stopped with SIGINT then SIGKILL.

    Its own group, so that stopping it also ends what it started (a worker's flow-run processes).
    """

    def __init__(self, name: str, command: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.log_path = log_path
        with log_path.open("wb") as log:
            self._process = subprocess.Popen(
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
            if self._process.poll() is not None:
                code = self._process.returncode
                raise ProcessNotReadyError(f"{self.name} exited with {code}:\n{self.tail()}")
            if ready():
                return
            time.sleep(0.5)
        raise ProcessNotReadyError(f"{self.name} not ready after {timeout}s:\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(timeout=15)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._process.pid, signal.SIGKILL)  # whatever is left of the group
        self._process.wait(timeout=5)


@dataclass(frozen=True)
class Stack:
    """What a test needs to drive the running stack."""

    sandbox: Sandbox
    catalog: Catalog
    settings: RunSettings
    server: LocalPrefectServer
    receiver_url: str
    worker: Background


def _run_cli(args: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(args, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")


def _create_pool() -> None:
    with get_client(sync_client=True) as client:
        client.create_work_pool(WorkPoolCreate(name=WORK_POOL, type="process"))


def _worker_online() -> bool:
    with get_client(sync_client=True) as client:
        return bool(client.read_workers_for_work_pool(WORK_POOL))


def _receiver_ready(url: str) -> Callable[[], bool]:
    def ready() -> bool:
        try:
            return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    return ready


def _seed(sandbox: Sandbox, work: Path) -> tuple[Catalog, RunSettings]:
    """Checkout seeded afresh, its catalog file, and drill-like compressed timings."""
    sandbox.reset()
    catalog = seed_checkout(sandbox.endpoint_url)
    settings = RunSettings(
        catalog_path=str(write_catalog(catalog, work / "catalog.yaml")),
        output_dir=str(work / "incidents"),
        confirm_window_seconds=10,
        bake_seconds=20,
        healthy_checks=2,
        watch_interval_seconds=1.0,
        approval_poll_seconds=1,
    )
    return catalog, settings


@pytest.fixture(scope="module")
def stack(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Everything running, deployed from prefect.yaml; stopped in reverse order afterwards.

    Independent start-ups overlap (seeding with the server's, the worker's and the receiver's
    with ``prefect deploy``): on two busy cores that saves 20-30 s.
    """
    work = tmp_path_factory.mktemp("integration")
    with ThreadPoolExecutor(max_workers=1) as executor:
        seeding = executor.submit(_seed, sandbox, work)
        with (
            LocalPrefectServer() as server,
            patch.dict(os.environ, server.env),
            temporary_settings(updates={PREFECT_API_URL: server.api_url}),
        ):
            catalog, settings = seeding.result()
            _create_pool()
            publish_run_settings(settings)
            with _components(sandbox, server, work) as (receiver_url, worker):
                yield Stack(sandbox, catalog, settings, server, receiver_url, worker)


@contextlib.contextmanager
def _components(sandbox: Sandbox, server: LocalPrefectServer, work: Path) -> Iterator[tuple[str, Background]]:
    """Worker and receiver started, prefect.yaml deployed meanwhile; both ready, then stopped."""
    client_env = {**os.environ, **server.env}
    worker_env = {
        **client_env,
        **sandbox.env(),
        "FIREBREAK_HOME": str(REPO_ROOT),
        "PREFECT_WORKER_QUERY_SECONDS": "1",
    }
    port = free_port()
    receiver_env = {
        **client_env,
        "FIREBREAK_EVENTBRIDGE_TOKEN": EVENTBRIDGE_TOKEN,
        "FIREBREAK_PREFECT_API_URL": server.api_url,
        "FIREBREAK_DEAD_LETTER_DIR": str(work / "dead-letters"),
    }
    worker_command = [str(BIN / "prefect"), "worker", "start", "--pool", WORK_POOL, "--type", "process"]
    receiver_command = [str(BIN / "firebreak"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    with contextlib.ExitStack() as running:
        worker = Background("prefect worker", worker_command, worker_env, work / "worker.log")
        running.callback(worker.stop)
        receiver = Background("firebreak serve", receiver_command, receiver_env, work / "receiver.log")
        running.callback(receiver.stop)
        _run_cli([str(BIN / "prefect"), "--no-prompt", "deploy", "--all"], client_env)
        url = f"http://127.0.0.1:{port}"
        receiver.wait_until(_receiver_ready(url))
        worker.wait_until(_worker_online)
        yield url, worker
