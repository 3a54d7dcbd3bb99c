"""The receiver's HTTP client of the Prefect REST API: retries of transient answers, error classes.

Every request the receiver sends is safe to repeat (idempotency keys, PATCH, input keys, a 409
handled), so answers Prefect marks as retryable (503 when SQLite is locked under load, 429,
502/504 from a proxy) are retried a few times within seconds, as Prefect's own client does,
before the caller gives up and the sender is told to retry later.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import httpx

from alerts.errors import PrefectRejectedError, PrefectUnavailableError

log = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({429, 502, 503, 504})
RETRY_DELAYS = (0.25, 0.5, 1.0, 2.0)


class PrefectHttp:
    """``request`` with retries; ``checked``/``json_object``/``json_list`` classify the answer."""

    def __init__(
        self,
        api_url: str,
        *,
        auth: tuple[str, str] | None = None,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
        retry_delays: Sequence[float] = RETRY_DELAYS,
    ) -> None:
        self._client = httpx.Client(
            base_url=api_url.rstrip("/"), auth=auth, timeout=timeout, transport=transport
        )
        self._retry_delays = tuple(retry_delays)

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
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

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def _send(self, method: str, path: str, body: dict[str, Any] | None) -> httpx.Response:
        try:
            return self._client.request(method, path, json=body)
        except httpx.TransportError as e:
            raise PrefectUnavailableError(f"Prefect API {self._client.base_url} unreachable: {e}") from e


def checked(response: httpx.Response, what: str) -> httpx.Response:
    """``response`` if it is not an error; else PrefectUnavailableError (5xx) or Rejected (4xx)."""
    if response.status_code >= 500:
        raise PrefectUnavailableError(f"{what}: Prefect API answered HTTP {response.status_code}")
    if response.status_code >= 400:
        raise PrefectRejectedError(
            f"{what}: Prefect API answered HTTP {response.status_code}: {response.text[:300]}"
        )
    return response


def json_object(response: httpx.Response) -> dict[str, Any]:
    """The answer's JSON object, which must carry an ``id``."""
    data = _json(response)
    if not isinstance(data, dict) or "id" not in data:
        raise PrefectUnavailableError(f"Prefect API answered without an id to {response.request.url}")
    return data


def json_list(response: httpx.Response) -> list[dict[str, Any]]:
    """The answer's JSON list of objects (a ``/filter`` answer)."""
    data = _json(response)
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise PrefectUnavailableError(f"Prefect API answered a non-list to {response.request.url}")
    return data


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError as e:
        raise PrefectUnavailableError(f"Prefect API answered non-JSON to {response.request.url}") from e
