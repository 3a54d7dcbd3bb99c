from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from alerts.errors import PrefectRejectedError, PrefectUnavailableError
from alerts.generic import parse_generic
from alerts.models import Alert
from alerts.prefect_starter import PrefectStarter
from alerts.resolved import resolved_variable_name
from tests.alerts.signing import fixture_bytes

API = "http://127.0.0.1:4200/api"


@dataclass
class FakePrefect:
    """Just enough of the Prefect 3 REST API: deployments by name, idempotent runs, variables."""

    deployment_id: str = "3f1c0c4e-8d7a-4b9e-9a51-0d2b6c1e7f10"
    status: int | None = None  # force every answer to this status
    fail_next_runs: int = 0  # answer this many create_flow_run calls with 503 first
    unreachable: bool = False
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/api")
        self.requests.append((request.method, path))
        if self.unreachable:
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        if self.status is not None:
            return httpx.Response(self.status, json={"detail": "forced"})
        body = json.loads(request.content) if request.content else {}
        if request.method == "GET" and path == "/deployments/name/incident-response/incident":
            return httpx.Response(200, json={"id": self.deployment_id, "name": "incident"})
        if request.method == "POST" and path == f"/deployments/{self.deployment_id}/create_flow_run":
            if self.fail_next_runs:
                self.fail_next_runs -= 1
                return httpx.Response(503, json={"detail": "database is locked"})
            key = body["idempotency_key"]
            if key in self.runs:
                return httpx.Response(200, json=self.runs[key])
            self.runs[key] = {"id": str(uuid.uuid4()), **body}
            return httpx.Response(201, json=self.runs[key])
        if request.method == "PATCH" and path.startswith("/variables/name/"):
            name = path.removeprefix("/variables/name/")
            if name not in self.variables:
                return httpx.Response(404, json={"detail": "Variable not found."})
            self.variables[name] = body["value"]
            return httpx.Response(204)
        if request.method == "POST" and path == "/variables/":
            self.variables[body["name"]] = body["value"]
            return httpx.Response(201, json={"id": str(uuid.uuid4()), **body})
        return httpx.Response(404, json={"detail": "Not Found"})


def _starter(prefect: FakePrefect) -> PrefectStarter:
    return PrefectStarter(API, transport=httpx.MockTransport(prefect), retry_delays=())


def _alerts() -> tuple[Alert, Alert]:
    firing, resolved = parse_generic(fixture_bytes("generic_list.json")).alerts
    return firing.model_copy(update={"service": "payments"}), resolved


def test_start_creates_one_run_per_dedup_key_with_alert_parameter_and_tags() -> None:
    prefect = FakePrefect()
    starter = _starter(prefect)
    firing, _ = _alerts()

    first = starter.start(firing)
    again = starter.start(firing)

    assert first.created and not again.created
    assert first.flow_run_id == again.flow_run_id
    (run,) = prefect.runs.values()
    assert run["idempotency_key"] == firing.dedup_key
    assert run["tags"] == ["incident", "payments"]
    assert Alert.model_validate(run["parameters"]["alert"]) == firing
    assert prefect.requests.count(("GET", "/deployments/name/incident-response/incident")) == 1


def test_deployment_recreated_is_looked_up_again() -> None:
    prefect = FakePrefect()
    starter = _starter(prefect)
    firing, _ = _alerts()
    starter.start(firing)
    prefect.deployment_id = "9a9a9a9a-0000-4000-8000-000000000000"
    prefect.runs.clear()
    assert starter.start(firing).created
    assert prefect.requests.count(("GET", "/deployments/name/incident-response/incident")) == 2


def test_record_resolved_creates_then_updates_the_variable() -> None:
    prefect = FakePrefect()
    starter = _starter(prefect)
    _, resolved = _alerts()
    name = resolved_variable_name("cron/nightly-settlement")

    starter.record_resolved(resolved)
    assert prefect.variables[name] == {
        "fingerprint": "cron/nightly-settlement",
        "resolved_at": "2026-11-14T03:52:10+00:00",
    }
    later = resolved.model_copy(update={"annotations": {"resolved_at": "2026-11-15T01:00:00+00:00"}})
    starter.record_resolved(later)
    assert prefect.variables[name]["resolved_at"] == "2026-11-15T01:00:00+00:00"
    assert ("POST", "/variables/") in prefect.requests
    assert prefect.runs == {}


@pytest.mark.parametrize(
    ("prefect", "error"),
    [
        (FakePrefect(unreachable=True), PrefectUnavailableError),
        (FakePrefect(status=503), PrefectUnavailableError),
        (FakePrefect(status=401), PrefectRejectedError),
    ],
)
def test_failures_are_classified(prefect: FakePrefect, error: type[Exception]) -> None:
    firing, _ = _alerts()
    with pytest.raises(error):
        _starter(prefect).start(firing)


def test_missing_deployment_is_rejected_with_its_name() -> None:
    firing, _ = _alerts()
    starter = PrefectStarter(
        API, deployment="incident-response/missing", transport=httpx.MockTransport(FakePrefect())
    )
    with pytest.raises(PrefectRejectedError, match=r"find deployment incident-response/missing: .* 404"):
        starter.start(firing)


def test_unreachable_variable_write_is_unavailable() -> None:
    _, resolved = _alerts()
    with pytest.raises(PrefectUnavailableError, match="unreachable"):
        _starter(FakePrefect(unreachable=True)).record_resolved(resolved)


def test_deployment_name_must_have_flow_and_deployment() -> None:
    with pytest.raises(ValueError, match="<flow>/<deployment>"):
        PrefectStarter(API, deployment="incident")


def test_a_transient_503_is_retried_and_starts_exactly_one_run() -> None:
    prefect = FakePrefect(fail_next_runs=1)
    starter = PrefectStarter(API, transport=httpx.MockTransport(prefect), retry_delays=(0.0,))
    firing, _ = _alerts()
    started = starter.start(firing)
    posts = [r for r in prefect.requests if r[0] == "POST"]
    assert len(posts) == 2 and started.created
    assert list(prefect.runs) == [firing.dedup_key]


def test_prefect_templating_keys_in_a_raw_payload_stay_inert() -> None:
    prefect = FakePrefect()
    firing, _ = _alerts()
    hostile = firing.model_copy(
        update={"raw": {"x": {"__prefect_kind": "workspace_variable", "variable_name": "s"}}}
    )
    _starter(prefect).start(hostile)
    sent = next(iter(prefect.runs.values()))["parameters"]["alert"]["raw"]
    assert sent == {"x": {"_prefect_kind_": "workspace_variable", "variable_name": "s"}}
