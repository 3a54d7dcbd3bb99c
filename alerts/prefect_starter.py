"""Start incident runs through the Prefect REST API (open-source Prefect has no webhooks).

``POST /deployments/{id}/create_flow_run`` with ``idempotency_key = alert.dedup_key``: Prefect
stores the key with the run, so the same alert posted again, to another receiver replica or
after a restart, returns the same run (HTTP 200) instead of creating one (201). Resolutions are
Prefect Variables named by :func:`alerts.resolved.resolved_variable_name`.

Every request is safe to repeat (the idempotency key, PATCH, a 409 handled), so answers Prefect
marks as retryable (503 when SQLite is locked under load, 429, 502/504 from a proxy) are retried
a few times within seconds, as Prefect's own client does, before the alert is kept as a dead
letter and the sender is told to retry later.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import httpx

from alerts.errors import PrefectRejectedError, PrefectUnavailableError
from alerts.models import Alert
from alerts.resolved import resolved_at, resolved_variable_name
from alerts.starter import StartedRun

log = logging.getLogger(__name__)

DEFAULT_DEPLOYMENT = "incident-response/incident"
RETRYABLE_STATUS = frozenset({429, 502, 503, 504})
RETRY_DELAYS = (0.25, 0.5, 1.0, 2.0)


class PrefectStarter:
    """An IncidentStarter backed by a Prefect server. The deployment id is looked up once."""

    def __init__(
        self,
        api_url: str,
        *,
        deployment: str = DEFAULT_DEPLOYMENT,
        auth: tuple[str, str] | None = None,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
        retry_delays: Sequence[float] = RETRY_DELAYS,
    ) -> None:
        flow_name, _, deployment_name = deployment.partition("/")
        if not flow_name or not deployment_name:
            raise ValueError(f"deployment must be '<flow>/<deployment>', got {deployment!r}")
        self._names = (flow_name, deployment_name)
        self._client = httpx.Client(
            base_url=api_url.rstrip("/"), auth=auth, timeout=timeout, transport=transport
        )
        self._deployment_id: str | None = None
        self._retry_delays = tuple(retry_delays)

    def start(self, alert: Alert) -> StartedRun:
        """Create the incident run for ``alert`` (or get the existing one for its dedup key)."""
        body = {
            "parameters": {"alert": inert(alert.model_dump(mode="json"))},
            "idempotency_key": alert.dedup_key,
            "tags": [tag for tag in ("incident", alert.service) if tag],
        }
        response = self._request("POST", f"/deployments/{self._deployment()}/create_flow_run", body)
        if response.status_code == 404:  # deployment re-created since we cached its id
            self._deployment_id = None
            response = self._request("POST", f"/deployments/{self._deployment()}/create_flow_run", body)
        run = self._json(_checked(response, "create flow run"))
        created = response.status_code == 201
        log.info("incident run %s for %s (%s)", run["id"], alert.dedup_key, "new" if created else "existing")
        return StartedRun(flow_run_id=str(run["id"]), created=created, dedup_key=alert.dedup_key)

    def record_resolved(self, alert: Alert) -> None:
        """Create or update the resolution Variable of ``alert.fingerprint``."""
        name = resolved_variable_name(alert.fingerprint)
        value = {"fingerprint": alert.fingerprint, "resolved_at": resolved_at(alert).isoformat()}
        response = self._request("PATCH", f"/variables/name/{name}", {"value": value})
        if response.status_code == 404:
            response = self._request("POST", "/variables/", {"name": name, "value": value})
            if response.status_code == 409:  # another replica created it in between
                response = self._request("PATCH", f"/variables/name/{name}", {"value": value})
        _checked(response, f"record resolution {name}")
        log.info("recorded resolution of %s as variable %s", alert.fingerprint, name)

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()

    def _deployment(self) -> str:
        if self._deployment_id is None:
            flow_name, deployment_name = self._names
            path = f"/deployments/name/{quote(flow_name, safe='')}/{quote(deployment_name, safe='')}"
            response = _checked(self._request("GET", path, None), f"find deployment {'/'.join(self._names)}")
            self._deployment_id = str(self._json(response)["id"])
        return self._deployment_id

    def _request(self, method: str, path: str, body: dict[str, Any] | None) -> httpx.Response:
        """Send, retrying answers Prefect marks as transient; the last answer otherwise."""
        response = self._send(method, path, body)
        for delay in self._retry_delays:
            if response.status_code not in RETRYABLE_STATUS:
                break
            log.warning(
                "Prefect API answered HTTP %s to %s %s; retrying in %.2fs",
                response.status_code,
                method,
                path,
                delay,
            )
            time.sleep(delay)
            response = self._send(method, path, body)
        return response

    def _send(self, method: str, path: str, body: dict[str, Any] | None) -> httpx.Response:
        try:
            return self._client.request(method, path, json=body)
        except httpx.TransportError as e:
            raise PrefectUnavailableError(f"Prefect API {self._client.base_url} unreachable: {e}") from e

    @staticmethod
    def _json(response: httpx.Response) -> dict[str, Any]:
        try:
            data = response.json()
        except ValueError as e:
            raise PrefectUnavailableError(f"Prefect API answered non-JSON to {response.request.url}") from e
        if not isinstance(data, dict) or "id" not in data:
            raise PrefectUnavailableError(f"Prefect API answered without an id to {response.request.url}")
        return data


def _checked(response: httpx.Response, what: str) -> httpx.Response:
    if response.status_code >= 500:
        raise PrefectUnavailableError(f"{what}: Prefect API answered HTTP {response.status_code}")
    if response.status_code >= 400:
        raise PrefectRejectedError(
            f"{what}: Prefect API answered HTTP {response.status_code}: {response.text[:300]}"
        )
    return response


def inert(value: Any) -> Any:
    """``value`` with every ``__prefect_kind`` key renamed, recursively.

    Prefect interprets dicts carrying ``__prefect_kind`` inside run parameters (Jinja templates,
    workspace variables). An alert's raw payload is the sender's text and must stay data, so a
    sender cannot make the server render a template or read a variable.
    """
    if isinstance(value, dict):
        return {("_prefect_kind_" if k == "__prefect_kind" else k): inert(v) for k, v in value.items()}
    if isinstance(value, list):
        return [inert(v) for v in value]
    return value
