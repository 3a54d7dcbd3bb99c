"""Proven approver identity: signed answers (ed25519) and how the flow checks them.

An answer signs a :class:`Statement`: approver, flow run, plan hash, decision, channel and the
time it was signed. Not the pause key: Prefect changes it after every answer, so a signature
over it could not be made ahead of the click. A CLI answer is signed with the approver's own
key (``firebreak approve --key``); a Slack click is signed by the receiver that verified
Slack's callback signature, as an attestation naming the Slack user, because the receiver
resumes runs with the same Prefect credential as everyone else.

:func:`check_proof` is pure: the gate passes in the policy, the run, the plan hash, the time
and the proof ids already used in this run, and gets a :class:`ProofCheck` back.

>>> key = Ed25519PrivateKey.generate()
>>> token = sign_statement(Statement(approver="alice", flow_run_id="r1", plan_hash="h",
...     approve=True, signed_at=datetime.now(UTC), channel=Channel.CLI), key)
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import stat
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError

from policies import Policy
from policies.approvals import Proof

MAX_AGE = timedelta(minutes=5)  # a signature older than this is stale
MAX_SKEW = timedelta(seconds=60)  # clocks may disagree by this much
KEY_PREFIX = "ed25519:"


class IdentityError(ValueError):
    """A key or a signed answer cannot be read."""


class Channel(StrEnum):
    """Where a proven answer came from."""

    CLI = "cli"  # signed by the approver's own key, sent by `firebreak approve --key`
    FORM = "form"  # signed by the approver's own key offline (`--offline`), pasted into the form
    SLACK = "slack"  # signed by the receiver after verifying Slack's callback


class Statement(BaseModel):
    """What a signature binds: who decided what, for which run and plan, when, and through what."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    approver: str
    flow_run_id: str
    plan_hash: str
    approve: bool
    signed_at: AwareDatetime
    channel: Channel
    slack_user: str | None = None

    def message(self) -> bytes:
        """The canonical bytes that are signed (sorted keys, no spaces)."""
        data = self.model_dump(mode="json")
        return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()


class SignedAnswer(BaseModel):
    """A statement and its signature, carried in the answer form's ``proof`` field."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    statement: Statement
    signature: str

    def signature_bytes(self) -> bytes:
        """The signature, decoded strictly; IdentityError unless ``signature`` is the one
        canonical base64 spelling of its bytes."""
        return strict_b64decode(self.signature)

    @property
    def proof_id(self) -> str:
        """Identifies this signature in the timeline, so a replay of it is recognised: a hash of
        the signature's bytes, not of their spelling (:func:`read_proof` refuses any other)."""
        return hashlib.sha256(self.signature_bytes()).hexdigest()[:32]


class ProofCheck(BaseModel):
    """The flow's finding about one answer's identity."""

    model_config = ConfigDict(frozen=True)

    proof: Proof
    detail: str = ""
    statement: Statement | None = None
    proof_id: str | None = None


def strict_b64decode(text: str) -> bytes:
    """Standard base64 that only its canonical spelling decodes: no characters outside the
    alphabet and no set padding bits (``validate=True`` alone accepts ``...Bx==`` and ``...B9==``
    for the same bytes)."""
    try:
        raw = base64.b64decode(text, validate=True)
    except binascii.Error as e:
        raise IdentityError(f"not base64: {e}") from e
    if base64.b64encode(raw).decode() != text:
        raise IdentityError("not canonical base64 (unused padding bits are set)")
    return raw


def public_key_text(key: Ed25519PublicKey) -> str:
    """The policy's form of a public key: ``ed25519:`` and its raw bytes in base64."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return KEY_PREFIX + base64.b64encode(raw).decode()


def public_key_from_text(text: str) -> Ed25519PublicKey:
    """Parse a policy public key; IdentityError when it is not one."""
    try:
        raw = base64.b64decode(text.removeprefix(KEY_PREFIX), validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError) as e:
        raise IdentityError(f"not an ed25519 public key: {text[:20]}...") from e


def private_key_pem(key: Ed25519PrivateKey) -> bytes:
    """PKCS#8 PEM, unencrypted: the file ``--key`` reads (keep it readable by its owner only)."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def write_private_key(path: Path, key: Ed25519PrivateKey) -> None:
    """Write ``key`` (PEM) to a new file that only its owner can read. The file is created by
    this call (``O_CREAT|O_EXCL``, mode 0600) and never through a symbolic link
    (``O_NOFOLLOW``): an existing file or link at ``path`` is an IdentityError, so a file
    someone else made (with their own mode) never receives the key."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError as e:
        raise IdentityError(f"{path}: exists (a file or a link); refusing to write a key there") from e
    except OSError as e:
        raise IdentityError(f"{path}: cannot create: {e.strerror}") from e
    with os.fdopen(fd, "wb") as file:
        os.fchmod(fd, 0o600)  # whatever the umask
        file.write(private_key_pem(key))


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """Read an approver's (or the receiver's) ed25519 key from a PEM file. A file that its
    group or others may read (or write) is refused: the key is not private any more."""
    try:
        with path.open("rb") as file:
            mode = stat.S_IMODE(os.fstat(file.fileno()).st_mode)
            body = file.read()
    except OSError as e:
        raise IdentityError(f"{path}: cannot read: {e.strerror}") from e
    if mode & 0o077:
        raise IdentityError(
            f"{path}: the private key is open to its group or others (mode {mode:o}); "
            f"refusing to use it: run chmod 600 {path} (and replace the key if others read it)"
        )
    try:
        key = serialization.load_pem_private_key(body, password=None)
    except ValueError as e:
        raise IdentityError(f"{path}: not a PEM private key") from e
    if not isinstance(key, Ed25519PrivateKey):
        raise IdentityError(f"{path}: not an ed25519 key")
    return key


def sign_statement(statement: Statement, key: Ed25519PrivateKey) -> str:
    """The ``proof`` token for ``statement``: URL-safe base64 of the signed answer's JSON."""
    signature = base64.b64encode(key.sign(statement.message())).decode()
    signed = SignedAnswer(statement=statement, signature=signature)
    return base64.urlsafe_b64encode(signed.model_dump_json().encode()).decode()


