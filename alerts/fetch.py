"""The only outbound HTTP of intake besides Prefect: GETs to SNS (signing certificates and
subscription confirmations). Callers check the URL with :func:`alerts.sns.is_sns_url` first;
this function checks again, so a caller that forgets cannot be turned into an open proxy.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from alerts.errors import FetchError
from alerts.sns import is_sns_url

MAX_RESPONSE_BYTES = 64 * 1024
FETCH_DEADLINE_SECONDS = 10.0


def fetch_sns_url(
    url: str,
    *,
    timeout: float = 5.0,
    deadline_seconds: float = FETCH_DEADLINE_SECONDS,
    transport: httpx.BaseTransport | None = None,
    monotonic: Callable[[], float] = time.monotonic,
) -> bytes:
    """GET an SNS URL and return the body; raise FetchError on any failure.

    Redirects are not followed (SNS does not redirect) and the body is capped, because the URL
    came from a request body. ``timeout`` bounds each network wait; ``deadline_seconds`` (on
    the ``monotonic`` clock) bounds the whole fetch, so a server trickling bytes cannot hold a
    receiver thread.
    """
    if not is_sns_url(url):
        raise FetchError(f"refusing to fetch {url!r}: not an https URL on an SNS host")
    started = monotonic()
    body = bytearray()
    try:
        with (
            httpx.Client(timeout=timeout, follow_redirects=False, transport=transport) as http,
            http.stream("GET", url) as response,
        ):
            if response.status_code != 200:
                raise FetchError(f"GET {url} answered HTTP {response.status_code}")
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_RESPONSE_BYTES:
                    raise FetchError(f"GET {url} answered more than {MAX_RESPONSE_BYTES} bytes")
                if monotonic() - started > deadline_seconds:
                    raise FetchError(f"GET {url} took longer than {deadline_seconds:g} s")
    except httpx.HTTPError as e:
        raise FetchError(f"GET {url} failed: {e}") from e
    return bytes(body)
