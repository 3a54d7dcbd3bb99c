"""Issue #8, "Secrets", receiver side: a canary secret never leaves the receiver.

The canary is in the environment (AWS credentials, a test variable) and is also every shared
secret the receiver checks (bearer tokens, the Basic password, the PagerDuty signing secret, the
Prefect auth string). Every path that writes a dead letter or a log line is driven, and the
canary is looked for in the dead-letter files (raw bytes), in every log record at DEBUG, in every
HTTP answer, in the alerts handed to the starter (the flow-run parameters) and in what the
dead-letter CLI prints. The app is driven through raw ASGI calls rather than an HTTP client, so
every captured log record is the receiver's own and not the sending client's.

What is kept and what is redacted (also in docs/alerts.md):

- Redacted: every header whose name says it authenticates (Authorization, Cookie, X-Api-Key,
  X-Amz-Security-Token, X-PagerDuty-Signature, ...); credential-like query parameters
  (``token=``, ``api_key=``, ``signature=``...) inside kept header values such as a proxy's
  ``X-Forwarded-Uri`` or ``Referer``; and an unknown Authorization scheme is not echoed (a bare
  ``Authorization: <token>`` would otherwise come back in the 403 detail).
- Never seen: the request's own query string does not reach intake, so ``?token=`` is never
  written; uvicorn's access log under ``firebreak serve`` prints the path with its query, so
  its handlers redact credential-like query values (alerts/log_redaction.py).
- Kept: the body, as the sender's evidence, even when it contains something secret-looking.
  None of the receiver's credentials travel in a body: PagerDuty signs in a header, and the
  SNS ``Signature`` in the body is a public-key signature that proves but grants nothing. The
  SNS ``Token``/``SubscribeURL`` of a SubscriptionConfirmation only confirms a subscription to
  this very receiver, and is kept so that a failed confirmation can be completed by hand.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import logging.config
from collections import Counter
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from typer.testing import CliRunner

from alerts.dead_letters import DeadLetterStore, Reason
from alerts.errors import FetchError
from alerts.models import Alert
from alerts.receiver import create_app
from alerts.replay import replay
from alerts.settings import load_settings
from alerts.starter import StartedRun
from firebreak.cli import app as cli
from firebreak.commands.alerts import serve_log_config
from tests.alerts.fakes import FakeStarter
from tests.alerts.signing import fixture_bytes

CANARY = "canary-5f0c1e9a7b3d-do-not-leak"  # lower case: auth lower-cases what it echoes
BASIC_PAIR = f"eventbridge:{CANARY}"
BEARER = {"authorization": f"Bearer {CANARY}"}
KEPT_HEADERS = {"user-agent": "canary-sender/1.0", "content-type": "application/json"}
SECRET_HEADERS = {
    "x-api-key": CANARY,
    "x_api_key": CANARY,
    "cookie": f"session={CANARY}",
    "x-amz-security-token": CANARY,
    "x-forwarded-uri": f"/alerts/generic?team=checkout&token={CANARY}",
    "referer": f"https://proxy.example.com/hook?api_key={CANARY}",
}
DROPPED_HEADERS = {
    "authorization",
    "x-pagerduty-signature",
    "x-api-key",
    "x_api_key",
    "cookie",
    "x-amz-security-token",
}
LOGGERS = ("alerts", "uvicorn", "uvicorn.error", "uvicorn.access", "fastapi", "starlette", "httpx")
UNROUTABLE = b'{"fingerprint": "disk/db-7", "name": "disk full", "starts_at": "2026-11-14T10:00:00Z"}'


def _sign(body: bytes, secret: str = CANARY) -> str:
    return "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _basic(pair: str) -> str:
    return "Basic " + base64.b64encode(pair.encode()).decode()


@dataclass
class RecordingStarter(FakeStarter):
    """The fake starter, also keeping the alerts themselves: they become run parameters."""

    alerts: list[Alert] = field(default_factory=list)

    def start(self, alert: Alert) -> StartedRun:
        self.alerts.append(alert)
        return super().start(alert)


@dataclass(frozen=True)
class Case:
    path: str
    body: bytes
    auth: dict[str, str]
    status: int
    reason: Reason | None
    query: str = ""
    prefect_down: bool = False


PD_BODY = fixture_bytes("pagerduty_triggered.json")
GENERIC = fixture_bytes("generic_firing.json")
EVENTBRIDGE = fixture_bytes("eventbridge_alarm.json")
CASES = [
    Case("/alerts/generic", GENERIC, BEARER, 200, None),
    Case("/alerts/eventbridge", EVENTBRIDGE, {"authorization": _basic(BASIC_PAIR)}, 200, None),
    Case("/alerts/pagerduty", PD_BODY, {"x-pagerduty-signature": _sign(PD_BODY)}, 200, None),
    Case("/alerts/generic", GENERIC, {}, 401, Reason.UNAUTHORIZED, query=f"token={CANARY}"),
    Case("/alerts/generic", GENERIC, {"authorization": "Bearer not-the-token"}, 403, Reason.FORBIDDEN),
    Case("/alerts/generic", GENERIC, {"authorization": CANARY}, 403, Reason.FORBIDDEN),
    Case("/alerts/generic", GENERIC, {"authorization": f"Token {CANARY}"}, 403, Reason.FORBIDDEN),
    Case("/alerts/alertmanager", b"{}", {"authorization": _basic(BASIC_PAIR)}, 403, Reason.FORBIDDEN),
    Case("/alerts/eventbridge", b"{}", {"authorization": _basic(f"other:{CANARY}")}, 403, Reason.FORBIDDEN),
    Case("/alerts/pagerduty", PD_BODY, {}, 401, Reason.UNAUTHORIZED),
    Case("/alerts/pagerduty", PD_BODY, {"x-pagerduty-signature": _sign(b"{}")}, 403, Reason.FORBIDDEN),
    Case("/alerts/generic", b"{not json", BEARER, 400, Reason.MALFORMED),
    Case("/alerts/nagios", GENERIC, BEARER, 404, Reason.UNKNOWN_SOURCE),
    Case("/alerts/cloudwatch", fixture_bytes("sns_notification_alarm.json"), {}, 403, Reason.FORBIDDEN),
    Case("/alerts/generic", b" " * 10_000, BEARER, 413, Reason.TOO_LARGE),
    Case("/alerts/generic", UNROUTABLE, BEARER, 200, Reason.UNROUTABLE),
    Case("/alerts/generic", GENERIC, BEARER, 503, Reason.PREFECT_UNAVAILABLE, prefect_down=True),
]
FORMS = (CANARY, base64.b64encode(BASIC_PAIR.encode()).decode(), _sign(PD_BODY)[3:])


def _leaks(text: str) -> list[str]:
    lowered = text.lower()
    return [form for form in FORMS if form.lower() in lowered]


async def _asgi_post(app: FastAPI, case: Case, headers: dict[str, str]) -> tuple[int, bytes]:
    """One POST straight into the ASGI app: no HTTP client, so no client-side log lines."""
    sent: list[MutableMapping[str, Any]] = []
    pending = [{"type": "http.request", "body": case.body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        return pending.pop() if pending else {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": case.path, "raw_path": case.path.encode(), "root_path": "",
        "query_string": case.query.encode(), "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8080),
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
    }  # fmt: skip
    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    head = b"".join(k + b": " + v + b"\n" for k, v in start["headers"])
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], head + body


@pytest.fixture
def canary_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The canary in the AWS credentials and as every receiver secret, set the way operators do."""
    for name in ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "FIREBREAK_TEST_CANARY"):
        monkeypatch.setenv(name, CANARY)
    for source in ("ALERTMANAGER", "GENERIC"):
        monkeypatch.setenv(f"FIREBREAK_{source}_TOKEN", CANARY)
    monkeypatch.setenv("FIREBREAK_EVENTBRIDGE_BASIC", BASIC_PAIR)
    monkeypatch.setenv("FIREBREAK_PAGERDUTY_SECRETS", f"old-secret-0123456789,{CANARY}")
    monkeypatch.setenv("FIREBREAK_STATUSPAGE_API_KEY", CANARY)
    monkeypatch.setenv("FIREBREAK_PREFECT_API_AUTH_STRING", f"firebreak:{CANARY}")
    monkeypatch.setenv("FIREBREAK_PREFECT_API_URL", "http://127.0.0.1:9/api")  # nothing listens
    monkeypatch.setenv("FIREBREAK_MAX_BODY_BYTES", "8192")
    monkeypatch.setenv("FIREBREAK_DEAD_LETTER_DIR", str(tmp_path / "dead"))
    yield tmp_path / "dead"


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every record at DEBUG, also from loggers that do not propagate to the root."""
    caplog.set_level(logging.DEBUG)
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
        logging.getLogger(name).addHandler(caplog.handler)
    yield caplog
    for name in LOGGERS:
        logging.getLogger(name).removeHandler(caplog.handler)


def _records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """Each record once (the extra handlers see propagating records twice)."""
    return list({id(r): r for r in caplog.records}.values())


def _log_text(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in _records(caplog))


def _offline(url: str) -> bytes:
    raise FetchError(f"GET {url}: no network in tests")


def _drive(dead_dir: Path) -> tuple[RecordingStarter, list[bytes]]:
    settings = load_settings()
    assert settings.generic_token is not None and settings.generic_token.get_secret_value() == CANARY
    starter = RecordingStarter()
    store = DeadLetterStore(dead_dir)
    app = create_app(
        settings, starter=starter, dead_letters=store, cert_fetcher=_offline, confirm_fetcher=_offline
    )
    answers = []
    for case in CASES:
        starter.down = case.prefect_down
        headers = {**KEPT_HEADERS, **SECRET_HEADERS, **case.auth}
        status, answer = asyncio.run(_asgi_post(app, case, headers))
        assert status == case.status, (case, answer)
        answers.append(answer)
    return starter, answers


def test_the_canary_reaches_no_letter_log_answer_or_alert(
    canary_env: Path, logs: pytest.LogCaptureFixture
) -> None:
    starter, answers = _drive(canary_env)
    files = sorted(canary_env.iterdir())
    assert all(not _leaks(path.read_bytes().decode("utf-8", "replace")) for path in files)
    assert all(not _leaks(answer.decode()) for answer in answers)
    assert not _leaks(_log_text(logs))
    assert not _leaks(json.dumps([a.model_dump_json() for a in starter.alerts + starter.resolved]))

    letters = [json.loads(path.read_bytes()) for path in files]
    expected = Counter(case.reason for case in CASES if case.reason is not None)
    assert Counter(Reason(d["reason"]) for d in letters) == expected
    assert sum(r.getMessage().startswith("kept ") for r in _records(logs)) == len(letters)
    assert len(starter.alerts) == 4  # three accepted, one kept while Prefect was down
    for dead in letters:
        assert {k: dead["headers"][k] for k in KEPT_HEADERS} == KEPT_HEADERS
        assert not DROPPED_HEADERS & set(dead["headers"])
        assert dead["headers"]["x-forwarded-uri"] == "/alerts/generic?team=checkout&token=REDACTED"
        assert dead["headers"]["referer"] == "https://proxy.example.com/hook?api_key=REDACTED"


def test_listing_and_replaying_letters_print_no_canary(
    canary_env: Path, logs: pytest.LogCaptureFixture
) -> None:
    starter, _ = _drive(canary_env)
    runner = CliRunner()
    listed = runner.invoke(cli, ["alert", "dead-letters"])
    as_json = runner.invoke(cli, ["alert", "dead-letters", "--json"])
    replayed = runner.invoke(cli, ["alert", "replay"])  # Prefect unreachable: the letter stays
    assert (listed.exit_code, as_json.exit_code, replayed.exit_code) == (0, 0, 1), replayed.output
    assert "prefect-unavailable" in listed.stdout and "unroutable" in as_json.stdout
    assert "unreachable" in replayed.output
    for result in (listed, as_json, replayed):
        assert not _leaks(result.output + (result.stderr or ""))

    starter.down = False  # Prefect is back
    delivered = replay(DeadLetterStore(canary_env), starter)
    assert [r.delivered for r in delivered] == [True]
    assert not _leaks(json.dumps([r.model_dump(mode="json") for r in delivered]))
    assert not _leaks(starter.alerts[-1].model_dump_json())
    assert not _leaks(_log_text(logs))


def test_a_secret_in_the_senders_own_body_is_kept_as_evidence(
    canary_env: Path, logs: pytest.LogCaptureFixture
) -> None:
    body = json.loads(UNROUTABLE) | {"annotations": {"note": "sender-secret-in-body"}}
    case = Case("/alerts/generic", json.dumps(body).encode(), BEARER, 200, None)
    settings = load_settings()
    app = create_app(
        settings, starter=RecordingStarter(), dead_letters=DeadLetterStore(canary_env), cert_fetcher=_offline
    )
    asyncio.run(_asgi_post(app, case, {**KEPT_HEADERS, **case.auth}))
    ((path, dead),) = DeadLetterStore(canary_env).entries()
    # The letter of an alert keeps the alert, whose raw part is the sender's own words.
    assert dead.alert is not None and "sender-secret-in-body" in json.dumps(dead.alert.raw)
    assert not _leaks(path.read_text())


def test_the_access_log_of_firebreak_serve_redacts_query_credentials(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The request line uvicorn logs (same call as uvicorn's h11 protocol) loses its token."""
    names = ("uvicorn", "uvicorn.error", "uvicorn.access", "alerts")
    saved = {name: (logging.getLogger(name).handlers[:], logging.getLogger(name).propagate) for name in names}
    try:
        logging.config.dictConfig(serve_log_config())
        access = logging.getLogger("uvicorn.access")
        path = f"/alerts/generic?team=web&token={CANARY}"
        access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "POST", path, "1.1", 200)
        logging.getLogger("uvicorn.error").info("could not parse %s", path)
    finally:
        for name, (handlers, propagate) in saved.items():
            logging.getLogger(name).handlers[:] = handlers
            logging.getLogger(name).propagate = propagate
    printed = capsys.readouterr()
    out = printed.out + printed.err
    assert '"POST /alerts/generic?team=web&token=REDACTED HTTP/1.1" 200' in out
    assert "could not parse /alerts/generic?team=web&token=REDACTED" in out
    assert CANARY not in out
