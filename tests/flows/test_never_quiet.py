"""An incident never ends quietly: an unplanned failure pages a person and gives its rate-limit
places back (issue 24, defects 3 and 4), against a real Prefect API, moto and the PagerDuty
stand-in."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import flows.ratelimits
from drills import seed_names as n
from drills.faults import inject_bad_flag
from drills.standins.pagerduty import PagerDutyStandIn
from flows import execute
from flows.incident import incident_response
from flows.incident_run import incident_id_for
from flows.ratelimits import current_counts, release, reserve
from flows.report import Outcome
from flows.settings import RunSettings
from policies import ActionRequest, Policy
from tasks.metrics import latest_value
from tests.flows.conftest import World, default_policy_data
from tests.flows.scripted import Script, done

FLAG_LIMIT = {"name": "flag-per-service", "actions": ["flags.*"], "per": "service", "max_count": 1}
FLAG_REQUEST = ActionRequest(
    kind="flags.disable.ssm", service=n.SERVICE, environment=n.ENVIRONMENT, targets=["x"], blast_radius=1
)


def _policy(*limits: dict[str, Any]) -> dict[str, Any]:
    policy = default_policy_data()
    policy["guardrails"]["rate_limits"] = list(limits)
    return policy


def test_a_failing_kill_switch_read_fails_the_run_and_pages_the_on_call(
    world: World, pagerduty: PagerDutyStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Prefect API failing on the kill-switch read used to end the run Failed, paging nobody."""
    inject_bad_flag(world.sandbox.target(), world.catalog)
    alert = world.alert()
    settings = world.settings()

    def unreachable() -> bool:
        raise RuntimeError("Prefect API unreachable")

    monkeypatch.setattr(execute, "kill_switch_on", unreachable)
    with pagerduty, Script([]):
        state = incident_response(alert=alert, settings=settings, return_state=True)
    report, timeline = world.report(alert, settings)
    assert state.is_failed() and report.outcome is Outcome.FAILED
    assert world.flag() == "on"  # read back: nothing was written
    assert pagerduty.actions(incident_id_for(alert)) == ["trigger"]
    [error] = timeline.events("error")
    assert "Prefect API unreachable" in error.message
    [sent] = timeline.events("page-sent")
    assert "Prefect API unreachable" in sent.message


