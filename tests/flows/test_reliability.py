"""What survives faults during a whole incident: AWS throttling and permission errors on the
mutating call, and secrets that must never leak into the records."""

from __future__ import annotations

import json

import pytest
from prefect.client.orchestration import get_client

from drills import seed_names as n
from drills.faults import inject_bad_flag
from flows.incident import incident_response
from flows.incident_run import incident_id_for
from flows.report import Outcome
from tasks.aws import AwsTarget, call, clear_client_cache, client
from tests.faults import ACCESS_DENIED, THROTTLE, UNAVAILABLE, inject_faults
from tests.flows.conftest import World
from tests.flows.scripted import Script, done

CANARY = "canary-Zq8vXr2LmT0wPqK9"


def _ssm(world: World) -> object:
    """The very client the flow will use for the flag store (tasks.aws caches per target)."""
    store = world.catalog.entry(n.SERVICE, n.ENVIRONMENT).flags
    assert store is not None
    return client("ssm", AwsTarget(region=store.region))


def _history(world: World) -> list[str]:
    store = world.catalog.entry(n.SERVICE, n.ENVIRONMENT).flags
    assert store is not None
    ssm = client("ssm", world.sandbox.target(store.region))
    return [
        p["Value"]
        for p in call(ssm, "get_parameter_history", Name=store.flags[n.FLAG_NEW_PRICING])["Parameters"]
    ]


def test_throttled_then_5xx_flag_disable_is_applied_exactly_once(world: World, instant_retries: None) -> None:
    inject_bad_flag(world.sandbox.target(), world.catalog)
    before = _history(world)
    alert = world.alert()
    settings = world.settings()
    with inject_faults(_ssm(world), "ssm.PutParameter", [THROTTLE, UNAVAILABLE]) as faults:
        incident_response(alert=alert, settings=settings, return_state=True)
    report, _ = world.report(alert, settings)
    assert faults.injected == 2 and faults.calls == 3
    assert _history(world) == [*before, "off"]  # one new version, not three
    assert report.outcome is Outcome.MITIGATED


def test_access_denied_changes_nothing_is_recorded_and_escalates(world: World) -> None:
    inject_bad_flag(world.sandbox.target(), world.catalog)
    before = _history(world)
    alert = world.alert()
    settings = world.settings()
    with inject_faults(_ssm(world), "ssm.PutParameter", [ACCESS_DENIED]), Script([done("carol")]) as humans:
        incident_response(alert=alert, settings=settings, return_state=True)
    report, timeline = world.report(alert, settings)
    assert _history(world) == before and world.flag() == "on"
    failure = timeline.events("apply-failed")[0]
    assert "AccessDenied" in failure.message
    assert report.mitigations[0].status == "failed"
    assert [s.kind for s in humans.steps] == ["human"] and report.outcome is Outcome.ESCALATED


def test_a_canary_secret_never_reaches_parameters_logs_artifacts_or_the_timeline(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", CANARY)
    monkeypatch.setenv("FIREBREAK_TEST_CANARY", CANARY)
    clear_client_cache()  # the flow's clients must sign with the canary credentials
    inject_bad_flag(world.sandbox.target(), world.catalog)
    alert = world.alert()
    settings = world.settings()
    state = incident_response(alert=alert, settings=settings, return_state=True)
    clear_client_cache()
    folder = settings.incident_dir(incident_id_for(alert))
    written = "".join(p.read_text() for p in folder.iterdir() if p.is_file())
    assert "flags.disable.ssm" in written  # the records are there...
    assert CANARY not in written  # ...and the secret is not
    run_id = state.state_details.flow_run_id
    assert run_id is not None
    with get_client(sync_client=True) as prefect:
        run = prefect.read_flow_run(run_id)
        logs = prefect.read_logs(limit=200)
        artifacts = prefect.read_artifacts(limit=200)
    assert CANARY not in json.dumps(run.parameters, default=str)
    assert logs and CANARY not in " ".join(log.message for log in logs)
    assert artifacts and CANARY not in json.dumps([a.data for a in artifacts], default=str)
