"""post_update() against the Statuspage stand-in: what the page holds afterwards, retries on
429/5xx only, a second update lands on the incident the first created."""

from __future__ import annotations

import pytest

from drills.standins.statuspage import StatusPageStandIn
from tasks.statuspage import (
    API_KEY_ENV,
    ComponentStatus,
    IncidentStatus,
    MissingApiKeyError,
    StatusPageError,
    StatusPageSettings,
    StatusUpdate,
    post_update,
)

KEY = "SPAPIKEYCANARY00000000000000000"


def update(status: IncidentStatus = IncidentStatus.INVESTIGATING) -> StatusUpdate:
    shown = ComponentStatus.OPERATIONAL if status is IncidentStatus.RESOLVED else ComponentStatus.MAJOR_OUTAGE
    return StatusUpdate(
        name="Checkout: major outage", status=status, body="We are investigating.", components={"cmp1": shown}
    )


def settings(sp: StatusPageStandIn) -> StatusPageSettings:
    return StatusPageSettings(api_url=sp.url, page_id=sp.page_id, attempts=3)


@pytest.fixture(autouse=True)
def _api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(API_KEY_ENV, KEY)


def stand_in(script: list[int] | None = None) -> StatusPageStandIn:
    return StatusPageStandIn(script=script, api_key=KEY)


def test_429_then_201_posts_once() -> None:
    with stand_in([429]) as sp:
        posted = post_update(update(), incident_id="INC-1", existing=None, settings=settings(sp))
    assert [(method, status) for method, status, _ in sp.requests] == [("POST", 429), ("POST", 201)]
    assert list(sp.incidents) == [posted.incident] and posted.created
    assert sp.statuses("INC-1") == ["investigating"]
    assert sp.incidents[posted.incident]["name"] == "Checkout: major outage"


def test_400_is_not_retried() -> None:
    with stand_in([400, 201]) as sp, pytest.raises(StatusPageError, match="refused it \\(400\\)"):
        post_update(update(), incident_id="INC-1", existing=None, settings=settings(sp))
    assert len(sp.requests) == 1 and sp.incidents == {}


def test_5xx_every_time_gives_up_after_the_attempts() -> None:
    with stand_in([503, 502, 500]) as sp, pytest.raises(StatusPageError, match="after 3 tries"):
        post_update(update(), incident_id="INC-1", existing=None, settings=settings(sp))
    assert len(sp.requests) == 3 and sp.incidents == {}


def test_a_later_update_lands_on_the_incident_created_first() -> None:
    with stand_in() as sp:
        first = post_update(update(), incident_id="INC-1", existing=None, settings=settings(sp))
        later = post_update(
            update(IncidentStatus.RESOLVED),
            incident_id="INC-1",
            existing=first.incident,
            settings=settings(sp),
        )
    assert later.incident == first.incident and not later.created
    assert len(sp.incidents) == 1 and sp.statuses("INC-1") == ["investigating", "resolved"]
    assert sp.incidents[first.incident]["status"] == "resolved"


def test_the_key_travels_in_the_authorization_header_only() -> None:
    with stand_in() as sp:
        post_update(update(), incident_id="INC-1", existing=None, settings=settings(sp))
    assert sp.auth_headers == [f"OAuth {KEY}"]
    assert KEY not in str(sp.requests)


def test_a_wrong_key_is_refused_and_not_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(API_KEY_ENV, "not-the-key")
    with stand_in() as sp, pytest.raises(StatusPageError, match="\\(401\\)"):
        post_update(update(), incident_id="INC-1", existing=None, settings=settings(sp))
    assert len(sp.requests) == 1 and sp.incidents == {}


def test_a_missing_key_sends_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(API_KEY_ENV)
    with stand_in() as sp, pytest.raises(MissingApiKeyError, match=API_KEY_ENV):
        post_update(update(), incident_id="INC-1", existing=None, settings=settings(sp))
    assert sp.requests == []
