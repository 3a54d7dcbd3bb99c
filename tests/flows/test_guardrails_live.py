"""Guardrails as a real account needs them, end to end against the sandbox and a Prefect API.

The kill switch is read after the rate-limit wait; "N per window" holds over any window; a
drift re-plan does not use up a place; shadow mode decides everything and writes nothing.
"""

from __future__ import annotations

from typing import Any

import pytest

import flows.ratelimits
import tasks.actions
from drills import seed_names as n
from drills.faults import inject_bad_deploy, inject_bad_flag
from flows import execute
from flows.incident import incident_response
from flows.killswitch import set_kill_switch
from flows.ratelimits import current_counts
from flows.report import MitigationStatus, Outcome
from policies import ActionRequest, Policy
from tasks.plan import DriftError
from tests.flows.conftest import World, default_policy_data
from tests.flows.scripted import Script

FLAG_LIMIT = {"name": "flag-per-service", "actions": ["flags.*"], "per": "service", "max_count": 1}


def _with_limit(limit: dict[str, Any]) -> dict[str, Any]:
    policy = default_policy_data()
    policy["guardrails"]["rate_limits"] = [limit]
    return policy


def test_kill_switch_flipped_during_the_rate_limit_wait_stops_the_write(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    inject_bad_flag(world.sandbox.target(), world.catalog)
    alert = world.alert()
    settings = world.settings(_with_limit({**FLAG_LIMIT, "max_count": 5}))
    real_reserve = flows.ratelimits.reserve

    def slow_reserve(*args: Any, **kwargs: Any) -> Any:
        set_kill_switch(True)  # someone pulls the lever while Firebreak waits for its slot
        return real_reserve(*args, **kwargs)

    monkeypatch.setattr(execute, "reserve", slow_reserve)
    with Script([]):
        incident_response(alert=alert, settings=settings, return_state=True)
    report, timeline = world.report(alert, settings)
    assert world.flag() == "on"  # read back: never written
    assert report.mitigations[0].status is MitigationStatus.HALTED
    assert report.outcome is Outcome.HALTED
    assert timeline.events("halted") and not timeline.events("applied")


def test_a_drift_re_plan_does_not_use_up_a_rate_limit_place(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    inject_bad_flag(world.sandbox.target(), world.catalog)
    alert = world.alert()
    settings = world.settings(_with_limit(FLAG_LIMIT))  # one flag change per service per hour
    real_apply = tasks.actions.apply_action
    calls = {"n": 0}

    def drift_once(plan: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise DriftError("someone changed the flag meanwhile")
        return real_apply(plan)

    monkeypatch.setattr(execute, "apply_action", drift_once)
    with Script([]):
        incident_response(alert=alert, settings=settings, return_state=True)
    report, timeline = world.report(alert, settings)
    assert timeline.events("drift") and calls["n"] == 2
    assert world.flag() == "off"  # the re-plan got the one place and applied
    assert report.mitigations[0].status is MitigationStatus.APPLIED
    policy = Policy.model_validate(_with_limit(FLAG_LIMIT))
    request = ActionRequest(
        kind="flags.disable.ssm", service=n.SERVICE, environment=n.ENVIRONMENT, targets=["x"], blast_radius=1
    )
    assert current_counts(request, policy) == {f"flag-per-service:{n.SERVICE}": 1}


def test_shadow_mode_decides_everything_and_writes_nothing(world: World) -> None:
    inject_bad_deploy(world.sandbox.target(), world.catalog, n.PRIMARY_REGION)
    before = (world.task_definition(), world.weights(), world.flag())
    policy = default_policy_data()
    policy["environments"] = {n.ENVIRONMENT: {"mode": "shadow"}}
    alert = world.alert()
    settings = world.settings(policy)
    with Script([]) as humans:
        state = incident_response(alert=alert, settings=settings, return_state=True)
    report, timeline = world.report(alert, settings)
    assert (world.task_definition(), world.weights(), world.flag()) == before  # read back: untouched
    assert state.is_completed() and report.outcome is Outcome.SHADOW
    assert report.mitigations == [] and humans.steps == []
    kinds = [(m.kind, m.tier, m.status) for m in report.would_apply]
    assert kinds[0] == ("rollback.ecs", "approval", MitigationStatus.WOULD_APPLY)
    assert report.would_apply[0].approvers_needed == ["alice", "bob"]
    assert [m.kind for m in report.would_apply] == [
        e.data["plan"]["kind"] for e in timeline.events("would-apply")
    ]
    assert all(e.message.startswith("[shadow]") for e in timeline.events("would-apply"))
    assert not timeline.events("approval-requested") and not timeline.events("human-action-requested")
    sent = [e.message for e in timeline.events("status-sent")]
    assert sent and all("[shadow]" in line for line in sent)
    postmortem = (settings.incident_dir(report.incident_id) / "postmortem.md").read_text()
    assert "What Firebreak would have done" in postmortem and "rollback.ecs" in postmortem
