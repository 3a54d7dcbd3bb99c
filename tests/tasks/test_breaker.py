"""Breakers: the dependency's flag switched on (open) or off (close), with the breaker's own kinds."""

from __future__ import annotations

import pytest

from tasks.actions import apply_plan, inverse_plan
from tasks.aws import AwsTarget
from tasks.breaker import plan_breaker
from tasks.catalog import CatalogError, Dependency
from tests.tasks import seed
from tests.tasks import seed_containment as sc
from tests.tasks.seed import EAST, ENV, SERVICE, raw_client


def _values() -> list[str]:
    history = raw_client("ssm", EAST).get_parameter_history(Name=sc.BREAKER_PARAMETER)["Parameters"]
    return [p["Value"] for p in history]


def test_open_writes_the_on_value_and_its_inverse_closes(aws: AwsTarget) -> None:
    store, dependencies = sc.seed_ssm_breaker("off")
    cat = seed.catalog(flags=store, dependencies=dependencies)
    plan = plan_breaker(
        catalog=cat, service=SERVICE, environment=ENV, dependency="payments", open=True, aws=aws
    )
    assert (plan.kind, plan.before, plan.after) == ("breaker.open.ssm", {"enabled": False}, {"enabled": True})
    assert "payments" in plan.summary
    undo = inverse_plan(apply_plan(plan))
    assert undo.kind == "breaker.close.ssm"
    apply_plan(undo)
    assert _values() == ["off", "true", "off"]


def test_close_plans_the_close_kind(aws: AwsTarget) -> None:
    store, dependencies = sc.seed_ssm_breaker("true")
    cat = seed.catalog(flags=store, dependencies=dependencies)
    plan = plan_breaker(
        catalog=cat, service=SERVICE, environment=ENV, dependency="payments", open=False, aws=aws
    )
    apply_plan(plan)
    assert (plan.kind, _values()) == ("breaker.close.ssm", ["true", "off"])


def test_unknown_dependency_or_no_breaker_is_a_catalog_error(aws: AwsTarget) -> None:
    store, dependencies = sc.seed_ssm_breaker("off")
    cat = seed.catalog(flags=store, dependencies={**dependencies, "search": Dependency(alarm="search-down")})
    with pytest.raises(CatalogError, match=r"unknown dependency 'ledger' \(known: payments, search\)"):
        plan_breaker(catalog=cat, service=SERVICE, environment=ENV, dependency="ledger", open=True, aws=aws)
    with pytest.raises(CatalogError, match="'search' has no breaker_flag"):
        plan_breaker(catalog=cat, service=SERVICE, environment=ENV, dependency="search", open=True, aws=aws)
    assert _values() == ["off"]
