"""The only outbound HTTP of intake besides Prefect: GETs to SNS (signing certificates and
subscription confirmations). Callers check the URL with :func:`alerts.sns.is_sns_url` first;
this function checks again, so a caller that forgets cannot be turned into an open proxy.
"""

from __future__ import annotations

import httpx

from alerts.errors import FetchError
from alerts.sns import is_sns_url

MAX_RESPONSE_BYTES = 64 * 1024


def fetch_sns_url(url: str, *, timeout: float = 5.0, transport: httpx.BaseTransport | None = None) -> bytes:
    """GET an SNS URL and return the body; raise FetchError on any failure.

    Redirects are not followed (SNS does not redirect) and the body is capped, because the URL
    came from a request body.
    """
    if not is_sns_url(url):
        raise FetchError(f"refusing to fetch {url!r}: not an https URL on an SNS host")
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False, transport=transport) as http:
            response = http.get(url)
    except httpx.HTTPError as e:
        raise FetchError(f"GET {url} failed: {e}") from e
    if response.status_code != 200:
        raise FetchError(f"GET {url} answered HTTP {response.status_code}")
    if len(response.content) > MAX_RESPONSE_BYTES:
        raise FetchError(f"GET {url} answered more than {MAX_RESPONSE_BYTES} bytes")
    return response.content
