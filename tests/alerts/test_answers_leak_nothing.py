"""Issue 25, point 7: what a sender is told reveals neither configuration nor internals.

The details go to the receiver's log (and the operator's dead letters), not to the answer.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from alerts.dead_letters import redact_headers, redact_query
from alerts.errors import PrefectRejectedError
from tests.alerts.fakes import Receiver, bearer, receiver
from tests.alerts.signing import Signer, fixture_bytes


def _answers(rx: Receiver, source: str) -> list[tuple[int, str]]:
    body = b"{}"
    offers = [{}, bearer("not-the-token-0123456789"), {"Authorization": "Basic bm90OmNvbmZpZ3VyZWQtYXQtYWxs"}]
    answers = []
    for headers in offers:
        response = rx.client.post(f"/alerts/{source}", content=body, headers=headers)
        answers.append((response.status_code, response.json()["detail"]))
    return answers


def test_an_unconfigured_source_answers_like_a_configured_one(tmp_path: Path, signer: Signer) -> None:
    rx = receiver(tmp_path, signer.pem, generic_token=None)
    unconfigured = _answers(rx, "generic")
    configured = _answers(rx, "alertmanager")
    assert unconfigured == configured
    for _, detail in unconfigured:
        assert "FIREBREAK" not in detail and "Bearer" not in detail and "Basic" not in detail
    # The operator still learns why, from the letters.
    details = [dead.detail for _, dead in rx.store.entries()]
    assert any("FIREBREAK_GENERIC_TOKEN" in d for d in details)


def test_a_503_carries_neither_the_prefect_url_nor_its_error_body(
    tmp_path: Path, signer: Signer, caplog: pytest.LogCaptureFixture
) -> None:
    rx = receiver(tmp_path, signer.pem)
    rx.starter.down = True
    caplog.set_level(logging.WARNING, logger="alerts")
    response = rx.client.post(
        "/alerts/generic", content=fixture_bytes("generic_firing.json"), headers=bearer()
    )
    assert response.status_code == 503
    assert "127.0.0.1" not in response.text and "4200" not in response.text
    assert response.json()["detail"] == "kept for retry: the incident runner is unavailable"
    assert "http://127.0.0.1:4200/api" in caplog.text


def test_a_rejected_start_does_not_echo_prefects_answer(
    tmp_path: Path, signer: Signer, monkeypatch: pytest.MonkeyPatch
) -> None:
    rx = receiver(tmp_path, signer.pem)

    def reject(alert: object) -> object:
        raise PrefectRejectedError(
            "start: Prefect API http://10.0.0.5:4200/api answered HTTP 422: {internal}"
        )

    monkeypatch.setattr(rx.starter, "start", reject)
    response = rx.client.post(
        "/alerts/generic", content=fixture_bytes("generic_firing.json"), headers=bearer()
    )
    assert response.status_code == 503
    assert "10.0.0.5" not in response.text and "internal" not in response.text
    assert response.json()["kept"]


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("https://x.blob.core.windows.net/c?sv=2022&sig=AbCdEf%2Bsecret", "AbCdEf%2Bsecret"),
        ("/alerts/generic?key=hunter2hunter2", "hunter2hunter2"),
        ("/hook?team=web&x-key=zzz-secret", "zzz-secret"),
    ],
)
def test_sig_and_key_query_values_are_redacted(text: str, secret: str) -> None:
    assert secret not in redact_query(text)


def test_x_key_header_is_dropped() -> None:
    kept = redact_headers({"X-Key": "abcdef-secret", "Content-Type": "application/json"})
    assert kept == {"content-type": "application/json"}
