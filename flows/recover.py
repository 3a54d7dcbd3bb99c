"""Recover: once the cause is fixed, undo the incident's emergency measures gradually.

Started by a person (UI, CLI, or a drill) for an incident id. Traffic goes back in steps with
a bake between them; disabled flags are re-enabled, opened breakers closed, added capacity,
emergency throttling and the maintenance page taken back, one at a time (newest first). A
rollback is not undone: it is the fix, not a measure. Every step goes through the same gate
as any action, and the first step that does not hold stops the recovery.

The timeline is read from whichever store holds it (flows.records: the evidence bucket when the
catalog names one), so any host can recover an incident another host ran. It is used only when
its chain is anchored by a head a worker host signed (flows.trusted_records), and each measure's
targets, region, role and endpoint are re-derived from the catalog and this host
(flows.recorded_plans) before anything is read or written.

Before each step it looks for an open incident of the service (flows/recovery_guard.py): a new
alert's incident stops the recovery there, Cancelled, and the measures still in place stay.

Only measures the *incident* applied (the resolve stage) are undone, never recovery steps of
an earlier recover run, and only while they are still in effect (live state still equals what
the measure set): a second recover of the same incident changes nothing and asks nobody.
"""

import math
from collections.abc import Callable
from pathlib import Path

from prefect import State, flow
from prefect.states import Cancelled, Completed, Failed

from alerts.models import Alert
from flows.execute import execute_plan, guarded
from flows.incident_run import IncidentRun
from flows.recorded_plans import rederived
from flows.records import BucketRecords, LocalRecords, find_timeline
from flows.recovery_guard import open_incident, tag_recovery
from flows.report import MitigationStatus
from flows.settings import RunSettings
from flows.timeline import Stage, Timeline
from flows.trusted_records import timeline_verdict
from flows.verify import bake
from policies import Severity
from tasks.actions import inverse_plan, read_live
from tasks.catalog import CatalogError
from tasks.plan import Applied, JsonDict, Plan
from tasks.traffic_route53 import KIND as ROUTE53_KIND
from tasks.traffic_route53 import plan_route53_shift
from tasks.weights import moved_points

EMERGENCY_KINDS = (
    "traffic.shift.",
    "flags.disable.",
    "breaker.open.",
    "capacity.scale.",
    "throttle.",
    "maintenance.enable.",
)


def emergency_measures(timeline: Timeline) -> list[Plan]:
    """Plans the incident applied (resolve stage) that are emergency measures, newest first."""
    plans = [
        Plan.model_validate(e.data["plan"])
        for e in timeline.events("applied")
        if "plan" in e.data and e.stage is Stage.RESOLVE
    ]
    return [p for p in reversed(plans) if p.kind.startswith(EMERGENCY_KINDS)]


def still_in_effect(plan: Plan) -> tuple[bool, JsonDict]:
    """Whether live state still equals what ``plan`` set, and the live state read."""
    live = read_live(plan)
    return live == plan.after, live


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
                    aws=run.aws(),
                ),
            )
            for i in range(1, run.settings.recovery_steps + 1)
        ]
    applied = Applied(plan=plan, changed=True, state_after=plan.after)
    return [(f"undo {plan.kind}", lambda: inverse_plan(applied))]


@flow(name="recover", flow_run_name="recover-{incident_id}", log_prints=True)
def recover(incident_id: str, settings: RunSettings, requester: str = "firebreak") -> State:
    """Undo the emergency measures of ``incident_id``, one gated and verified step at a time."""
    found = find_timeline(settings, incident_id)
    if found is None:
        return Failed(message=f"{incident_id}: no store holds its timeline; cannot recover")
    timeline, store = found
    local_head = LocalRecords(Path(settings.output_dir)).head(incident_id)
    versions = store.version_heads(incident_id) if isinstance(store, BucketRecords) else []
    extra = [*versions, *([local_head] if local_head else [])]
    verdict = timeline_verdict(timeline, store, settings.load_policy()[0].record_signers, extra=extra)
    if not verdict.intact:
        return Failed(
            message=f"{incident_id}: its records are not trusted, recover acts on nothing: {verdict.detail}"
        )
    alert_entry = timeline.first("alert")
    if alert_entry is None:
        return Failed(message=f"{incident_id}: timeline has no alert entry; cannot recover")
    alert = Alert.model_validate(alert_entry.data["alert"])
    severity = next(
        (Severity(e.data["severity"]) for e in reversed(timeline.events("severity")) if "severity" in e.data),
        Severity.SEV_3,
    )
    run = IncidentRun.begin(
        alert, settings, timeline, stage=Stage.RECOVER, severity=severity, requester=requester
    )
    tag_recovery(alert)
    measures = emergency_measures(timeline)
    timeline.add(
        Stage.RECOVER,
        "recovery-started",
        f"{len(measures)} emergency measure(s) applied by the incident",
        actor=requester,
    )
    with guarded(run):
        return _undo_all(run, measures)


def _undo_all(run: IncidentRun, measures: list[Plan]) -> State:
    timeline, incident_id = run.timeline, run.incident_id
    undone = 0
    for recorded in measures:
        try:
            plan = rederived(recorded, run)
        except CatalogError as e:
            timeline.add(
                Stage.RECOVER, "record-refused", f"{recorded.kind} ({recorded.hash}) not undone: {e}",
                plan_hash=recorded.hash,
            )  # fmt: skip
            continue
        in_effect, live = still_in_effect(plan)
        if not in_effect:
            timeline.add(
                Stage.RECOVER,
                "not-in-effect",
                f"{plan.kind} ({plan.hash}) is no longer in effect (live {live}); left alone",
                plan_hash=plan.hash,
            )
            continue
        for label, planner in _steps_for(run, plan):
            incident = open_incident(run.alert)
            if incident is not None:  # a new alert of the service: the measures stay
                timeline.add(
                    Stage.RECOVER,
                    "recovery-stopped",
                    f"stopped before '{label}': {incident}; the emergency measures still in place stay, "
                    "and that incident knows them as Firebreak's own",
                )
                return Cancelled(message=f"{incident_id}: recovery stopped before '{label}': {incident}")
            record, applied = execute_plan(
                run, planner, label=label, evidence=[f"undoing {plan.summary}"], stage=Stage.RECOVER
            )
            if record.status is MitigationStatus.NOOP:
                continue
            if applied is None:
                timeline.add(Stage.RECOVER, "recovery-stopped", f"{label}: {record.status} ({record.detail})")
                return Failed(message=f"{incident_id}: recovery stopped at '{label}': {record.status}")
            check = bake(run, applied.plan)
            timeline.add(
                Stage.RECOVER,
                "step-held" if check.healthy else "step-failed",
                f"{label}: {check.summary}",
                readings=[r.model_dump(mode="json") for r in check.readings],
            )
            if not check.healthy:
                return Failed(
                    message=f"{incident_id}: '{label}' made {check.metric} unhealthy; stopped there"
                )
        undone += 1
    timeline.add(Stage.RECOVER, "recovered", f"{undone} emergency measure(s) undone; nothing else in effect")
    return Completed(message=f"{incident_id}: recovered, {undone} measure(s) undone")
