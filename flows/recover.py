"""Recover: once the cause is fixed, undo the incident's emergency measures gradually.

Started by a person (UI, CLI, or a drill) for an incident id. Traffic goes back in steps with
a bake between them; disabled flags are re-enabled one at a time. Every step goes through the
same gate as any action, and the first step that does not hold stops the recovery.
"""

import math
from collections.abc import Callable

from prefect import State, flow
from prefect.states import Completed, Failed

from alerts.models import Alert
from flows.execute import execute_plan
from flows.incident_run import IncidentRun
from flows.settings import RunSettings
from flows.timeline import Stage, Timeline
from flows.verify import bake
from policies import Severity
from tasks.actions import inverse_plan
from tasks.plan import Applied, Plan
from tasks.traffic_route53 import KIND as ROUTE53_KIND
from tasks.traffic_route53 import plan_route53_shift
from tasks.weights import moved_points

EMERGENCY_KINDS = ("traffic.shift.", "flags.disable.")


def emergency_measures(timeline: Timeline) -> list[Plan]:
    """Plans applied during the incident that are emergency measures, newest first."""
    plans = [Plan.model_validate(e.data["plan"]) for e in timeline.events("applied") if "plan" in e.data]
    return [p for p in reversed(plans) if p.kind.startswith(EMERGENCY_KINDS)]


def _steps_for(run: IncidentRun, plan: Plan) -> list[tuple[str, Callable[[], Plan]]]:
    """(label, planner) for each step that undoes ``plan``."""
    if plan.kind == ROUTE53_KIND:
        target = {k: int(v) for k, v in plan.before.items()}
        step = math.ceil(moved_points(plan.after, target) / run.settings.recovery_steps)
        return [
            (
                f"return traffic step {i}/{run.settings.recovery_steps}",
                lambda: plan_route53_shift(
                    catalog=run.catalog,
                    service=run.service,
                    environment=run.environment,
                    weights=target,
                    step=step,
                    aws=plan.aws,
                ),
            )
            for i in range(1, run.settings.recovery_steps + 1)
        ]
    applied = Applied(plan=plan, changed=True, state_after=plan.after)
    return [(f"undo {plan.kind}", lambda: inverse_plan(applied))]


@flow(name="recover", flow_run_name="recover-{incident_id}", log_prints=True)
def recover(incident_id: str, settings: RunSettings, requester: str = "firebreak") -> State:
    """Undo the emergency measures of ``incident_id``, one gated and verified step at a time."""
    timeline = Timeline.load(settings.incident_dir(incident_id) / "timeline.json")
    alert_entry = timeline.first("alert")
    if alert_entry is None:
        return Failed(message=f"{incident_id}: timeline has no alert entry; cannot recover")
    alert = Alert.model_validate(alert_entry.data["alert"])
    policy, error = settings.load_policy()
    catalog = settings.catalog()
    severity = next(
        (Severity(e.message.split(":")[0]) for e in reversed(timeline.events("severity"))), Severity.SEV_3
    )
    run = IncidentRun(
        incident_id=incident_id,
        alert=alert,
        settings=settings,
        catalog=catalog,
        entry=catalog.entry(alert.service or "", alert.environment or ""),
        policy=policy,
        timeline=timeline,
        severity=severity,
        requester=requester,
    )
    measures = emergency_measures(timeline)
    timeline.add(
        Stage.RECOVER,
        "recovery-started",
        f"{len(measures)} emergency measure(s) to undo",
        actor=requester,
        policy_error=error,
    )
    for plan in measures:
        for label, planner in _steps_for(run, plan):
            record, applied = execute_plan(
                run, planner, label=label, evidence=[f"undoing {plan.summary}"], stage=Stage.RECOVER
            )
            if record.status == "noop":
                continue
            if applied is None:
                timeline.add(Stage.RECOVER, "recovery-stopped", f"{label}: {record.status} ({record.detail})")
                return Failed(message=f"{incident_id}: recovery stopped at '{label}': {record.status}")
            check = bake(run)
            timeline.add(
                Stage.RECOVER,
                "step-held" if check.healthy else "step-failed",
                f"{label}: {check.metric}={check.last_value}",
            )
            if not check.healthy:
                return Failed(
                    message=f"{incident_id}: '{label}' made {check.metric} unhealthy; stopped there"
                )
    timeline.add(Stage.RECOVER, "recovered", "all emergency measures undone; signal healthy")
    return Completed(message=f"{incident_id}: recovered, {len(measures)} measure(s) undone")
