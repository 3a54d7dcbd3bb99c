from __future__ import annotations

import httpx
import pytest

from alerts.errors import FetchError
from alerts.fetch import MAX_RESPONSE_BYTES, fetch_sns_url

URL = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-abc.pem"


def _transport(status: int, body: bytes, seen: list[str]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(status, content=body)

    return httpx.MockTransport(handler)


def test_fetches_sns_url() -> None:
    seen: list[str] = []
    assert fetch_sns_url(URL, transport=_transport(200, b"PEM", seen)) == b"PEM"
    assert seen == [URL]


def test_refuses_non_sns_url_without_fetching() -> None:
    seen: list[str] = []
    with pytest.raises(FetchError, match="refusing"):
        fetch_sns_url("https://169.254.169.254/latest/meta-data/", transport=_transport(200, b"", seen))
    assert seen == []


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [(404, b"", "HTTP 404"), (302, b"", "HTTP 302"), (200, b"x" * (MAX_RESPONSE_BYTES + 1), "more than")],
)
def test_bad_answers_are_fetch_errors(status: int, body: bytes, message: str) -> None:
    with pytest.raises(FetchError, match=message):
        fetch_sns_url(URL, transport=_transport(status, body, []))


def test_connection_failure_is_a_fetch_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(FetchError, match="failed"):
        fetch_sns_url(URL, transport=httpx.MockTransport(refuse))
