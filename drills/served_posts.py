"""The status page post deployment, served in a drill or a flow test as a worker would serve it.

The incident run starts each status page post as a run of ``status-page-update/post``
(flows/status_runs.py) and does not wait for it. In production a worker of the ``firebreak``
pool runs it; here a :class:`prefect.runner.Runner` in a thread of this process serves the
deployment (each run in its own subprocess), so both drill paths and the flow tests exercise
the same start-and-go-on shape.

>>> with ServedPosts():
...     incident_response(alert=alert, settings=settings)
...     wait_for_post_runs()
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
from types import TracebackType

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowFilter, FlowFilterName
from prefect.client.schemas.objects import FlowRun
from prefect.runner import Runner

from flows.status_page import status_page_post
from flows.status_runs import POST_DEPLOYMENT, POST_FLOW

POSTS_TIMEOUT_SECONDS = 300.0  # a drill's comms leads answer in seconds; this bounds a stuck drill


class ServedPostsError(RuntimeError):
    """The post deployment could not be served, or its runs did not finish in time."""


def post_runs() -> list[FlowRun]:
    """Every ``status-page-update`` flow run on the current Prefect server."""
    with get_client(sync_client=True) as client:
        return client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=[POST_FLOW])), limit=200)


def wait_for_post_runs(timeout: float = POSTS_TIMEOUT_SECONDS, poll_seconds: float = 0.5) -> None:
    """Wait until every post run is final; raises ServedPostsError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(run.state is not None and run.state.is_final() for run in post_runs()):
            return
        time.sleep(poll_seconds)
    raise ServedPostsError(f"status page post runs not finished after {timeout:.0f}s")


class ServedPosts:
    """Serve :data:`POST_DEPLOYMENT` from a thread while the block runs."""

    def __init__(self, *, query_seconds: float = 0.5) -> None:
        self._runner = Runner(name="firebreak-posts", query_seconds=query_seconds, pause_on_shutdown=False)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        context = contextvars.copy_context()  # carries the Prefect API settings of the caller
        self._thread = threading.Thread(target=context.run, args=(self._serve,), daemon=True)

    def __enter__(self) -> ServedPosts:
        self._thread.start()
        if not self._ready.wait(timeout=60) or self._error is not None:
            raise ServedPostsError(f"{POST_DEPLOYMENT} could not be served: {self._error}")
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._loop is not None and self._runner.started:
            deadline = time.monotonic() + 30  # a run's process outlives its final state by a moment
            while self._runner._process_manager.flow_run_ids() and time.monotonic() < deadline:
                time.sleep(0.2)
            asyncio.run_coroutine_threadsafe(self._runner.astop(), self._loop).result(timeout=30)
        self._thread.join(timeout=30)

    def _serve(self) -> None:
        try:
            asyncio.run(self._start())
        except BaseException as e:  # noqa: BLE001 - the thread's outermost level: report to __enter__
            self._error = e
            self._ready.set()

    async def _start(self) -> None:
        self._loop = asyncio.get_running_loop()
        deployment = await status_page_post.ato_deployment(name=POST_DEPLOYMENT.split("/")[1])
        await self._runner.aadd_deployment(deployment)
        self._ready.set()
        await self._runner.start()
