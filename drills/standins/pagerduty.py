"""A local PagerDuty Events API v2 stand-in: records every event it receives and answers as
PagerDuty documents (202 with status/message/dedup_key, 400 for an invalid event), or with the
statuses a test scripts first (e.g. 429 once). Usable by tests and drills."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

ACTIONS = ("trigger", "acknowledge", "resolve")


class PagerDutyStandIn:
    """``with PagerDutyStandIn() as pd:`` serves on ``pd.url``; ``pd.events`` are the accepted
    events, ``pd.requests`` every request with the status it got."""

    def __init__(self, *, script: list[int] | None = None) -> None:
        self.script = list(script or [])
        self.events: list[dict[str, Any]] = []
        self.requests: list[tuple[int, dict[str, Any]]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def actions(self, dedup_key: str | None = None) -> list[str]:
        """The event_actions accepted (for one incident when ``dedup_key`` is given), in order."""
        return [e["event_action"] for e in self.events if dedup_key in (None, e.get("dedup_key"))]

    def _answer(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
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

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except json.JSONDecodeError:
                    body = {}
                status, answer = (
                    stand_in._answer(body) if self.path == "/v2/enqueue" else (404, {"status": "not found"})
                )
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler

    def __enter__(self) -> PagerDutyStandIn:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
