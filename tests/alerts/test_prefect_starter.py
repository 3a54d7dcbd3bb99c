from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from alerts.errors import PrefectRejectedError, PrefectUnavailableError
from alerts.generic import parse_generic
from alerts.joins import JOIN_KEY_PREFIX, Join, handled_key
from alerts.models import Alert
from alerts.prefect_starter import PrefectStarter
from alerts.resolved import resolved_variable_name
from alerts.starter import StartedRun
from tests.alerts.signing import fixture_bytes

API = "http://127.0.0.1:4200/api"


@dataclass
class FakePrefect:
    """Just enough of the Prefect 3 REST API: deployments by name, idempotent runs, variables."""

    deployment_id: str = "3f1c0c4e-8d7a-4b9e-9a51-0d2b6c1e7f10"
    status: int | None = None  # force every answer to this status
    fail_next_runs: int = 0  # answer this many create_flow_run calls with 503 first
    unreachable: bool = False
    stale_filters: int = 0  # answer this many run filters with [] (a replica's view before a create)
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    inputs: dict[tuple[str, str], str] = field(default_factory=dict)  # (run id, key) -> value
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
            created = datetime.now(UTC).isoformat()
            self.runs[key] = {
                "id": str(uuid.uuid4()),
                "created": created,
                "state": {"type": "SCHEDULED"},
                **body,
            }
            return httpx.Response(201, json=self.runs[key])
        if request.method == "POST" and path == "/flow_runs/filter":
            if self.stale_filters:
                self.stale_filters -= 1
                return httpx.Response(200, json=[])
            tags = set(body["flow_runs"]["tags"]["all_"])
            found = [r for r in self.runs.values() if tags <= set(r["tags"])]
            found.sort(key=lambda r: r["created"], reverse=True)
            return httpx.Response(200, json=found[: body["limit"]])
        if path.startswith("/flow_runs/") and "/input" in path:
            run_id = path.split("/")[2]
            if request.method == "POST":
                if (run_id, body["key"]) in self.inputs:
                    return httpx.Response(
                        409, json={"detail": "A flow run input with this key already exists."}
                    )
                self.inputs[(run_id, body["key"])] = body["value"]
                return httpx.Response(201)
            value = self.inputs.get((run_id, path.rsplit("/", 1)[1]))
            return httpx.Response(404) if value is None else httpx.Response(200, text=value)
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
    return firing.model_copy(update={"service": "payments", "environment": "prod"}), resolved


def test_start_creates_one_run_per_dedup_key_with_alert_parameter_and_tags() -> None:
    prefect = FakePrefect()
    starter = _starter(prefect)
    firing, _ = _alerts()

    first = starter.start(firing)
    again = starter.start(firing)

    assert first.created and not again.created
    assert first.flow_run_id == again.flow_run_id
    (run,) = prefect.runs.values()
    assert run["idempotency_key"] == "firebreak-incident:payments:prod:after:none"
    assert run["tags"] == ["incident", "payments", "firebreak.service:payments", "firebreak.env:prod"]
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
    posts = [r for r in prefect.requests if r[0] == "POST" and r[1].endswith("/create_flow_run")]
    assert len(posts) == 2 and started.created
    assert [Alert.model_validate(r["parameters"]["alert"]) for r in prefect.runs.values()] == [firing]


def test_prefect_templating_keys_in_a_raw_payload_stay_inert() -> None:
    prefect = FakePrefect()
    firing, _ = _alerts()
    hostile = firing.model_copy(
        update={"raw": {"x": {"__prefect_kind": "workspace_variable", "variable_name": "s"}}}
    )
    _starter(prefect).start(hostile)
    sent = next(iter(prefect.runs.values()))["parameters"]["alert"]["raw"]
    assert sent == {"x": {"_prefect_kind_": "workspace_variable", "variable_name": "s"}}


def _refire(alert: Alert, minutes: int = 10) -> Alert:
    return alert.model_copy(update={"starts_at": alert.starts_at + timedelta(minutes=minutes)})


def _latency(alert: Alert) -> Alert:
    return alert.model_copy(update={"fingerprint": "payments/latency", "name": "payments-latency"})


def _joins(prefect: FakePrefect, run_id: str) -> list[Join]:
    return [
        Join.model_validate_json(v)
        for (rid, key), v in prefect.inputs.items()
        if rid == run_id and key.startswith(JOIN_KEY_PREFIX)
    ]


