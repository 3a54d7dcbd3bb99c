"""From a hypothesis to the plan that would mitigate it, using the catalog's resources.

A rollback goes to the hypothesis' target (what ran before, and the record saying so); the
planner checks it still exists and is ACTIVE. Without a target the planner reads the history
itself and refuses with NoKnownGoodReleaseError when nothing says what ran before.
"""

from __future__ import annotations

from collections.abc import Callable

from flows.diagnosis import Hypothesis, HypothesisKind
from flows.incident_run import IncidentRun
from tasks.flags import plan_flag_change
from tasks.plan import ActionError, Plan
from tasks.rollback import plan_asg_rollback, plan_ecs_rollback, plan_lambda_rollback
from tasks.traffic import plan_route53_shift


def planner_for(hypothesis: Hypothesis, run: IncidentRun) -> Callable[[], Plan]:
    """A zero-argument planner (called again on drift) for the hypothesis's mitigation."""
    region = hypothesis.region or run.region
    kind = hypothesis.kind
    if kind is HypothesisKind.ROLLBACK:
        planners: dict[str, Callable[..., Plan]] = {
            "ecs": plan_ecs_rollback,
            "lambda": plan_lambda_rollback,
            "asg": plan_asg_rollback,
        }
        planner = planners.get(hypothesis.mechanism or "")
        if planner is None:
            raise ActionError(f"no rollback planner for mechanism {hypothesis.mechanism!r}")
        target = hypothesis.rollback_to.get(region)
        named = (
            {"to_revision" if hypothesis.mechanism == "ecs" else "to_version": target.value} if target else {}
        )
        return lambda: planner(
            catalog=run.catalog,
            service=run.service,
            environment=run.environment,
            regions=[region],
            source=target.detail if target else None,
            aws=run.aws(region),
            **named,
        )
    if kind is HypothesisKind.DISABLE_FLAG:
        if hypothesis.flag is None or run.entry.flags is None:
            raise ActionError("flag hypothesis without a flag in the catalog")
        store_region = run.entry.flags.region
        flag = hypothesis.flag
        return lambda: plan_flag_change(
            catalog=run.catalog,
            service=run.service,
            environment=run.environment,
            flag=flag,
            enabled=False,
            aws=run.aws(store_region),
        )
    if kind is HypothesisKind.SHIFT_TRAFFIC:
        if run.entry.route53 is None:
            raise ActionError("traffic hypothesis but the catalog has no route53 weighted records")
        return lambda: plan_route53_shift(
            catalog=run.catalog,
            service=run.service,
            environment=run.environment,
            away_from=region,
            aws=run.aws(run.entry.primary_region),
        )
    raise ActionError(f"hypothesis {kind} has no automated mitigation")
