"""An incident's records reach the evidence bucket, so history reads them wherever Firebreak runs.

Read back with plain S3 calls from the sandbox: the report and the timeline, with the timeline's
chain head in the objects' metadata, equal to the local files.
"""

from __future__ import annotations

import json

from drills.faults import inject_bad_flag
from flows.chain import ChainHead, verify_chain
from flows.incident import incident_response
from flows.timeline import Timeline
from tasks.aws import call, client
from tests.flows.conftest import World
from tests.flows.scripted import Script


def test_report_and_timeline_are_stored_in_the_evidence_bucket(world: World) -> None:
    inject_bad_flag(world.sandbox.target(), world.catalog)
    alert = world.alert()
    settings = world.settings()
    with Script([]):
        incident_response(alert=alert, settings=settings, return_state=True)
    report, timeline = world.report(alert, settings)
    entry = world.catalog.entry(report.service or "", report.environment or "")
    assert entry.evidence_bucket is not None
    s3 = client("s3", world.sandbox.target(entry.primary_region))
    stored = {}
    for name in ("report.json", "timeline.json"):
        obj = call(s3, "get_object", Bucket=entry.evidence_bucket, Key=f"{report.incident_id}/{name}")
        stored[name] = (obj["Body"].read(), obj["Metadata"], obj["VersionId"])
    remote_report = json.loads(stored["report.json"][0])
    assert remote_report["incident_id"] == report.incident_id and remote_report["outcome"] == "mitigated"
    remote_timeline = Timeline.model_validate_json(stored["timeline.json"][0])
    assert [e.hash for e in remote_timeline.entries] == [e.hash for e in timeline.entries]
    meta = stored["timeline.json"][1]
    assert meta["chain-head"] == timeline.entries[-1].hash and meta["chain-length"] == str(
        len(timeline.entries)
    )
    assert stored["timeline.json"][2]  # a versioned object
    raw = json.loads(stored["timeline.json"][0])
    head = ChainHead(hash=meta["chain-head"], length=int(meta["chain-length"]))
    assert verify_chain(raw["incident_id"], remote_timeline.started_at, raw["entries"], [head]).intact
