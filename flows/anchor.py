"""The chain's anchor outside the file: chain heads signed by the worker host's records key.

A hash chain (flows.chain) only shows that a file is consistent: whoever can write the file can
rewrite an entry and recompute every hash and the head sidecar. So the host that runs the flows
signs every head it writes (the sidecar, the S3 object's metadata, the report's ``chain_head``)
with an ed25519 key only that host holds, named by ``FIREBREAK_RECORDS_KEY`` (a PEM file, mode
0600: flows.identity.load_private_key refuses others), and the policy lists the key's public
half under ``record_signers``. A record is *anchored* when its chain is intact, every head
recorded for it agrees, and a head signed by a listed key covers every entry.

What a signature cannot show: that this is the newest head. Anyone who kept an older signed
copy of the timeline and its sidecar can put it back; the report's signed head catches that
for a finished incident, and in the evidence bucket the object versions do (S3 versioning:
an overwrite is a new version, the old one stays; see docs/security.md).

Without the variable, heads are written unsigned and such records are *unanchored*: verify
fails on them, and recover, own changes and the history do not use them.

Example::

    verdict = verify_anchored("INC-1", started_at, entries, heads, policy.record_signers)
    verdict.status is ChainStatus.INTACT and verdict.signed_by is not None
"""

from __future__ import annotations

import base64
import json
import logging
import os
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import Field

from flows.chain import ChainHead, ChainStatus, ChainVerdict, verify_chain
from flows.identity import (
    IdentityError,
    load_private_key,
    public_key_from_text,
    strict_b64decode,
)

log = logging.getLogger(__name__)

RECORDS_KEY_ENV = "FIREBREAK_RECORDS_KEY"


class AnchoredVerdict(ChainVerdict):
    """The chain's verdict, and which listed key signed the head that covers every entry."""

    signed_by: str | None = Field(default=None, description="The public key (policy form), if anchored.")


def head_message(incident_id: str, head: ChainHead) -> bytes:
    """The bytes a head's signature covers: the incident, the entry count and the last hash."""
    data = {"incident_id": incident_id, "length": head.length, "hash": head.hash}
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()


@lru_cache(maxsize=4)
def _key(path: str) -> Ed25519PrivateKey:
    return load_private_key(Path(path))


def sign_head(incident_id: str, head: ChainHead) -> ChainHead:
    """``head`` signed with this host's records key; unchanged (unsigned) when the host has
    none. A key that cannot be used is logged, and the head left unsigned, so an incident never
    stops over its audit signature; verify then reports the record unanchored."""
    path = os.environ.get(RECORDS_KEY_ENV)
    if not path:
        return head
    try:
        key = _key(path)
    except IdentityError as e:
        log.error("chain head of %s not signed: %s=%s: %s", incident_id, RECORDS_KEY_ENV, path, e)
        return head
    signature = base64.b64encode(key.sign(head_message(incident_id, head))).decode()
    return head.model_copy(update={"signature": signature})


def signer_of(incident_id: str, head: ChainHead, keys: Sequence[str]) -> str | None:
    """The listed key that signed ``head``, or None (unsigned, or no listed key verifies it)."""
    if not head.signature:
        return None
    try:
        signature = strict_b64decode(head.signature)
    except IdentityError:
        return None
    for text in keys:
        try:
            public_key_from_text(text).verify(signature, head_message(incident_id, head))
        except (InvalidSignature, IdentityError):
            continue
        return text
    return None


def verify_anchored(
    incident_id: str,
    started_at: datetime,
    entries: Sequence[Mapping[str, Any]],
    heads: Sequence[ChainHead],
    keys: Sequence[str],
) -> AnchoredVerdict:
    """The chain's verdict with every head (flows.chain.verify_chain), then the anchor: a
    signed head that no listed key verifies is FORGED_HEAD; without a head that a listed key
    signed for every entry, UNANCHORED."""
    chain = verify_chain(incident_id, started_at, entries, heads)
    if not chain.intact:
        return AnchoredVerdict(**chain.model_dump())
    signed = [h for h in heads if h.signature]
    for head in signed:
        if signer_of(incident_id, head, keys) is None:
            where = f" ({head.source})" if head.source else ""
            return AnchoredVerdict(
                status=ChainStatus.FORGED_HEAD,
                entry=head.length or None,
                detail=f"the head{where} carries a signature that does not verify with any "
                "record_signers key of the policy",
            )
    full = next((h for h in signed if h.length == len(entries)), None)
    signer = signer_of(incident_id, full, keys) if full is not None else None
    if signer is None:
        longest = max((h.length for h in signed), default=0)
        return AnchoredVerdict(
            status=ChainStatus.UNANCHORED,
            entry=longest + 1 if entries else None,
            detail=f"{len(entries)} entries, no head signed by a key the policy lists covers them "
            f"(signed heads cover {longest}): the records may have been rewritten or cut",
        )
    return AnchoredVerdict(
        status=ChainStatus.INTACT, detail=f"{chain.detail}, signed head by {signer}", signed_by=signer
    )
