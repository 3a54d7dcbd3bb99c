"""The real components a benchmark stands on, started the way drills start them.

The pieces are drills.runner's (sandbox, seeded checkout, local Prefect server, flush of
buffered logs): a benchmark measures the same stack a drill exercises, never a lighter one.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from unittest.mock import patch

from prefect.settings import PREFECT_API_URL, PREFECT_UI_API_URL, temporary_settings

from drills.postgres import LocalPostgres
from drills.prefect_server import LocalPrefectServer
from drills.runner import flush_prefect
from drills.sandbox import Sandbox
from drills.seed import seed_checkout, write_catalog
from flows.host_config import host_environment
from flows.settings import RunSettings
from tasks.catalog import Catalog

REPO_ROOT = Path(__file__).resolve().parent.parent


def exit_on_sigterm() -> None:
    """Turn SIGTERM (``timeout``, CI) into SystemExit, so every ``with`` block stops its servers
    and subprocesses instead of leaving them orphaned."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


@contextmanager
def workdir(keep: Path | None) -> Iterator[Path]:
    """``keep`` (created if needed) when given, so logs and timelines stay; else a temporary dir."""
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep.resolve()
        return
    with tempfile.TemporaryDirectory(prefix="firebreak-bench-") as tmp:
        yield Path(tmp)


@dataclass(frozen=True)
class SeededSandbox:
    """A running moto server with checkout seeded, and the catalog file that describes it."""

    sandbox: Sandbox
    catalog: Catalog
    catalog_path: Path


@contextmanager
def seeded_sandbox(workdir: Path) -> Iterator[SeededSandbox]:
    """A moto server (endpoint exported, so served flow processes inherit it) seeded with checkout."""
    with Sandbox(export_env=True) as sandbox:
        catalog = seed_checkout(sandbox.endpoint_url)
        yield SeededSandbox(sandbox, catalog, write_catalog(catalog, workdir / "catalog.yaml"))


@contextmanager
def prefect_server(*, postgres: bool = False) -> Iterator[LocalPrefectServer]:
    """A local Prefect server this process (and its children) talk to; logs flushed before it stops.

    ``postgres``: on a real PostgreSQL of its own (drills.postgres), as in production; else the
    embedded SQLite of the quick start.
    """
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(LocalPostgres()).prefect_url if postgres else None
        yield stack.enter_context(_talked_to(LocalPrefectServer(database_url=url)))


@contextmanager
def _talked_to(local: LocalPrefectServer) -> Iterator[LocalPrefectServer]:
    with (
        local as server,
        patch.dict(os.environ, server.env),
        temporary_settings(updates={PREFECT_API_URL: server.api_url, PREFECT_UI_API_URL: server.api_url}),
    ):
        try:
            yield server
        finally:
            flush_prefect()


def bench_settings(catalog_path: Path, output_dir: Path) -> RunSettings:
    """Drill-like compressed timings: a short confirm window and bake, 1 s polls; and this
    benchmark process made the flows' host for ``catalog_path`` (FIREBREAK_CATALOG_FILE in its
    environment, which the processes it starts inherit).

    The bake (6 s, 2 healthy reads) happens after the mitigation is applied, so it does not
    count in alert-to-mitigation; it only bounds how long each incident run lasts.
    """
    os.environ.update(host_environment(catalog=catalog_path))
    return RunSettings(
        output_dir=str(output_dir),
        confirm_window_seconds=10,
        bake_seconds=6,
        healthy_checks=2,
        watch_interval_seconds=1.0,
        approval_poll_seconds=1,
    )
