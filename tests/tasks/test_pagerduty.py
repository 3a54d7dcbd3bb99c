"""send_page() against the PagerDuty stand-in: what PagerDuty receives, retries on 429/5xx only."""

from __future__ import annotations

import pytest

from drills.standins.pagerduty import PagerDutyStandIn
from tasks.pagerduty import (
    EventAction,
    MissingRoutingKeyError,
    PageEvent,
    PagerDutyError,
    PagerDutySettings,
    send_page,
)

ENV = "FIREBREAK_TEST_PD_KEY"
KEY = "R0UTINGKEYCANARY0000000000000000"


def event(action: EventAction = EventAction.TRIGGER) -> PageEvent:
    return PageEvent(routing_key_env=ENV, action=action, dedup_key="INC-1", summary="checkout 5xx")


def settings(pd: PagerDutyStandIn) -> PagerDutySettings:
    return PagerDutySettings(api_url=pd.url, attempts=3)


@pytest.fixture(autouse=True)
def _routing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, KEY)


def test_429_then_202_sends_once() -> None:
    with PagerDutyStandIn(script=[429]) as pd:
        assert send_page(event(), settings(pd)) == "INC-1"
    assert [status for status, _ in pd.requests] == [429, 202]
    assert pd.actions("INC-1") == ["trigger"]
    assert pd.events[0]["routing_key"] == KEY and pd.events[0]["payload"]["summary"] == "checkout 5xx"


def test_400_is_not_retried() -> None:
    refused = pytest.raises(PagerDutyError, match="refused it \\(400\\)")
    with PagerDutyStandIn(script=[400, 202]) as pd, refused:
        send_page(event(), settings(pd))
    assert len(pd.requests) == 1 and pd.events == []


def test_5xx_every_time_gives_up_after_the_attempts() -> None:
    with PagerDutyStandIn(script=[503, 502, 500]) as pd, pytest.raises(PagerDutyError, match="after 3 tries"):
        send_page(event(), settings(pd))
    assert len(pd.requests) == 3 and pd.events == []


def test_acknowledge_and_resolve_land_on_the_same_incident() -> None:
    with PagerDutyStandIn() as pd:
        for action in EventAction:
            send_page(event(action), settings(pd))
    assert pd.actions("INC-1") == ["trigger", "acknowledge", "resolve"]
    assert "payload" not in pd.events[1]


def test_a_missing_routing_key_sends_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV)
    with PagerDutyStandIn() as pd, pytest.raises(MissingRoutingKeyError, match=ENV):
        send_page(event(), settings(pd))
    assert pd.requests == []
