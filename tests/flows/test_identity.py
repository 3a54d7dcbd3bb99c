"""check_proof(): a signed answer counts only for its run and plan, fresh, once, by a listed key."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta

from flows.identity import Channel, Statement, check_proof, read_proof, sign_statement
from policies.approvals import Proof
from tests.people import key_of, with_people
from tests.policies.helpers import policy

NOW = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
POLICY = policy(**with_people({}), attestors=[])


def statement(**overrides: object) -> Statement:
    fields: dict[str, object] = {
        "approver": "alice", "flow_run_id": "run-1", "plan_hash": "h1", "approve": True,
        "signed_at": NOW, "channel": Channel.CLI,
    }
    return Statement.model_validate({**fields, **overrides})


def check(token: str, *, used: set[str] | None = None, now: datetime = NOW) -> tuple[Proof, str]:
    result = check_proof(
        token, policy=POLICY, flow_run_id="run-1", plan_hash="h1", now=now, used=used or set()
    )
    return result.proof, result.detail


def test_an_answer_signed_by_the_approvers_own_key_is_verified() -> None:
    assert check(sign_statement(statement(), key_of("alice"))) == (Proof.VERIFIED, "")


def test_a_signature_by_someone_elses_key_is_refused() -> None:
    proof, detail = check(sign_statement(statement(), key_of("mallory")))
    assert proof is Proof.INVALID and detail == "the cli signature does not verify"


def test_a_statement_changed_after_signing_is_refused() -> None:
    token = sign_statement(statement(approve=False), key_of("alice"))
    signed = read_proof(token)
    forged = signed.model_copy(update={"statement": signed.statement.model_copy(update={"approve": True})})
    proof, detail = check(base64.urlsafe_b64encode(forged.model_dump_json().encode()).decode())
    assert proof is Proof.INVALID and "does not verify" in detail


def test_another_run_or_plan_is_refused() -> None:
    assert "flow run run-2" in check(sign_statement(statement(flow_run_id="run-2"), key_of("alice")))[1]
    assert "plan h2" in check(sign_statement(statement(plan_hash="h2"), key_of("alice")))[1]


def test_stale_and_future_signatures_are_refused() -> None:
    stale = sign_statement(statement(signed_at=NOW - timedelta(minutes=6)), key_of("alice"))
    assert check(stale)[1].startswith("stale")
    future = sign_statement(statement(signed_at=NOW + timedelta(minutes=2)), key_of("alice"))
    assert check(future)[1].startswith("signed in the future")


def test_a_replayed_proof_is_refused() -> None:
    token = sign_statement(statement(), key_of("alice"))
    used = {read_proof(token).proof_id}
    proof, detail = check(token, used=used)
    assert proof is Proof.INVALID and detail.startswith("replayed")


def test_a_person_the_policy_does_not_list_cannot_prove_anything() -> None:
    detail = check(sign_statement(statement(approver="mallory"), key_of("mallory")))[1]
    assert detail == "mallory is not listed under the policy's people"


def test_garbage_is_not_a_proof() -> None:
    assert check("not-a-token") == (Proof.INVALID, "the proof is not a signed answer")


def _reencoded(token: str) -> str:
    """The same signature with the unused low bits of its last base64 character set."""
    signed = read_proof(token)
    text = signed.signature
    assert text.endswith("==")  # 64 bytes: the last character carries 2 bits, 4 unused
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = alphabet[alphabet.index(text[-3]) | 0b1111]
    assert last != text[-3] and base64.b64decode(text[:-3] + last + "==") == base64.b64decode(text)
    forged = signed.model_copy(update={"signature": text[:-3] + last + "=="})
    return base64.urlsafe_b64encode(forged.model_dump_json().encode()).decode()


def test_a_replayed_proof_in_another_base64_spelling_is_refused() -> None:
    token = sign_statement(statement(), key_of("alice"))
    used = {read_proof(token).proof_id}
    proof, detail = check(_reencoded(token), used=used)
    assert proof is Proof.INVALID and "not canonical base64" in detail


def test_the_proof_id_names_the_signature_bytes_not_their_spelling() -> None:
    token = sign_statement(statement(), key_of("alice"))
    signed = read_proof(token)
    again = signed.model_copy(update={"signature": signed.signature})
    spaced = base64.urlsafe_b64encode(again.model_dump_json(indent=1).encode()).decode()
    raw = base64.b64decode(signed.signature)
    assert read_proof(spaced).proof_id == signed.proof_id == hashlib.sha256(raw).hexdigest()[:32]
