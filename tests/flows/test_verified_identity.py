"""Verified approver identity through real pauses: a typed name is refused where the rule needs
proof, a signed CLI answer applies the plan (read back from moto), forged and replayed proofs
are refused with their reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from drills import seed_names as n
from drills.faults import inject_bad_deploy
from firebreak.cli import app
from flows.identity import private_key_pem
from flows.incident import incident_response
from flows.pending import PendingStep, approval_input
from tests.flows.conftest import World, default_policy_data
from tests.flows.scripted import Script, approve
from tests.people import key_of


def _messages(world: World, settings: Any, alert: Any) -> list[str]:
    _, timeline = world.report(alert, settings)
    return [e.message for e in timeline.events("approval-answer")]


def test_a_name_typed_in_the_ui_is_refused_and_a_signed_cli_answer_applies(world: World) -> None:
    inject_bad_deploy(world.sandbox.target(), world.catalog, n.PRIMARY_REGION)
    alert = world.alert()
    settings = world.settings()
    with Script([{**approve("alice"), "unsigned": True}, approve("alice")]):
        incident_response(alert=alert, settings=settings, return_state=True)
    first, second = _messages(world, settings, alert)
    assert first.startswith("refused: alice: rule 'prod-rollbacks' needs a verified identity")
    assert "--key" in first
    assert second.endswith("-> approved")
    assert world.task_definition() == "checkout:1"


def test_forged_and_replayed_signatures_are_refused(world: World) -> None:
    policy = default_policy_data()
    next(r for r in policy["approvals"] if r["name"] == "prod-rollbacks")["min_approvers"] = 2
    inject_bad_deploy(world.sandbox.target(), world.catalog, n.PRIMARY_REGION)
    alert = world.alert()
    settings = world.settings(policy)
    tokens: list[str] = []

    def forged(step: PendingStep) -> dict[str, Any]:  # alice's name, mallory's key
        return approval_input(step, approver="alice", approve=True, reason="forged", key=key_of("mallory"))

    def bob_signs(step: PendingStep) -> dict[str, Any]:
        answer = approval_input(step, approver="bob", approve=True, reason="ok", key=key_of("bob"))
        tokens.append(answer["proof"])
        return answer

    def replay(step: PendingStep) -> dict[str, Any]:
        return {**approval_input(step, approver="bob", approve=True, reason="again"), "proof": tokens[0]}

    with Script([forged, bob_signs, replay, approve("alice")]):
        incident_response(alert=alert, settings=settings, return_state=True)
    messages = _messages(world, settings, alert)
    assert messages[0] == "refused: alice: identity not proven: the cli signature does not verify"
    assert messages[1].endswith("-> pending")
    assert messages[2].startswith("refused: bob: identity not proven: replayed: proof")
    assert messages[3].endswith("-> approved")
    assert world.task_definition() == "checkout:1"


def test_a_proof_printed_offline_and_pasted_into_the_form_applies(world: World, tmp_path: Path) -> None:
    # Issue 26 point 3: the Prefect UI answers a verified rule with a pasted proof.
    inject_bad_deploy(world.sandbox.target(), world.catalog, n.PRIMARY_REGION)
    alert = world.alert()
    settings = world.settings()
    key_file = tmp_path / "alice.pem"
    key_file.touch(mode=0o600)
    key_file.write_bytes(private_key_pem(key_of("alice")))
    key_file.chmod(0o600)  # load_private_key refuses a key others can read

    def pasted(step: PendingStep) -> dict[str, Any]:
        run, plan_hash = str(step.flow_run_id), str(step.plan_hash)
        args = ["approve", run, "--as", "alice", "--plan-hash", plan_hash, "--key", str(key_file)]
        printed = CliRunner().invoke(app, [*args, "--offline"])
        assert printed.exit_code == 0, printed.output
        # What the UI's Resume form submits: the fields as typed, the proof as pasted.
        proof = printed.stdout.strip()
        return {**approve("alice", "pasted"), "plan_hash": plan_hash, "proof": proof}

    with Script([pasted]):
        incident_response(alert=alert, settings=settings, return_state=True)
    _, timeline = world.report(alert, settings)
    (answer,) = timeline.events("approval-answer")
    assert answer.message.endswith("-> approved") and answer.data["channel"] == "form"
    assert world.task_definition() == "checkout:1"