def test_an_unplanned_failure_while_applying_gives_the_place_back_and_pages(
    world: World, pagerduty: PagerDutyStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug in apply that changed nothing used to keep the place for an hour."""
    inject_bad_flag(world.sandbox.target(), world.catalog)
    alert = world.alert()
    settings = world.settings(_policy(FLAG_LIMIT))

    def broken(plan: Any) -> Any:
        raise KeyError("a bug")

    monkeypatch.setattr(execute, "apply_action", broken)
    with pagerduty, Script([]):
        state = incident_response(alert=alert, settings=settings, return_state=True)
    assert state.is_failed()
    assert world.flag() == "on"
    policy = Policy.model_validate(_policy(FLAG_LIMIT))
    assert current_counts(FLAG_REQUEST, policy) == {f"flag-per-service:{n.SERVICE}": 0}
    assert pagerduty.actions(incident_id_for(alert)) == ["trigger"]


def test_the_first_limits_place_is_given_back_when_the_second_limit_raises(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A mutex timeout on the second of two limits used to leave the first place taken."""
    second = {**FLAG_LIMIT, "name": "flag-per-env", "per": "environment"}
    policy = Policy.model_validate(_policy(FLAG_LIMIT, second))
    real = flows.ratelimits._reserve_one

    def times_out_on_the_second(key: str, *args: Any) -> Any:
        if key.startswith("flag-per-env"):
            raise TimeoutError("mutex not acquired in 30 s")
        return real(key, *args)

    monkeypatch.setattr(flows.ratelimits, "_reserve_one", times_out_on_the_second)
    with pytest.raises(TimeoutError):
        reserve(FLAG_REQUEST, policy, incident_id="INC-1", plan_hash="a")
    assert current_counts(FLAG_REQUEST, policy)[f"flag-per-service:{n.SERVICE}"] == 0


def test_windows_are_counted_on_the_prefect_servers_clock(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker whose clock runs two hours ahead used to date its places two hours late, so
    other workers counted them outside (or inside) the wrong window."""
    monkeypatch.setattr(flows.ratelimits, "host_clock", lambda: datetime.now(UTC) + timedelta(hours=2))
    policy = Policy.model_validate(_policy(FLAG_LIMIT))
    reservation = reserve(FLAG_REQUEST, policy, incident_id="INC-1", plan_hash="a")
    [slot] = reservation.slots
    assert abs(slot.entry.at - datetime.now(UTC)) < timedelta(seconds=5)  # the server's time
    assert current_counts(FLAG_REQUEST, policy) == {f"flag-per-service:{n.SERVICE}": 1}


def test_at_most_n_per_window_holds_over_any_window(world: World) -> None:
    """Under a leaky bucket (2 slots decaying at 2/min) a third action got in after 30 s; the
    window is counted on the clock given, so no test waits for it."""
    policy = Policy.model_validate(_policy({**FLAG_LIMIT, "max_count": 2, "window_minutes": 1}))
    key = f"flag-per-service:{n.SERVICE}"
    t0 = datetime.now(UTC)
    first = reserve(FLAG_REQUEST, policy, incident_id="INC-1", plan_hash="a", now=t0)
    second = reserve(FLAG_REQUEST, policy, incident_id="INC-2", plan_hash="b", now=t0 + timedelta(seconds=1))
    assert first.slots and second.slots
    half = t0 + timedelta(seconds=31)
    assert reserve(FLAG_REQUEST, policy, incident_id="INC-3", plan_hash="c", now=half).full == key
    assert reserve(FLAG_REQUEST, policy, incident_id="INC-1", plan_hash="a", now=half) == first  # re-run
    assert current_counts(FLAG_REQUEST, policy, now=half) == {key: 2}
    later = t0 + timedelta(seconds=60.5)  # the first place has left the window, the second not yet
    assert current_counts(FLAG_REQUEST, policy, now=later) == {key: 1}
    third = reserve(FLAG_REQUEST, policy, incident_id="INC-3", plan_hash="c", now=later)
    assert third.slots
    assert reserve(FLAG_REQUEST, policy, incident_id="INC-4", plan_hash="d", now=later).full == key
    release(third.slots)  # third applied nothing: its place is free again
    assert reserve(FLAG_REQUEST, policy, incident_id="INC-4", plan_hash="d", now=later).slots


def _wait_for_no_data(world: World, settings: RunSettings, silenced_at: datetime) -> None:
    """Wait (bounded) until the confirmation window holds only silent periods of the alert's
    metric (the window starts after ``silenced_at``) and CloudWatch has no datapoint in it."""
    spec = world.catalog.entry(n.SERVICE, n.ENVIRONMENT).region(n.PRIMARY_REGION).metrics[0]
    window = timedelta(seconds=settings.confirm_window_seconds)
    quiet_from = silenced_at + window + timedelta(seconds=2 * spec.period_seconds)
    deadline = time.monotonic() + 60
    while (
        datetime.now(UTC) < quiet_from
        or latest_value(spec, aws=world.sandbox.target(), window=window) is not None
    ):
        assert time.monotonic() < deadline, "the silenced region's metrics never aged out"
        time.sleep(0.2)  # a poll interval: the loop waits for the state, not for a time


def test_no_data_at_confirmation_is_doubt_handed_to_a_person(
    world: World, pagerduty: PagerDutyStandIn
) -> None:
    """A service down hard publishes nothing; the run used to end Completed as not confirmed,
    paging nobody. Now no other metric confirms, so a person gets it, and nothing is applied."""
    before = (world.task_definition(), world.weights(), world.flag())
    world.simulator.silence_region(n.PRIMARY_REGION)
    world.simulator.tick()  # waits for a tick in flight: every later tick is silent there
    settings = world.settings().model_copy(update={"confirm_window_seconds": 3, "confirm_attempts": 2})
    _wait_for_no_data(world, settings, silenced_at=datetime.now(UTC))
    alert = world.alert(wait=False)
    with pagerduty, Script([done("alice")]) as humans:
        state = incident_response(alert=alert, settings=settings, return_state=True)
    report, timeline = world.report(alert, settings)
    assert state.is_completed() and report.outcome is Outcome.ESCALATED, report.message
    assert len(humans.steps) == 1 and timeline.events("second-source")
    assert timeline.events("not-confirmed") and not timeline.events("applied")
    assert (world.task_definition(), world.weights(), world.flag()) == before  # read back
    assert pagerduty.actions(incident_id_for(alert)) == ["trigger", "acknowledge"]


def test_a_healthy_value_from_before_the_alarm_fired_refutes_nothing(
    world: World, pagerduty: PagerDutyStandIn
) -> None:
    """A region gone silent still has its last healthy datapoints in the confirmation window;
    the run used to read the newest of them as health and end not confirmed, paging nobody."""
    world.simulator.silence_region(n.PRIMARY_REGION)
    world.simulator.tick()  # every later tick is silent there: the newest datapoint predates the alert
    alert = world.alert(wait=False)
    settings = world.settings().model_copy(update={"confirm_attempts": 2})
    with pagerduty, Script([done("alice")]):
        state = incident_response(alert=alert, settings=settings, return_state=True)
    report, timeline = world.report(alert, settings)
    assert state.is_completed() and report.outcome is Outcome.ESCALATED, report.message
    [read] = timeline.events("not-confirmed")
    assert read.data["value"] is not None  # a value was read, and it did not count
    assert not timeline.events("applied")
    assert pagerduty.actions(incident_id_for(alert)) == ["trigger", "acknowledge"]
