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
readiness check puts the log's tail in its message (firebreak.stack.Background).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from unittest.mock import patch

import pytest
import yaml
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.settings import PREFECT_API_URL, temporary_settings

from drills.prefect_server import LocalPrefectServer, free_port
from drills.sandbox import Sandbox
from drills.seed import seed_checkout, write_catalog
from firebreak.stack import Background, http_ready, run_cli
from flows.deployments import WORK_POOL, publish_run_settings
from flows.host_config import host_environment
from flows.settings import RunSettings
from tasks.catalog import Catalog
from tests.flows.conftest import default_policy_data
from tests.people import with_people

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
EVENTBRIDGE_TOKEN = "integration-eventbridge-token"  # not a secret: lives as long as the test


@dataclass(frozen=True)
class Stack:
    """What a test needs to drive the running stack."""

    sandbox: Sandbox
    catalog: Catalog
    settings: RunSettings
    server: LocalPrefectServer
    receiver_url: str
    worker: Background


def _create_pool() -> None:
    with get_client(sync_client=True) as client:
        client.create_work_pool(WorkPoolCreate(name=WORK_POOL, type="process"))


def _worker_online() -> bool:
    with get_client(sync_client=True) as client:
        return bool(client.read_workers_for_work_pool(WORK_POOL))


def _seed(sandbox: Sandbox, work: Path) -> tuple[Catalog, RunSettings]:
    """Checkout seeded afresh, its catalog file, and drill-like compressed timings."""
    sandbox.reset()
    catalog = seed_checkout(sandbox.endpoint_url)
    policy = work / "policy.yaml"  # the shipped policy, with the test people's public keys
    policy.write_text(yaml.safe_dump(with_people(default_policy_data())))
    write_catalog(catalog, work / "catalog.yaml")  # the host's, with the policy (_components)
    settings = RunSettings(
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
        **host_environment(catalog=work / "catalog.yaml", policy=work / "policy.yaml"),
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
        run_cli([str(BIN / "prefect"), "--no-prompt", "deploy", "--all"], client_env)
        url = f"http://127.0.0.1:{port}"
        receiver.wait_until(http_ready(f"{url}/healthz"))
        worker.wait_until(_worker_online)
        yield url, worker
