"""The dispatcher and the Prefect task shells (called via ``.fn``, no Prefect server)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError

from tasks.actions import apply_action, apply_plan, verify_action
from tasks.aws import AwsTarget, client
from tasks.flags import plan_flag_change
from tasks.plan import Plan
from tasks.registry import REGISTRY, UnknownKindError
from tests.tasks import seed
from tests.tasks.seed import EAST, ENV, SERVICE, raw_client

NAME = "/checkout/flags/new-pricing"


def _flag_plan(aws: AwsTarget) -> Plan:
    cat = seed.catalog(flags=seed.seed_ssm_flag("on"))
    return plan_flag_change(
        catalog=cat, service=SERVICE, environment=ENV, flag="new-pricing", enabled=False, aws=aws
    )


def _value() -> str:
    value: str = raw_client("ssm", EAST).get_parameter(Name=NAME)["Parameter"]["Value"]
    return value


def test_unknown_kind_is_refused() -> None:
    plan = Plan(
        kind="traffic.block",
        service=SERVICE,
        environment=ENV,
        aws=AwsTarget(region=EAST),
        targets=["x"],
        before={},
        after={},
        blast_radius=0,
        summary="s",
    )
    with pytest.raises(UnknownKindError, match=r"unknown action kind 'traffic\.block'"):
        apply_plan(plan)


def test_every_kind_declares_iam_actions_in_service_prefix_form() -> None:
    for action in REGISTRY.values():
        assert action.iam_actions and all(":" in a and "*" not in a for a in action.iam_actions)


def test_tasks_apply_and_verify(aws: AwsTarget) -> None:
    plan = _flag_plan(aws)
    assert not verify_action.fn(plan)
    applied = apply_action.fn(plan)
    assert applied.changed and _value() == "off"
    assert verify_action.fn(plan)


def test_an_applied_change_whose_read_back_fails_is_still_reported_applied(aws: AwsTarget) -> None:
    """The write went through; the read after it was refused. The change must not vanish."""
    plan = _flag_plan(aws)
    ssm = client("ssm", aws)
    reads = {"n": 0}

    def refuse_second_read(**_: Any) -> Any:
        reads["n"] += 1
        if reads["n"] < 2:
            return None  # the pre-write read goes to moto
        raise EndpointConnectionError(endpoint_url="https://ssm.invalid")

    ssm.meta.events.register_first("before-call.ssm.GetParameter", refuse_second_read, unique_id="rb")
    try:
        applied = apply_plan(plan)
    finally:
        ssm.meta.events.unregister("before-call.ssm.GetParameter", unique_id="rb")
    live = raw_client("ssm", EAST).get_parameter(Name=NAME)["Parameter"]["Value"]
    assert live == "off"  # really applied in moto
    assert (
        applied.changed and applied.read_back_error and "EndpointConnectionError" in applied.read_back_error
    )
    assert applied.state_after == plan.after
