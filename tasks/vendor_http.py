"""One way to call a vendor's HTTP API (PagerDuty, Statuspage): retried with exponential
backoff on 429, 5xx and no answer, which a later try may get through; never on another 4xx,
a refusal that resending cannot fix. The caller judges the answer it gets back.

Neither the headers nor the body are logged: they carry the vendor's keys.
"""

from __future__ import annotations

from typing import Any

import httpx
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential


class VendorUnavailableError(RuntimeError):
    """429, 5xx or no answer, on every try."""


def send_with_retries(
    method: str,
    url: str,
    *,
    vendor: str,
    body: dict[str, Any],
    attempts: int,
    timeout: float,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """The first answer that is neither 429 nor 5xx; VendorUnavailableError naming ``vendor``,
    the last answer and the number of tries otherwise."""

    @retry(
        retry=retry_if_exception_type(VendorUnavailableError),
        stop=stop_after_attempt(attempts),
        wait=wait_exponential(multiplier=0.2, max=5),
        reraise=True,
    )
    def attempt() -> httpx.Response:
        try:
            response = httpx.request(method, url, json=body, headers=headers, timeout=timeout)
        except httpx.HTTPError as e:
            raise VendorUnavailableError(f"no answer from {vendor}: {type(e).__name__}") from e
        if response.status_code == 429 or response.status_code >= 500:
            raise VendorUnavailableError(f"{vendor} answered {response.status_code}")
        return response

    try:
        return attempt()
    except VendorUnavailableError as e:
        raise VendorUnavailableError(f"{e} after {attempts} tries") from e
