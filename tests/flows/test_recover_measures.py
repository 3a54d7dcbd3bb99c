"""Which applied plans recover undoes: every emergency measure of the incident, never a rollback."""

from __future__ import annotations

from pathlib import Path

from flows.recover import emergency_measures
from flows.timeline import Stage, Timeline
from tasks.aws import AwsTarget

KINDS = [
    "rollback.ecs",
    "flags.disable.ssm",
    "breaker.open.ssm",
    "capacity.scale.ecs",
    "throttle.apigateway",
    "maintenance.enable.alb",
    "traffic.shift.route53",
]


def _plan(kind: str) -> dict[str, object]:
    return {
        "kind": kind, "service": "orders", "environment": "prod",
        "aws": AwsTarget(region="eu-west-1").model_dump(mode="json"), "targets": [f"{kind}-target"],
        "before": {"v": 1}, "after": {"v": 2}, "blast_radius": 1.0, "summary": kind,
    }  # fmt: skip


def test_every_emergency_measure_is_undone_newest_first_and_a_rollback_is_kept(tmp_path: Path) -> None:
    timeline = Timeline(incident_id="INC-1", path=tmp_path / "timeline.json")
    for kind in KINDS:
        timeline.add(Stage.RESOLVE, "applied", kind, plan=_plan(kind))
    timeline.add(Stage.RECOVER, "applied", "a recovery step", plan=_plan("flags.enable.ssm"))

    assert [p.kind for p in emergency_measures(timeline)] == list(reversed(KINDS[1:]))
