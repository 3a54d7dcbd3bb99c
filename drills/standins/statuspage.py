"""A local Atlassian Statuspage stand-in: ``POST /v1/pages/{page}/incidents`` creates an incident
(201 with the incident JSON), ``PATCH /v1/pages/{page}/incidents/{id}`` updates it (200),
as Statuspage documents; a wrong ``Authorization: OAuth <key>`` gets 401, an invalid body 422,
an unknown page or incident 404, or the statuses a test scripts first (e.g. 429 once).
It records every status it accepted, per incident, so tests and drills read back what the
page shows. Usable by tests and drills."""

from __future__ import annotations

import re
from typing import Any

from drills.standins.server import JsonStandIn, Request

STATUSES = ("investigating", "identified", "monitoring", "resolved")
COMPONENT_STATUSES = ("operational", "degraded_performance", "partial_outage", "major_outage")
PAGE_ID = "drillpage0001"
API_KEY = "drill-statuspage-key"
_PATH = re.compile(r"^/v1/pages/(?P<page>[^/]+)/incidents(?:/(?P<incident>[^/]+))?$")


class StatusPageStandIn(JsonStandIn):
    """``with StatusPageStandIn() as sp:`` serves on ``sp.url``; ``sp.incidents`` holds the page's
    incidents by id, ``sp.requests`` every request as (method, status answered, body)."""

    def __init__(
        self, *, script: list[int] | None = None, page_id: str = PAGE_ID, api_key: str = API_KEY
    ) -> None:
        self.script = list(script or [])
        self.page_id = page_id
        self.api_key = api_key
        self.incidents: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, int, dict[str, Any]]] = []
        self.auth_headers: list[str] = []
        super().__init__()

    def environment(self) -> dict[str, str]:
        """The settings that point Firebreak at this stand-in (URL, page id, key)."""
        return {
            "FIREBREAK_STATUSPAGE_API_URL": self.url,
            "FIREBREAK_STATUSPAGE_PAGE_ID": self.page_id,
            "FIREBREAK_STATUSPAGE_API_KEY": self.api_key,
        }

    def statuses(self, firebreak_incident: str | None = None) -> list[str]:
        """Every status accepted, in order (for the page incidents whose metadata names
        ``firebreak_incident`` when given)."""
        with self._lock:
            return [
                update["status"]
                for incident in self.incidents.values()
                if firebreak_incident in (None, _firebreak_id(incident))
                for update in reversed(incident["incident_updates"])
            ]

    def answer(self, request: Request) -> tuple[int, dict[str, Any]]:
        method, path, body = request.method, request.path, request.body
        auth = request.headers.get("Authorization", "")
        with self._lock:
            self.auth_headers.append(auth)
            status, answer = self._decide(method, path, auth, body)
            self.requests.append((method, status, body))
            return status, answer

    def _decide(self, method: str, path: str, auth: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if self.script:
            return self.script.pop(0), {"error": "scripted"}
        match = _PATH.match(path)
        if match is None or match["page"] != self.page_id:
            return 404, {"error": "Page not found"}
        if auth != f"OAuth {self.api_key}":
            return 401, {"error": "Could not authenticate"}
        fields = body.get("incident")
        if not isinstance(fields, dict) or fields.get("status") not in STATUSES:
            return 422, {"error": "incident[status] is invalid"}
        if any(v not in COMPONENT_STATUSES for v in (fields.get("components") or {}).values()):
            return 422, {"error": "incident[components] is invalid"}
        if method == "POST" and match["incident"] is None:
            if not fields.get("name"):
                return 422, {"error": "incident[name] can't be blank"}
            incident_id = f"sp{len(self.incidents) + 1:04d}"
            self.incidents[incident_id] = {
                "id": incident_id,
                "page_id": self.page_id,
                "name": fields["name"],
                "metadata": fields.get("metadata") or {},
                "incident_updates": [],
            }
            return 201, self._update(incident_id, fields)
        if method == "PATCH" and match["incident"] in self.incidents:
            return 200, self._update(match["incident"], fields)
        return 404, {"error": "Incident not found"}

    def _update(self, incident_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        incident = self.incidents[incident_id]
        number = sum(len(i["incident_updates"]) for i in self.incidents.values()) + 1
        update = {
            "id": f"upd{number:04d}",
            "status": fields["status"],
            "body": fields.get("body", ""),
            "affected_components": [
                {"code": k, "new_status": v} for k, v in (fields.get("components") or {}).items()
            ],
        }
        incident["incident_updates"].insert(0, update)  # newest first, as Statuspage lists them
        incident["status"] = fields["status"]
        return dict(incident)


def _firebreak_id(incident: dict[str, Any]) -> str | None:
    found = (incident.get("metadata") or {}).get("firebreak", {}).get("incident_id")
    return None if found is None else str(found)
