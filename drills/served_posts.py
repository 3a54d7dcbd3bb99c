"""The status page post deployment, served in a drill or a flow test as a worker would serve it.

The incident run starts each status page post as a run of ``status-page-update/post``
(flows/status_runs.py) and does not wait for it; :class:`ServedPosts` serves that deployment
(drills/served.py), so both the drills and the flow tests exercise the same start-and-go-on shape.

>>> with ServedPosts():
...     incident_response(alert=alert, settings=settings)
...     wait_for_post_runs()
"""

from __future__ import annotations

from prefect.client.schemas.objects import FlowRun

from drills.served import ServedDeployment, runs_of, wait_until_final
from flows.status_page import status_page_post
from flows.status_runs import POST_DEPLOYMENT, POST_FLOW

POSTS_TIMEOUT_SECONDS = 300.0  # a drill's comms leads answer in seconds; this bounds a stuck drill


def post_runs() -> list[FlowRun]:
    """Every ``status-page-update`` flow run on the current Prefect server."""
    return runs_of(POST_FLOW)


def wait_for_post_runs(timeout: float = POSTS_TIMEOUT_SECONDS, poll_seconds: float = 0.5) -> None:
    """Wait until every post run is final; ServeError after ``timeout`` seconds."""
    wait_until_final(POST_FLOW, timeout=timeout, poll_seconds=poll_seconds)


class ServedPosts(ServedDeployment):
    """Serve :data:`POST_DEPLOYMENT` from a thread while the block runs."""

    def __init__(self, *, query_seconds: float = 0.5) -> None:
        super().__init__(status_page_post, POST_DEPLOYMENT.split("/")[1], query_seconds=query_seconds)
