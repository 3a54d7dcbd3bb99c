"""`firebreak approve --offline`: a proof signed with the approver's key alone, no network, for
pasting into the Prefect form's *Signed proof* field (issue 26 point 3)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from firebreak.cli import app
from flows.identity import Channel, check_proof, private_key_pem
from policies import Policy, default_policy
from policies.approvals import Proof
from tests.people import key_of, with_people

RUN = "6f1c0c4e-8d7a-4b9e-9a51-0d2b6c1e7f10"
PLAN = "0123456789abcdef"
runner = CliRunner()


@pytest.fixture
def alice_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # Nothing listens here: the command must not need the network.
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")
    monkeypatch.delenv("FIREBREAK_APPROVER_KEY", raising=False)
    path = tmp_path / "alice.pem"
    path.touch(mode=0o600)
    path.write_bytes(private_key_pem(key_of("alice")))
    path.chmod(0o600)  # load_private_key refuses a key others can read
    return path


def _policy() -> Policy:
    return Policy.model_validate(with_people(default_policy().model_dump(mode="json")))


def test_offline_prints_a_proof_the_flow_verifies_as_a_form_answer(alice_key: Path) -> None:
    args = ["approve", RUN, "--as", "alice", "--plan-hash", PLAN, "--key", str(alice_key), "--offline"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    check = check_proof(
        token, policy=_policy(), flow_run_id=RUN, plan_hash=PLAN, now=datetime.now(UTC), used=set()
    )
    assert check.proof is Proof.VERIFIED, check.detail
    assert check.statement is not None
    assert (check.statement.approver, check.statement.approve) == ("alice", True)
    assert check.statement.channel is Channel.FORM
    assert "Signed proof" in result.stderr and "alice" in result.stderr


def test_offline_reject_signs_a_rejection(alice_key: Path) -> None:
    args = ["approve", RUN, "--as", "alice", "--plan-hash", PLAN, "--key", str(alice_key), "--offline"]
    result = runner.invoke(app, [*args, "--reject"])
    check = check_proof(
        result.stdout.strip(), policy=_policy(), flow_run_id=RUN, plan_hash=PLAN,
        now=datetime.now(UTC), used=set(),
    )
    assert check.statement is not None and check.statement.approve is False


@pytest.mark.parametrize(
    ("drop", "said"),
    [("--plan-hash", "--offline needs --plan-hash"), ("--key", "--offline needs --key")],
)
def test_offline_needs_the_plan_hash_and_the_key(alice_key: Path, drop: str, said: str) -> None:
    full = {"--plan-hash": PLAN, "--key": str(alice_key)}
    kept = [part for option, value in full.items() if option != drop for part in (option, value)]
    result = runner.invoke(app, ["approve", RUN, "--as", "alice", *kept, "--offline"])
    assert result.exit_code == 2 and said in result.output, result.output


def test_approve_help_says_how_to_answer_a_verified_rule() -> None:
    said = " ".join(runner.invoke(app, ["approve", "--help"]).output.split())
    assert "identity: verified" in said
    assert "--offline" in said and "Signed proof" in said