def test_a_second_alarm_of_the_service_joins_the_open_run_once() -> None:
    prefect = FakePrefect()
    starter = _starter(prefect)
    firing, _ = _alerts()

    opened = starter.start(firing)
    joined = starter.start(_latency(firing))
    again = starter.start(_latency(firing))

    assert opened.created and not opened.joined
    assert joined.joined and not joined.created and joined.flow_run_id == opened.flow_run_id
    assert again == joined
    assert len(prefect.runs) == 1
    assert [j.alert for j in _joins(prefect, opened.flow_run_id)] == [_latency(firing)]


def test_the_same_alarm_firing_again_while_open_joins() -> None:
    prefect = FakePrefect()
    starter = _starter(prefect)
    firing, _ = _alerts()
    opened = starter.start(firing)
    assert starter.start(_refire(firing)).joined
    assert [j.alert for j in _joins(prefect, opened.flow_run_id)] == [_refire(firing)]


def test_after_the_run_is_final_a_refire_starts_the_successor_run() -> None:
    prefect = FakePrefect()
    starter = _starter(prefect)
    firing, _ = _alerts()
    opened = starter.start(firing)
    (first,) = prefect.runs.values()
    first["state"] = {"type": "COMPLETED"}

    successor = starter.start(_refire(firing))

    assert successor.created and successor.flow_run_id != opened.flow_run_id
    assert (
        prefect.runs[f"firebreak-incident:payments:prod:after:{opened.flow_run_id}"]["id"]
        == successor.flow_run_id
    )
    assert starter.start(firing) == StartedRun(
        flow_run_id=opened.flow_run_id, created=False, dedup_key=firing.dedup_key
    )


def test_a_run_older_than_max_open_is_not_joined() -> None:
    prefect = FakePrefect()
    firing, _ = _alerts()
    _starter(prefect).start(firing)
    later = PrefectStarter(
        API,
        transport=httpx.MockTransport(prefect),
        retry_delays=(),
        max_open=timedelta(minutes=30),
        clock=lambda: datetime.now(UTC) + timedelta(minutes=31),
    )
    assert later.start(_refire(firing)).created
    assert len(prefect.runs) == 2


def test_an_alert_that_joined_a_closed_run_that_handled_it_gets_that_run_again() -> None:
    prefect = FakePrefect()
    starter = _starter(prefect)
    firing, _ = _alerts()
    opened = starter.start(firing)
    starter.start(_latency(firing))
    prefect.inputs[(opened.flow_run_id, handled_key(_latency(firing)))] = "{}"  # as the run marks it
    next(iter(prefect.runs.values()))["state"] = {"type": "FAILED"}

    again = starter.start(_latency(firing))

    assert again.joined and again.flow_run_id == opened.flow_run_id
    assert len(prefect.runs) == 1 and len(_joins(prefect, opened.flow_run_id)) == 1


def test_a_redelivered_join_its_closed_run_never_handled_opens_an_incident() -> None:
    """Issue 24, defect 1: the re-delivery used to be answered "joined earlier" and dropped,
    although the run that absorbed it never acted on its region."""
    prefect = FakePrefect()
    starter = _starter(prefect)
    firing, _ = _alerts()
    opened = starter.start(firing)
    starter.start(_latency(firing))
    next(iter(prefect.runs.values()))["state"] = {"type": "COMPLETED"}

    again = starter.start(_latency(firing))

    assert again.created and not again.joined and again.flow_run_id != opened.flow_run_id
    assert len(prefect.runs) == 2


def test_losing_the_race_to_open_the_incident_joins_the_winner() -> None:
    prefect = FakePrefect()
    firing, _ = _alerts()
    winner = _starter(prefect).start(firing)
    prefect.stale_filters = 1  # this replica looked before the winner's run existed

    loser = _starter(prefect).start(_latency(firing))

    assert loser.joined and loser.flow_run_id == winner.flow_run_id
    assert len(prefect.runs) == 1
    assert [j.alert for j in _joins(prefect, winner.flow_run_id)] == [_latency(firing)]


def test_an_ha_twin_that_loses_the_race_gets_the_run_without_a_join() -> None:
    prefect = FakePrefect()
    firing, _ = _alerts()
    winner = _starter(prefect).start(firing)
    prefect.stale_filters = 1
    twin = _starter(prefect).start(firing)
    assert twin == StartedRun(flow_run_id=winner.flow_run_id, created=False, dedup_key=firing.dedup_key)
    assert prefect.inputs == {}
