"""Records before they steer an action: a timeline is used only when it is anchored.

``recover`` (what to undo), Firebreak's own changes (what the diagnosis must not blame) and the
history's ranking (which mitigation worked before) act on incident records that any holder of
the record store could have written. Each of them first checks the timeline with every head
recorded for it (the sidecar or the S3 object's metadata, and the report's ``chain_head``) and
the policy's ``record_signers`` (flows.anchor); a record that does not verify is not used.

Example::

    verdict = timeline_verdict(timeline, store, policy.record_signers)
    if not verdict.intact: ...  # refuse, say verdict.detail
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from flows.anchor import AnchoredVerdict, verify_anchored
from flows.chain import ChainHead, ChainStatus
from flows.records import REPORT, IncidentRecords
from flows.timeline import Timeline


class ReportHeadError(ValueError):
    """A report is there but its recorded head cannot be read (not JSON, or a bad chain_head)."""


def report_head(body: bytes | None, source: str) -> ChainHead | None:
    """The head a report recorded (``chain_head``); None without a report or without a head.
    A report that is not a JSON object, or whose head is unreadable, is a ReportHeadError:
    tampering with the record, never a reason to skip it."""
    if body is None:
        return None
    try:
        parsed = json.loads(body)
    except ValueError as e:
        raise ReportHeadError(f"{source}: the report is not JSON: {e}") from e
    if not isinstance(parsed, dict):
        raise ReportHeadError(f"{source}: the report is not a JSON object")
    recorded = parsed.get("chain_head")
    if recorded is None:
        return None
    try:
        return ChainHead.model_validate(recorded).model_copy(update={"source": source})
    except ValueError as e:
        raise ReportHeadError(f"{source}: its chain_head is unreadable: {e}") from e


def timeline_verdict(
    timeline: Timeline, store: IncidentRecords, signers: Sequence[str], *, extra: Sequence[ChainHead] = ()
) -> AnchoredVerdict:
    """``timeline`` checked against the heads ``store`` keeps for it (and ``extra`` ones) and
    anchored by a key of ``signers``."""
    incident_id = timeline.incident_id
    try:
        heads = [
            store.head(incident_id),
            report_head(store.read(incident_id, REPORT), f"{store.where}/{incident_id}/{REPORT}"),
            *extra,
        ]
    except (ReportHeadError, ValueError) as e:
        return AnchoredVerdict(status=ChainStatus.HEAD_MISMATCH, detail=str(e))
    entries = [e.model_dump(mode="json") for e in timeline.entries]
    return verify_anchored(incident_id, timeline.started_at, entries, [h for h in heads if h], signers)
