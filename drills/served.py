"""A Prefect deployment served from a thread of this process, as a worker would serve it.

In production a worker of the ``firebreak`` pool runs the incident flow and the status page
posts. Drills and flow tests serve those deployments with a :class:`prefect.runner.Runner` in a
thread instead (each flow run in its own subprocess), so they exercise the same
start-and-go-on shape without a worker.

>>> with ServedDeployment(status_page_post, "post"):
...     incident_response(alert=alert, settings=settings)
...     wait_until_final("status-page-update", timeout=300)
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
from types import TracebackType
from typing import Any, Self

from prefect import Flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowFilter, FlowFilterName
from prefect.client.schemas.objects import FlowRun
from prefect.runner import Runner

READY_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 30.0  # a run's process outlives its final state by a moment


class ServeError(RuntimeError):
    """A deployment could not be served, or its runs did not finish in time."""


def runs_of(flow_name: str) -> list[FlowRun]:
    """Every run of the flow ``flow_name`` on the current Prefect server."""
    with get_client(sync_client=True) as client:
        return client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=[flow_name])), limit=200)


def all_final(flow_name: str) -> bool:
    """Every run of ``flow_name`` so far has reached a final state."""
    return all(run.state is not None and run.state.is_final() for run in runs_of(flow_name))


def wait_until_final(flow_name: str, *, timeout: float, poll_seconds: float = 0.5) -> None:
    """Wait until every run of ``flow_name`` is final; ServeError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all_final(flow_name):
            return
        time.sleep(poll_seconds)
    raise ServeError(f"{flow_name} runs not finished after {timeout:.0f}s")


class ServedDeployment:
    """Serve ``flow`` as deployment ``name`` while the block runs."""

    def __init__(
        self,
        flow: Flow[..., Any],
        name: str,
        *,
        parameters: dict[str, Any] | None = None,
        query_seconds: float = 0.5,
    ) -> None:
        self.flow, self.name, self.parameters = flow, name, parameters or {}
        self._runner = Runner(name=f"firebreak-{name}", query_seconds=query_seconds, pause_on_shutdown=False)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        context = contextvars.copy_context()  # carries the caller's Prefect API settings
        self._thread = threading.Thread(target=context.run, args=(self._serve,), daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        if not self._ready.wait(timeout=READY_TIMEOUT_SECONDS) or self._error is not None:
            raise ServeError(f"{self.flow.name}/{self.name} could not be served: {self._error}")
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Stop serving once the runs' processes have exited: stopping a Runner cancels every
        run it still tracks."""
        if self._loop is not None and self._runner.started:
            deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
            while self._runner._process_manager.flow_run_ids() and time.monotonic() < deadline:
                time.sleep(0.2)
            stop = asyncio.run_coroutine_threadsafe(self._runner.astop(), self._loop)
            stop.result(timeout=STOP_TIMEOUT_SECONDS)
        self._thread.join(timeout=STOP_TIMEOUT_SECONDS)

    def _serve(self) -> None:
        try:
            asyncio.run(self._start())
        except BaseException as e:  # noqa: BLE001 - the thread's outermost level: report to __enter__
            self._error = e
            self._ready.set()

    async def _start(self) -> None:
        self._loop = asyncio.get_running_loop()
        deployment = await self.flow.ato_deployment(name=self.name, parameters=self.parameters)
        await self._runner.aadd_deployment(deployment)
        self._ready.set()
        await self._runner.start()
