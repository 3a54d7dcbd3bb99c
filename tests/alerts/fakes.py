"""A fake incident starter with Prefect's idempotency semantics, and receiver test wiring."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient
from pydantic import SecretStr

from alerts.dead_letters import DeadLetterStore
from alerts.errors import PrefectUnavailableError
from alerts.models import Alert
from alerts.receiver import create_app
from alerts.settings import ReceiverSettings
from alerts.starter import StartedRun

TOKEN = "am-token-0123456789"
BASIC = "eventbridge:hunter2-long-password"
PD_SECRET = "pd-secret-abcdef"
TOPIC = "arn:aws:sns:eu-west-1:123456789012:firebreak-alarms"
FIXTURE_NOW = datetime(2026, 11, 14, 10, 55, tzinfo=UTC)
"""The receiver's clock in tests: within an hour of every recorded SNS message's Timestamp."""


@dataclass
class FakeStarter:
    """Records every call; one run per dedup key, like Prefect's idempotency key."""

    down: bool = False
    runs: dict[str, str] = field(default_factory=dict)
    start_calls: list[str] = field(default_factory=list)
    resolved: list[Alert] = field(default_factory=list)

    def start(self, alert: Alert) -> StartedRun:
        self.start_calls.append(alert.dedup_key)
        if self.down:
            raise PrefectUnavailableError("Prefect API http://127.0.0.1:4200/api unreachable: refused")
        created = alert.dedup_key not in self.runs
        run_id = self.runs.setdefault(alert.dedup_key, f"run-{len(self.runs) + 1}")
        return StartedRun(flow_run_id=run_id, created=created, dedup_key=alert.dedup_key)

    def record_resolved(self, alert: Alert) -> None:
        if self.down:
            raise PrefectUnavailableError("Prefect API http://127.0.0.1:4200/api unreachable: refused")
        self.resolved.append(alert)


def settings(tmp_path: Path, **overrides: object) -> ReceiverSettings:
    values: dict[str, object] = {
        "dead_letter_dir": tmp_path / "dead",
        "alertmanager_token": SecretStr(TOKEN),
        "eventbridge_basic": SecretStr(BASIC),
        "generic_token": SecretStr(TOKEN),
        "pagerduty_secrets": SecretStr(PD_SECRET),
        "sns_topic_arns": TOPIC,
    }
    values.update(overrides)
    return ReceiverSettings.model_validate(values)


@dataclass
class Receiver:
    client: TestClient
    starter: FakeStarter
    store: DeadLetterStore
    confirmed: list[str]
    certs_fetched: list[str]


def receiver(
    tmp_path: Path, pem: bytes, *, clock: Callable[[], datetime] = lambda: FIXTURE_NOW, **overrides: object
) -> Receiver:
    config = settings(tmp_path, **overrides)
    starter = FakeStarter()
    store = DeadLetterStore(config.dead_letter_dir)
    confirmed: list[str] = []
    fetched: list[str] = []

    def fetch_cert(url: str) -> bytes:
        fetched.append(url)
        return pem

    def confirm(url: str) -> bytes:
        confirmed.append(url)
        return b"<ConfirmSubscriptionResponse/>"

    app = create_app(
        config,
        starter=starter,
        dead_letters=store,
        cert_fetcher=fetch_cert,
        confirm_fetcher=confirm,
        clock=clock,
    )
    return Receiver(TestClient(app), starter, store, confirmed, fetched)


def bearer(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def basic(pair: str = BASIC) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}
