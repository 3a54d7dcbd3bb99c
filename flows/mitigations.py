"""From a hypothesis to the plan that would mitigate it, using the catalog's resources.

A rollback goes to the hypothesis' target (what ran before, and the record saying so); the
planner checks it still exists and is ACTIVE. Without a target the planner reads the history
itself and refuses with NoKnownGoodReleaseError when nothing says what ran before.

scale_out raises the region's ECS service or ASG (the hypothesis' mechanism) by the catalog's
step; open_breaker switches the dependency's breaker flag on; throttle and maintenance act on
the region's API Gateway stage and ALB listener; shift_traffic moves traffic by the catalog's
``traffic`` mechanism (Route 53 away from a region, or the hypothesis' ALB or Lambda weights).
config_change and escalate have no planner: a person handles them (flows.resolve).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypedDict

from flows.diagnosis import Hypothesis, HypothesisKind
from flows.incident_run import IncidentRun
from tasks.breaker import plan_breaker
from tasks.capacity_asg import plan_asg_scale_out
from tasks.capacity_ecs import plan_ecs_scale_out
from tasks.catalog import Catalog, TrafficMechanism
from tasks.flags import plan_flag_change
from tasks.maintenance_alb import plan_maintenance
from tasks.plan import ActionError, Plan
from tasks.rollback import plan_asg_rollback, plan_ecs_rollback, plan_lambda_rollback
from tasks.throttle_apigateway import plan_throttle
from tasks.traffic import plan_alb_shift, plan_lambda_shift, plan_route53_shift

_ROLLBACKS: dict[str, Callable[..., Plan]] = {
    "ecs": plan_ecs_rollback,
    "lambda": plan_lambda_rollback,
    "asg": plan_asg_rollback,
}
_SCALE_OUTS: dict[str, Callable[..., Plan]] = {"ecs": plan_ecs_scale_out, "asg": plan_asg_scale_out}
_REGIONAL: dict[HypothesisKind, Callable[..., Plan]] = {
    HypothesisKind.THROTTLE: plan_throttle,
    HypothesisKind.MAINTENANCE: plan_maintenance,
}


class _Service(TypedDict):
    catalog: Catalog
    service: str
    environment: str


def _service(run: IncidentRun) -> _Service:
    return {"catalog": run.catalog, "service": run.service, "environment": run.environment}


def planner_for(hypothesis: Hypothesis, run: IncidentRun) -> Callable[[], Plan]:
    """A zero-argument planner (called again on drift) for the hypothesis's mitigation."""
    region = hypothesis.region or run.region
    kind = hypothesis.kind
    ids = _service(run)
    if kind is HypothesisKind.ROLLBACK:
        return _rollback(hypothesis, run, region)
    if kind is HypothesisKind.SCALE_OUT:
        scale_out = _SCALE_OUTS.get(hypothesis.mechanism or "")
        if scale_out is None:
            raise ActionError(f"no scale-out planner for mechanism {hypothesis.mechanism!r}")
        return lambda: scale_out(**ids, region=region, aws=run.aws(region))
    if kind in _REGIONAL:
        planner = _REGIONAL[kind]
        return lambda: planner(**ids, region=region, aws=run.aws(region))
    if kind in {HypothesisKind.DISABLE_FLAG, HypothesisKind.OPEN_BREAKER}:
        if hypothesis.flag is None or run.entry.flags is None:
            raise ActionError(f"{kind} hypothesis without a flag in the catalog")
        store_aws, flag, dependency = run.aws(run.entry.flags.region), hypothesis.flag, hypothesis.dependency
        if kind is HypothesisKind.OPEN_BREAKER:
            if dependency is None:
                raise ActionError("open_breaker hypothesis without a dependency")
            return lambda: plan_breaker(**ids, dependency=dependency, open=True, aws=store_aws)
        return lambda: plan_flag_change(**ids, flag=flag, enabled=False, aws=store_aws)
    if kind is HypothesisKind.SHIFT_TRAFFIC:
        return _shift(hypothesis, run, region)
    raise ActionError(f"hypothesis {kind} has no automated mitigation")


def _rollback(hypothesis: Hypothesis, run: IncidentRun, region: str) -> Callable[[], Plan]:
    planner = _ROLLBACKS.get(hypothesis.mechanism or "")
    if planner is None:
        raise ActionError(f"no rollback planner for mechanism {hypothesis.mechanism!r}")
    target = hypothesis.rollback_to.get(region)
    named = {"to_revision" if hypothesis.mechanism == "ecs" else "to_version": target.value} if target else {}
    return lambda: planner(
        **_service(run),
        regions=[region],
        source=target.detail if target else None,
        aws=run.aws(region),
        **named,
    )


def _shift(hypothesis: Hypothesis, run: IncidentRun, region: str) -> Callable[[], Plan]:
    ids = _service(run)
    mechanism = run.entry.traffic_mechanism
    if mechanism is TrafficMechanism.ROUTE53:
        return lambda: plan_route53_shift(**ids, away_from=region, aws=run.aws(run.entry.primary_region))
    if mechanism is None:
        raise ActionError(
            "traffic hypothesis but the catalog names no traffic mechanism (traffic:, route53:)"
        )
    if not hypothesis.weights:
        raise ActionError(f"{mechanism} traffic hypothesis without weights")
    planner = plan_alb_shift if mechanism is TrafficMechanism.ALB else plan_lambda_shift
    weights = dict(hypothesis.weights)
    return lambda: planner(**ids, region=region, weights=weights, aws=run.aws(region))
