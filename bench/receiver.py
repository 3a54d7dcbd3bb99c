"""The production alert receiver (create_app + PrefectStarter) on a free port, and what to post to it.

:class:`ReceiverThread` serves it with uvicorn in a thread of the benchmark process (for
latency breakdowns); alert_storm runs ``firebreak serve`` in a subprocess instead, to read its
memory. Both speak to the real Prefect server through the real starter.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import uvicorn
from pydantic import SecretStr

from alerts.dead_letters import DeadLetterStore
from alerts.models import Alert
from alerts.prefect_starter import PrefectStarter
from alerts.receiver import create_app
from alerts.settings import ReceiverSettings
from alerts.starter import StartedRun
from drills.prefect_server import free_port
from tasks.catalog import MetricSpec

TOKEN = "bench-token-0123456789"  # the receiver refuses secrets under 16 characters
HEADERS = {"Authorization": f"Bearer {TOKEN}"}


def generic_alert(
    *,
    fingerprint: str,
    service: str,
    environment: str,
    region: str,
    metric: MetricSpec,
    starts_at: datetime,
) -> dict[str, Any]:
    """A firing alert in the documented generic format (docs/alerts.md), about ``metric``."""
    return {
        "fingerprint": fingerprint,
        "status": "firing",
        "service": service,
        "environment": environment,
        "region": region,
        "name": f"{service}-{environment}-{region}-{metric.metric_name}",
        "summary": f"{metric.metric_name} breached its threshold",
        "metric": {
            "namespace": metric.namespace,
            "name": metric.metric_name,
            "dimensions": metric.dimensions,
            "threshold": metric.healthy_threshold,
        },
        "labels": {"bench": "true"},
        "starts_at": starts_at.isoformat(),
    }


class ReceiverError(RuntimeError):
    """The receiver did not come up, or refused an alert."""


class TimedStarter:
    """The real PrefectStarter, timed: how long run creation took, per dedup key."""

    def __init__(self, inner: PrefectStarter) -> None:
        self.inner = inner
        self.seconds: dict[str, float] = {}

    def start(self, alert: Alert) -> StartedRun:
        began = time.perf_counter()
        run = self.inner.start(alert)
        self.seconds[alert.dedup_key] = time.perf_counter() - began
        return run

    def record_resolved(self, alert: Alert) -> None:
        self.inner.record_resolved(alert)


class ReceiverThread:
    """``with ReceiverThread(api_url, dead_letters) as receiver: httpx.post(receiver.url(...))``."""

    def __init__(self, api_url: str, dead_letter_dir: Path, *, start_timeout: float = 30) -> None:
        self.port = free_port()
        self.start_timeout = start_timeout
        settings = ReceiverSettings(
            generic_token=SecretStr(TOKEN), dead_letter_dir=dead_letter_dir, prefect_api_url=api_url
        )
        self.starter = TimedStarter(PrefectStarter(api_url))
        app = create_app(settings, starter=self.starter, dead_letters=DeadLetterStore(dead_letter_dir))
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="bench-receiver", daemon=True)

    def url(self, source: str = "generic") -> str:
        return f"http://127.0.0.1:{self.port}/alerts/{source}"

    def start(self) -> ReceiverThread:
        self._thread.start()
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._server.started:
                return self
            time.sleep(0.05)
        raise ReceiverError(f"receiver not started on port {self.port} after {self.start_timeout}s")

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self.starter.inner.close()

    def __enter__(self) -> ReceiverThread:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def post_alert(
    client: httpx.Client, url: str, alert: dict[str, Any], *, retries: int = 5, retry_after: float = 1.0
) -> str:
    """POST one alert like a sender would; the flow run id the receiver started.

    A 503 (Prefect busy or down: the receiver kept the alert for retry) is retried after
    ``retry_after`` seconds, as Alertmanager or SNS would retry (sooner than the receiver's
    ``Retry-After: 30``, to keep benchmarks short); any other non-200 answer raises ReceiverError.
    """
    for attempt in range(retries + 1):
        response = client.post(url, json=alert, headers=HEADERS)
        if response.status_code != 503 or attempt == retries:
            break
        time.sleep(retry_after)
    if response.status_code != 200:
        raise ReceiverError(f"receiver answered HTTP {response.status_code}: {response.text[:300]}")
    started = response.json()["started"]
    if len(started) != 1:
        raise ReceiverError(f"expected one started run, got {started}")
    return str(started[0]["flow_run_id"])
