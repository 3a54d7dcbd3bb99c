"""The timeline's hash chain: each entry carries the hash of the one before it.

The chain is anchored in the incident id and the timeline's start, so entries cannot be moved
to another incident's timeline. An entry's hash covers its whole content (time, stage, event,
message, actor, data) and the previous hash, as written to the file (canonical JSON: sorted
keys, no spaces). Altering, removing or reordering an entry breaks the link at that entry.

Cutting off the tail, or rewriting the file and recomputing every hash, leaves a consistent
chain; only a head recorded elsewhere catches that. ``verify_chain`` takes such heads (entry
count and hash, from the report, the sidecar head file, the S3 object's metadata) and checks
each one against the entry at its position: a head beyond the file's end is a missing tail, a
head that disagrees is a rewritten chain. Entries appended after a head was recorded (a later
``recover`` run) are fine.

Example::

    verdict = verify_chain("INC-1", started_at, entries, heads=[ChainHead(length=12, hash="ab..")])
    verdict.status is ChainStatus.INTACT
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

HASH_FIELD = "hash"


class ChainHead(BaseModel):
    """The chain's head at one moment: how many entries there were and the last one's hash."""

    model_config = ConfigDict(frozen=True)

    length: int = Field(ge=0)
    hash: str
    source: str = Field(default="", description="Where this head was recorded (for messages).")
    signature: str = Field(
        default="", description="The worker host's ed25519 signature of the head (flows.anchor), if any."
    )


class ChainStatus(StrEnum):
    INTACT = "intact"
    ALTERED = "altered"  # the entry's content no longer matches its hash
    REMOVED = "removed"  # an entry before this one is missing
    REORDERED = "reordered"  # this entry links to one that comes after it
    MISSING_TAIL = "missing_tail"  # a recorded head is beyond the end of the file
    HEAD_MISMATCH = "head_mismatch"  # consistent chain, but not the one whose head was recorded
    FORGED_HEAD = "forged_head"  # a head's signature is not by a key the policy lists (flows.anchor)
    UNANCHORED = "unanchored"  # no head signed by a listed key covers every entry (flows.anchor)


class ChainVerdict(BaseModel):
    status: ChainStatus
    entry: int | None = Field(default=None, description="1-based number of the first bad entry.")
    detail: str

    @property
    def intact(self) -> bool:
        return self.status is ChainStatus.INTACT


def anchor(incident_id: str, started_at: datetime) -> str:
    """The hash the first entry links to."""
    return _sha256({"incident_id": incident_id, "started_at": started_at.isoformat()})


def entry_hash(content: Mapping[str, Any]) -> str:
    """The hash of one entry as written (its ``prev`` included, its own ``hash`` excluded)."""
    return _sha256({k: v for k, v in content.items() if k != HASH_FIELD})


def _sha256(value: Mapping[str, Any]) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _describe(number: int, entry: Mapping[str, Any]) -> str:
    return f"entry {number} ({entry.get('event', '?')} at {entry.get('at', '?')})"


def verify_chain(
    incident_id: str,
    started_at: datetime,
    entries: Sequence[Mapping[str, Any]],
    heads: Sequence[ChainHead] = (),
) -> ChainVerdict:
    """The first break in the chain, or INTACT. Entries are raw JSON objects, so an entry altered
    into something the timeline model would reject is still reported as altered."""
    hashes = [str(e.get(HASH_FIELD, "")) for e in entries]
    previous = anchor(incident_id, started_at)
    for i, entry in enumerate(entries):
        number = i + 1
        if entry_hash(entry) != hashes[i]:
            return ChainVerdict(
                status=ChainStatus.ALTERED,
                entry=number,
                detail=f"{_describe(number, entry)} was altered: its content does not match its hash",
            )
        if entry.get("prev") != previous:
            later = entry.get("prev") in hashes[i + 1 :]
            what = "is out of order" if later else "follows a removed entry"
            return ChainVerdict(
                status=ChainStatus.REORDERED if later else ChainStatus.REMOVED,
                entry=number,
                detail=f"{_describe(number, entry)} {what}: it does not link to the entry before it",
            )
        previous = hashes[i]
    for head in sorted(heads, key=lambda h: h.length):
        where = f" ({head.source})" if head.source else ""
        if head.length > len(entries):
            return ChainVerdict(
                status=ChainStatus.MISSING_TAIL,
                entry=len(entries) + 1,
                detail=f"missing tail: the recorded head{where} has {head.length} entries, "
                f"the file {len(entries)}; entries {len(entries) + 1}-{head.length} were removed",
            )
        if head.length and hashes[head.length - 1] != head.hash:
            return ChainVerdict(
                status=ChainStatus.HEAD_MISMATCH,
                entry=head.length,
                detail=f"{_describe(head.length, entries[head.length - 1])} is not the head recorded"
                f"{where}: entries up to it were rewritten and their hashes recomputed",
            )
    return ChainVerdict(status=ChainStatus.INTACT, detail=f"{len(entries)} entries, chain intact")
