"""Standalone runbooks: one flow per action, for a person to start from the Prefect UI or CLI.

They go through exactly the same gate as the incident flow (policy decision, approval,
kill switch, rate limits), under a manual "incident" id (``RUN-<when>-<what>``) so the timeline
is kept the same way: in the shared records (the catalog's evidence bucket, else the local
folder), where other hosts' incidents and recover runs read Firebreak's own changes.
"""

from collections.abc import Callable
from datetime import UTC, datetime

from prefect import State, flow
from prefect.artifacts import create_markdown_artifact
from prefect.states import Completed, Failed

from alerts.models import Alert
from flows.execute import execute_plan, guarded
from flows.incident_run import IncidentRun
from flows.records import open_shared_timeline, records_for
from flows.settings import RunSettings
from flows.timeline import Stage
from policies import Severity
from tasks.flags import plan_flag_change
from tasks.plan import Plan
from tasks.rollback import plan_ecs_rollback
from tasks.snapshot import collect_snapshot
from tasks.traffic_route53 import plan_route53_shift


def _manual_run(
    settings: RunSettings, service: str, environment: str, region: str | None, requester: str, what: str
) -> IncidentRun:
    started = datetime.now(UTC)
    incident_id = f"RUN-{started:%Y%m%d-%H%M%S}-{what}"
    alert = Alert(
        source="manual",
        fingerprint=incident_id,
        service=service,
        environment=environment,
        region=region,
        name=f"manual {what}",
        starts_at=started,
    )
    catalog = settings.catalog()
    entry = catalog.entry(service, environment)
    policy, error = settings.load_policy()
    # The shared records (the evidence bucket, else the local folder), as an incident's: other
    # hosts' incidents and recover runs see the runbook's changes as Firebreak's own.
    timeline = open_shared_timeline(settings, incident_id, records_for(settings, entry))
    timeline.add(
        Stage.RESOLVE,
        "alert",
        f"{what} started by {requester}",
        actor=requester,
        alert=alert.model_dump(mode="json"),
        policy_error=error,
    )
    return IncidentRun(
        incident_id=incident_id,
        alert=alert,
        settings=settings,
        catalog=catalog,
        entry=entry,
        policy=policy,
        timeline=timeline,
        severity=Severity.SEV_3,
        requester=requester,
    )


def _run_gated(run: IncidentRun, planner: Callable[[], Plan], label: str) -> State:
    with guarded(run):
        record, _applied = execute_plan(
            run, planner, label=label, evidence=[f"requested by {run.requester}"], stage=Stage.RESOLVE
        )
    message = f"{run.incident_id}: {record.kind} {record.status} ({record.tier}, rule {record.rule})"
    return Completed(message=message) if record.status.in_effect else Failed(message=message)


@flow(name="snapshot")
def snapshot(service: str, environment: str, settings: RunSettings, region: str | None = None) -> str:
    """Collect an evidence bundle now and show it as an artifact (read-only, always allowed)."""
    run = _manual_run(settings, service, environment, region, "firebreak", "snapshot")
    bundle = collect_snapshot(
        catalog=run.catalog, service=service, environment=environment, onset=datetime.now(UTC), aws=run.aws()
    )
    return str(create_markdown_artifact(markdown=bundle.summary_markdown(), description="snapshot"))


@flow(name="shift-traffic")
def shift_traffic(
    service: str,
    environment: str,
    away_from: str,
    settings: RunSettings,
    requester: str,
    step: int | None = None,
) -> State:
    """Shift Route 53 weight away from a region (gated by policy)."""
    run = _manual_run(settings, service, environment, away_from, requester, "shift-traffic")
    return _run_gated(
        run,
        lambda: plan_route53_shift(
            catalog=run.catalog,
            service=service,
            environment=environment,
            away_from=away_from,
            step=step,
            aws=run.aws(run.entry.primary_region),
        ),
        f"shift traffic away from {away_from}",
    )


@flow(name="disable-flag")
def disable_flag(service: str, environment: str, flag: str, settings: RunSettings, requester: str) -> State:
    """Switch a feature flag off (gated by policy)."""
    run = _manual_run(settings, service, environment, None, requester, "disable-flag")
    region = run.entry.flags.region if run.entry.flags else run.region
    return _run_gated(
        run,
        lambda: plan_flag_change(
            catalog=run.catalog,
            service=service,
            environment=environment,
            flag=flag,
            enabled=False,
            aws=run.aws(region),
        ),
        f"disable flag {flag}",
    )


@flow(name="rollback")
def rollback(
    service: str,
    environment: str,
    region: str,
    settings: RunSettings,
    requester: str,
    to_revision: str | None = None,
) -> State:
    """Roll the ECS service back to its previous (or a named) task definition (gated by policy)."""
    run = _manual_run(settings, service, environment, region, requester, "rollback")
    return _run_gated(
        run,
        lambda: plan_ecs_rollback(
            catalog=run.catalog,
            service=service,
            environment=environment,
            regions=[region],
            to_revision=to_revision,
            aws=run.aws(region),
        ),
        f"roll back ECS in {region}",
    )
