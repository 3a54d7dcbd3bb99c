"""The maintenance page: one tagged priority-1 rule, found again, deleted alone."""

from __future__ import annotations

import pytest

from tasks.actions import apply_plan, inverse_plan
from tasks.aws import AwsTarget
from tasks.catalog import AlbListener, RegionResources
from tasks.maintenance_alb import plan_maintenance
from tasks.plan import ActionError
from tests.tasks import seed
from tests.tasks import seed_containment as sc
from tests.tasks.seed import EAST, ENV, SERVICE, raw_client


def _listener_with_a_rule(priority: int) -> AlbListener:
    listener = seed.seed_alb(EAST, {"blue": 100})
    raw_client("elbv2", EAST).create_rule(
        ListenerArn=listener.listener_arn,
        Priority=priority,
        Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/admin/*"]}}],
        Actions=[{"Type": "forward", "TargetGroupArn": listener.target_group_arns[0]}],
    )
    return listener


def test_the_page_comes_first_answers_503_html_and_is_found_again(aws: AwsTarget) -> None:
    listener = _listener_with_a_rule(priority=10)
    cat = seed.catalog({EAST: RegionResources(alb=listener)})
    plan = plan_maintenance(catalog=cat, service=SERVICE, environment=ENV, region=EAST, aws=aws)
    apply_plan(plan)
    again = plan_maintenance(catalog=cat, service=SERVICE, environment=ENV, region=EAST, aws=aws)
    assert again.is_noop and not apply_plan(again).changed
    rules = sc.maintenance_rules(listener.listener_arn)
    page = next(r for r in rules if r["Priority"] == "1")
    assert len(rules) == 2
    assert page["Actions"][0]["Type"] == "fixed-response"
    config = page["Actions"][0]["FixedResponseConfig"]
    assert (config["StatusCode"], config["ContentType"]) == ("503", "text/html")
    assert "maintenance" in config["MessageBody"]
    assert page["Tags"] == [{"Key": "firebreak:maintenance", "Value": "checkout/prod"}]


def test_taking_it_down_deletes_exactly_that_rule(aws: AwsTarget) -> None:
    listener = _listener_with_a_rule(priority=10)
    cat = seed.catalog({EAST: RegionResources(alb=listener)})
    applied = apply_plan(
        plan_maintenance(catalog=cat, service=SERVICE, environment=ENV, region=EAST, aws=aws)
    )
    undo = inverse_plan(applied)
    assert undo.kind == "maintenance.disable.alb"
    apply_plan(undo)
    assert [r["Priority"] for r in sc.maintenance_rules(listener.listener_arn)] == ["10"]
    assert sc.observe_maintenance(listener.listener_arn) == {"enabled": False}


def test_priority_one_held_by_another_rule_is_refused(aws: AwsTarget) -> None:
    listener = _listener_with_a_rule(priority=1)
    cat = seed.catalog({EAST: RegionResources(alb=listener)})
    with pytest.raises(ActionError, match="priority 1 is held by"):
        plan_maintenance(catalog=cat, service=SERVICE, environment=ENV, region=EAST, aws=aws)
    assert [r["Priority"] for r in sc.maintenance_rules(listener.listener_arn)] == ["1"]
