"""Signing an approver's answer with their own key: the statement every signed channel carries.

``firebreak approve --key`` sends it (channel ``cli``); ``firebreak approve --offline`` prints it
for pasting into the Prefect form's *Signed proof* field (channel ``form``), with no network and
nothing but the approver's key. The flow checks both the same way (flows/identity.py,
``check_proof``): the approver's public key in the policy, this run, this plan, fresh, unused.
"""

from __future__ import annotations

from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from flows.identity import MAX_AGE, Channel, Statement, sign_statement

PASTE_MINUTES = int(MAX_AGE.total_seconds() // 60)  # the flow refuses an older proof


def sign_answer(
    *,
    approver: str,
    flow_run_id: str,
    plan_hash: str,
    approve: bool,
    key: Ed25519PrivateKey,
    channel: Channel,
    now: datetime | None = None,
) -> str:
    """The proof token of ``approver``'s decision on one plan of one run, signed with ``key``.

    >>> token = sign_answer(approver="alice", flow_run_id="r1", plan_hash="h", approve=True,
    ...     key=Ed25519PrivateKey.generate(), channel=Channel.FORM)
    """
    statement = Statement(
        approver=approver,
        flow_run_id=flow_run_id,
        plan_hash=plan_hash,
        approve=approve,
        signed_at=now or datetime.now(UTC),
        channel=channel,
    )
    return sign_statement(statement, key)


def send_command(flow_run_id: str, plan_hash: str) -> str:
    """The command that signs an answer with the approver's key and sends it."""
    return f"firebreak approve {flow_run_id} --as NAME --plan-hash {plan_hash} --key PATH"


def offline_command(flow_run_id: str, plan_hash: str) -> str:
    """The command that prints the proof to paste into the Prefect form (add ``--reject`` to
    reject): the form and ``firebreak pending`` show it for a verified rule."""
    return f"{send_command(flow_run_id, plan_hash)} --offline"
