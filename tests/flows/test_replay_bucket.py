"""An incident keeps its evidence bundle and diagnosis inputs with its records, locally and in
the evidence bucket, and ``firebreak replay`` / ``policy suggest`` read them from either."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from drills.faults import inject_bad_flag
from firebreak.cli import app
from flows.incident import incident_response
from flows.replay_records import DIAGNOSIS, EVIDENCE, DiagnosisInputs
from tasks.aws import call, client
from tasks.evidence import EvidenceBundle
from tests.flows.conftest import World
from tests.flows.scripted import Script


def test_bundle_and_inputs_are_kept_beside_the_timeline_and_replay_from_the_bucket(world: World) -> None:
    inject_bad_flag(world.sandbox.target(), world.catalog)
    alert = world.alert()
    settings = world.settings()
    with Script([]):  # turning a flag off is automated: nobody is asked
        incident_response(alert=alert, settings=settings, return_state=True)
    report, _ = world.report(alert, settings)
    entry = world.catalog.entry(report.service or "", report.environment or "")
    assert entry.evidence_bucket is not None
    local = Path(settings.output_dir) / report.incident_id
    s3 = client("s3", world.sandbox.target(entry.primary_region))
    for name in (EVIDENCE, DIAGNOSIS):
        stored = call(s3, "get_object", Bucket=entry.evidence_bucket, Key=f"{report.incident_id}/{name}")
        assert stored["Body"].read() == (local / name).read_bytes()
    bundle = EvidenceBundle.model_validate_json((local / EVIDENCE).read_bytes())
    inputs = DiagnosisInputs.model_validate_json((local / DIAGNOSIS).read_bytes())
    assert (bundle.service, inputs.entry, inputs.alerted_region) == ("checkout", entry, alert.region)

    policy = str(world.tmp / "policy.yaml")  # what World.settings wrote and the incident ran under
    bucket = ["--bucket", entry.evidence_bucket, "--region", entry.primary_region]
    same = CliRunner().invoke(app, ["replay", *bucket, "--policy", policy, "--fail-on-change"])
    assert same.exit_code == 0, same.output
    assert "top hypothesis: disable_flag -> disable_flag" in same.output
    assert "flags.disable.ssm: automated (flag-containment) -> automated (flag-containment)" in same.output
    local_same = CliRunner().invoke(app, ["replay", "--dir", settings.output_dir, "--policy", policy])
    assert local_same.output == same.output

    data = yaml.safe_load(Path(policy).read_text())
    next(r for r in data["rules"] if r["name"] == "flag-containment")["tier"] = "human_only"
    stricter = world.tmp / "stricter.yaml"
    stricter.write_text(yaml.safe_dump(data))
    changed = CliRunner().invoke(app, ["replay", *bucket, "--policy", str(stricter), "--fail-on-change"])
    assert changed.exit_code == 1, changed.output
    assert (
        "flags.disable.ssm: automated (flag-containment) -> human_only (flag-containment)" in changed.output
    )

    suggested = CliRunner().invoke(app, ["policy", "suggest", *bucket])
    assert suggested.exit_code == 0, suggested.output
    assert (
        suggested.output == f"1 production incident(s) in s3://{entry.evidence_bucket}: no change suggested\n"
    )
