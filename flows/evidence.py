"""Diagnose, first half: collect the evidence bundle and keep it durably.

Storing the bundle in S3 is best effort: if the bucket refuses, the bundle is still shown as
an artifact and the failure is in the timeline; an S3 problem must not stop the response.
"""

from __future__ import annotations

from prefect.artifacts import create_markdown_artifact

from flows.incident_run import IncidentRun
from flows.timeline import Stage
from tasks.evidence import EvidenceBundle
from tasks.evidence_store import EvidenceStoreError, store_evidence
from tasks.snapshot import collect_snapshot


def gather_evidence(run: IncidentRun) -> tuple[EvidenceBundle, str | None]:
    """Snapshot the service around the onset; returns the bundle and where it was stored."""
    bundle = collect_snapshot(
        catalog=run.catalog,
        service=run.service,
        environment=run.environment,
        onset=run.alert.starts_at,
        aws=run.aws(),
    )
    create_markdown_artifact(
        key=f"{run.incident_id.lower()}-evidence",
        markdown=bundle.summary_markdown(),
        description=f"{run.incident_id} evidence snapshot",
    )
    failed = sorted(bundle.failed_sources())
    run.timeline.add(
        Stage.DIAGNOSE,
        "snapshot",
        f"evidence from {len(bundle.regions)} region(s), {len(bundle.changes)} change(s); "
        f"unhealthy: {', '.join(bundle.unhealthy_regions()) or 'none'}"
        + (f"; unreadable sources: {', '.join(failed)}" if failed else ""),
    )
    if not run.entry.evidence_bucket:
        return bundle, None
    try:
        stored = store_evidence(
            bundle,
            bucket=run.entry.evidence_bucket,
            key_prefix=run.incident_id,
            aws=run.aws(run.entry.primary_region),
        )
    except EvidenceStoreError as e:
        run.timeline.add(
            Stage.DIAGNOSE, "evidence-not-stored", f"evidence bundle not stored: {e}", error=str(e)
        )
        return bundle, None
    uri = f"{stored.uri}?versionId={stored.version_id}"
    run.timeline.add(
        Stage.DIAGNOSE,
        "evidence-stored",
        f"{uri} (sha256 {stored.sha256[:16]}...)",
        uri=stored.uri,
        version_id=stored.version_id,
        sha256=stored.sha256,
    )
    return bundle, uri