def read_proof(token: str) -> SignedAnswer:
    """Decode a proof token; IdentityError when it is not one, or when its signature is not
    spelled canonically (so one signature has one proof id)."""
    try:
        signed = SignedAnswer.model_validate_json(base64.urlsafe_b64decode(token.encode()))
    except (binascii.Error, ValueError, ValidationError) as e:
        raise IdentityError("the proof is not a signed answer") from e
    try:
        signed.signature_bytes()
    except IdentityError as e:
        raise IdentityError(f"the proof's signature is {e}") from e
    return signed


def _invalid(detail: str, signed: SignedAnswer | None = None) -> ProofCheck:
    return ProofCheck(
        proof=Proof.INVALID,
        detail=detail,
        statement=signed.statement if signed else None,
        proof_id=signed.proof_id if signed else None,
    )


def _verifies(signed: SignedAnswer, keys: list[str]) -> bool:
    try:
        signature = signed.signature_bytes()
    except IdentityError:
        return False
    for text in keys:
        try:
            public_key_from_text(text).verify(signature, signed.statement.message())
        except (InvalidSignature, IdentityError):
            continue
        return True
    return False


def _signers(statement: Statement, policy: Policy) -> list[str] | str:
    """The keys that may sign ``statement``, or why nobody may."""
    person = policy.person(statement.approver)
    if person is None:
        return f"{statement.approver} is not listed under the policy's people"
    if statement.channel is not Channel.SLACK:  # cli and form: the approver's own key
        return [person.public_key] if person.public_key else f"{statement.approver} has no public_key"
    if person.slack_id is None or person.slack_id != statement.slack_user:
        return f"Slack user {statement.slack_user} is not {statement.approver}'s slack_id"
    return list(policy.attestors) or "the policy lists no attestors for Slack answers"


def check_proof(
    token: str,
    *,
    policy: Policy,
    flow_run_id: str,
    plan_hash: str,
    now: datetime,
    used: set[str],
) -> ProofCheck:
    """Check a proof token: bound to this run and plan, fresh, unused, signed by a key the
    policy lists for the approver (CLI) or by an attestor for the approver's Slack id (Slack)."""
    try:
        signed = read_proof(token)
    except IdentityError as e:
        return _invalid(str(e))
    s = signed.statement
    if s.flow_run_id != flow_run_id:
        return _invalid(f"signed for flow run {s.flow_run_id}, not this one", signed)
    if s.plan_hash != plan_hash:
        return _invalid(f"signed for plan {s.plan_hash}, not {plan_hash}", signed)
    if s.signed_at > now + MAX_SKEW:
        return _invalid(f"signed in the future ({s.signed_at:%H:%M:%S})", signed)
    if now - s.signed_at > MAX_AGE:
        return _invalid(f"stale: signed at {s.signed_at:%H:%M:%S}, more than {MAX_AGE} ago", signed)
    if signed.proof_id in used:
        return _invalid(f"replayed: proof {signed.proof_id} was already used in this run", signed)
    signers = _signers(s, policy)
    if isinstance(signers, str):
        return _invalid(signers, signed)
    if not _verifies(signed, signers):
        return _invalid(f"the {s.channel.value} signature does not verify", signed)
    return ProofCheck(proof=Proof.VERIFIED, statement=s, proof_id=signed.proof_id)


def person_with_slack_id(policy: Policy, slack_user: str) -> str | None:
    """The policy's name for the person whose ``slack_id`` is ``slack_user``; None if nobody's."""
    return next((name for name, p in policy.people.items() if p.slack_id == slack_user), None)


def attest_slack_answer(
    *,
    approver: str,
    slack_user: str,
    flow_run_id: str,
    plan_hash: str,
    approve: bool,
    at: datetime,
    key: Ed25519PrivateKey,
) -> str:
    """The receiver's proof token for an answer it received through Slack's signed callback:
    it vouches that ``slack_user`` (the approver's ``slack_id``) clicked, signed with the
    attestor key the policy lists under ``attestors``."""
    statement = Statement(
        approver=approver,
        flow_run_id=flow_run_id,
        plan_hash=plan_hash,
        approve=approve,
        signed_at=at,
        channel=Channel.SLACK,
        slack_user=slack_user,
    )
    return sign_statement(statement, key)
