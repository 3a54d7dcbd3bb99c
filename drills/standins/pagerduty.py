"""A local PagerDuty Events API v2 stand-in: records every event it receives and answers as
PagerDuty documents (202 with status/message/dedup_key, 400 for an invalid event), or with the
statuses a test scripts first (e.g. 429 once). Usable by tests and drills."""

from __future__ import annotations

from typing import Any

from drills.standins.server import JsonStandIn, Request

ACTIONS = ("trigger", "acknowledge", "resolve")


class PagerDutyStandIn(JsonStandIn):
    """``with PagerDutyStandIn() as pd:`` serves on ``pd.url``; ``pd.events`` are the accepted
    events, ``pd.requests`` every request with the status it got."""

    def __init__(self, *, script: list[int] | None = None) -> None:
        self.script = list(script or [])
        self.events: list[dict[str, Any]] = []
        self.requests: list[tuple[int, dict[str, Any]]] = []
        super().__init__()

    def actions(self, dedup_key: str | None = None) -> list[str]:
        """The event_actions accepted (for one incident when ``dedup_key`` is given), in order."""
        return [e["event_action"] for e in self.events if dedup_key in (None, e.get("dedup_key"))]

    def answer(self, request: Request) -> tuple[int, dict[str, Any]]:
        if request.path != "/v2/enqueue":
            return 404, {"status": "not found"}
        body = request.body
        with self._lock:
            if self.script:
                status = self.script.pop(0)
                self.requests.append((status, body))
                return status, {"status": "throttled" if status == 429 else "error", "message": "scripted"}
            valid = bool(body.get("routing_key")) and body.get("event_action") in ACTIONS
            if body.get("event_action") == "trigger" and not (body.get("payload") or {}).get("summary"):
                valid = False
            status = 202 if valid else 400
            self.requests.append((status, body))
            if not valid:
                return status, {"status": "invalid event", "message": "Event object is invalid"}
            self.events.append(body)
            key = body.get("dedup_key") or f"generated-{len(self.events)}"
            return status, {"status": "success", "message": "Event processed", "dedup_key": key}
