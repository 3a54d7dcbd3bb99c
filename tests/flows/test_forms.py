"""The approval form's text (pure): under a verified rule it says exactly which command prints
the proof to paste, with this run's id and plan hash (issue 26 point 3)."""

from __future__ import annotations

from datetime import UTC, datetime

from flows.forms import ApprovalInput, approval_markdown
from policies import Decision, Tier
from policies.approvals import Identity
from tasks.aws import AwsTarget
from tasks.plan import Plan

RUN = "6f1c0c4e-8d7a-4b9e-9a51-0d2b6c1e7f10"


def _plan() -> Plan:
    return Plan(
        kind="flags.enable.ssm",
        service="checkout",
        environment="prod",
        aws=AwsTarget(region="eu-west-1"),
        targets=["/checkout/prod/flags/new-pricing"],
        before={"value": "off"},
        after={"value": "on"},
        blast_radius=1.0,
        summary="new-pricing off→on",
    )


def _markdown(identity: Identity) -> str:
    text = approval_markdown(
        incident_id="INC-1",
        flow_run_id=RUN,
        plan=_plan(),
        decision=Decision(tier=Tier.APPROVAL, rule="flag-reenable-prod", reason="r", guardrails=[]),
        evidence=[],
        deadline=datetime(2026, 12, 1, 3, 15, tzinfo=UTC),
        needed=1,
        have=[],
        identity=identity,
    )
    return " ".join(text.split())


def test_a_verified_form_names_the_command_that_prints_its_proof() -> None:
    said = _markdown(Identity.VERIFIED)
    command = f"firebreak approve {RUN} --as NAME --plan-hash {_plan().hash} --key PATH --offline"
    assert command in said
    assert "*Signed proof*" in said and "--reject" in said


def test_a_declared_form_does_not_ask_for_a_proof() -> None:
    said = _markdown(Identity.DECLARED)
    assert "--offline" not in said and "Plan Hash" in said


def test_the_proof_field_takes_a_pasted_proof() -> None:
    proof = ApprovalInput.model_json_schema()["properties"]["proof"]
    assert "leave empty" not in proof["title"].lower()
    assert "firebreak approve" in proof["description"] and "--offline" in proof["description"]
